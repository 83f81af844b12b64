#include "bench/fleet_sim/fleet_enrollment.h"

#include <grpcpp/client_context.h>

#include <optional>
#include <vector>

#include "absl/strings/str_cat.h"
#include "agent/session/agent_description.h"
#include "agent/session/enrollment.h"
#include "agent/session/job_conversion.h"
#include "bench/fleet_sim/simulated_host.h"
#include "common/crypto/certificate_reader.h"
#include "common/crypto/certificate_request.h"

namespace certfleet::bench {
namespace {

namespace session = agent::session;

std::chrono::system_clock::time_point Deadline(absl::Duration timeout) {
  return absl::ToChronoTime(absl::Now() + timeout);
}

std::map<std::string, std::string> LabelsFor(int index) {
  return {{"sim", "true"}, {"group", std::to_string(index % 10)}};
}

}  // namespace

absl::StatusOr<EnrolledIdentity> LoadOrEnrollAgent(const EnrollmentContext& context,
                                                   const std::filesystem::path& agent_dir,
                                                   const std::string& hostname, int index) {
  absl::StatusOr<std::optional<session::AgentIdentity>> stored = session::LoadIdentity(agent_dir);
  if (!stored.ok()) return stored.status();
  if (stored->has_value()) {
    const session::AgentIdentity& identity = **stored;
    if (identity.fleet_ca() == context.fleet_ca &&
        identity.certificate.NotAfter() > absl::Now() + absl::Hours(1)) {
      return EnrolledIdentity{.identity = identity, .enrolled_now = false};
    }
  }

  v1::CreateJoinTokenRequest token_request;
  token_request.mutable_time_to_live()->set_seconds(3600);
  token_request.set_bound_hostname(hostname);
  for (const auto& [key, value] : LabelsFor(index)) {
    (*token_request.mutable_labels())[key] = value;
  }
  token_request.set_description("fleet-sim simulated agent");
  v1::CreateJoinTokenResponse token;
  {
    grpc::ClientContext call;
    call.set_deadline(Deadline(context.rpc_timeout));
    grpc::Status status = context.admin->CreateJoinToken(&call, token_request, &token);
    if (!status.ok()) {
      return session::FromGrpcStatus(status, absl::StrCat("creating a join token for ", hostname));
    }
  }

  absl::StatusOr<crypto::PrivateKey> key =
      crypto::PrivateKey::Generate({crypto::KeyAlgorithm::kEcdsa, 256});
  if (!key.ok()) return key.status();
  crypto::DistinguishedName subject;
  subject.common_name = hostname;
  absl::StatusOr<crypto::CertificateRequest> request =
      crypto::CertificateRequest::Create(*key, subject, {});
  if (!request.ok()) return request.status();

  v1::EnrollRequest enroll;
  enroll.set_join_token(token.secret());
  enroll.set_csr_pem(request->ToPem());
  enroll.set_hostname(hostname);
  enroll.set_agent_version(session::kAgentVersion);
  *enroll.mutable_platform() = SimulatedHost::Platform();
  *enroll.mutable_capabilities() = SimulatedHost::Capabilities();
  for (const auto& [label, value] : LabelsFor(index)) (*enroll.mutable_labels())[label] = value;
  v1::EnrollResponse response;
  {
    grpc::ClientContext call;
    call.set_deadline(Deadline(context.rpc_timeout));
    grpc::Status status = context.enrollment->Enroll(&call, enroll, &response);
    if (!status.ok()) {
      return session::FromGrpcStatus(status, absl::StrCat("enrolling ", hostname));
    }
  }
  absl::StatusOr<crypto::Certificate> certificate =
      crypto::ReadSingleCertificate(response.client_certificate_pem());
  if (!certificate.ok()) return certificate.status();
  std::vector<crypto::Certificate> chain;
  for (const std::string& pem : response.chain_pems()) {
    absl::StatusOr<crypto::Certificate> link = crypto::ReadSingleCertificate(pem);
    if (!link.ok()) return link.status();
    chain.push_back(*link);
  }
  if (chain.empty()) return absl::InternalError("the controller sent no chain");
  session::AgentIdentity identity{.host_id = response.host_id(),
                                  .key = *key,
                                  .certificate = *certificate,
                                  .chain = chain,
                                  .renew_at = response.has_renew_at()
                                                  ? session::FromTimestamp(response.renew_at())
                                                  : absl::InfiniteFuture()};
  if (absl::Status saved = session::SaveIdentity(agent_dir, identity); !saved.ok()) return saved;
  return EnrolledIdentity{.identity = identity, .enrolled_now = true};
}

}  // namespace certfleet::bench
