// A folder under $TMPDIR (or /tmp) made for one test and removed with
// everything in it when the object goes away.
//
// Thread safety: not shared between threads.

#ifndef CERTFLEET_TESTS_SUPPORT_TEMPORARY_DIRECTORY_H_
#define CERTFLEET_TESTS_SUPPORT_TEMPORARY_DIRECTORY_H_

#include <filesystem>
#include <string>
#include <string_view>

namespace certfleet::testing {

class TemporaryDirectory {
 public:
  TemporaryDirectory();
  ~TemporaryDirectory();
  TemporaryDirectory(const TemporaryDirectory&) = delete;
  TemporaryDirectory& operator=(const TemporaryDirectory&) = delete;

  const std::filesystem::path& path() const { return path_; }

  // Writes `content` to `name` inside the folder and returns the full path.
  std::filesystem::path WriteFile(std::string_view name, std::string_view content) const;

 private:
  std::filesystem::path path_;
};

}  // namespace certfleet::testing

#endif  // CERTFLEET_TESTS_SUPPORT_TEMPORARY_DIRECTORY_H_
