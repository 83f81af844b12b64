// Joining the fleet and reaching the controller.
//
// The first start has no identity: the agent fetches the chain the
// controller serves over plain server-authenticated TLS and finds in it the
// certificate whose SHA-256 is the pinned controller.ca_sha256, checking that
// the served certificate chains to it. Only then does it send the join token
// (Enroll, over TLS trusting only that CA), with a CSR for a new ECDSA P-256
// key made here, and keep the identity the controller issues
// (agent_identity.h). A controller whose CA is not the pinned one never sees
// the token. Later starts reuse the identity and trust its fleet CA.
//
// Thread safety: functions without shared state.

#ifndef CERTFLEET_AGENT_SESSION_ENROLLMENT_H_
#define CERTFLEET_AGENT_SESSION_ENROLLMENT_H_

#include <grpcpp/channel.h>
#include <grpcpp/support/status.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "agent/session/agent_config.h"
#include "agent/session/agent_description.h"
#include "agent/session/agent_identity.h"
#include "certfleet/v1/common.pb.h"
#include "common/crypto/certificate.h"

namespace certfleet::agent::session {

// Where the session writes one readable line per event.
using EventLog = std::function<void(std::string_view line)>;

// "host:port" or "[v6]:port" -> host and port. InvalidArgument otherwise.
absl::StatusOr<std::pair<std::string, uint16_t>> SplitAddress(std::string_view address);

// The grpc::Status as an absl::Status with the same code and message.
absl::Status FromGrpcStatus(const grpc::Status& status, std::string_view what);

// Connects to config.controller_address with TLS and returns the served
// certificate whose SHA-256 is config.controller_ca_sha256, once the served
// leaf verifies to it. Returns FailedPrecondition "controller CA fingerprint
// X does not match the pinned Y" when no served certificate has the pinned
// fingerprint (X is the top of the served chain) or the leaf does not chain
// to it, Unavailable / DeadlineExceeded when the controller cannot be
// reached.
absl::StatusOr<crypto::Certificate> FetchPinnedControllerCa(const AgentConfig& config);

// A channel to the controller that trusts only `fleet_ca` and checks the
// server's name (config.controller_server_name, else the address's host);
// it presents `identity` as client certificate when given.
std::shared_ptr<grpc::Channel> MakeControllerChannel(const AgentConfig& config,
                                                     const crypto::Certificate& fleet_ca,
                                                     const AgentIdentity* identity);

// Enrolls with `join_token` after FetchPinnedControllerCa, and saves the new
// identity in config.state_dir. Errors: those of FetchPinnedControllerCa
// (the token is then not sent); Unauthenticated "join token refused: ..."
// and the controller's other refusals; the I/O error of SaveIdentity.
absl::StatusOr<AgentIdentity> EnrollAgent(const AgentConfig& config, std::string_view join_token,
                                          const certfleet::v1::Platform& platform,
                                          const certfleet::v1::HostCapabilities& capabilities);

// The identity in config.state_dir, or a new one by EnrollAgent with
// ResolveJoinToken's token when there is none. Returns FailedPrecondition
// when the stored identity's fleet CA is not the pinned one, NotFound when
// there is no identity and no join token, and EnrollAgent's errors.
absl::StatusOr<AgentIdentity> LoadOrEnroll(const AgentConfig& config,
                                           const certfleet::v1::Platform& platform,
                                           const certfleet::v1::HostCapabilities& capabilities,
                                           const EventLog& log);

// Makes a new key and CSR, exchanges them for a new certificate through
// RenewIdentity on `channel` (authenticated with the current identity), and
// saves the new identity. Errors: the controller's, and SaveIdentity's.
absl::StatusOr<AgentIdentity> RenewAgentIdentity(const AgentConfig& config,
                                                 const AgentIdentity& current,
                                                 const std::shared_ptr<grpc::Channel>& channel);

}  // namespace certfleet::agent::session

#endif  // CERTFLEET_AGENT_SESSION_ENROLLMENT_H_
