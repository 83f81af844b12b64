#include "agent/session/agent_identity.h"

#include <sys/stat.h>

#include <system_error>

#include "absl/strings/str_cat.h"
#include "common/crypto/certificate_reader.h"
#include "common/io/file.h"
#include "nlohmann/json.hpp"

namespace certfleet::agent::session {
namespace {

constexpr size_t kMaxIdentityBytes = 256 * 1024;

std::string FormatUtc(absl::Time time) {
  return absl::FormatTime(absl::RFC3339_full, time, absl::UTCTimeZone());
}

absl::Status Damaged(const std::filesystem::path& file, const std::string& problem) {
  return absl::FailedPreconditionError(
      absl::StrCat("the agent identity ", file.string(), " is damaged: ", problem,
                   "; move it away and enroll again with a new join token"));
}

}  // namespace

std::filesystem::path IdentityFile(const std::filesystem::path& state_dir) {
  return state_dir / "identity.json";
}

absl::StatusOr<std::optional<AgentIdentity>> LoadIdentity(const std::filesystem::path& state_dir) {
  const std::filesystem::path file = IdentityFile(state_dir);
  absl::StatusOr<std::string> text = io::ReadFile(file, kMaxIdentityBytes);
  if (absl::IsNotFound(text.status())) return std::nullopt;
  if (!text.ok()) return text.status();
  nlohmann::json json = nlohmann::json::parse(*text, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded() || !json.is_object()) return Damaged(file, "not a JSON object");
  for (const char* field : {"host_id", "private_key_pem", "certificate_pem", "chain_pem"}) {
    if (!json.contains(field) || !json[field].is_string()) {
      return Damaged(file, absl::StrCat("no ", field));
    }
  }
  absl::StatusOr<crypto::PrivateKey> key =
      crypto::PrivateKey::Parse(json["private_key_pem"].get<std::string>());
  if (!key.ok()) return Damaged(file, std::string(key.status().message()));
  absl::StatusOr<crypto::Certificate> certificate =
      crypto::ReadSingleCertificate(json["certificate_pem"].get<std::string>());
  if (!certificate.ok()) return Damaged(file, std::string(certificate.status().message()));
  if (!(certificate->public_key() == key->public_key())) {
    return Damaged(file, "the private key does not match the certificate");
  }
  absl::StatusOr<crypto::CertificateFile> chain =
      crypto::ReadCertificates(json["chain_pem"].get<std::string>());
  if (!chain.ok()) return Damaged(file, std::string(chain.status().message()));
  AgentIdentity identity{.host_id = json["host_id"].get<std::string>(),
                         .key = *key,
                         .certificate = *certificate,
                         .chain = chain->certificates,
                         .renew_at = absl::InfiniteFuture()};
  if (identity.host_id.empty()) return Damaged(file, "empty host_id");
  if (json.contains("renew_at") && json["renew_at"].is_string()) {
    absl::Time renew_at;
    std::string error;
    if (!absl::ParseTime(absl::RFC3339_full, json["renew_at"].get<std::string>(), &renew_at,
                         &error)) {
      return Damaged(file, absl::StrCat("renew_at: ", error));
    }
    identity.renew_at = renew_at;
  }
  return identity;
}

absl::Status SaveIdentity(const std::filesystem::path& state_dir, const AgentIdentity& identity) {
  std::error_code error;
  if (!std::filesystem::exists(state_dir, error)) {
    std::filesystem::create_directories(state_dir, error);
    if (error) {
      return absl::PermissionDeniedError(
          absl::StrCat("cannot create the state dir ", state_dir.string(), ": ", error.message()));
    }
    ::chmod(state_dir.c_str(), 0700);
  }
  nlohmann::json json = {{"host_id", identity.host_id},
                         {"private_key_pem", identity.key.ToPem()},
                         {"certificate_pem", identity.certificate.ToPem()},
                         {"chain_pem", crypto::ToPemBundle(identity.chain)},
                         {"certificate_sha256", identity.certificate.Sha256Fingerprint()},
                         {"expires_at", FormatUtc(identity.certificate.NotAfter())},
                         {"renew_at", FormatUtc(identity.renew_at)}};
  return io::WriteFileAtomically(IdentityFile(state_dir), json.dump(2) + "\n", 0600);
}

}  // namespace certfleet::agent::session
