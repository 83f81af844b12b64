// Where things live in an emulated IIS 6 host root, as
// docs/iis6-emulated-host.md lays it out: MetaBase.xml, the certificate
// stores, the run folder with the emulator's pid and reload generation,
// emulation.conf, and fs/ standing for the Windows drives.
//
// Thread safety: HostLayout is an immutable value.

#ifndef CERTFLEET_TOOLS_IIS6_EMULATOR_HOST_LAYOUT_H_
#define CERTFLEET_TOOLS_IIS6_EMULATOR_HOST_LAYOUT_H_

#include <filesystem>
#include <string_view>

#include "absl/status/statusor.h"

namespace certfleet::iis6_emulator {

class HostLayout {
 public:
  explicit HostLayout(std::filesystem::path root) : root_(std::move(root)) {}

  const std::filesystem::path& root() const { return root_; }

  // inetsrv/MetaBase.xml.
  std::filesystem::path MetaBaseFile() const;
  // stores/<store_name>, e.g. stores/MY.
  std::filesystem::path StoreFolder(std::string_view store_name) const;
  // run/: the emulator's pid file and reload generation.
  std::filesystem::path RunFolder() const;
  // run/iis6-emulator.pid.
  std::filesystem::path PidFile() const;
  // run/reload-generation.
  std::filesystem::path ReloadGenerationFile() const;
  // emulation.conf.
  std::filesystem::path EmulationConfigFile() const;
  // fs/: one folder per Windows drive letter.
  std::filesystem::path FileSystemRoot() const;

  // Maps an absolute Windows path as MetaBase.xml writes it to its folder
  // under fs/: "C:\Inetpub\wwwroot" becomes fs/C/Inetpub/wwwroot (the drive
  // letter upper case, everything else as written; '/' is accepted as a
  // separator too). %SystemDrive% stands for C: and %SystemRoot% for
  // C:\WINDOWS, the Windows Server 2003 defaults. Returns InvalidArgument for
  // a path that is empty, relative, a UNC path (\\server\share), contains a
  // ".." component or a NUL byte, or names another environment variable.
  absl::StatusOr<std::filesystem::path> MapWindowsPath(std::string_view windows_path) const;

 private:
  std::filesystem::path root_;
};

}  // namespace certfleet::iis6_emulator

#endif  // CERTFLEET_TOOLS_IIS6_EMULATOR_HOST_LAYOUT_H_
