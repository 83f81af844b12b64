#include "tests/tools/iis6-emulator/emulated_host.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <chrono>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <thread>

namespace certfleet::testing {
namespace {

namespace fs = std::filesystem;

void WriteFileOrThrow(const fs::path& path, std::string_view contents,
                      std::optional<fs::perms> permissions = std::nullopt) {
  fs::create_directories(path.parent_path());
  {
    std::ofstream stream(path, std::ios::binary | std::ios::trunc);
    stream.write(contents.data(), static_cast<std::streamsize>(contents.size()));
    if (!stream) throw std::runtime_error("cannot write " + path.string());
  }
  if (permissions.has_value()) fs::permissions(path, *permissions);
}

// IIS's line end in MetaBase.xml.
constexpr std::string_view kLineEnd = "\r\n";

std::string Attribute(std::string_view name, std::string_view value) {
  return "\t\t" + std::string(name) + "=\"" + std::string(value) + "\"" + std::string(kLineEnd);
}

std::string JoinBindings(const std::vector<std::string>& bindings) {
  std::string joined;
  for (const std::string& binding : bindings) {
    if (!joined.empty()) joined += std::string(kLineEnd) + "\t\t\t";
    joined += binding;
  }
  return joined;
}

int ConnectTo(const std::string& address, std::uint16_t port) {
  const int descriptor = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (descriptor < 0) return -1;
  sockaddr_in target{};
  target.sin_family = AF_INET;
  target.sin_port = htons(port);
  inet_pton(AF_INET, address.c_str(), &target.sin_addr);
  if (connect(descriptor, reinterpret_cast<sockaddr*>(&target), sizeof(target)) != 0) {
    const int error = errno;
    close(descriptor);
    errno = error;
    return -1;
  }
  return descriptor;
}

}  // namespace

EmulatedHost::EmulatedHost(fs::path root) : root_(std::move(root)) {
  for (const char* folder :
       {"inetsrv", "stores/MY", "stores/CA", "stores/ROOT", "stores/REQUEST", "fs", "run"}) {
    fs::create_directories(root_ / folder);
  }
}

void EmulatedHost::WriteEmulationConfig(std::string_view address) const {
  WriteFileOrThrow(root_ / "emulation.conf",
                   "# The address that stands for \"all unassigned\" in bindings.\naddress=" +
                       std::string(address) + "\n");
}

void EmulatedHost::WriteMetaBase(const std::vector<SiteSpecification>& sites) const {
  const std::string end(kLineEnd);
  std::string text =
      "<?xml version =\"1.0\"?>" + end +
      "<configuration xmlns=\"urn:microsoft-catalog:XML_Metabase_V64_0\">" + end + "<MBProperty>" +
      end + "<IIS_Global\tLocation =\".\"" + end + Attribute("ChangeNumber", "12") + "\t>" + end +
      "</IIS_Global>" + end + "<IIsComputer\tLocation =\"/LM\"" + end +
      Attribute("EnableEditWhileRunning", "1") + Attribute("EnableHistory", "1") + "\t>" + end +
      "</IIsComputer>" + end + "<IIsWebService\tLocation =\"/LM/W3SVC\"" + end +
      Attribute("AppPoolId", "DefaultAppPool") + "\t>" + end + "</IIsWebService>" + end;
  for (const SiteSpecification& site : sites) {
    text += "<IIsWebServer\tLocation =\"/LM/W3SVC/" + site.id + "\"" + end;
    if (site.certificate_hash.has_value()) {
      text += Attribute("SSLCertHash", *site.certificate_hash);
      text += Attribute("SSLStoreName", "MY");
    }
    if (!site.secure_bindings.empty()) {
      text += Attribute("SecureBindings", JoinBindings(site.secure_bindings));
    }
    if (site.auto_start.has_value()) {
      text += Attribute("ServerAutoStart", *site.auto_start ? "TRUE" : "FALSE");
    }
    text += Attribute("ServerBindings", JoinBindings(site.server_bindings));
    text += Attribute("ServerComment", site.name);
    text += "\t>" + end + "</IIsWebServer>" + end;
    if (!site.root_path.empty()) {
      text += "<IIsWebVirtualDir\tLocation =\"/LM/W3SVC/" + site.id + "/ROOT\"" + end +
              Attribute("AccessFlags", "AccessRead | AccessScript") +
              Attribute("Path", site.root_path) + "\t>" + end + "</IIsWebVirtualDir>" + end;
    }
  }
  text += "</MBProperty>" + end + "</configuration>" + end;
  WriteRawMetaBase(text);
}

void EmulatedHost::WriteRawMetaBase(std::string_view contents) const {
  // Atomically, as the driver writes it: the emulator may be reading.
  const fs::path target = root_ / "inetsrv" / "MetaBase.xml";
  const fs::path temporary = root_ / "inetsrv" / "MetaBase.xml.tmp";
  WriteFileOrThrow(temporary, contents);
  fs::rename(temporary, target);
}

std::string EmulatedHost::InstallPersonal(const Issued& issued, bool with_key) const {
  const std::string thumbprint = issued.certificate.Thumbprint();
  WriteFileOrThrow(root_ / "stores/MY" / (thumbprint + ".cer"), issued.certificate.ToDer());
  if (with_key) {
    WriteFileOrThrow(root_ / "stores/MY" / (thumbprint + ".key"), issued.key.ToPem(),
                     fs::perms::owner_read | fs::perms::owner_write);
  }
  return thumbprint;
}

void EmulatedHost::InstallIntermediate(const crypto::Certificate& certificate) const {
  WriteFileOrThrow(root_ / "stores/CA" / (certificate.Thumbprint() + ".cer"), certificate.ToDer());
}

void EmulatedHost::InstallRoot(const crypto::Certificate& certificate) const {
  WriteFileOrThrow(root_ / "stores/ROOT" / (certificate.Thumbprint() + ".cer"),
                   certificate.ToDer());
}

fs::path EmulatedHost::ContentFolder(std::string_view folder) const {
  // Only the plain "X:\a\b" form the tests use.
  fs::path mapped = root_ / "fs" / std::string(1, static_cast<char>(std::toupper(folder[0])));
  std::string component;
  for (char character : folder.substr(2)) {
    if (character == '\\' || character == '/') {
      if (!component.empty()) mapped /= component;
      component.clear();
    } else {
      component += character;
    }
  }
  if (!component.empty()) mapped /= component;
  return mapped;
}

fs::path EmulatedHost::WriteContent(std::string_view folder, std::string_view relative_path,
                                    std::string_view contents) const {
  const fs::path path = ContentFolder(folder) / std::string(relative_path);
  WriteFileOrThrow(path, contents);
  return path;
}

fs::path EmulatedHost::PidFile() const { return root_ / "run" / "iis6-emulator.pid"; }

fs::path EmulatedHost::ReloadGenerationFile() const { return root_ / "run" / "reload-generation"; }

std::uint64_t EmulatedHost::ReloadGeneration() const {
  const std::string text = ReadWholeFile(ReloadGenerationFile());
  try {
    return text.empty() ? 0 : std::stoull(text);
  } catch (const std::exception&) {
    return 0;
  }
}

std::uint16_t FreePort() {
  const int descriptor = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(descriptor, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
    close(descriptor);
    throw std::runtime_error("cannot bind 127.0.0.1:0");
  }
  socklen_t length = sizeof(address);
  getsockname(descriptor, reinterpret_cast<sockaddr*>(&address), &length);
  close(descriptor);
  return ntohs(address.sin_port);
}

bool WaitUntil(const std::function<bool()>& condition, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (true) {
    if (condition()) return true;
    if (absl::Now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

ConnectOutcome TryConnect(const std::string& address, std::uint16_t port) {
  const int descriptor = ConnectTo(address, port);
  if (descriptor >= 0) {
    close(descriptor);
    return ConnectOutcome::kConnected;
  }
  return errno == ECONNREFUSED ? ConnectOutcome::kRefused : ConnectOutcome::kOtherError;
}

std::string SendRawRequest(const std::string& address, std::uint16_t port,
                           std::string_view request) {
  const int descriptor = ConnectTo(address, port);
  if (descriptor < 0) return "";
  std::string_view remaining = request;
  while (!remaining.empty()) {
    const ssize_t sent = send(descriptor, remaining.data(), remaining.size(), MSG_NOSIGNAL);
    if (sent <= 0) break;
    remaining.remove_prefix(static_cast<size_t>(sent));
  }
  std::string response;
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  char buffer[4096];
  while (absl::Now() < deadline) {
    pollfd watched{.fd = descriptor, .events = POLLIN, .revents = 0};
    if (poll(&watched, 1, 100) <= 0) continue;
    const ssize_t received = recv(descriptor, buffer, sizeof(buffer), 0);
    if (received <= 0) break;
    response.append(buffer, static_cast<size_t>(received));
  }
  close(descriptor);
  return response;
}

int StatusCodeOf(std::string_view response) {
  constexpr std::string_view kPrefix = "HTTP/1.";
  if (response.substr(0, kPrefix.size()) != kPrefix || response.size() < 12) return -1;
  try {
    return std::stoi(std::string(response.substr(9, 3)));
  } catch (const std::exception&) {
    return -1;
  }
}

std::string BodyOf(std::string_view response) {
  const size_t end = response.find("\r\n\r\n");
  return end == std::string_view::npos ? "" : std::string(response.substr(end + 4));
}

std::string ReadWholeFile(const fs::path& path) {
  std::ifstream stream(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(stream), std::istreambuf_iterator<char>());
}

}  // namespace certfleet::testing
