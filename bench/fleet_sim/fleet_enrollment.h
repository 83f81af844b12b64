// Gives each simulated agent its identity: the one cached in its folder of
// the state dir (STATE_DIR/agents/HOSTNAME/identity.json, the real agent's
// format, agent/session/agent_identity.h) when it was issued under the
// pinned fleet CA and is valid for at least another hour; otherwise a new
// one, enrolled as the real agent enrolls (an ECDSA P-256 key made here, a
// CSR, AgentService.Enroll) with a join token minted for that hostname
// through the admin API (CreateJoinToken, labels sim=true and
// group=INDEX%10).
//
// Thread safety: functions without shared state; the stubs are gRPC's
// (thread-safe).

#ifndef CERTFLEET_BENCH_FLEET_SIM_FLEET_ENROLLMENT_H_
#define CERTFLEET_BENCH_FLEET_SIM_FLEET_ENROLLMENT_H_

#include <filesystem>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "agent/session/agent_identity.h"
#include "certfleet/v1/admin.grpc.pb.h"
#include "certfleet/v1/agent.grpc.pb.h"
#include "common/crypto/certificate.h"

namespace certfleet::bench {

struct EnrollmentContext {
  // The fleet CA the controller serves, checked against the pin.
  crypto::Certificate fleet_ca;
  // Admin API (CreateJoinToken) and an agent-API channel without client
  // certificate (Enroll).
  v1::AdminService::Stub* admin = nullptr;
  v1::AgentService::Stub* enrollment = nullptr;
  absl::Duration rpc_timeout = absl::Seconds(30);
};

struct EnrolledIdentity {
  agent::session::AgentIdentity identity;
  // False when the cached identity was used.
  bool enrolled_now = false;
};

// The identity of the simulated host `hostname` (the `index`-th), cached in
// `agent_dir` or enrolled now and written there. Errors: the admin API's
// refusal of the token ("creating a join token for HOST: ..."), the
// controller's refusal of the enrollment, and the I/O error of the cache.
absl::StatusOr<EnrolledIdentity> LoadOrEnrollAgent(const EnrollmentContext& context,
                                                   const std::filesystem::path& agent_dir,
                                                   const std::string& hostname, int index);

}  // namespace certfleet::bench

#endif  // CERTFLEET_BENCH_FLEET_SIM_FLEET_ENROLLMENT_H_
