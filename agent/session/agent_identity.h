// The agent's identity in the fleet: its own key (ECDSA P-256, made on the
// host, never sent anywhere), the client certificate the controller issued
// for it, the chain up to the fleet CA, the host id, and when to renew it.
//
// It is kept in one file, STATE_DIR/identity.json (mode 0600, in a state dir
// of mode 0700), written atomically (common/io): after a crash the agent has
// the old identity or the new one, never a key without its certificate. The
// join token is never written there.
//
// Thread safety: AgentIdentity is a value; the functions have no shared
// state (concurrent writers of one state dir: the last rename wins).

#ifndef CERTFLEET_AGENT_SESSION_AGENT_IDENTITY_H_
#define CERTFLEET_AGENT_SESSION_AGENT_IDENTITY_H_

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/crypto/certificate.h"
#include "common/crypto/private_key.h"

namespace certfleet::agent::session {

struct AgentIdentity {
  std::string host_id;
  crypto::PrivateKey key;
  crypto::Certificate certificate;
  // Certificates above `certificate`, nearest first, ending with the fleet
  // CA. Never empty.
  std::vector<crypto::Certificate> chain;
  // When the agent renews the certificate (RenewIdentity).
  absl::Time renew_at = absl::InfiniteFuture();

  // The fleet CA: the last certificate of the chain.
  const crypto::Certificate& fleet_ca() const { return chain.back(); }
};

// STATE_DIR/identity.json.
std::filesystem::path IdentityFile(const std::filesystem::path& state_dir);

// The identity kept in `state_dir`, or nullopt when there is none (first
// start). Returns FailedPrecondition naming the file when it is damaged
// (unreadable JSON, a key that does not match the certificate, no chain).
absl::StatusOr<std::optional<AgentIdentity>> LoadIdentity(const std::filesystem::path& state_dir);

// Writes `identity` to `state_dir` (created with mode 0700 when missing)
// atomically, mode 0600. Returns the I/O error naming the path.
absl::Status SaveIdentity(const std::filesystem::path& state_dir, const AgentIdentity& identity);

}  // namespace certfleet::agent::session

#endif  // CERTFLEET_AGENT_SESSION_AGENT_IDENTITY_H_
