#include "tools/iis6-emulator/host_layout.h"

#include <cctype>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"

namespace certfleet::iis6_emulator {
namespace {

// Replaces a leading %SystemDrive% or %SystemRoot% (case-insensitive, as
// Windows compares variable names) with the Windows Server 2003 default.
std::string ExpandKnownVariables(std::string_view path) {
  constexpr std::string_view kSystemDrive = "%SystemDrive%";
  constexpr std::string_view kSystemRoot = "%SystemRoot%";
  if (absl::StartsWithIgnoreCase(std::string(path), std::string(kSystemDrive))) {
    return absl::StrCat("C:", std::string(path.substr(kSystemDrive.size())));
  }
  if (absl::StartsWithIgnoreCase(std::string(path), std::string(kSystemRoot))) {
    return absl::StrCat("C:\\WINDOWS", std::string(path.substr(kSystemRoot.size())));
  }
  return std::string(path);
}

}  // namespace

std::filesystem::path HostLayout::MetaBaseFile() const {
  return root_ / "inetsrv" / "MetaBase.xml";
}

std::filesystem::path HostLayout::StoreFolder(std::string_view store_name) const {
  return root_ / "stores" / std::string(store_name);
}

std::filesystem::path HostLayout::RunFolder() const { return root_ / "run"; }

std::filesystem::path HostLayout::PidFile() const { return RunFolder() / "iis6-emulator.pid"; }

std::filesystem::path HostLayout::ReloadGenerationFile() const {
  return RunFolder() / "reload-generation";
}

std::filesystem::path HostLayout::EmulationConfigFile() const { return root_ / "emulation.conf"; }

std::filesystem::path HostLayout::FileSystemRoot() const { return root_ / "fs"; }

absl::StatusOr<std::filesystem::path> HostLayout::MapWindowsPath(
    std::string_view windows_path) const {
  const std::string quoted = absl::StrCat("\"", std::string(windows_path), "\"");
  if (windows_path.empty()) return absl::InvalidArgumentError("the content path is empty");
  if (windows_path.find('\0') != std::string_view::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("the content path ", quoted, " contains a NUL byte"));
  }
  const std::string expanded = ExpandKnownVariables(windows_path);
  if (expanded.find('%') != std::string::npos) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the content path ", quoted,
        " names an environment variable the emulator does not know (only %SystemDrive% and "
        "%SystemRoot% are expanded)"));
  }
  if (absl::StartsWith(expanded, "\\\\") || absl::StartsWith(expanded, "//")) {
    return absl::InvalidArgumentError(
        absl::StrCat("the content path ", quoted,
                     " is a network (UNC) path, which the emulated host cannot map"));
  }
  if (expanded.size() < 2 || !std::isalpha(static_cast<unsigned char>(expanded[0])) ||
      expanded[1] != ':' || (expanded.size() > 2 && expanded[2] != '\\' && expanded[2] != '/')) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the content path ", quoted, " is not an absolute Windows path like C:\\Inetpub\\wwwroot"));
  }
  std::filesystem::path mapped =
      FileSystemRoot() /
      std::string(1, static_cast<char>(std::toupper(static_cast<unsigned char>(expanded[0]))));
  for (absl::string_view component :
       absl::StrSplit(expanded.substr(2), absl::ByAnyChar("\\/"), absl::SkipEmpty())) {
    if (component == ".") continue;
    if (component == "..") {
      return absl::InvalidArgumentError(
          absl::StrCat("the content path ", quoted, " contains a \"..\" component"));
    }
    mapped /= std::string(component);
  }
  return mapped;
}

}  // namespace certfleet::iis6_emulator
