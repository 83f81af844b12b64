// Builds emulated IIS 6 host roots for the emulator's tests, laid out as
// docs/iis6-emulated-host.md says: MetaBase.xml written as IIS writes it
// (CRLF, one attribute per line), certificates and keys in the stores named
// by thumbprint, content under fs/, emulation.conf.
//
// Also the small network helpers the tests share: free ports, raw HTTP
// requests, waiting for a condition with a deadline.
//
// Thread safety: an EmulatedHost is used by one test thread.

#ifndef CERTFLEET_TESTS_TOOLS_IIS6_EMULATOR_EMULATED_HOST_H_
#define CERTFLEET_TESTS_TOOLS_IIS6_EMULATOR_EMULATED_HOST_H_

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/time/time.h"
#include "common/crypto/certificate.h"
#include "tests/support/test_pki.h"

namespace certfleet::testing {

// One IIsWebServer key (and its ROOT virtual directory) of MetaBase.xml.
struct SiteSpecification {
  // The numeric id in /LM/W3SVC/<id>.
  std::string id;
  std::string name;
  // "ip:port:host" entries, as IIS writes them.
  std::vector<std::string> server_bindings;
  std::vector<std::string> secure_bindings;
  // SSLCertHash (with SSLStoreName="MY"); absent when nullopt.
  std::optional<std::string> certificate_hash;
  // ServerAutoStart; absent when nullopt (IIS then starts the site).
  std::optional<bool> auto_start;
  // The ROOT virtual directory's Path; no ROOT key when empty.
  std::string root_path;
};

class EmulatedHost {
 public:
  // Makes an empty host root at `root` (created if missing) with the stores
  // and run folders.
  explicit EmulatedHost(std::filesystem::path root);

  const std::filesystem::path& root() const { return root_; }

  // Writes emulation.conf naming `address` for "All Unassigned".
  void WriteEmulationConfig(std::string_view address) const;

  // Writes MetaBase.xml with these sites after the keys every IIS 6 host has.
  void WriteMetaBase(const std::vector<SiteSpecification>& sites) const;

  // Writes `contents` as inetsrv/MetaBase.xml verbatim.
  void WriteRawMetaBase(std::string_view contents) const;

  // Puts a certificate into stores/MY with its key (mode 0600), or without
  // one when `key` is false. Returns the thumbprint.
  std::string InstallPersonal(const Issued& issued, bool with_key = true) const;

  // Puts a certificate into stores/CA or stores/ROOT (DER).
  void InstallIntermediate(const crypto::Certificate& certificate) const;
  void InstallRoot(const crypto::Certificate& certificate) const;

  // Writes a file under the folder the Windows path `folder` maps to
  // ("C:\Inetpub\wwwroot" -> fs/C/Inetpub/wwwroot) and returns its path.
  std::filesystem::path WriteContent(std::string_view folder, std::string_view relative_path,
                                     std::string_view contents) const;

  // fs/ mapped from a Windows folder, as WriteContent maps it.
  std::filesystem::path ContentFolder(std::string_view folder) const;

  // run/iis6-emulator.pid and run/reload-generation.
  std::filesystem::path PidFile() const;
  std::filesystem::path ReloadGenerationFile() const;

  // The number in run/reload-generation, or 0 when there is none.
  std::uint64_t ReloadGeneration() const;

 private:
  std::filesystem::path root_;
};

// A port that was free on 127.0.0.1 a moment ago: bound to port 0, read back
// and closed. Good enough for tests on 127.x.y.z loopback addresses.
std::uint16_t FreePort();

// Polls `condition` every few milliseconds until it holds (true) or
// `timeout` passes (false). For waiting on another process, which offers
// nothing to block on.
bool WaitUntil(const std::function<bool()>& condition, absl::Duration timeout = absl::Seconds(10));

// The result of connecting to an address and port.
enum class ConnectOutcome { kConnected, kRefused, kOtherError };
ConnectOutcome TryConnect(const std::string& address, std::uint16_t port);

// Sends `request` verbatim over plain TCP and returns everything the server
// sends until it closes the connection (or 10 seconds pass). Empty when the
// connection fails.
std::string SendRawRequest(const std::string& address, std::uint16_t port,
                           std::string_view request);

// The status code of an HTTP response ("HTTP/1.1 404 Not Found" -> 404), or
// -1 when `response` does not start with a status line.
int StatusCodeOf(std::string_view response);

// The body of an HTTP response (after the blank line).
std::string BodyOf(std::string_view response);

// The whole contents of a file, or empty when it cannot be read.
std::string ReadWholeFile(const std::filesystem::path& path);

}  // namespace certfleet::testing

#endif  // CERTFLEET_TESTS_TOOLS_IIS6_EMULATOR_EMULATED_HOST_H_
