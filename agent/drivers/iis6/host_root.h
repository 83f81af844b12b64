// Where things live in an emulated IIS 6 host root, exactly as
// docs/iis6-emulated-host.md lays it out, and the small checks every part of
// the driver applies to names that become file names (site ids,
// thumbprints), so that nothing a caller passes can reach outside the root.
//
// The emulator (tools/iis6-emulator/host_layout.h) reads the same layout;
// the document is the contract between the two.
//
// Thread safety: HostRoot is an immutable value; the free functions have no
// shared state.

#ifndef CERTFLEET_AGENT_DRIVERS_IIS6_HOST_ROOT_H_
#define CERTFLEET_AGENT_DRIVERS_IIS6_HOST_ROOT_H_

#include <filesystem>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace certfleet::iis6 {

class HostRoot {
 public:
  explicit HostRoot(std::filesystem::path root) : root_(std::move(root)) {}

  const std::filesystem::path& root() const { return root_; }

  // inetsrv/MetaBase.xml and inetsrv/History, where IIS keeps them.
  std::filesystem::path MetaBaseFile() const { return root_ / "inetsrv" / "MetaBase.xml"; }
  std::filesystem::path HistoryFolder() const { return root_ / "inetsrv" / "History"; }
  // stores/: one folder per certificate store (MY, CA, ROOT, REQUEST).
  std::filesystem::path StoresFolder() const { return root_ / "stores"; }
  // run/: the emulator's pid and reload generation.
  std::filesystem::path RunFolder() const { return root_ / "run"; }
  std::filesystem::path PidFile() const { return RunFolder() / "iis6-emulator.pid"; }
  std::filesystem::path ReloadGenerationFile() const { return RunFolder() / "reload-generation"; }
  std::filesystem::path EmulationConfigFile() const { return root_ / "emulation.conf"; }
  // fs/: one folder per Windows drive letter (C:\Inetpub -> fs/C/Inetpub).
  std::filesystem::path FileSystemRoot() const { return root_ / "fs"; }

 private:
  std::filesystem::path root_;
};

// The settings emulation.conf holds (key=value lines, '#' comments).
struct EmulationConfig {
  // The address "All Unassigned" (":443:") stands for on this host.
  std::string address;
};

// The address used when emulation.conf does not name one; the emulator uses
// the same default.
inline constexpr std::string_view kDefaultEmulationAddress = "127.0.0.1";

// Reads emulation.conf. Unknown keys are ignored (the emulator may have its
// own). Returns NotFound when the file does not exist, InvalidArgument naming
// the file and line for a line that is not key=value or an empty address.
absl::StatusOr<EmulationConfig> ReadEmulationConfig(const std::filesystem::path& file);

// The file content for `config`, with a comment explaining the address.
std::string FormatEmulationConfig(const EmulationConfig& config);

// OK when `site_id` is an IIS site id: 1 to 10 decimal digits without a
// leading zero. Returns InvalidArgument naming the value otherwise.
absl::Status CheckSiteId(std::string_view site_id);

// Returns the thumbprint as IIS writes SSLCertHash (40 upper-case hex
// digits). Returns InvalidArgument naming the value when it is not 40 hex
// digits.
absl::StatusOr<std::string> NormalizeThumbprint(std::string_view thumbprint);

// Creates `folder` and any missing parents with mode 0700, and sets 0700 on
// `folder` itself when it exists already with another mode. Returns the
// failing path and errno's text on failure.
absl::Status CreatePrivateFolder(const std::filesystem::path& folder);

}  // namespace certfleet::iis6

#endif  // CERTFLEET_AGENT_DRIVERS_IIS6_HOST_ROOT_H_
