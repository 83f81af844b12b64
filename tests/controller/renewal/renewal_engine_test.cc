// The renewal engine against a real (in-memory) SQLite store, the real local
// CA and a fake clock. The test plays the agent: it leases the jobs the
// engine queues, makes real keys and CSRs, and reports results through the
// same hook AgentService uses.

#include "controller/renewal/renewal_engine.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "certfleet/v1/jobs.pb.h"
#include "common/crypto/certificate_reader.h"
#include "common/crypto/certificate_request.h"
#include "common/crypto/private_key.h"
#include "controller/issuance/local_certificate_authority.h"
#include "controller/issuance/manual_connector.h"
#include "controller/renewal/renewal_policy.h"
#include "tests/controller/store/store_test_fixture.h"
#include "tests/support/temporary_directory.h"

namespace certfleet::controller::renewal {
namespace {

using store::OrderState;
using ::testing::HasSubstr;

class RenewalEngineTest : public store::testing::StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    absl::StatusOr<std::unique_ptr<LocalCertificateAuthority>> ca =
        LocalCertificateAuthority::OpenOrCreate({.data_dir = directory_.path()}, now());
    ASSERT_TRUE(ca.ok()) << ca.status();
    local_ca_ = *std::move(ca);
    MakeEngine();
  }

  void MakeEngine(int maximum_in_flight = 20,
                  std::function<std::optional<absl::Time>(const store::OrderRecord&, absl::Time)>
                      deploy_not_before = nullptr) {
    RenewalEngineOptions options;
    options.deploy_not_before = std::move(deploy_not_before);
    options.before_pass = [this] { ++passes_; };
    options.order_finished = [this](const store::OrderRecord& order) {
      finished_.push_back(
          absl::StrCat(order.order_id, " ", std::string(store::ToString(order.state))));
    };
    options.clock = [this] { return now(); };
    options.planning_interval = absl::Minutes(1);
    options.maximum_in_flight = maximum_in_flight;
    options.connectors = {local_ca_.get(), &manual_};
    options.job_queued = [this](std::string_view host_id) {
      offered_.push_back(std::string(host_id));
    };
    options.log = [this](std::string_view line) { log_.push_back(std::string(line)); };
    engine_ = std::make_unique<RenewalEngine>(store(), options);
  }

  // A host whose inventory has one site bound to certificate `number`,
  // expiring `expires_in` from now (issued 90 days before it expires).
  store::HostRecord HostWithCertificate(std::string_view hostname, int number,
                                        absl::Duration expires_in) {
    store::HostRecord host = Enroll(hostname);
    store::InventoryReport report = Report(host.host_id, absl::StrCat("hash-", number));
    store::SiteRecord site;
    site.site_id = "1";
    site.name = "Default Web Site";
    site.state = "started";
    report.sites.push_back(site);
    store::CertificateRecord certificate =
        store::testing::MakeCertificate(number, now() + expires_in);
    certificate.not_before = certificate.not_after - absl::Hours(24 * 90);
    report.bindings.push_back(store::testing::MakeBinding("1", certificate.thumbprint_sha1));
    report.certificates.push_back(certificate);
    EXPECT_TRUE(store().inventory().IngestInventory(report, now()).ok());
    return host;
  }

  std::vector<store::OrderRecord> Orders(std::vector<OrderState> states = {}) {
    store::OrderQuery query;
    query.states = std::move(states);
    query.page.page_size = 1000;
    absl::StatusOr<store::Page<store::OrderRecord>> orders = store().orders().ListOrders(query);
    EXPECT_TRUE(orders.ok()) << orders.status();
    return orders.ok() ? orders->items : std::vector<store::OrderRecord>{};
  }

  store::OrderRecord Order(const std::string& order_id) {
    absl::StatusOr<store::OrderRecord> order = store().orders().GetOrder(order_id);
    EXPECT_TRUE(order.ok()) << order.status();
    return order.ok() ? *order : store::OrderRecord{};
  }

  // Leases the host's next job, as the agent would.
  store::JobRecord Lease(const store::HostRecord& host) {
    absl::StatusOr<std::optional<store::JobRecord>> job =
        store().jobs().LeaseNextJob(host.host_id, now(), now() + absl::Minutes(5));
    EXPECT_TRUE(job.ok()) << job.status();
    EXPECT_TRUE(job.ok() && job->has_value()) << "no job queued for " << host.hostname;
    return job.ok() && job->has_value() ? **job : store::JobRecord{};
  }

  // Reports `result` for `job` through the engine's hook and the store, as
  // AgentService does.
  void Complete(const store::JobRecord& job, const v1::JobResult& result) {
    store::JobResultRecord record;
    record.outcome = result.outcome() == v1::JOB_OUTCOME_SUCCEEDED ? store::JobOutcome::kSucceeded
                     : result.outcome() == v1::JOB_OUTCOME_ROLLED_BACK
                         ? store::JobOutcome::kRolledBack
                         : store::JobOutcome::kFailed;
    if (result.has_failure()) {
      record.failure = store::FailureRecord{.code = v1::FailureCode_Name(result.failure().code()),
                                            .message = result.failure().message(),
                                            .retryable = result.failure().retryable(),
                                            .diagnosis = {}};
    }
    record.finished_at = now();
    record.detail = result.SerializeAsString();
    absl::StatusOr<std::optional<store::OrderTransition>> transition =
        engine_->TransitionForJobResult(job, record);
    ASSERT_TRUE(transition.ok()) << transition.status();
    store::JobCompletion completion{
        .job_id = job.job_id, .attempt = job.attempt, .result = record, .received_at = now()};
    absl::StatusOr<store::JobCompletionResult> completed =
        store().jobs().CompleteJob(completion, *transition);
    ASSERT_TRUE(completed.ok()) << completed.status();
    engine_->JobCompleted(completed->job);
  }

  // Runs the prepare job like the agent: a new RSA key, a CSR with the
  // job's subject. Returns the key's SHA-256.
  std::string RunPrepare(const store::JobRecord& job) {
    v1::JobSpec spec;
    EXPECT_TRUE(spec.ParseFromString(job.spec));
    EXPECT_EQ(spec.prepare().key_spec(), v1::KEY_SPEC_RSA_2048);
    absl::StatusOr<crypto::PrivateKey> key =
        crypto::PrivateKey::Generate({crypto::KeyAlgorithm::kRsa, 2048});
    EXPECT_TRUE(key.ok());
    crypto::DistinguishedName subject = *crypto::DistinguishedName::Parse(
        absl::StrCat("CN=", spec.prepare().subject().common_name()));
    absl::StatusOr<crypto::CertificateRequest> request =
        crypto::CertificateRequest::Create(*key, subject, {spec.prepare().subject().common_name()});
    EXPECT_TRUE(request.ok()) << request.status();
    v1::JobResult result;
    result.set_outcome(v1::JOB_OUTCOME_SUCCEEDED);
    result.mutable_prepare()->set_csr_pem(request->ToPem());
    result.mutable_prepare()->set_public_key_sha256(key->public_key().Sha256Fingerprint());
    result.mutable_prepare()->set_temporary_site_id("99");
    Complete(job, result);
    return key->public_key().Sha256Fingerprint();
  }

  v1::JobResult Failed(bool retryable, std::string message) {
    v1::JobResult result;
    result.set_outcome(v1::JOB_OUTCOME_FAILED);
    result.mutable_failure()->set_code(v1::FAILURE_CODE_RESTART_FAILED);
    result.mutable_failure()->set_message(std::move(message));
    result.mutable_failure()->set_retryable(retryable);
    return result;
  }

  certfleet::testing::TemporaryDirectory directory_;
  std::unique_ptr<LocalCertificateAuthority> local_ca_;
  ManualConnector manual_;
  std::unique_ptr<RenewalEngine> engine_;
  int passes_ = 0;
  // "ORDER_ID STATE" for each order_finished call.
  std::vector<std::string> finished_;
  std::vector<std::string> offered_;
  std::vector<std::string> log_;
};

TEST_F(RenewalEngineTest, NoOrderBeforeTheRenewalPoint) {
  // 90-day certificate with 60 days left: a third remains only at 30 days.
  HostWithCertificate("web01", 1, absl::Hours(24 * 60));
  PassSummary summary = engine_->RunOnce();
  EXPECT_EQ(summary.orders_created, 0);
  EXPECT_TRUE(Orders().empty());
}

TEST_F(RenewalEngineTest, RenewsEndToEndThroughTheLocalCa) {
  const store::HostRecord host = HostWithCertificate("web01", 1, absl::Hours(24 * 10));
  PassSummary summary = engine_->RunOnce();
  EXPECT_EQ(summary.orders_created, 1);
  EXPECT_EQ(summary.prepares_queued, 1);
  std::vector<store::OrderRecord> orders = Orders();
  ASSERT_EQ(orders.size(), 1u);
  const std::string order_id = orders.front().order_id;
  EXPECT_EQ(orders.front().state, OrderState::kCsrRequested);
  EXPECT_EQ(orders.front().subject.organization, "Example Ltd") << "the current subject is kept";
  EXPECT_THAT(offered_, ::testing::ElementsAre(host.host_id));

  // A second pass changes nothing while the prepare job runs.
  summary = engine_->RunOnce();
  EXPECT_EQ(summary.orders_created + summary.prepares_queued, 0);

  store::JobRecord prepare = Lease(host);
  EXPECT_EQ(prepare.kind, store::JobKind::kPrepare);
  EXPECT_EQ(prepare.order_id, order_id);
  const std::string key_sha256 = RunPrepare(prepare);
  EXPECT_EQ(Order(order_id).state, OrderState::kAwaitingIssuance);
  EXPECT_EQ(Order(order_id).public_key_sha256, key_sha256);

  summary = engine_->RunOnce();
  EXPECT_EQ(summary.orders_issued, 1);
  EXPECT_EQ(summary.deploys_queued, 1);
  store::OrderRecord order = Order(order_id);
  EXPECT_EQ(order.state, OrderState::kDeploying);
  absl::StatusOr<crypto::Certificate> issued = crypto::ReadSingleCertificate(order.certificate_pem);
  ASSERT_TRUE(issued.ok());
  EXPECT_EQ(issued->public_key().Sha256Fingerprint(), key_sha256);
  EXPECT_TRUE(issued->IsIssuedBy(local_ca_->intermediate_certificate()));

  store::JobRecord deploy = Lease(host);
  EXPECT_EQ(deploy.kind, store::JobKind::kDeploy);
  v1::JobSpec spec;
  ASSERT_TRUE(spec.ParseFromString(deploy.spec));
  EXPECT_EQ(spec.deploy().expected_thumbprint(), issued->Thumbprint());
  EXPECT_EQ(spec.deploy().previous_thumbprint(), orders.front().previous_thumbprint);
  EXPECT_EQ(spec.deploy().temporary_site_id(), "99");
  ASSERT_EQ(spec.deploy().intermediate_pems_size(), 1);
  EXPECT_EQ(spec.deploy().root_pem(), local_ca_->root_certificate().ToPem());

  v1::JobResult deployed;
  deployed.set_outcome(v1::JOB_OUTCOME_SUCCEEDED);
  deployed.mutable_deploy()->set_bound_thumbprint(issued->Thumbprint());
  Complete(deploy, deployed);
  EXPECT_EQ(Order(order_id).state, OrderState::kVerifying);

  summary = engine_->RunOnce();
  EXPECT_EQ(summary.orders_done, 1);
  order = Order(order_id);
  EXPECT_EQ(order.state, OrderState::kDone);
  EXPECT_FALSE(order.open);
  EXPECT_THAT(finished_, ::testing::ElementsAre(order_id + " done"));
  std::vector<OrderState> path;
  for (const store::OrderStateChange& change : order.history) path.push_back(change.to);
  EXPECT_THAT(path, ::testing::ElementsAre(OrderState::kDue, OrderState::kCsrRequested,
                                           OrderState::kAwaitingIssuance, OrderState::kIssued,
                                           OrderState::kDeploying, OrderState::kVerifying,
                                           OrderState::kDone));

  // The inventory has not caught up yet: no second order for the same
  // certificate.
  Advance(absl::Minutes(2));
  summary = engine_->RunOnce();
  EXPECT_EQ(summary.orders_created, 0);
}

TEST_F(RenewalEngineTest, AnIssuedOrderWaitsForItsDeployTimeAndEveryPassRunsTheHook) {
  const absl::Time window_opens = now() + absl::Hours(5);
  MakeEngine(20, [window_opens](const store::OrderRecord&, absl::Time now) {
    return now < window_opens ? std::optional<absl::Time>(window_opens) : std::nullopt;
  });
  const store::HostRecord host = HostWithCertificate("web01", 1, absl::Hours(24 * 10));
  engine_->RunOnce();
  const std::string order_id = Orders().front().order_id;
  RunPrepare(Lease(host));
  PassSummary summary = engine_->RunOnce();
  EXPECT_EQ(summary.orders_issued, 1);
  EXPECT_EQ(summary.deploys_queued, 0) << "the window is closed";
  EXPECT_EQ(Order(order_id).state, OrderState::kIssued);
  Advance(absl::Hours(5));
  summary = engine_->RunOnce();
  EXPECT_EQ(summary.deploys_queued, 1);
  EXPECT_EQ(Order(order_id).state, OrderState::kDeploying);
  EXPECT_EQ(passes_, 3);
}

TEST_F(RenewalEngineTest, OneOrderPerHostAtATimeAndAGlobalCap) {
  MakeEngine(/*maximum_in_flight=*/2);
  const store::HostRecord first = HostWithCertificate("web01", 1, absl::Hours(24 * 5));
  // A second binding on the same host.
  store::InventoryReport report = Report(first.host_id, "hash-two-sites");
  for (const char* site_id : {"1", "2"}) {
    store::SiteRecord site;
    site.site_id = site_id;
    site.name = absl::StrCat("site ", site_id);
    report.sites.push_back(site);
    store::CertificateRecord certificate =
        store::testing::MakeCertificate(site_id[0] - '0' + 10, now() + absl::Hours(24 * 5));
    report.bindings.push_back(store::testing::MakeBinding(site_id, certificate.thumbprint_sha1));
    report.certificates.push_back(certificate);
  }
  Advance(absl::Seconds(1));
  report.scanned_at = now();
  ASSERT_TRUE(store().inventory().IngestInventory(report, now()).ok());
  HostWithCertificate("web02", 3, absl::Hours(24 * 5));
  HostWithCertificate("web03", 4, absl::Hours(24 * 5));

  PassSummary summary = engine_->RunOnce();
  EXPECT_EQ(summary.orders_created, 4);
  EXPECT_EQ(summary.prepares_queued, 2) << "the global cap";
  std::vector<store::OrderRecord> started = Orders({OrderState::kCsrRequested});
  ASSERT_EQ(started.size(), 2u);
  EXPECT_NE(started[0].host_id, started[1].host_id) << "one order per host";

  // Finishing one order frees a slot for a host that is not busy.
  store::OrderRecord finished = started[0];
  store::HostRecord host = *store().hosts().GetHost(finished.host_id);
  Complete(Lease(host), Failed(false, "restart command exited with status 1"));
  summary = engine_->RunOnce();
  EXPECT_EQ(summary.prepares_queued, 1);
  for (const store::OrderRecord& order : Orders({OrderState::kCsrRequested})) {
    EXPECT_NE(order.order_id, finished.order_id);
  }
}

TEST_F(RenewalEngineTest, RetryableFailuresBackOffAndRetry) {
  const store::HostRecord host = HostWithCertificate("web01", 1, absl::Hours(24 * 10));
  engine_->RunOnce();
  const std::string order_id = Orders().front().order_id;
  Complete(Lease(host), Failed(true, "the web service did not stop in time"));
  store::OrderRecord order = Order(order_id);
  EXPECT_EQ(order.state, OrderState::kFailed);
  EXPECT_TRUE(order.open);
  ASSERT_TRUE(order.next_attempt_at.has_value());
  EXPECT_EQ(*order.next_attempt_at, now() + kDefaultInitialBackoff);
  EXPECT_THAT(order.history.back().reason, HasSubstr("retrying at"));

  // Not before the backoff.
  EXPECT_EQ(engine_->RunOnce().prepares_queued, 0);
  Advance(kDefaultInitialBackoff);
  EXPECT_EQ(engine_->RunOnce().prepares_queued, 1);
  EXPECT_EQ(Order(order_id).state, OrderState::kCsrRequested);

  // The second failure waits twice as long.
  Complete(Lease(host), Failed(true, "the web service did not stop in time"));
  EXPECT_EQ(*Order(order_id).next_attempt_at, now() + 2 * kDefaultInitialBackoff);
}

TEST_F(RenewalEngineTest, NonRetryableFailureClosesTheOrderAndWaitsBeforeANewOne) {
  const store::HostRecord host = HostWithCertificate("web01", 1, absl::Hours(24 * 10));
  engine_->RunOnce();
  const std::string order_id = Orders().front().order_id;
  Complete(Lease(host), Failed(false, "binding changed by hand"));
  EXPECT_FALSE(Order(order_id).open);
  EXPECT_THAT(finished_, ::testing::ElementsAre(order_id + " failed"));
  Advance(absl::Minutes(2));
  EXPECT_EQ(engine_->RunOnce().orders_created, 0) << "not at once after a closed failure";
  Advance(kDefaultMaximumBackoff);
  EXPECT_EQ(engine_->RunOnce().orders_created, 1);
}

TEST_F(RenewalEngineTest, RollbackClosesTheOrderWithTheAgentsReason) {
  const store::HostRecord host = HostWithCertificate("web01", 1, absl::Hours(24 * 10));
  engine_->RunOnce();
  const std::string order_id = Orders().front().order_id;
  RunPrepare(Lease(host));
  engine_->RunOnce();
  v1::JobResult rolled_back;
  rolled_back.set_outcome(v1::JOB_OUTCOME_ROLLED_BACK);
  rolled_back.mutable_failure()->set_code(v1::FAILURE_CODE_VERIFICATION_FAILED);
  rolled_back.mutable_failure()->set_message("verification failed");
  rolled_back.mutable_deploy()->mutable_rollback()->set_reason(
      "served chain lacks intermediate CN=certfleet Local Issuing CA");
  Complete(Lease(host), rolled_back);
  store::OrderRecord order = Order(order_id);
  EXPECT_EQ(order.state, OrderState::kRolledBack);
  EXPECT_FALSE(order.open);
  EXPECT_THAT(order.history.back().reason, HasSubstr("lacks intermediate"));
  ASSERT_TRUE(order.last_failure.has_value());
  EXPECT_EQ(order.last_failure->code, "FAILURE_CODE_VERIFICATION_FAILED");
  EXPECT_THAT(finished_, ::testing::ElementsAre(order_id + " rolled_back"));
}

TEST_F(RenewalEngineTest, ACsrWithAnotherKeyThanReportedFailsTheOrder) {
  const store::HostRecord host = HostWithCertificate("web01", 1, absl::Hours(24 * 10));
  engine_->RunOnce();
  const std::string order_id = Orders().front().order_id;
  store::JobRecord job = Lease(host);
  absl::StatusOr<crypto::PrivateKey> key =
      crypto::PrivateKey::Generate({crypto::KeyAlgorithm::kRsa, 2048});
  ASSERT_TRUE(key.ok());
  absl::StatusOr<crypto::CertificateRequest> request = crypto::CertificateRequest::Create(
      *key, *crypto::DistinguishedName::Parse("CN=www1.example.com"), {"www1.example.com"});
  ASSERT_TRUE(request.ok());
  v1::JobResult result;
  result.set_outcome(v1::JOB_OUTCOME_SUCCEEDED);
  result.mutable_prepare()->set_csr_pem(request->ToPem());
  result.mutable_prepare()->set_public_key_sha256(std::string(64, 'A'));
  result.mutable_prepare()->set_temporary_site_id("99");
  Complete(job, result);
  store::OrderRecord order = Order(order_id);
  EXPECT_EQ(order.state, OrderState::kFailed);
  EXPECT_THAT(order.history.back().reason, HasSubstr("but the agent reported"));
}

TEST_F(RenewalEngineTest, ManualOrdersWaitForAnUpload) {
  store::PolicyRecord manual = *store().policies().GetPolicy("default");
  manual.connector = "manual";
  ASSERT_TRUE(store().policies().SetPolicy(manual).ok());
  const store::HostRecord host = HostWithCertificate("web01", 1, absl::Hours(24 * 10));
  engine_->RunOnce();
  const std::string order_id = Orders().front().order_id;
  RunPrepare(Lease(host));
  PassSummary summary = engine_->RunOnce();
  EXPECT_EQ(summary.orders_issued, 0);
  EXPECT_EQ(Order(order_id).state, OrderState::kAwaitingIssuance);
  // A manual order waiting for a person does not hold a slot of the cap or
  // the host.
  EXPECT_EQ(Orders({OrderState::kAwaitingIssuance}).size(), 1u);
}

TEST_F(RenewalEngineTest, RestartPlansTheSameOrdersAndCausesNoBurst) {
  MakeEngine(/*maximum_in_flight=*/2);
  for (int number = 1; number <= 5; ++number) {
    HostWithCertificate(absl::StrCat("web0", number), number, absl::Hours(24 * 10));
  }
  PassSummary summary = engine_->RunOnce();
  EXPECT_EQ(summary.orders_created, 5);
  EXPECT_EQ(summary.prepares_queued, 2);

  // A new engine on the same store, as after a controller restart.
  MakeEngine(/*maximum_in_flight=*/2);
  Advance(absl::Minutes(3));
  summary = engine_->RunOnce();
  EXPECT_EQ(summary.orders_created, 0) << "the orders are in the store already";
  EXPECT_EQ(summary.prepares_queued, 0) << "the cap still holds";
  EXPECT_EQ(Orders().size(), 5u);
  EXPECT_EQ(Orders({OrderState::kCsrRequested}).size(), 2u);
}

TEST_F(RenewalEngineTest, APolicyTheHostCannotUseFailsTheOrderNamingTheLimit) {
  store::PolicyRecord ecdsa = *store().policies().GetPolicy("default");
  ecdsa.key_spec = "ECDSA_P256";
  ASSERT_TRUE(store().policies().SetPolicy(ecdsa).ok());
  store::HostRecord host = HostWithCertificate("web01", 1, absl::Hours(24 * 10));
  v1::HostCapabilities capabilities;
  capabilities.add_supported_key_specs(v1::KEY_SPEC_RSA_2048);
  capabilities.add_supported_key_specs(v1::KEY_SPEC_RSA_4096);
  store::AgentDescription description;
  description.agent_version = "test";
  description.platform = host.platform;
  description.capabilities = capabilities.SerializeAsString();
  ASSERT_TRUE(store().hosts().UpdateAgentDescription(host.host_id, description, now()).ok());

  PassSummary summary = engine_->RunOnce();
  EXPECT_EQ(summary.orders_created, 1);
  EXPECT_EQ(summary.orders_failed, 1);
  EXPECT_EQ(summary.prepares_queued, 0);
  ASSERT_EQ(Orders().size(), 1u);
  store::OrderRecord order = Order(Orders().front().order_id);
  EXPECT_EQ(order.state, OrderState::kFailed);
  EXPECT_FALSE(order.open);
  EXPECT_THAT(order.history.back().reason, HasSubstr("ECDSA_P256 key"));
  EXPECT_THAT(order.history.back().reason, HasSubstr("web01"));
}

}  // namespace
}  // namespace certfleet::controller::renewal
