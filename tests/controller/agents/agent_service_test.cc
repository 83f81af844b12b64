// Integration tests of AgentService: a real controller in-process on
// 127.0.0.1 (port 0) with a temporary data dir, and gRPC clients over TLS
// that trust only the fleet CA.

#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "absl/time/clock.h"
#include "certfleet/v1/agent.grpc.pb.h"
#include "common/crypto/certificate_reader.h"
#include "common/crypto/certificate_request.h"
#include "common/crypto/private_key.h"
#include "controller/identity/join_token.h"
#include "controller/server/controller_server.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/temporary_directory.h"

namespace certfleet::controller::agents {
namespace {

namespace v1 = ::certfleet::v1;
using ::testing::HasSubstr;

struct EnrolledAgent {
  std::string host_id;
  std::string hostname;
  std::string key_pem;
  std::string certificate_pem;
  std::unique_ptr<v1::AgentService::Stub> stub;
};

std::string MakeCsr(const std::string& hostname, std::string* key_pem) {
  absl::StatusOr<crypto::PrivateKey> key =
      crypto::PrivateKey::Generate({crypto::KeyAlgorithm::kEcdsa, 256});
  EXPECT_TRUE(key.ok()) << key.status();
  *key_pem = key->ToPem();
  crypto::DistinguishedName subject;
  subject.common_name = hostname;
  absl::StatusOr<crypto::CertificateRequest> request =
      crypto::CertificateRequest::Create(*key, subject, {});
  EXPECT_TRUE(request.ok()) << request.status();
  return request->ToPem();
}

class AgentServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server::ControllerOptions options;
    options.data_dir = directory_.path() / "data";
    options.listen_address = "127.0.0.1:0";
    options.agent_service.heartbeat_interval = absl::Seconds(1);
    options.agent_service.sweep_interval = absl::Milliseconds(200);
    absl::StatusOr<std::unique_ptr<server::ControllerServer>> controller =
        server::ControllerServer::Start(options);
    ASSERT_TRUE(controller.ok()) << controller.status();
    controller_ = *std::move(controller);
    ASSERT_GT(controller_->port(), 0);
  }

  void TearDown() override {
    if (controller_ != nullptr) controller_->Shutdown(absl::Seconds(2));
  }

  // A stub over TLS that trusts only the fleet CA; with a client
  // certificate when `key_pem` is not empty.
  std::unique_ptr<v1::AgentService::Stub> MakeStub(const std::string& key_pem = "",
                                                   const std::string& certificate_pem = "") {
    grpc::SslCredentialsOptions tls;
    tls.pem_root_certs = controller_->authority().ca_certificate().ToPem();
    tls.pem_private_key = key_pem;
    tls.pem_cert_chain = certificate_pem;
    grpc::ChannelArguments arguments;
    arguments.SetSslTargetNameOverride("localhost");
    return v1::AgentService::NewStub(grpc::CreateCustomChannel(
        "127.0.0.1:" + std::to_string(controller_->port()), grpc::SslCredentials(tls), arguments));
  }

  std::string NewToken(const std::string& bound_hostname = "") {
    server::JoinTokenSpec spec;
    spec.bound_hostname = bound_hostname;
    absl::StatusOr<std::string> secret =
        server::CreateJoinToken(controller_->store(), spec, absl::Now());
    EXPECT_TRUE(secret.ok()) << secret.status();
    return *secret;
  }

  static std::unique_ptr<grpc::ClientContext> Context() {
    auto context = std::make_unique<grpc::ClientContext>();
    context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    return context;
  }

  grpc::Status Enroll(const std::string& token, const std::string& hostname,
                      const std::string& csr_pem, v1::EnrollResponse* response) {
    v1::EnrollRequest request;
    request.set_join_token(token);
    request.set_hostname(hostname);
    request.set_csr_pem(csr_pem);
    request.set_agent_version("0.1.0");
    return MakeStub()->Enroll(Context().get(), request, response);
  }

  EnrolledAgent EnrollAgent(const std::string& hostname) {
    EnrolledAgent agent;
    agent.hostname = hostname;
    const std::string csr = MakeCsr(hostname, &agent.key_pem);
    v1::EnrollResponse response;
    grpc::Status status = Enroll(NewToken(), hostname, csr, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    agent.host_id = response.host_id();
    agent.certificate_pem = response.client_certificate_pem();
    agent.stub = MakeStub(agent.key_pem, agent.certificate_pem);
    return agent;
  }

  std::string QueueInventoryJob(const std::string& host_id) {
    store::NewJob job;
    job.host_id = host_id;
    job.kind = store::JobKind::kInventory;
    v1::JobSpec spec;
    spec.mutable_inventory()->set_reason("test");
    job.spec = spec.SerializeAsString();
    job.created_at = absl::Now();
    job.created_by = "test";
    absl::StatusOr<store::JobRecord> created =
        controller_->store().jobs().CreateJob(job, std::nullopt);
    EXPECT_TRUE(created.ok()) << created.status();
    return created->job_id;
  }

  static v1::ReportStepRequest StepRequest(const std::string& job_id, uint64_t attempt,
                                           v1::StepOutcome outcome) {
    v1::ReportStepRequest request;
    request.set_job_id(job_id);
    request.set_attempt(attempt);
    request.mutable_step()->set_step_index(0);
    request.mutable_step()->set_step(v1::STEP_NAME_SCAN_INVENTORY);
    request.mutable_step()->set_outcome(outcome);
    request.mutable_step()->mutable_started_at()->set_seconds(absl::ToUnixSeconds(absl::Now()));
    return request;
  }

  static v1::CompleteJobRequest CompleteRequest(const std::string& job_id, uint64_t attempt) {
    v1::CompleteJobRequest request;
    request.set_job_id(job_id);
    request.set_attempt(attempt);
    request.mutable_result()->set_outcome(v1::JOB_OUTCOME_SUCCEEDED);
    request.mutable_result()->mutable_inventory()->set_content_hash("hash-1");
    request.mutable_result()->mutable_finished_at()->set_seconds(1'800'000'000);
    return request;
  }

  certfleet::testing::TemporaryDirectory directory_;
  std::unique_ptr<server::ControllerServer> controller_;
};

TEST_F(AgentServiceTest, EnrollIssuesAnAgentCertificateBoundToTheHost) {
  std::string key_pem;
  v1::EnrollResponse response;
  const absl::Time before = absl::Now();
  grpc::Status status =
      Enroll(NewToken("web1.example.com"), "web1.example.com", MakeCsr("x", &key_pem), &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_THAT(response.host_id(), HasSubstr("host-"));
  ASSERT_EQ(response.chain_pems_size(), 1);
  EXPECT_EQ(response.chain_pems(0), controller_->authority().ca_certificate().ToPem());

  absl::StatusOr<crypto::Certificate> certificate =
      crypto::ReadSingleCertificate(response.client_certificate_pem());
  ASSERT_TRUE(certificate.ok()) << certificate.status();
  absl::StatusOr<FleetIdentity> identity =
      controller_->authority().Identify(*certificate, absl::Now());
  ASSERT_TRUE(identity.ok()) << identity.status();
  // An agent certificate never identifies an admin.
  EXPECT_EQ(identity->role, FleetRole::kAgent);
  EXPECT_NE(identity->role, FleetRole::kAdmin);
  EXPECT_EQ(identity->host_id, response.host_id());

  const absl::Time expires_at = absl::FromUnixSeconds(response.expires_at().seconds());
  const absl::Time renew_at = absl::FromUnixSeconds(response.renew_at().seconds());
  const absl::Duration lifetime = expires_at - before;
  EXPECT_GT(renew_at, before + lifetime * 0.6);
  EXPECT_LT(renew_at, before + lifetime * 0.72 + absl::Seconds(5));

  absl::StatusOr<store::HostRecord> host = controller_->store().hosts().GetHost(response.host_id());
  ASSERT_TRUE(host.ok()) << host.status();
  EXPECT_EQ(host->hostname, "web1.example.com");
  EXPECT_EQ(host->identity.certificate_sha256, certificate->Sha256Fingerprint());
}

TEST_F(AgentServiceTest, ReusedTokenIsUnauthenticated) {
  const std::string token = NewToken();
  std::string key_pem;
  v1::EnrollResponse response;
  ASSERT_TRUE(Enroll(token, "web1", MakeCsr("web1", &key_pem), &response).ok());
  grpc::Status again = Enroll(token, "web2", MakeCsr("web2", &key_pem), &response);
  EXPECT_EQ(again.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_THAT(again.error_message(), HasSubstr("already used"));
}

TEST_F(AgentServiceTest, ExpiredTokenIsUnauthenticated) {
  const std::string secret = GenerateJoinTokenSecret();
  store::NewJoinToken token;
  token.secret_sha256 = HashJoinTokenSecret(secret);
  token.created_at = absl::Now() - absl::Hours(2);
  token.expires_at = absl::Now() - absl::Hours(1);
  ASSERT_TRUE(controller_->store().join_tokens().CreateJoinToken(token).ok());
  std::string key_pem;
  v1::EnrollResponse response;
  grpc::Status status = Enroll(secret, "web1", MakeCsr("web1", &key_pem), &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_THAT(status.error_message(), HasSubstr("expired"));
}

TEST_F(AgentServiceTest, TokenBoundToAnotherHostIsUnauthenticated) {
  std::string key_pem;
  v1::EnrollResponse response;
  grpc::Status status = Enroll(NewToken("web1"), "web2", MakeCsr("web2", &key_pem), &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
}

TEST_F(AgentServiceTest, UnknownTokenIsUnauthenticated) {
  std::string key_pem;
  v1::EnrollResponse response;
  grpc::Status status =
      Enroll(GenerateJoinTokenSecret(), "web1", MakeCsr("web1", &key_pem), &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  status = Enroll("not-a-token", "web1", MakeCsr("web1", &key_pem), &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
}

TEST_F(AgentServiceTest, BadCsrIsInvalidArgumentAndLeavesTheTokenUnused) {
  const std::string token = NewToken();
  v1::EnrollResponse response;
  grpc::Status status = Enroll(token, "web1", "not a csr", &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("csr_pem"));
  std::string key_pem;
  EXPECT_TRUE(Enroll(token, "web1", MakeCsr("web1", &key_pem), &response).ok());
}

TEST_F(AgentServiceTest, ReportStepWithoutClientCertificateIsUnauthenticated) {
  EnrolledAgent agent = EnrollAgent("web1");
  const std::string job_id = QueueInventoryJob(agent.host_id);
  v1::ReportStepResponse response;
  grpc::Status status = MakeStub()->ReportStep(
      Context().get(), StepRequest(job_id, 1, v1::STEP_OUTCOME_RUNNING), &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_THAT(status.error_message(), HasSubstr("no client certificate"));
}

TEST_F(AgentServiceTest, ConnectWithoutClientCertificateIsUnauthenticated) {
  auto context = Context();
  auto stream = MakeStub()->Connect(context.get());
  v1::ControllerMessage message;
  EXPECT_FALSE(stream->Read(&message));
  EXPECT_EQ(stream->Finish().error_code(), grpc::StatusCode::UNAUTHENTICATED);
}

TEST_F(AgentServiceTest, FirstMessageMustBeHello) {
  EnrolledAgent agent = EnrollAgent("web1");
  auto context = Context();
  auto stream = agent.stub->Connect(context.get());
  v1::AgentMessage heartbeat;
  heartbeat.mutable_heartbeat();
  ASSERT_TRUE(stream->Write(heartbeat));
  v1::ControllerMessage message;
  EXPECT_FALSE(stream->Read(&message));
  grpc::Status status = stream->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("Hello"));
}

TEST_F(AgentServiceTest, SessionGetsWelcomeAndQueuedWorkAndReportsIt) {
  EnrolledAgent agent = EnrollAgent("web1");
  auto context = Context();
  auto stream = agent.stub->Connect(context.get());
  v1::AgentMessage hello;
  hello.mutable_hello()->set_agent_version("0.1.0");
  ASSERT_TRUE(stream->Write(hello));

  v1::ControllerMessage message;
  ASSERT_TRUE(stream->Read(&message));
  ASSERT_TRUE(message.has_welcome());
  EXPECT_EQ(message.welcome().host_id(), agent.host_id);
  EXPECT_EQ(message.welcome().heartbeat_interval().seconds(), 1);
  EXPECT_NEAR(message.welcome().server_time().seconds(), absl::ToUnixSeconds(absl::Now()), 5);
  absl::StatusOr<store::HostRecord> host = controller_->store().hosts().GetHost(agent.host_id);
  ASSERT_TRUE(host.ok());
  EXPECT_TRUE(host->online);

  v1::AgentMessage heartbeat;
  heartbeat.mutable_heartbeat();
  ASSERT_TRUE(stream->Write(heartbeat));
  ASSERT_TRUE(stream->Read(&message));
  EXPECT_TRUE(message.has_heartbeat_acknowledgement());

  // Queued with no notification: the dispatch sweep must deliver it to the
  // idle session within 2 seconds.
  const absl::Time queued_at = absl::Now();
  const std::string job_id = QueueInventoryJob(agent.host_id);
  ASSERT_TRUE(stream->Read(&message));
  EXPECT_LT(absl::Now() - queued_at, absl::Seconds(2));
  ASSERT_TRUE(message.has_job_assignment());
  const v1::Lease& lease = message.job_assignment().lease();
  EXPECT_EQ(lease.job_id(), job_id);
  EXPECT_EQ(lease.attempt(), 1u);
  EXPECT_EQ(message.job_assignment().kind(), v1::JOB_KIND_INVENTORY);
  EXPECT_EQ(message.job_assignment().spec().inventory().reason(), "test");

  v1::ReportStepResponse step_response;
  grpc::Status status = agent.stub->ReportStep(
      Context().get(), StepRequest(job_id, 1, v1::STEP_OUTCOME_RUNNING), &step_response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_GT(step_response.lease_expires_at().seconds(), absl::ToUnixSeconds(absl::Now()));
  EXPECT_FALSE(step_response.cancellation_requested());

  status = agent.stub->ReportStep(
      Context().get(), StepRequest(job_id, 2, v1::STEP_OUTCOME_SUCCEEDED), &step_response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);

  status = agent.stub->ReportStep(
      Context().get(), StepRequest(job_id, 1, v1::STEP_OUTCOME_SUCCEEDED), &step_response);
  ASSERT_TRUE(status.ok()) << status.error_message();

  v1::CompleteJobResponse complete_response;
  status = agent.stub->CompleteJob(Context().get(), CompleteRequest(job_id, 1), &complete_response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_TRUE(complete_response.newly_recorded());
  status = agent.stub->CompleteJob(Context().get(), CompleteRequest(job_id, 1), &complete_response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_FALSE(complete_response.newly_recorded());

  absl::StatusOr<store::JobRecord> job = controller_->store().jobs().GetJob(job_id);
  ASSERT_TRUE(job.ok());
  EXPECT_EQ(job->status, store::JobStatus::kSucceeded);

  // The next job reaches the session at once through NotifyJobQueued.
  const std::string second_job_id = QueueInventoryJob(agent.host_id);
  controller_->agent_service().NotifyJobQueued(agent.host_id);
  ASSERT_TRUE(stream->Read(&message));
  ASSERT_TRUE(message.has_job_assignment());
  EXPECT_EQ(message.job_assignment().lease().job_id(), second_job_id);

  stream->WritesDone();
  EXPECT_TRUE(stream->Finish().ok());
}

TEST_F(AgentServiceTest, StaleAttemptIsFailedPrecondition) {
  EnrolledAgent agent = EnrollAgent("web1");
  const std::string job_id = QueueInventoryJob(agent.host_id);
  store::JobStore& jobs = controller_->store().jobs();
  const absl::Time now = absl::Now();
  ASSERT_TRUE(jobs.LeaseNextJob(agent.host_id, now, now + absl::Minutes(5)).ok());
  ASSERT_TRUE(jobs.ReleaseLease(job_id, 1, now, "test").ok());
  absl::StatusOr<std::optional<store::JobRecord>> leased =
      jobs.LeaseNextJob(agent.host_id, now, now + absl::Minutes(5));
  ASSERT_TRUE(leased.ok() && leased->has_value());
  ASSERT_EQ((*leased)->attempt, 2);

  v1::ReportStepResponse step_response;
  grpc::Status status = agent.stub->ReportStep(
      Context().get(), StepRequest(job_id, 1, v1::STEP_OUTCOME_RUNNING), &step_response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(status.error_message(), HasSubstr("stale"));
  v1::CompleteJobResponse complete_response;
  status = agent.stub->CompleteJob(Context().get(), CompleteRequest(job_id, 1), &complete_response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
}

TEST_F(AgentServiceTest, AnotherHostsJobIsPermissionDenied) {
  EnrolledAgent first = EnrollAgent("web1");
  EnrolledAgent second = EnrollAgent("web2");
  const std::string job_id = QueueInventoryJob(second.host_id);
  const absl::Time now = absl::Now();
  ASSERT_TRUE(
      controller_->store().jobs().LeaseNextJob(second.host_id, now, now + absl::Minutes(5)).ok());

  v1::ReportStepResponse step_response;
  grpc::Status status = first.stub->ReportStep(
      Context().get(), StepRequest(job_id, 1, v1::STEP_OUTCOME_RUNNING), &step_response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  v1::CompleteJobResponse complete_response;
  status = first.stub->CompleteJob(Context().get(), CompleteRequest(job_id, 1), &complete_response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
}

TEST_F(AgentServiceTest, RenewedIdentityReplacesTheOldOne) {
  EnrolledAgent agent = EnrollAgent("web1");
  std::string new_key_pem;
  v1::RenewIdentityRequest request;
  request.set_csr_pem(MakeCsr("web1", &new_key_pem));
  v1::RenewIdentityResponse response;
  grpc::Status status = agent.stub->RenewIdentity(Context().get(), request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_NE(response.client_certificate_pem(), agent.certificate_pem);

  auto renewed = MakeStub(new_key_pem, response.client_certificate_pem());
  const std::string job_id = QueueInventoryJob(agent.host_id);
  v1::ReportStepResponse step_response;
  status = renewed->ReportStep(Context().get(), StepRequest(job_id, 1, v1::STEP_OUTCOME_RUNNING),
                               &step_response);
  // Authenticated: the job is merely not leased yet.
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  // The superseded certificate no longer authenticates.
  auto superseded = MakeStub(agent.key_pem, agent.certificate_pem);
  status = superseded->ReportStep(Context().get(), StepRequest(job_id, 1, v1::STEP_OUTCOME_RUNNING),
                                  &step_response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
}

// Opens a session for `agent` and returns after its Welcome.
struct Session {
  std::unique_ptr<grpc::ClientContext> context;
  std::unique_ptr<grpc::ClientReaderWriter<v1::AgentMessage, v1::ControllerMessage>> stream;
};

Session OpenSession(EnrolledAgent& agent) {
  Session session;
  session.context = std::make_unique<grpc::ClientContext>();
  session.context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  session.stream = agent.stub->Connect(session.context.get());
  v1::AgentMessage hello;
  hello.mutable_hello()->set_agent_version("0.1.0");
  EXPECT_TRUE(session.stream->Write(hello));
  v1::ControllerMessage message;
  EXPECT_TRUE(session.stream->Read(&message));
  EXPECT_TRUE(message.has_welcome());
  return session;
}

TEST_F(AgentServiceTest, SecondStreamReplacesTheFirstWithGoAway) {
  EnrolledAgent agent = EnrollAgent("web1");
  Session first = OpenSession(agent);
  Session second = OpenSession(agent);
  v1::ControllerMessage message;
  ASSERT_TRUE(first.stream->Read(&message));
  ASSERT_TRUE(message.has_go_away());
  EXPECT_THAT(message.go_away().reason(), HasSubstr("replaced"));
  EXPECT_FALSE(first.stream->Read(&message));
  EXPECT_EQ(first.stream->Finish().error_code(), grpc::StatusCode::UNAVAILABLE);

  // The host stays online and the second session gets the work.
  absl::StatusOr<store::HostRecord> host = controller_->store().hosts().GetHost(agent.host_id);
  ASSERT_TRUE(host.ok());
  EXPECT_TRUE(host->online);
  const std::string job_id = QueueInventoryJob(agent.host_id);
  ASSERT_TRUE(second.stream->Read(&message));
  ASSERT_TRUE(message.has_job_assignment());
  EXPECT_EQ(message.job_assignment().lease().job_id(), job_id);
  second.stream->WritesDone();
  EXPECT_TRUE(second.stream->Finish().ok());
}

TEST_F(AgentServiceTest, ShutdownSendsGoAwayAndUnavailable) {
  EnrolledAgent agent = EnrollAgent("web1");
  Session session = OpenSession(agent);
  controller_->agent_service().Shutdown();
  v1::ControllerMessage message;
  ASSERT_TRUE(session.stream->Read(&message));
  EXPECT_TRUE(message.has_go_away());
  EXPECT_FALSE(session.stream->Read(&message));
  EXPECT_EQ(session.stream->Finish().error_code(), grpc::StatusCode::UNAVAILABLE);
}

TEST_F(AgentServiceTest, DecommissionedHostIsPermissionDenied) {
  EnrolledAgent agent = EnrollAgent("web1");
  const std::string job_id = QueueInventoryJob(agent.host_id);
  ASSERT_TRUE(
      controller_->store().hosts().DecommissionHost(agent.host_id, "test", absl::Now()).ok());
  v1::ReportStepResponse step_response;
  grpc::Status status = agent.stub->ReportStep(
      Context().get(), StepRequest(job_id, 1, v1::STEP_OUTCOME_RUNNING), &step_response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(status.error_message(), HasSubstr("decommissioned"));
}

TEST_F(AgentServiceTest, MissingFinishedAtIsInvalidArgument) {
  EnrolledAgent agent = EnrollAgent("web1");
  const std::string job_id = QueueInventoryJob(agent.host_id);
  v1::CompleteJobRequest request = CompleteRequest(job_id, 1);
  request.mutable_result()->clear_finished_at();
  v1::CompleteJobResponse response;
  grpc::Status status = agent.stub->CompleteJob(Context().get(), request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("finished_at"));
}

TEST_F(AgentServiceTest, HostGoesOfflineWhenItsStreamEnds) {
  EnrolledAgent agent = EnrollAgent("web1");
  Session session = OpenSession(agent);
  session.stream->WritesDone();
  EXPECT_TRUE(session.stream->Finish().ok());
  // Shutdown returns once every call, this stream's included, is done.
  controller_->Shutdown(absl::Seconds(2));
  absl::StatusOr<store::HostRecord> host = controller_->store().hosts().GetHost(agent.host_id);
  ASSERT_TRUE(host.ok());
  EXPECT_FALSE(host->online);
  EXPECT_TRUE(host->last_seen_at.has_value());
}

TEST_F(AgentServiceTest, WelcomeReconcilesTheJournal) {
  EnrolledAgent agent = EnrollAgent("web1");
  EnrolledAgent other = EnrollAgent("web2");
  store::JobStore& jobs = controller_->store().jobs();
  const absl::Time now = absl::Now();
  // Leased: attempt 1 is current (a journal naming attempt 7 is superseded).
  const std::string running = QueueInventoryJob(agent.host_id);
  ASSERT_TRUE(jobs.LeaseNextJob(agent.host_id, now, now + absl::Minutes(5)).ok());
  // A job of another host, unknown to this agent's host.
  const std::string other_host_job = QueueInventoryJob(other.host_id);

  v1::AgentMessage hello;
  hello.mutable_hello()->set_agent_version("0.1.0");
  auto add_state = [&](const std::string& job_id, uint64_t attempt) {
    v1::JobState* state = hello.mutable_hello()->add_journal();
    state->set_job_id(job_id);
    state->set_attempt(attempt);
  };
  add_state(running, 1);
  add_state(running, 7);
  add_state(other_host_job, 1);
  add_state("job-00000000000000000000000000000000", 1);

  auto context = Context();
  auto stream = agent.stub->Connect(context.get());
  ASSERT_TRUE(stream->Write(hello));
  v1::ControllerMessage message;
  ASSERT_TRUE(stream->Read(&message));
  ASSERT_TRUE(message.has_welcome());
  const auto& reconciliations = message.welcome().reconciliations();
  ASSERT_EQ(reconciliations.size(), 4);
  EXPECT_EQ(reconciliations[0].decision(), v1::RECONCILIATION_DECISION_RESUME);
  EXPECT_EQ(reconciliations[0].lease().attempt(), 1u);
  EXPECT_GT(reconciliations[0].lease().expires_at().seconds(), absl::ToUnixSeconds(now));
  EXPECT_EQ(reconciliations[1].decision(), v1::RECONCILIATION_DECISION_SUPERSEDED);
  EXPECT_EQ(reconciliations[2].decision(), v1::RECONCILIATION_DECISION_UNKNOWN_JOB);
  EXPECT_EQ(reconciliations[3].decision(), v1::RECONCILIATION_DECISION_UNKNOWN_JOB);

  v1::CompleteJobResponse complete_response;
  ASSERT_TRUE(
      agent.stub->CompleteJob(Context().get(), CompleteRequest(running, 1), &complete_response)
          .ok());
  stream->WritesDone();
  EXPECT_TRUE(stream->Finish().ok());

  // After completion, a reconnect with the same journal is told it is done.
  auto second_context = Context();
  auto second = agent.stub->Connect(second_context.get());
  v1::AgentMessage second_hello;
  second_hello.mutable_hello()->add_journal()->set_job_id(running);
  second_hello.mutable_hello()->mutable_journal(0)->set_attempt(1);
  ASSERT_TRUE(second->Write(second_hello));
  ASSERT_TRUE(second->Read(&message));
  ASSERT_TRUE(message.has_welcome());
  ASSERT_EQ(message.welcome().reconciliations_size(), 1);
  EXPECT_EQ(message.welcome().reconciliations(0).decision(),
            v1::RECONCILIATION_DECISION_ALREADY_COMPLETED);
  second->WritesDone();
  EXPECT_TRUE(second->Finish().ok());
}

namespace inventory {

v1::ReportInventoryRequest InventoryRequest(const std::string& content_hash) {
  v1::ReportInventoryRequest request;
  v1::HostInventory* inventory = request.mutable_inventory();
  inventory->mutable_scanned_at()->set_seconds(absl::ToUnixSeconds(absl::Now()));
  inventory->set_content_hash(content_hash);
  inventory->mutable_platform()->set_driver("iis6");
  v1::Site* site = inventory->add_sites();
  site->set_site_id("1");
  site->set_name("Default Web Site");
  site->set_state(v1::SITE_STATE_STARTED);
  v1::Binding* binding = inventory->add_bindings();
  binding->set_binding_id("1");
  binding->set_site_id("1");
  v1::Endpoint* endpoint = binding->add_secure_endpoints();
  endpoint->set_port(443);
  binding->set_certificate_thumbprint(std::string(40, 'A'));
  binding->set_certificate_store(v1::CERTIFICATE_STORE_MY);
  v1::CertificateInfo* certificate = inventory->add_certificates();
  certificate->set_thumbprint_sha1(std::string(40, 'A'));
  certificate->set_fingerprint_sha256(std::string(64, 'B'));
  certificate->set_subject("CN=www.example.com");
  certificate->mutable_subject_name()->set_common_name("www.example.com");
  certificate->set_issuer("CN=Example CA");
  certificate->set_serial_number("01");
  certificate->mutable_not_before()->set_seconds(1'700'000'000);
  certificate->mutable_not_after()->set_seconds(1'800'000'000);
  v1::SubjectAlternativeName* name = certificate->add_subject_alternative_names();
  name->set_kind(v1::SUBJECT_ALTERNATIVE_NAME_KIND_DNS);
  name->set_value("www.example.com");
  certificate->set_key_algorithm(v1::KEY_ALGORITHM_RSA);
  certificate->set_key_bits(2048);
  certificate->set_signature_hash(v1::SIGNATURE_HASH_SHA256);
  certificate->set_kind(v1::CERTIFICATE_KIND_LEAF);
  certificate->set_public_key_sha256(std::string(64, 'C'));
  certificate->set_store(v1::CERTIFICATE_STORE_MY);
  certificate->set_has_private_key(true);
  return request;
}

}  // namespace inventory

TEST_F(AgentServiceTest, ReportInventoryStoresTheCallersOwnHostOnly) {
  EnrolledAgent first = EnrollAgent("web1");
  EnrolledAgent second = EnrollAgent("web2");

  v1::ReportInventoryResponse response;
  grpc::Status status = first.stub->ReportInventory(
      Context().get(), inventory::InventoryRequest("hash-1"), &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.disposition(), v1::INVENTORY_DISPOSITION_APPLIED);
  EXPECT_EQ(response.stored_content_hash(), "hash-1");

  absl::StatusOr<std::vector<store::BindingRecord>> bindings =
      controller_->store().inventory().ListBindings(first.host_id);
  ASSERT_TRUE(bindings.ok()) << bindings.status();
  ASSERT_EQ(bindings->size(), 1u);
  EXPECT_EQ((*bindings)[0].certificate_thumbprint, std::string(40, 'A'));
  EXPECT_EQ((*bindings)[0].site_name, "Default Web Site");
  ASSERT_EQ((*bindings)[0].secure_endpoints.size(), 1u);
  EXPECT_EQ((*bindings)[0].secure_endpoints[0].port, 443);
  absl::StatusOr<std::vector<store::SiteRecord>> sites =
      controller_->store().inventory().ListSites(first.host_id);
  ASSERT_TRUE(sites.ok()) << sites.status();
  ASSERT_EQ(sites->size(), 1u);
  EXPECT_EQ((*sites)[0].state, "started");

  absl::StatusOr<std::vector<store::SiteRecord>> other_sites =
      controller_->store().inventory().ListSites(second.host_id);
  ASSERT_TRUE(other_sites.ok()) << other_sites.status();
  EXPECT_TRUE(other_sites->empty());

  status = first.stub->ReportInventory(Context().get(), inventory::InventoryRequest("hash-1"),
                                       &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.disposition(), v1::INVENTORY_DISPOSITION_UNCHANGED);
}

TEST_F(AgentServiceTest, MalformedInventoryIsInvalidArgumentAndStoresNothing) {
  EnrolledAgent agent = EnrollAgent("web1");
  v1::ReportInventoryRequest request = inventory::InventoryRequest("hash-1");
  request.mutable_inventory()->mutable_bindings(0)->set_site_id("9");

  v1::ReportInventoryResponse response;
  grpc::Status status = agent.stub->ReportInventory(Context().get(), request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("binding 1: site 9 is not in the report"));

  request = inventory::InventoryRequest("hash-2");
  request.mutable_inventory()->mutable_bindings(0)->mutable_secure_endpoints(0)->set_port(70000);
  status = agent.stub->ReportInventory(Context().get(), request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("port 70000"));

  absl::StatusOr<std::vector<store::SiteRecord>> sites =
      controller_->store().inventory().ListSites(agent.host_id);
  ASSERT_TRUE(sites.ok()) << sites.status();
  EXPECT_TRUE(sites->empty());
}

TEST_F(AgentServiceTest, ReportInventoryWithoutClientCertificateIsUnauthenticated) {
  v1::ReportInventoryResponse response;
  grpc::Status status = MakeStub()->ReportInventory(
      Context().get(), inventory::InventoryRequest("hash-1"), &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
}

TEST_F(AgentServiceTest, RequestInventoryReachesOnlyAConnectedSession) {
  EnrolledAgent agent = EnrollAgent("web1");
  EXPECT_FALSE(controller_->agent_service().RequestInventory(agent.host_id, "operator rescan"));

  Session session = OpenSession(agent);
  // A heartbeat round trip: the Hello has been handled (session registered).
  v1::AgentMessage heartbeat;
  heartbeat.mutable_heartbeat();
  ASSERT_TRUE(session.stream->Write(heartbeat));
  v1::ControllerMessage message;
  ASSERT_TRUE(session.stream->Read(&message));
  ASSERT_TRUE(message.has_heartbeat_acknowledgement());

  EXPECT_TRUE(controller_->agent_service().RequestInventory(agent.host_id, "operator rescan"));
  ASSERT_TRUE(session.stream->Read(&message));
  ASSERT_TRUE(message.has_inventory_request());
  EXPECT_EQ(message.inventory_request().reason(), "operator rescan");
  EXPECT_FALSE(controller_->agent_service().RequestInventory("host_unknown", "operator rescan"));
}

TEST_F(AgentServiceTest, CancelledRunningJobIsPushedAsJobCancellation) {
  EnrolledAgent agent = EnrollAgent("web1");
  Session session = OpenSession(agent);
  const std::string job_id = QueueInventoryJob(agent.host_id);
  v1::ControllerMessage message;
  ASSERT_TRUE(session.stream->Read(&message));
  ASSERT_TRUE(message.has_job_assignment());
  ASSERT_EQ(message.job_assignment().lease().job_id(), job_id);

  ASSERT_TRUE(
      controller_->store().jobs().CancelJob(job_id, "cancelled by alice", absl::Now()).ok());
  // The dispatch sweep (every 200 ms here) pushes it; the read waits for it.
  ASSERT_TRUE(session.stream->Read(&message));
  ASSERT_TRUE(message.has_job_cancellation()) << message.DebugString();
  EXPECT_EQ(message.job_cancellation().job_id(), job_id);
  EXPECT_EQ(message.job_cancellation().attempt(), 1u);
  EXPECT_EQ(message.job_cancellation().reason(), "cancelled by alice");
}

}  // namespace
}  // namespace certfleet::controller::agents
