#include "agent/drivers/iis6/host_root.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/io/file.h"

namespace certfleet::iis6 {
namespace {

// emulation.conf is a few lines; anything bigger is not one.
constexpr size_t kMaximumConfigBytes = 64 * 1024;

absl::Status ErrnoError(std::string_view action, const std::filesystem::path& path, int error) {
  return absl::InternalError(
      absl::StrCat("cannot ", std::string(action), " ", path.string(), ": ", std::strerror(error)));
}

}  // namespace

absl::StatusOr<EmulationConfig> ReadEmulationConfig(const std::filesystem::path& file) {
  absl::StatusOr<std::string> content = io::ReadFile(file, kMaximumConfigBytes);
  if (!content.ok()) return content.status();
  EmulationConfig config;
  bool address_seen = false;
  int line_number = 0;
  for (absl::string_view line : absl::StrSplit(*content, '\n')) {
    ++line_number;
    line = absl::StripAsciiWhitespace(line);
    if (line.empty() || line.front() == '#') continue;
    const size_t equals = line.find('=');
    if (equals == absl::string_view::npos) {
      return absl::InvalidArgumentError(absl::StrCat(file.string(), " line ", line_number,
                                                     ": expected key=value, found \"", line, "\""));
    }
    const absl::string_view key = absl::StripAsciiWhitespace(line.substr(0, equals));
    const absl::string_view value = absl::StripAsciiWhitespace(line.substr(equals + 1));
    if (key == "address") {
      if (value.empty()) {
        return absl::InvalidArgumentError(
            absl::StrCat(file.string(), " line ", line_number, ": the address is empty"));
      }
      config.address = std::string(value);
      address_seen = true;
    }
  }
  if (!address_seen) config.address = std::string(kDefaultEmulationAddress);
  return config;
}

std::string FormatEmulationConfig(const EmulationConfig& config) {
  return absl::StrCat(
      "# The address that stands for \"all unassigned\" in bindings (\":443:\").\n"
      "# Several emulated hosts run side by side, each on its own loopback address.\n"
      "address=",
      config.address, "\n");
}

absl::Status CheckSiteId(std::string_view site_id) {
  const bool digits_only = !site_id.empty() && site_id.size() <= 10 &&
                           site_id.find_first_not_of("0123456789") == std::string_view::npos &&
                           site_id.front() != '0';
  if (!digits_only) {
    return absl::InvalidArgumentError(absl::StrCat(
        "\"", std::string(site_id), "\" is not an IIS site id (a number such as 1 or 1962875481)"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> NormalizeThumbprint(std::string_view thumbprint) {
  if (thumbprint.size() != 40 ||
      thumbprint.find_first_not_of("0123456789abcdefABCDEF") != std::string_view::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", std::string(thumbprint),
                     "\" is not a certificate thumbprint (40 hex digits, the SHA-1 that IIS "
                     "stores as SSLCertHash)"));
  }
  return absl::AsciiStrToUpper(std::string(thumbprint));
}

absl::Status CreatePrivateFolder(const std::filesystem::path& folder) {
  // Create missing ancestors first, each 0700, so that no folder of the
  // store hierarchy is ever world-readable even for a moment.
  std::vector<std::filesystem::path> missing;
  for (std::filesystem::path current = folder; !current.empty(); current = current.parent_path()) {
    struct stat info;
    if (::stat(current.c_str(), &info) == 0) break;
    missing.push_back(current);
    if (current == current.parent_path()) break;
  }
  for (auto it = missing.rbegin(); it != missing.rend(); ++it) {
    if (::mkdir(it->c_str(), 0700) != 0 && errno != EEXIST) {
      return ErrnoError("create the folder", *it, errno);
    }
  }
  struct stat info;
  if (::stat(folder.c_str(), &info) != 0) return ErrnoError("inspect", folder, errno);
  if (!S_ISDIR(info.st_mode)) {
    return absl::FailedPreconditionError(
        absl::StrCat(folder.string(), " exists but is not a folder"));
  }
  if ((info.st_mode & 07777) != 0700 && ::chmod(folder.c_str(), 0700) != 0) {
    return ErrnoError("set mode 0700 on", folder, errno);
  }
  return absl::OkStatus();
}

}  // namespace certfleet::iis6
