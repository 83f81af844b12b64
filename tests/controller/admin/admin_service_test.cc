// AdminService end to end: a real ControllerServer in a temporary data dir,
// called over mutual TLS with the admin credential it wrote at init.

#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>

#include <chrono>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "certfleet/v1/admin.grpc.pb.h"
#include "common/crypto/certificate_reader.h"
#include "common/crypto/certificate_request.h"
#include "common/crypto/private_key.h"
#include "controller/identity/join_token.h"
#include "controller/server/controller_server.h"
#include "controller/store/ids.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/temporary_directory.h"
#include "tests/support/test_pki.h"

namespace certfleet::controller {
namespace {

namespace v1 = ::certfleet::v1;
using ::certfleet::testing::TestPki;
using ::testing::HasSubstr;
using ::testing::SizeIs;

std::string ReadText(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream content;
  content << in.rdbuf();
  return content.str();
}

class AdminServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server::ControllerOptions options;
    options.data_dir = directory_.path() / "data";
    options.admin_service.wake_renewals = [this] { ++wakes_; };
    // These tests pin the order states the admin API itself produces; the
    // renewal engine that would move the orders on is tested on its own.
    options.run_renewal_engine = false;
    absl::StatusOr<std::unique_ptr<server::ControllerServer>> controller =
        server::ControllerServer::Start(options);
    ASSERT_TRUE(controller.ok()) << controller.status();
    controller_ = *std::move(controller);
    const std::filesystem::path admin = options.data_dir / "admin";
    admin_ = MakeStub(ReadText(admin / "admin.key"), ReadText(admin / "admin.crt"));
  }

  void TearDown() override {
    if (controller_ != nullptr) controller_->Shutdown(absl::Seconds(2));
  }

  std::unique_ptr<v1::AdminService::Stub> MakeStub(const std::string& key_pem,
                                                   const std::string& certificate_pem) {
    grpc::SslCredentialsOptions tls;
    tls.pem_root_certs = controller_->authority().ca_certificate().ToPem();
    tls.pem_private_key = key_pem;
    tls.pem_cert_chain = certificate_pem;
    grpc::ChannelArguments arguments;
    arguments.SetSslTargetNameOverride("localhost");
    return v1::AdminService::NewStub(grpc::CreateCustomChannel(
        "127.0.0.1:" + std::to_string(controller_->port()), grpc::SslCredentials(tls), arguments));
  }

  static std::unique_ptr<grpc::ClientContext> Context() {
    auto context = std::make_unique<grpc::ClientContext>();
    context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    return context;
  }

  // Enrolls `hostname` through the store with one site "1" whose binding "1"
  // serves `certificate`.
  std::string AddHost(const std::string& hostname, const crypto::Certificate& certificate) {
    server::JoinTokenSpec spec;
    absl::StatusOr<std::string> secret =
        server::CreateJoinToken(controller_->store(), spec, absl::Now());
    EXPECT_TRUE(secret.ok()) << secret.status();
    store::HostEnrollment enrollment;
    enrollment.host_id = store::GenerateId(store::IdKind::kHost);
    enrollment.hostname = hostname;
    enrollment.join_token_secret_sha256 = HashJoinTokenSecret(*secret);
    enrollment.enrolled_at = absl::Now();
    absl::StatusOr<store::HostRecord> host = controller_->store().hosts().EnrollHost(enrollment);
    EXPECT_TRUE(host.ok()) << host.status();
    store::InventoryReport report;
    report.host_id = host->host_id;
    report.scanned_at = absl::Now();
    report.content_hash = "hash-" + hostname;
    store::SiteRecord site;
    site.site_id = "1";
    site.name = "Default Web Site";
    site.state = "started";
    report.sites.push_back(site);
    store::BindingRecord binding;
    binding.binding_id = "1";
    binding.site_id = "1";
    store::EndpointRecord endpoint;
    endpoint.port = 443;
    binding.secure_endpoints.push_back(endpoint);
    binding.certificate_thumbprint = certificate.Thumbprint();
    report.bindings.push_back(binding);
    store::CertificateRecord record;
    record.thumbprint_sha1 = certificate.Thumbprint();
    record.fingerprint_sha256 = certificate.Sha256Fingerprint();
    record.subject = certificate.SubjectText();
    record.subject_name.common_name = certificate.Subject().common_name;
    record.issuer = certificate.IssuerText();
    record.not_before = certificate.NotBefore();
    record.not_after = certificate.NotAfter();
    record.public_key_sha256 = certificate.public_key().Sha256Fingerprint();
    record.der = certificate.ToDer();
    record.kind = "LEAF";
    report.certificates.push_back(record);
    absl::StatusOr<store::InventoryIngestResult> ingested =
        controller_->store().inventory().IngestInventory(report, absl::Now());
    EXPECT_TRUE(ingested.ok()) << ingested.status();
    return host->host_id;
  }

  // Moves `order_id` to awaiting_issuance with a CSR for `key`, as the
  // renewal engine and the prepare job would.
  void AwaitIssuance(const std::string& order_id, const crypto::PrivateKey& key) {
    crypto::DistinguishedName subject;
    subject.common_name = "www.example.test";
    absl::StatusOr<crypto::CertificateRequest> csr =
        crypto::CertificateRequest::Create(key, subject, {"www.example.test"});
    ASSERT_TRUE(csr.ok()) << csr.status();
    store::OrderTransition requested;
    requested.order_id = order_id;
    requested.to = store::OrderState::kCsrRequested;
    requested.at = absl::Now();
    requested.actor = "test";
    ASSERT_TRUE(controller_->store().orders().TransitionOrder(requested).ok());
    store::OrderTransition awaiting = requested;
    awaiting.to = store::OrderState::kAwaitingIssuance;
    awaiting.csr_pem = csr->ToPem();
    awaiting.public_key_sha256 = key.public_key().Sha256Fingerprint();
    absl::StatusOr<store::OrderRecord> moved =
        controller_->store().orders().TransitionOrder(awaiting);
    ASSERT_TRUE(moved.ok()) << moved.status();
  }

  std::string RenewNow(const std::string& host_id) {
    v1::RenewNowRequest request;
    request.set_host_id(host_id);
    v1::RenewNowResponse response;
    grpc::Status status = admin_->RenewNow(Context().get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    if (response.results_size() != 1) return "";
    return response.results(0).order().order_id();
  }

  v1::UploadCertificateResponse Upload(const std::string& content, grpc::Status* status) {
    v1::UploadCertificateRequest request;
    request.set_content(content);
    request.set_file_name("upload.crt");
    v1::UploadCertificateResponse response;
    *status = admin_->UploadCertificate(Context().get(), request, &response);
    return response;
  }

  certfleet::testing::TemporaryDirectory directory_;
  std::unique_ptr<server::ControllerServer> controller_;
  std::unique_ptr<v1::AdminService::Stub> admin_;
  int wakes_ = 0;
};

TEST_F(AdminServiceTest, ListsHostsWithPagination) {
  const TestPki& pki = TestPki::Shared();
  AddHost("web-b", pki.leaf.certificate);
  AddHost("web-a", pki.rsa_leaf.certificate);
  AddHost("web-c", pki.expired_leaf.certificate);
  v1::ListHostsRequest request;
  request.mutable_page()->set_page_size(2);
  v1::ListHostsResponse first;
  ASSERT_TRUE(admin_->ListHosts(Context().get(), request, &first).ok());
  ASSERT_THAT(first.hosts(), SizeIs(2));
  EXPECT_EQ(first.hosts(0).hostname(), "web-a");
  EXPECT_EQ(first.hosts(1).hostname(), "web-b");
  EXPECT_EQ(first.page().total_size(), 3u);
  ASSERT_FALSE(first.page().next_page_token().empty());
  request.mutable_page()->set_page_token(first.page().next_page_token());
  v1::ListHostsResponse second;
  ASSERT_TRUE(admin_->ListHosts(Context().get(), request, &second).ok());
  ASSERT_THAT(second.hosts(), SizeIs(1));
  EXPECT_EQ(second.hosts(0).hostname(), "web-c");
  EXPECT_TRUE(second.page().next_page_token().empty());
}

TEST_F(AdminServiceTest, GetHostShowsSitesAndBindings) {
  const TestPki& pki = TestPki::Shared();
  const std::string host_id = AddHost("web-a", pki.leaf.certificate);
  v1::GetHostRequest request;
  request.set_host_id(host_id);
  v1::GetHostResponse response;
  ASSERT_TRUE(admin_->GetHost(Context().get(), request, &response).ok());
  EXPECT_EQ(response.host().hostname(), "web-a");
  ASSERT_THAT(response.sites(), SizeIs(1));
  EXPECT_EQ(response.sites(0).name(), "Default Web Site");
  ASSERT_THAT(response.bindings(), SizeIs(1));
  EXPECT_EQ(response.bindings(0).certificate().thumbprint_sha1(),
            pki.leaf.certificate.Thumbprint());
  EXPECT_EQ(response.bindings(0).policy_name(), "default");

  request.set_host_id("host-00000000000000000000000000000000");
  grpc::Status missing = admin_->GetHost(Context().get(), request, &response);
  EXPECT_EQ(missing.error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(AdminServiceTest, ListsCertificatesExpiringWithinAndByHost) {
  const TestPki& pki = TestPki::Shared();
  const std::string soon = AddHost("web-soon", pki.IssueLeaf("soon.example.test", 10).certificate);
  AddHost("web-later", pki.IssueLeaf("later.example.test", 200).certificate);
  v1::ListCertificatesRequest request;
  request.mutable_expiring_within()->set_seconds(30 * 86400);
  v1::ListCertificatesResponse response;
  ASSERT_TRUE(admin_->ListCertificates(Context().get(), request, &response).ok());
  ASSERT_THAT(response.certificates(), SizeIs(1));
  EXPECT_EQ(response.certificates(0).hostname(), "web-soon");
  ASSERT_THAT(response.certificates(0).bound_sites(), SizeIs(1));

  v1::ListCertificatesRequest by_host;
  by_host.set_host_id(soon);
  ASSERT_TRUE(admin_->ListCertificates(Context().get(), by_host, &response).ok());
  ASSERT_THAT(response.certificates(), SizeIs(1));
  EXPECT_EQ(response.certificates(0).host_id(), soon);
}

TEST_F(AdminServiceTest, RenewNowCreatesAnOperatorOrderOnceAndAudits) {
  const TestPki& pki = TestPki::Shared();
  const std::string host_id = AddHost("web-a", pki.leaf.certificate);
  const std::string order_id = RenewNow(host_id);
  ASSERT_FALSE(order_id.empty());
  EXPECT_EQ(wakes_, 1);
  absl::StatusOr<store::OrderRecord> order = controller_->store().orders().GetOrder(order_id);
  ASSERT_TRUE(order.ok()) << order.status();
  EXPECT_EQ(order->state, store::OrderState::kDue);
  EXPECT_EQ(order->trigger, store::OrderTrigger::kOperator);
  EXPECT_EQ(order->policy_name, "default");
  EXPECT_EQ(order->previous_thumbprint, pki.leaf.certificate.Thumbprint());
  EXPECT_EQ(order->subject.common_name, "www.example.test");
  EXPECT_EQ(order->created_by, "admin");

  v1::RenewNowRequest again;
  again.set_host_id(host_id);
  v1::RenewNowResponse response;
  grpc::Status status = admin_->RenewNow(Context().get(), again, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_THAT(status.error_message(), HasSubstr(order_id));
  EXPECT_EQ(wakes_, 1);

  v1::GetOrderRequest get;
  get.set_order_id(order_id);
  v1::GetOrderResponse shown;
  ASSERT_TRUE(admin_->GetOrder(Context().get(), get, &shown).ok());
  ASSERT_THAT(shown.order().history(), SizeIs(1));
  EXPECT_EQ(shown.order().history(0).state(), v1::ORDER_STATE_DUE);
  EXPECT_EQ(shown.order().hostname(), "web-a");

  v1::ListAuditEventsRequest audit_request;
  v1::ListAuditEventsResponse audit;
  ASSERT_TRUE(admin_->ListAuditEvents(Context().get(), audit_request, &audit).ok());
  ASSERT_THAT(audit.events(), SizeIs(2));
  EXPECT_EQ(audit.events(0).action(), "RenewNow");
  EXPECT_FALSE(audit.events(0).succeeded());
  EXPECT_TRUE(audit.events(1).succeeded());
  EXPECT_EQ(audit.events(1).actor(), "admin");
}

TEST_F(AdminServiceTest, ListOrdersFiltersByStateAndCancelCloses) {
  const TestPki& pki = TestPki::Shared();
  const std::string order_id = RenewNow(AddHost("web-a", pki.leaf.certificate));
  ASSERT_FALSE(order_id.empty());
  v1::ListOrdersRequest request;
  request.add_states(v1::ORDER_STATE_DUE);
  v1::ListOrdersResponse response;
  ASSERT_TRUE(admin_->ListOrders(Context().get(), request, &response).ok());
  ASSERT_THAT(response.orders(), SizeIs(1));
  request.clear_states();
  request.add_states(v1::ORDER_STATE_ISSUED);
  ASSERT_TRUE(admin_->ListOrders(Context().get(), request, &response).ok());
  EXPECT_THAT(response.orders(), SizeIs(0));

  v1::GetOrderCsrRequest csr_request;
  csr_request.set_order_id(order_id);
  v1::GetOrderCsrResponse csr;
  EXPECT_EQ(admin_->GetOrderCsr(Context().get(), csr_request, &csr).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);

  // A job of the order waits in the queue; cancelling the order stops it.
  absl::StatusOr<store::OrderRecord> order = controller_->store().orders().GetOrder(order_id);
  ASSERT_TRUE(order.ok());
  store::NewJob job;
  job.host_id = order->host_id;
  job.order_id = order_id;
  job.kind = store::JobKind::kPrepare;
  job.created_at = absl::Now();
  job.created_by = "test";
  absl::StatusOr<store::JobRecord> queued =
      controller_->store().jobs().CreateJob(job, std::nullopt);
  ASSERT_TRUE(queued.ok()) << queued.status();

  v1::CancelOrderRequest cancel;
  cancel.set_order_id(order_id);
  v1::CancelOrderResponse cancelled;
  ASSERT_TRUE(admin_->CancelOrder(Context().get(), cancel, &cancelled).ok());
  EXPECT_EQ(cancelled.order().state(), v1::ORDER_STATE_CANCELLED);
  EXPECT_EQ(controller_->store().jobs().GetJob(queued->job_id)->status,
            store::JobStatus::kCancelled);
  EXPECT_EQ(admin_->CancelOrder(Context().get(), cancel, &cancelled).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
}

TEST_F(AdminServiceTest, UploadOfTheRightCertificateIssuesTheOrder) {
  const TestPki& pki = TestPki::Shared();
  const std::string order_id = RenewNow(AddHost("web-a", pki.rsa_leaf.certificate));
  ASSERT_FALSE(order_id.empty());
  AwaitIssuance(order_id, pki.leaf.key);

  v1::GetOrderCsrRequest csr_request;
  csr_request.set_order_id(order_id);
  v1::GetOrderCsrResponse csr;
  ASSERT_TRUE(admin_->GetOrderCsr(Context().get(), csr_request, &csr).ok());
  EXPECT_THAT(csr.csr_pem(), HasSubstr("CERTIFICATE REQUEST"));

  grpc::Status status;
  v1::UploadCertificateResponse response =
      Upload(crypto::ToPemBundle({pki.leaf.certificate, pki.intermediate.certificate}), &status);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_TRUE(response.has_accepted()) << response.diagnosis().message();
  EXPECT_EQ(response.accepted().order().state(), v1::ORDER_STATE_ISSUED);
  EXPECT_EQ(wakes_, 2);
  absl::StatusOr<store::OrderRecord> order = controller_->store().orders().GetOrder(order_id);
  ASSERT_TRUE(order.ok());
  EXPECT_EQ(order->state, store::OrderState::kIssued);
  EXPECT_EQ(order->issued_thumbprint, pki.leaf.certificate.Thumbprint());
  EXPECT_THAT(order->chain_pem, HasSubstr("BEGIN CERTIFICATE"));

  v1::UploadCertificateResponse again =
      Upload(crypto::ToPemBundle({pki.leaf.certificate, pki.intermediate.certificate}), &status);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_TRUE(again.has_accepted());
  EXPECT_TRUE(again.accepted().already_uploaded());
  EXPECT_EQ(wakes_, 2);
}

TEST_F(AdminServiceTest, UploadOfAWrongFileIsDiagnosedAndStoresNothing) {
  const TestPki& pki = TestPki::Shared();
  const std::string order_id = RenewNow(AddHost("web-a", pki.rsa_leaf.certificate));
  ASSERT_FALSE(order_id.empty());
  AwaitIssuance(order_id, pki.leaf.key);
  absl::StatusOr<std::string> bundle_without_leaf =
      crypto::ToPkcs7Der({pki.intermediate.certificate, pki.root.certificate});
  ASSERT_TRUE(bundle_without_leaf.ok());
  struct Case {
    std::string content;
    v1::DiagnosisKind kind;
  };
  const std::vector<Case> cases = {
      {pki.other_leaf.certificate.ToPem(), v1::DIAGNOSIS_KIND_ANSWERS_NO_REQUEST},
      {pki.intermediate.certificate.ToPem(), v1::DIAGNOSIS_KIND_INTERMEDIATE_CERTIFICATE},
      {pki.root.certificate.ToDer(), v1::DIAGNOSIS_KIND_ROOT_CERTIFICATE},
      {*bundle_without_leaf, v1::DIAGNOSIS_KIND_INTERMEDIATE_CERTIFICATE},
  };
  for (const Case& wrong : cases) {
    grpc::Status status;
    v1::UploadCertificateResponse response = Upload(wrong.content, &status);
    ASSERT_TRUE(status.ok()) << status.error_message();
    ASSERT_TRUE(response.has_diagnosis());
    EXPECT_EQ(response.diagnosis().kind(), wrong.kind) << response.diagnosis().message();
    EXPECT_FALSE(response.diagnosis().message().empty());
  }
  absl::StatusOr<store::OrderRecord> order = controller_->store().orders().GetOrder(order_id);
  ASSERT_TRUE(order.ok());
  EXPECT_EQ(order->state, store::OrderState::kAwaitingIssuance);
  EXPECT_TRUE(order->certificate_pem.empty());
  EXPECT_EQ(wakes_, 1);
}

TEST_F(AdminServiceTest, JoinTokensAreCreatedListedAndRevoked) {
  v1::CreateJoinTokenRequest create;
  create.mutable_time_to_live()->set_seconds(3600);
  create.set_bound_hostname("web-new");
  v1::CreateJoinTokenResponse created;
  ASSERT_TRUE(admin_->CreateJoinToken(Context().get(), create, &created).ok());
  EXPECT_TRUE(LooksLikeJoinTokenSecret(created.secret())) << created.secret();
  EXPECT_EQ(created.token().state(), v1::JOIN_TOKEN_STATE_ACTIVE);
  EXPECT_EQ(created.token().created_by(), "admin");

  v1::ListJoinTokensResponse listed;
  ASSERT_TRUE(admin_->ListJoinTokens(Context().get(), {}, &listed).ok());
  ASSERT_THAT(listed.tokens(), SizeIs(1));
  EXPECT_EQ(listed.tokens(0).token_id(), created.token().token_id());

  v1::RevokeJoinTokenRequest revoke;
  revoke.set_token_id(created.token().token_id());
  v1::RevokeJoinTokenResponse revoked;
  ASSERT_TRUE(admin_->RevokeJoinToken(Context().get(), revoke, &revoked).ok());
  EXPECT_EQ(revoked.token().state(), v1::JOIN_TOKEN_STATE_REVOKED);

  create.mutable_time_to_live()->set_seconds(0);
  EXPECT_EQ(admin_->CreateJoinToken(Context().get(), create, &created).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(AdminServiceTest, PoliciesAreSetListedAndDeleted) {
  v1::SetPolicyRequest set;
  set.mutable_policy()->set_name("fast");
  set.mutable_policy()->set_priority(10);
  set.mutable_policy()->set_renew_when_remaining_fraction(0.5);
  v1::SetPolicyResponse stored;
  ASSERT_TRUE(admin_->SetPolicy(Context().get(), set, &stored).ok());
  EXPECT_EQ(stored.policy().connector(), "local");
  v1::ListPoliciesResponse listed;
  ASSERT_TRUE(admin_->ListPolicies(Context().get(), {}, &listed).ok());
  ASSERT_THAT(listed.policies(), SizeIs(2));
  EXPECT_EQ(listed.policies(0).name(), "fast");
  set.mutable_policy()->set_connector("acme");
  EXPECT_EQ(admin_->SetPolicy(Context().get(), set, &stored).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  v1::DeletePolicyRequest remove;
  remove.set_name("default");
  v1::DeletePolicyResponse removed;
  EXPECT_EQ(admin_->DeletePolicy(Context().get(), remove, &removed).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  remove.set_name("fast");
  EXPECT_TRUE(admin_->DeletePolicy(Context().get(), remove, &removed).ok());
}

TEST_F(AdminServiceTest, RescanQueuesAnInventoryJobWhoseStepsGetJobShows) {
  const TestPki& pki = TestPki::Shared();
  const std::string host_id = AddHost("web-a", pki.leaf.certificate);
  v1::RescanHostRequest rescan;
  rescan.set_host_id(host_id);
  rescan.set_reason("after a manual change");
  v1::RescanHostResponse queued;
  ASSERT_TRUE(admin_->RescanHost(Context().get(), rescan, &queued).ok());
  ASSERT_FALSE(queued.job_id().empty());

  const absl::Time now = absl::Now();
  absl::StatusOr<std::optional<store::JobRecord>> leased =
      controller_->store().jobs().LeaseNextJob(host_id, now, now + absl::Minutes(5));
  ASSERT_TRUE(leased.ok()) << leased.status();
  ASSERT_TRUE(leased->has_value());
  EXPECT_EQ((*leased)->job_id, queued.job_id());
  store::StepSubmission step;
  step.job_id = queued.job_id();
  step.attempt = (*leased)->attempt;
  step.step.step = "STEP_NAME_SCAN_INVENTORY";
  step.step.outcome = store::StepOutcome::kSucceeded;
  step.step.started_at = now;
  step.step.finished_at = now + absl::Seconds(1);
  step.step.detail = "2 sites";
  step.lease_expires_at = now + absl::Minutes(5);
  ASSERT_TRUE(controller_->store().jobs().RecordStep(step).ok());

  v1::GetJobRequest get;
  get.set_job_id(queued.job_id());
  v1::GetJobResponse job;
  ASSERT_TRUE(admin_->GetJob(Context().get(), get, &job).ok());
  EXPECT_EQ(job.job().kind(), v1::JOB_KIND_INVENTORY);
  EXPECT_EQ(job.job().spec().inventory().reason(), "after a manual change");
  ASSERT_THAT(job.job().attempts(), SizeIs(1));
  ASSERT_THAT(job.job().attempts(0).steps(), SizeIs(1));
  EXPECT_EQ(job.job().attempts(0).steps(0).step(), v1::STEP_NAME_SCAN_INVENTORY);
  EXPECT_EQ(job.job().attempts(0).steps(0).outcome(), v1::STEP_OUTCOME_SUCCEEDED);
  EXPECT_EQ(job.job().attempts(0).steps(0).detail(), "2 sites");

  v1::ListJobsRequest list;
  list.set_host_id(host_id);
  v1::ListJobsResponse jobs;
  ASSERT_TRUE(admin_->ListJobs(Context().get(), list, &jobs).ok());
  ASSERT_THAT(jobs.jobs(), SizeIs(1));
}

TEST_F(AdminServiceTest, LabelsAndDecommissionChangeTheHostAndAreAudited) {
  const TestPki& pki = TestPki::Shared();
  const std::string host_id = AddHost("web-a", pki.leaf.certificate);
  v1::SetHostLabelsRequest labels;
  labels.set_host_id(host_id);
  (*labels.mutable_labels())["env"] = "prod";
  v1::SetHostLabelsResponse labelled;
  ASSERT_TRUE(admin_->SetHostLabels(Context().get(), labels, &labelled).ok());
  EXPECT_EQ(labelled.host().labels().at("env"), "prod");
  (*labels.mutable_labels())["Bad Key"] = "x";
  EXPECT_EQ(admin_->SetHostLabels(Context().get(), labels, &labelled).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);

  const std::string order_id = RenewNow(host_id);
  v1::DecommissionHostRequest decommission;
  decommission.set_host_id(host_id);
  decommission.set_reason("retired");
  v1::DecommissionHostResponse decommissioned;
  ASSERT_TRUE(admin_->DecommissionHost(Context().get(), decommission, &decommissioned).ok());
  EXPECT_EQ(decommissioned.host().state(), v1::HOST_STATE_DECOMMISSIONED);
  absl::StatusOr<store::OrderRecord> order = controller_->store().orders().GetOrder(order_id);
  ASSERT_TRUE(order.ok());
  EXPECT_EQ(order->state, store::OrderState::kCancelled);

  v1::ListAuditEventsResponse audit;
  ASSERT_TRUE(admin_->ListAuditEvents(Context().get(), {}, &audit).ok());
  ASSERT_THAT(audit.events(), SizeIs(4));
  EXPECT_EQ(audit.events(0).action(), "DecommissionHost");
  EXPECT_EQ(audit.events(0).target(), "host " + host_id);
  EXPECT_EQ(audit.events(0).detail(), "retired");
  EXPECT_EQ(audit.events(2).action(), "SetHostLabels");
  EXPECT_FALSE(audit.events(2).succeeded());
}

TEST_F(AdminServiceTest, AgentCertificateIsRefused) {
  const TestPki& pki = TestPki::Shared();
  const std::string host_id = AddHost("web-a", pki.leaf.certificate);
  absl::StatusOr<crypto::PrivateKey> key =
      crypto::PrivateKey::Generate({crypto::KeyAlgorithm::kEcdsa, 256});
  ASSERT_TRUE(key.ok());
  crypto::DistinguishedName subject;
  subject.common_name = "web-a";
  absl::StatusOr<crypto::CertificateRequest> csr =
      crypto::CertificateRequest::Create(*key, subject, {});
  ASSERT_TRUE(csr.ok());
  absl::StatusOr<crypto::Certificate> agent_certificate =
      controller_->authority().IssueAgentCertificate(*csr, host_id, "web-a", absl::Now());
  ASSERT_TRUE(agent_certificate.ok()) << agent_certificate.status();
  auto agent = MakeStub(key->ToPem(), agent_certificate->ToPem());
  v1::ListHostsResponse response;
  grpc::Status status = agent->ListHosts(Context().get(), {}, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(status.error_message(), HasSubstr("agent identities cannot use the admin API"));
}

TEST_F(AdminServiceTest, NoCertificateIsUnauthenticated) {
  auto anonymous = MakeStub("", "");
  v1::ListHostsResponse response;
  grpc::Status status = anonymous->ListHosts(Context().get(), {}, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  v1::CreateJoinTokenResponse token;
  EXPECT_EQ(anonymous->CreateJoinToken(Context().get(), {}, &token).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
}

TEST_F(AdminServiceTest, CampaignsNeedAnEngine) {
  v1::ListCampaignsResponse response;
  grpc::Status status = admin_->ListCampaigns(Context().get(), {}, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(status.error_message(), HasSubstr("no campaign engine"));
}

TEST_F(AdminServiceTest, WebhooksAreSetListedWithoutTheirSecretAndDeleted) {
  v1::SetWebhookRequest set;
  set.mutable_webhook()->set_name("ops-chat");
  set.mutable_webhook()->set_url("https://chat.example.com/hooks/ops");
  set.mutable_webhook()->add_events(v1::WEBHOOK_EVENT_RENEWAL_ROLLED_BACK);
  set.mutable_webhook()->set_enabled(true);
  set.mutable_webhook()->set_secret("s3cret");
  v1::SetWebhookResponse stored;
  ASSERT_TRUE(admin_->SetWebhook(Context().get(), set, &stored).ok());
  EXPECT_FALSE(stored.webhook().webhook_id().empty());
  EXPECT_TRUE(stored.webhook().has_secret());
  EXPECT_TRUE(stored.webhook().secret().empty());
  v1::ListWebhooksResponse listed;
  ASSERT_TRUE(admin_->ListWebhooks(Context().get(), {}, &listed).ok());
  ASSERT_EQ(listed.webhooks_size(), 1);
  EXPECT_THAT(listed.webhooks(0).events(),
              ::testing::ElementsAre(v1::WEBHOOK_EVENT_RENEWAL_ROLLED_BACK));
  set.mutable_webhook()->set_url("ftp://example.com");
  EXPECT_EQ(admin_->SetWebhook(Context().get(), set, &stored).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  v1::DeleteWebhookRequest remove;
  remove.set_webhook_id(listed.webhooks(0).webhook_id());
  v1::DeleteWebhookResponse removed;
  ASSERT_TRUE(admin_->DeleteWebhook(Context().get(), remove, &removed).ok());
  v1::ListWebhooksResponse fresh;
  ASSERT_TRUE(admin_->ListWebhooks(Context().get(), {}, &fresh).ok());
  EXPECT_EQ(fresh.webhooks_size(), 0);
}

}  // namespace
}  // namespace certfleet::controller
