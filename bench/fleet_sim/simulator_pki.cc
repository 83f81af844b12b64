#include "bench/fleet_sim/simulator_pki.h"

#include <system_error>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/crypto/certificate_builder.h"
#include "common/crypto/certificate_reader.h"
#include "common/io/file.h"

namespace certfleet::bench {
namespace {

constexpr size_t kMaxPemBytes = 64 * 1024;

absl::StatusOr<crypto::PrivateKey> LoadOrMakeKey(const std::filesystem::path& file) {
  absl::StatusOr<std::string> pem = io::ReadFile(file, kMaxPemBytes);
  if (pem.ok()) {
    absl::StatusOr<crypto::PrivateKey> key = crypto::PrivateKey::Parse(*pem);
    if (!key.ok()) {
      return absl::FailedPreconditionError(
          absl::StrCat(file.string(), " is damaged: ", key.status().message()));
    }
    return key;
  }
  if (!absl::IsNotFound(pem.status())) return pem.status();
  absl::StatusOr<crypto::PrivateKey> key =
      crypto::PrivateKey::Generate({crypto::KeyAlgorithm::kRsa, 2048});
  if (!key.ok()) return key.status();
  if (absl::Status written = io::WriteFileAtomically(file, key->ToPem(), 0600); !written.ok()) {
    return written;
  }
  return key;
}

}  // namespace

absl::StatusOr<SimulatorPki> SimulatorPki::LoadOrCreate(const std::filesystem::path& directory,
                                                        int pool_size) {
  std::error_code error;
  std::filesystem::create_directories(directory / "key-pool", error);
  if (error) {
    return absl::PermissionDeniedError(
        absl::StrCat("cannot create ", (directory / "key-pool").string(), ": ", error.message()));
  }
  absl::StatusOr<crypto::PrivateKey> ca_key = LoadOrMakeKey(directory / "ca.key");
  if (!ca_key.ok()) return ca_key.status();
  const std::filesystem::path ca_file = directory / "ca.crt";
  std::optional<crypto::Certificate> ca_certificate;
  if (absl::StatusOr<std::string> pem = io::ReadFile(ca_file, kMaxPemBytes); pem.ok()) {
    absl::StatusOr<crypto::Certificate> read = crypto::ReadSingleCertificate(*pem);
    if (!read.ok() || !(read->public_key() == ca_key->public_key())) {
      return absl::FailedPreconditionError(
          absl::StrCat(ca_file.string(), " is damaged or does not match ca.key"));
    }
    ca_certificate = *read;
  } else {
    crypto::CertificateProfile profile;
    profile.subject.common_name = "Sim Fleet Root CA";
    profile.subject.organization = "Sim Fleet";
    profile.not_before = absl::Now() - absl::Hours(24);
    profile.not_after = absl::Now() + absl::Hours(24 * 365 * 20);
    profile.usage = crypto::CertificateUsage::kCertificateAuthority;
    absl::StatusOr<crypto::Certificate> made =
        crypto::IssueCertificate(profile, ca_key->public_key(), std::nullopt, *ca_key);
    if (!made.ok()) return made.status();
    if (absl::Status written = io::WriteFileAtomically(ca_file, made->ToPem(), 0644);
        !written.ok()) {
      return written;
    }
    ca_certificate = *made;
  }
  std::vector<crypto::PrivateKey> pool;
  for (int i = 0; i < std::max(1, pool_size); ++i) {
    absl::StatusOr<crypto::PrivateKey> key =
        LoadOrMakeKey(directory / "key-pool" / absl::StrFormat("%04d.key", i));
    if (!key.ok()) return key.status();
    pool.push_back(*key);
  }
  return SimulatorPki(*ca_certificate, *ca_key, std::move(pool));
}

absl::StatusOr<crypto::Certificate> SimulatorPki::IssueLeaf(const std::string& common_name,
                                                            size_t key_index, absl::Time not_before,
                                                            absl::Time not_after) const {
  crypto::CertificateProfile profile;
  profile.subject.common_name = common_name;
  profile.subject.organization = "Sim Fleet";
  profile.alternative_names = {absl::StrCat("DNS:", common_name)};
  profile.not_before = not_before;
  profile.not_after = not_after;
  profile.usage = crypto::CertificateUsage::kTlsServer;
  return crypto::IssueCertificate(profile, PoolKey(key_index).public_key(), ca_certificate_,
                                  ca_key_);
}

}  // namespace certfleet::bench
