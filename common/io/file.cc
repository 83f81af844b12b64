#include "common/io/file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace certfleet::io {
namespace {

// Closes a file descriptor when it goes out of scope.
class FileDescriptor {
 public:
  explicit FileDescriptor(int descriptor) : descriptor_(descriptor) {}
  ~FileDescriptor() {
    if (descriptor_ >= 0) ::close(descriptor_);
  }
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;

  int get() const { return descriptor_; }
  // Closes now and reports whether the close succeeded.
  bool Close() {
    const int result = ::close(descriptor_);
    descriptor_ = -1;
    return result == 0;
  }

 private:
  int descriptor_;
};

absl::Status ErrnoStatus(std::string_view what, const std::filesystem::path& path) {
  const int error = errno;
  const std::string message = absl::StrCat(std::string(what), " ", path.string(), ": ", std::strerror(error));
  switch (error) {
    case ENOENT:
      return absl::NotFoundError(message);
    case EACCES:
    case EPERM:
    case EROFS:
      return absl::PermissionDeniedError(message);
    default:
      return absl::InternalError(message);
  }
}

}  // namespace

absl::StatusOr<std::string> ReadFile(const std::filesystem::path& path, size_t max_bytes) {
  FileDescriptor file(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (file.get() < 0) return ErrnoStatus("cannot open", path);
  struct stat information {};
  if (::fstat(file.get(), &information) != 0) return ErrnoStatus("cannot stat", path);
  if (S_ISDIR(information.st_mode)) {
    return absl::InvalidArgumentError(absl::StrCat(path.string(), " is a directory, not a file"));
  }
  if (!S_ISREG(information.st_mode)) {
    return absl::InvalidArgumentError(absl::StrCat(path.string(), " is not a regular file"));
  }
  if (static_cast<size_t>(information.st_size) > max_bytes) {
    return absl::InvalidArgumentError(absl::StrFormat("%s is %d bytes, over the %d-byte limit",
                                                      path.string(), information.st_size,
                                                      max_bytes));
  }
  std::string content;
  char buffer[65536];
  while (true) {
    const ssize_t count = ::read(file.get(), buffer, sizeof(buffer));
    if (count < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus("cannot read", path);
    }
    if (count == 0) break;
    content.append(buffer, static_cast<size_t>(count));
    if (content.size() > max_bytes) {
      return absl::InvalidArgumentError(
          absl::StrFormat("%s grew over the %d-byte limit while being read", path.string(),
                          max_bytes));
    }
  }
  return content;
}

absl::Status WriteFileAtomically(const std::filesystem::path& path, std::string_view content,
                                 mode_t mode) {
  const std::filesystem::path folder =
      path.has_parent_path() ? path.parent_path() : std::filesystem::path(".");
  // Appended piece by piece: GCC 12 at -O3 misreports `"." + string + ...`
  // as an overlapping memcpy (-Wrestrict, GCC bug 105329).
  std::string name = ".";
  name.append(path.filename().string()).append(".tmp-XXXXXX");
  std::string temporary = (folder / name).string();
  FileDescriptor file(::mkstemp(temporary.data()));
  if (file.get() < 0) return ErrnoStatus("cannot create a temporary file in", folder);
  const std::filesystem::path temporary_path(temporary);
  auto fail = [&](std::string_view what, const std::filesystem::path& subject) {
    absl::Status status = ErrnoStatus(what, subject);
    ::unlink(temporary.c_str());
    return status;
  };
  if (::fchmod(file.get(), mode) != 0) return fail("cannot set the mode of", temporary_path);
  size_t written = 0;
  while (written < content.size()) {
    const ssize_t count = ::write(file.get(), content.data() + written, content.size() - written);
    if (count < 0) {
      if (errno == EINTR) continue;
      return fail("cannot write", temporary_path);
    }
    written += static_cast<size_t>(count);
  }
  if (::fsync(file.get()) != 0) return fail("cannot flush", temporary_path);
  if (!file.Close()) return fail("cannot close", temporary_path);
  if (::rename(temporary.c_str(), path.c_str()) != 0) return fail("cannot replace", path);
  FileDescriptor directory(::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (directory.get() >= 0) ::fsync(directory.get());
  return absl::OkStatus();
}

}  // namespace certfleet::io
