#include "tests/agent/drivers/iis6/iis6_test_host.h"

#include <sys/stat.h>

#include <fstream>
#include <iterator>
#include <sstream>
#include <stdexcept>

#include "absl/strings/str_cat.h"
#include "common/crypto/certificate_builder.h"
#include "tests/support/test_pki.h"

namespace certfleet::testing {
namespace {

template <typename T>
T ValueOrThrow(absl::StatusOr<T> value, const char* what) {
  if (!value.ok()) throw std::runtime_error(absl::StrCat(what, ": ", value.status().ToString()));
  return *std::move(value);
}

}  // namespace

iis6::CertificateIssuer TestIssuer() {
  const TestPki& pki = TestPki::Shared();
  return iis6::CertificateIssuer{
      pki.intermediate.certificate, pki.intermediate.key, {pki.root.certificate}};
}

iis6::EmulatedHost BuildTestHost(const std::filesystem::path& host_root) {
  iis6::EmulatedHostOptions options;
  options.host_root = host_root;
  options.issuer = TestIssuer();
  return ValueOrThrow(iis6::BuildEmulatedHost(options), "building the test host");
}

crypto::Certificate IssueForRequest(const crypto::CertificateRequest& request,
                                    absl::Time not_before, int days) {
  const TestPki& pki = TestPki::Shared();
  crypto::CertificateProfile profile;
  profile.not_before = not_before;
  profile.not_after = not_before + absl::Hours(24 * days);
  profile.usage = crypto::CertificateUsage::kTlsServer;
  return ValueOrThrow(crypto::IssueFromRequest(request, profile, pki.intermediate.certificate,
                                               pki.intermediate.key),
                      "issuing for a request");
}

crypto::PrivateKey NewRsaKey() {
  return ValueOrThrow(crypto::PrivateKey::Generate({crypto::KeyAlgorithm::kRsa, 2048}),
                      "generating an RSA key");
}

unsigned FileMode(const std::filesystem::path& path) {
  struct stat info;
  if (::stat(path.c_str(), &info) != 0) return 0;
  return info.st_mode & 07777;
}

std::map<std::string, std::string> SnapshotTree(const std::filesystem::path& root) {
  std::map<std::string, std::string> snapshot;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(root)) {
    const std::string relative = std::filesystem::relative(entry.path(), root).string();
    snapshot[absl::StrCat("mode:", relative)] = absl::StrCat(FileMode(entry.path()));
    if (entry.is_regular_file()) {
      std::ifstream stream(entry.path(), std::ios::binary);
      snapshot[relative] = std::string(std::istreambuf_iterator<char>(stream), {});
    } else {
      snapshot[relative] = "<folder>";
    }
  }
  return snapshot;
}

}  // namespace certfleet::testing
