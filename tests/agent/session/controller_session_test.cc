// Integration tests of the agent's controller session: a real
// ControllerServer on 127.0.0.1 (port 0) with a temporary data dir, and a
// real emulated IIS 6 host issued by the test PKI and served by the real
// iis6-emulator binary, so that every verify is a real TLS handshake. Jobs
// are queued directly in the controller's store, as the renewal engine
// will. Waits are on conditions with a 30 s deadline, never sleeps.

#include "agent/session/controller_session.h"

#include <atomic>
#include <filesystem>
#include <functional>
#include <iostream>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/time/clock.h"
#include "agent/drivers/iis6/emulated_host_builder.h"
#include "agent/drivers/iis6/iis6_driver.h"
#include "agent/executor/job_journal.h"
#include "agent/session/agent_identity.h"
#include "agent/session/job_conversion.h"
#include "certfleet/v1/jobs.pb.h"
#include "common/crypto/certificate_reader.h"
#include "common/crypto/certificate_request.h"
#include "common/tls/tls_probe.h"
#include "controller/identity/join_token.h"
#include "controller/server/controller_server.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/agent/drivers/iis6/iis6_test_host.h"
#include "tests/support/status_matchers.h"
#include "tests/support/temporary_directory.h"
#include "tests/support/test_pki.h"
#include "tests/tools/iis6-emulator/emulated_host.h"
#include "tests/tools/iis6-emulator/emulator_process.h"

namespace certfleet::agent::session {
namespace {

namespace fs = std::filesystem;
namespace v1 = certfleet::v1;
namespace store = certfleet::controller::store;
using ::certfleet::testing::EmulatorProcess;
using ::certfleet::testing::IsOk;
using ::testing::Contains;
using ::testing::HasSubstr;

// These tests queue jobs themselves: no renewal engine may add its own.
// (ControllerOptions gains run_renewal_engine with the engine; until then
// there is none to turn off.)
template <typename Options>
void DisableRenewalEngine(Options& options) {
  if constexpr (requires { options.run_renewal_engine; }) options.run_renewal_engine = false;
}

constexpr char kTemporarySiteName[] = "certfleet-renewal-session-test";

// Polls `condition` until it holds or 30 s pass.
bool WaitUntil(const std::function<bool()>& condition) {
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (absl::Now() < deadline) {
    if (condition()) return true;
    absl::SleepFor(absl::Milliseconds(50));
  }
  return condition();
}

// Forwards every call to a real driver; a call to the gated method waits
// until the test opens the gate, so that the test can act while a job is
// in the middle of a step.
class GatedDriver : public HostDriver {
 public:
  explicit GatedDriver(HostDriver& inner) : inner_(inner) {}

  void Close(std::string method) {
    std::lock_guard<std::mutex> lock(mutex_);
    gated_method_ = std::move(method);
    open_ = false;
    reached_ = false;
  }
  void Open() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      open_ = true;
    }
    wakeup_.notify_all();
  }
  bool Reached() {
    std::lock_guard<std::mutex> lock(mutex_);
    return reached_;
  }

  std::string Platform() const override { return inner_.Platform(); }
  absl::StatusOr<HostInventory> ScanInventory() override {
    Pass("ScanInventory");
    return inner_.ScanInventory();
  }
  absl::StatusOr<std::string> CreateTemporarySite(std::string_view name) override {
    Pass("CreateTemporarySite");
    return inner_.CreateTemporarySite(name);
  }
  absl::Status DeleteSite(std::string_view site_id) override {
    Pass("DeleteSite");
    return inner_.DeleteSite(site_id);
  }
  absl::StatusOr<crypto::CertificateRequest> CreatePendingRequest(
      std::string_view site_id, const crypto::DistinguishedName& subject,
      const std::vector<std::string>& dns_names, const crypto::KeySpec& key_spec) override {
    Pass("CreatePendingRequest");
    return inner_.CreatePendingRequest(site_id, subject, dns_names, key_spec);
  }
  absl::Status ClearPendingRequest(std::string_view site_id) override {
    Pass("ClearPendingRequest");
    return inner_.ClearPendingRequest(site_id);
  }
  absl::Status AcceptCertificate(std::string_view site_id, const crypto::Certificate& certificate,
                                 const std::vector<crypto::Certificate>& chain) override {
    Pass("AcceptCertificate");
    return inner_.AcceptCertificate(site_id, certificate, chain);
  }
  absl::Status InstallChain(const std::vector<crypto::Certificate>& chain) override {
    Pass("InstallChain");
    return inner_.InstallChain(chain);
  }
  absl::StatusOr<std::string> ReadBinding(std::string_view site_id) override {
    Pass("ReadBinding");
    return inner_.ReadBinding(site_id);
  }
  absl::Status ReplaceBinding(std::string_view site_id, std::string_view thumbprint) override {
    Pass("ReplaceBinding");
    return inner_.ReplaceBinding(site_id, thumbprint);
  }
  absl::Status Restart() override {
    Pass("Restart");
    return inner_.Restart();
  }
  absl::StatusOr<std::vector<SiteEndpoint>> SecureEndpoints(std::string_view site_id) override {
    Pass("SecureEndpoints");
    return inner_.SecureEndpoints(site_id);
  }
  absl::StatusOr<fs::path> Backup(std::string_view site_id, std::string_view thumbprint,
                                  const BackupOptions& options) override {
    Pass("Backup");
    return inner_.Backup(site_id, thumbprint, options);
  }

 private:
  void Pass(std::string_view method) {
    std::unique_lock<std::mutex> lock(mutex_);
    if (method != gated_method_ || open_) return;
    reached_ = true;
    wakeup_.wait(lock, [this] { return open_; });
  }

  HostDriver& inner_;
  std::mutex mutex_;
  std::condition_variable wakeup_;
  std::string gated_method_;
  bool open_ = true;
  bool reached_ = false;
};

class ControllerSessionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    StartController("127.0.0.1:0");
    iis6::EmulatedHostOptions options;
    options.host_root = temporary_.path() / "host";
    options.address = "127.0.0.2";
    options.http_port = testing::FreePort();
    options.https_port = testing::FreePort();
    options.issuer = testing::TestIssuer();
    CERTFLEET_ASSERT_OK_AND_ASSIGN(host_, iis6::BuildEmulatedHost(options));
    for (const iis6::EmulatedSite& site : host_.sites) {
      if (site.site_id == iis6::kBoutiqueSiteId) site_ = site;
    }
    ASSERT_FALSE(site_.thumbprint.empty());
    CERTFLEET_ASSERT_OK_AND_ASSIGN(
        emulator_, EmulatorProcess::Start(options.host_root, temporary_.path() / "emulator.log"));
    iis6::Iis6DriverSettings driver_settings;
    driver_settings.host_root = options.host_root;
    CERTFLEET_ASSERT_OK_AND_ASSIGN(driver_, iis6::Iis6Driver::Open(std::move(driver_settings)));
    gated_driver_ = std::make_unique<GatedDriver>(*driver_);

    config_.controller_address = "127.0.0.1:" + std::to_string(controller_->port());
    config_.controller_ca_sha256 = controller_->authority().ca_certificate().Sha256Fingerprint();
    config_.hostname = "web01.example.test";
    config_.state_dir = temporary_.path() / "state";
    config_.iis6_host_root = options.host_root;
    config_.reconnect_initial_backoff = absl::Milliseconds(100);
    config_.reconnect_max_backoff = absl::Seconds(1);
    config_.healthy_session = absl::Seconds(1);
    config_.rpc_timeout = absl::Seconds(10);
    controller::server::JoinTokenSpec spec;
    CERTFLEET_ASSERT_OK_AND_ASSIGN(
        config_.join_token,
        controller::server::CreateJoinToken(controller_->store(), spec, absl::Now()));
  }

  void TearDown() override {
    StopAgent();
    if (controller_ != nullptr) controller_->Shutdown(absl::Seconds(2));
  }

  void StartController(const std::string& listen_address) {
    controller::server::ControllerOptions options;
    options.data_dir = temporary_.path() / "controller";
    options.listen_address = listen_address;
    options.agent_service.heartbeat_interval = absl::Seconds(1);
    options.agent_service.sweep_interval = absl::Milliseconds(200);
    DisableRenewalEngine(options);
    CERTFLEET_ASSERT_OK_AND_ASSIGN(controller_,
                                   controller::server::ControllerServer::Start(options));
  }

  void StartAgent() {
    CERTFLEET_ASSERT_OK_AND_ASSIGN(
        session_, ControllerSession::Create(config_, *gated_driver_, [this](std::string_view line) {
          std::lock_guard<std::mutex> lock(log_mutex_);
          log_.push_back(std::string(line));
          std::cerr << "agent: " << line << "\n";
        }));
    agent_thread_ = std::thread([this] {
      run_status_ = session_->Run();
      run_returned_ = true;
    });
    ASSERT_TRUE(WaitUntil([this] { return session_->welcomed_sessions() >= 1; }));
    host_id_ = session_->host_id();
  }

  void StopAgent() {
    if (session_ != nullptr) session_->Stop();
    if (agent_thread_.joinable()) agent_thread_.join();
  }

  // Runs a prepare job to its end and returns the deploy spec of the
  // certificate the test CA issues for its CSR.
  v1::JobSpec PrepareAndIssue(crypto::Certificate* leaf) {
    const store::JobRecord prepared = WaitForJob(QueueJob(store::JobKind::kPrepare, PrepareSpec()));
    EXPECT_EQ(prepared.status, store::JobStatus::kSucceeded);
    const v1::JobResult result = ResultOf(prepared);
    absl::StatusOr<crypto::CertificateRequest> csr =
        crypto::CertificateRequest::Parse(result.prepare().csr_pem());
    EXPECT_THAT(csr, IsOk());
    *leaf = testing::IssueForRequest(*csr);
    const testing::TestPki& pki = testing::TestPki::Shared();
    v1::JobSpec spec;
    v1::DeployJob* deploy = spec.mutable_deploy();
    deploy->set_site_id(site_.site_id);
    deploy->set_binding_id(site_.site_id);
    deploy->set_temporary_site_id(result.prepare().temporary_site_id());
    deploy->set_certificate_pem(leaf->ToPem());
    deploy->add_intermediate_pems(pki.intermediate.certificate.ToPem());
    deploy->set_root_pem(pki.root.certificate.ToPem());
    deploy->set_expected_thumbprint(leaf->Thumbprint());
    deploy->set_previous_thumbprint(site_.thumbprint);
    deploy->mutable_backup()->set_mode(v1::BACKUP_MODE_DISABLED);
    return spec;
  }

  bool Logged(const std::string& text) {
    std::lock_guard<std::mutex> lock(log_mutex_);
    for (const std::string& line : log_) {
      if (absl::StrContains(line, text)) return true;
    }
    return false;
  }

  std::string QueueJob(store::JobKind kind, const v1::JobSpec& spec) {
    store::NewJob job;
    job.host_id = host_id_;
    job.kind = kind;
    job.spec = spec.SerializeAsString();
    job.created_at = absl::Now();
    job.created_by = "controller_session_test";
    absl::StatusOr<store::JobRecord> created =
        controller_->store().jobs().CreateJob(job, std::nullopt);
    EXPECT_THAT(created, IsOk());
    controller_->agent_service().NotifyJobQueued(host_id_);
    return created.ok() ? created->job_id : "";
  }

  // Waits for the job to end and returns its record (status and result).
  store::JobRecord WaitForJob(const std::string& job_id) {
    store::JobRecord record;
    EXPECT_TRUE(WaitUntil([&] {
      absl::StatusOr<store::JobRecord> job = controller_->store().jobs().GetJob(job_id);
      if (!job.ok() || !job->finished_at.has_value()) return false;
      record = *job;
      return true;
    })) << "job "
        << job_id << " did not finish";
    return record;
  }

  static v1::JobResult ResultOf(const store::JobRecord& record) {
    v1::JobResult result;
    if (record.result.has_value()) result.ParseFromString(record.result->detail);
    return result;
  }

  v1::JobSpec PrepareSpec() const {
    v1::JobSpec spec;
    v1::PrepareJob* prepare = spec.mutable_prepare();
    prepare->set_site_id(site_.site_id);
    prepare->set_binding_id(site_.site_id);
    prepare->set_expected_current_thumbprint(site_.thumbprint);
    prepare->set_temporary_site_name(kTemporarySiteName);
    prepare->set_key_spec(v1::KEY_SPEC_RSA_2048);
    prepare->mutable_subject()->set_common_name(site_.host_name);
    v1::SubjectAlternativeName* name = prepare->add_subject_alternative_names();
    name->set_kind(v1::SUBJECT_ALTERNATIVE_NAME_KIND_DNS);
    name->set_value(site_.host_name);
    prepare->set_signature_hash(v1::SIGNATURE_HASH_SHA256);
    return spec;
  }

  tls::ProbeResult Served() const {
    tls::ProbeOptions options;
    options.host = "127.0.0.2";
    options.port = site_.https_port;
    options.trusted_roots = {testing::TestPki::Shared().root.certificate};
    absl::StatusOr<tls::ProbeResult> result = tls::ProbeTls(options);
    EXPECT_THAT(result.status(), IsOk());
    return result.ok() ? *result : tls::ProbeResult{};
  }

  testing::TemporaryDirectory temporary_;
  std::unique_ptr<controller::server::ControllerServer> controller_;
  iis6::EmulatedHost host_;
  iis6::EmulatedSite site_;
  std::unique_ptr<EmulatorProcess> emulator_;
  std::unique_ptr<iis6::Iis6Driver> driver_;
  std::unique_ptr<GatedDriver> gated_driver_;
  AgentConfig config_;
  std::unique_ptr<ControllerSession> session_;
  std::thread agent_thread_;
  absl::Status run_status_;
  std::atomic<bool> run_returned_ = false;
  std::string host_id_;
  std::mutex log_mutex_;
  std::vector<std::string> log_;
};

TEST_F(ControllerSessionTest, TheSessionComesUpAndTheHostIsOnlineWithItsInventory) {
  StartAgent();
  ASSERT_FALSE(host_id_.empty());
  EXPECT_TRUE(WaitUntil([this] {
    absl::StatusOr<store::HostRecord> host = controller_->store().hosts().GetHost(host_id_);
    return host.ok() && host->online;
  }));
  absl::StatusOr<store::HostRecord> host = controller_->store().hosts().GetHost(host_id_);
  ASSERT_THAT(host, IsOk());
  EXPECT_EQ(host->hostname, "web01.example.test");
  EXPECT_EQ(host->agent_version, "0.1.0");
  EXPECT_EQ(host->platform.driver, "iis6");

  // The first inventory: every site, and the TLS bindings with their
  // certificates.
  ASSERT_TRUE(WaitUntil([this] {
    absl::StatusOr<std::vector<store::BindingRecord>> bindings =
        controller_->store().inventory().ListBindings(host_id_);
    return bindings.ok() && !bindings->empty();
  }));
  CERTFLEET_ASSERT_OK_AND_ASSIGN(std::vector<store::SiteRecord> sites,
                                 controller_->store().inventory().ListSites(host_id_));
  EXPECT_EQ(sites.size(), host_.sites.size());
  CERTFLEET_ASSERT_OK_AND_ASSIGN(std::vector<store::BindingRecord> bindings,
                                 controller_->store().inventory().ListBindings(host_id_));
  std::vector<std::string> thumbprints;
  for (const store::BindingRecord& binding : bindings) {
    thumbprints.push_back(binding.certificate_thumbprint);
  }
  EXPECT_THAT(thumbprints, Contains(site_.thumbprint));

  // Each started site's binding was probed from the host: the emulator
  // serves the bound certificate with its chain.
  std::optional<store::BindingProbeRecord> probe;
  ASSERT_TRUE(WaitUntil([&] {
    absl::StatusOr<std::vector<store::BindingRecord>> listed =
        controller_->store().inventory().ListBindings(host_id_);
    if (!listed.ok()) return false;
    for (const store::BindingRecord& binding : *listed) {
      if (binding.certificate_thumbprint == site_.thumbprint) probe = binding.last_probe;
    }
    return probe.has_value();
  }));
  EXPECT_EQ(probe->status, store::ServedStatus::kMatches) << probe->detail;
  EXPECT_EQ(probe->served_thumbprint, site_.thumbprint);

  // An InventoryRequest from the controller gets another report.
  EXPECT_TRUE(controller_->agent_service().RequestInventory(host_id_, "operator rescan"));
  EXPECT_TRUE(WaitUntil([this] { return Logged("inventory reported (controller request"); }));
  EXPECT_TRUE(Logged("unchanged"));
}

TEST_F(ControllerSessionTest, PrepareAndDeployJobsRunAndTheirResultsReachTheController) {
  StartAgent();
  const std::string prepare_id = QueueJob(store::JobKind::kPrepare, PrepareSpec());
  const store::JobRecord prepared = WaitForJob(prepare_id);
  ASSERT_EQ(prepared.status, store::JobStatus::kSucceeded);
  const v1::JobResult prepare_result = ResultOf(prepared);
  ASSERT_TRUE(prepare_result.has_prepare());
  CERTFLEET_ASSERT_OK_AND_ASSIGN(
      crypto::CertificateRequest csr,
      crypto::CertificateRequest::Parse(prepare_result.prepare().csr_pem()));
  EXPECT_EQ(prepare_result.prepare().public_key_sha256(), csr.public_key().Sha256Fingerprint());
  EXPECT_TRUE(prepare_result.has_finished_at());
  // The CSR's key is the one the host keeps in its REQUEST store, as the
  // temporary site's pending request.
  CERTFLEET_ASSERT_OK_AND_ASSIGN(HostInventory scanned, driver_->ScanInventory());
  bool in_request_store = false;
  for (const StoredCertificate& stored : scanned.certificates) {
    if (stored.store == CertificateStore::kRequest &&
        stored.certificate.public_key() == csr.public_key()) {
      in_request_store = stored.has_private_key;
    }
  }
  EXPECT_TRUE(in_request_store);
  std::string temporary_site_id;
  for (const SiteInfo& site : scanned.sites) {
    if (site.name == kTemporarySiteName) temporary_site_id = site.site_id;
  }
  EXPECT_EQ(prepare_result.prepare().temporary_site_id(), temporary_site_id);
  // Every step reached the controller.
  CERTFLEET_ASSERT_OK_AND_ASSIGN(store::JobRecord with_steps,
                                 controller_->store().jobs().GetJob(prepare_id));
  ASSERT_FALSE(with_steps.attempts.empty());
  EXPECT_GE(with_steps.attempts.back().steps.size(), 2u);

  // The CA issues for the CSR; the deploy switches the site to it.
  const crypto::Certificate leaf = testing::IssueForRequest(csr);
  const testing::TestPki& pki = testing::TestPki::Shared();
  v1::JobSpec spec;
  v1::DeployJob* deploy = spec.mutable_deploy();
  deploy->set_site_id(site_.site_id);
  deploy->set_binding_id(site_.site_id);
  deploy->set_temporary_site_id(prepare_result.prepare().temporary_site_id());
  deploy->set_certificate_pem(leaf.ToPem());
  deploy->add_intermediate_pems(pki.intermediate.certificate.ToPem());
  deploy->set_root_pem(pki.root.certificate.ToPem());
  deploy->set_expected_thumbprint(leaf.Thumbprint());
  deploy->set_previous_thumbprint(site_.thumbprint);
  deploy->mutable_backup()->set_mode(v1::BACKUP_MODE_DISABLED);
  const std::string deploy_id = QueueJob(store::JobKind::kDeploy, spec);
  const store::JobRecord deployed = WaitForJob(deploy_id);
  ASSERT_EQ(deployed.status, store::JobStatus::kSucceeded)
      << ResultOf(deployed).failure().message();
  const v1::JobResult deploy_result = ResultOf(deployed);
  EXPECT_EQ(deploy_result.deploy().bound_thumbprint(), leaf.Thumbprint());
  EXPECT_EQ(deploy_result.deploy().previous_thumbprint(), site_.thumbprint);
  // What the verification saw on the site's endpoint travels with the result.
  ASSERT_EQ(deploy_result.deploy().verification_size(), 1);
  const v1::ProbeResult& verification = deploy_result.deploy().verification(0);
  EXPECT_EQ(verification.address(), "127.0.0.2:" + std::to_string(site_.https_port));
  EXPECT_EQ(verification.served_thumbprint(), leaf.Thumbprint());
  EXPECT_TRUE(verification.thumbprint_matches());
  EXPECT_TRUE(verification.chain_verifies()) << verification.problem();

  // Verified by a handshake: the site serves the new leaf with its chain.
  const tls::ProbeResult served = Served();
  ASSERT_FALSE(served.served_chain.empty());
  EXPECT_EQ(served.leaf().Thumbprint(), leaf.Thumbprint());
  EXPECT_TRUE(served.verification.ok()) << served.verification.reason;

  // The controller's inventory follows: the binding now has the new
  // thumbprint (the agent reports after every job).
  EXPECT_TRUE(WaitUntil([&] {
    absl::StatusOr<store::BindingRecord> binding =
        controller_->store().inventory().GetBinding(host_id_, site_.site_id);
    return binding.ok() && binding->certificate_thumbprint == leaf.Thumbprint();
  }));
  // Both results are marked reported in the agent's journal.
  StopAgent();
  CERTFLEET_ASSERT_OK_AND_ASSIGN(std::unique_ptr<JobJournal> journal,
                                 JobJournal::Open((config_.state_dir / "journal.db").string()));
  EXPECT_THAT(journal->UnreportedJobs().value(), ::testing::IsEmpty());
  EXPECT_TRUE(journal->GetJob(deploy_id, 1).value().result_reported);
}

TEST_F(ControllerSessionTest, ACancelledDeployStopsBeforeTheBindingChanges) {
  StartAgent();
  crypto::Certificate leaf = testing::TestPki::Shared().leaf.certificate;
  const v1::JobSpec spec = PrepareAndIssue(&leaf);
  // The deploy waits in its install_chain step while it is cancelled.
  gated_driver_->Close("InstallChain");
  const std::string deploy_id = QueueJob(store::JobKind::kDeploy, spec);
  ASSERT_TRUE(WaitUntil([this] { return gated_driver_->Reached(); }));
  ASSERT_THAT(controller_->store().jobs().CancelJob(deploy_id, "cancelled by alice", absl::Now()),
              IsOk());
  EXPECT_TRUE(WaitUntil([&] { return Logged("the controller cancels job " + deploy_id); }));
  gated_driver_->Open();

  const store::JobRecord cancelled = WaitForJob(deploy_id);
  EXPECT_EQ(cancelled.status, store::JobStatus::kCancelled);
  EXPECT_EQ(ResultOf(cancelled).outcome(), v1::JOB_OUTCOME_CANCELLED);
  // The site still has, and serves, its previous certificate.
  EXPECT_EQ(driver_->ReadBinding(site_.site_id).value(), site_.thumbprint);
  const tls::ProbeResult served = Served();
  ASSERT_FALSE(served.served_chain.empty());
  EXPECT_EQ(served.leaf().Thumbprint(), site_.thumbprint);
}

TEST_F(ControllerSessionTest, AResultTheControllerMissedIsSentAfterReconnecting) {
  StartAgent();
  // The prepare is in the middle of its pending-request step when the
  // controller goes away; it finishes while the agent is disconnected.
  gated_driver_->Close("CreatePendingRequest");
  const std::string prepare_id = QueueJob(store::JobKind::kPrepare, PrepareSpec());
  ASSERT_TRUE(WaitUntil([this] { return gated_driver_->Reached(); }));
  const int port = controller_->port();
  controller_->Shutdown(absl::Seconds(2));
  controller_.reset();
  gated_driver_->Open();
  EXPECT_TRUE(WaitUntil([&] { return Logged("job " + prepare_id + " attempt 1 finished"); }));
  EXPECT_TRUE(WaitUntil([&] { return Logged("is kept for the next session"); }));

  StartController("127.0.0.1:" + std::to_string(port));
  ASSERT_NE(controller_, nullptr);
  const store::JobRecord prepared = WaitForJob(prepare_id);
  EXPECT_EQ(prepared.status, store::JobStatus::kSucceeded);
  EXPECT_TRUE(ResultOf(prepared).has_prepare());
  EXPECT_TRUE(Logged("sending the result of job " + prepare_id));
}

// A job the agent was running when it died: the journal shows it unfinished.
// Before connecting, the new agent process finishes it on the host; Hello
// carries it and Welcome's decision says whether its result is sent.
class ControllerSessionRecoveryTest : public ControllerSessionTest {
 protected:
  // Enrolls, leases a prepare job as the controller would, and leaves it
  // half done in the journal (the process "dies" after the temporary site
  // was created). Returns the job id.
  std::string LeaveAnInterruptedPrepare() {
    absl::StatusOr<AgentIdentity> identity =
        LoadOrEnroll(config_, v1::Platform(), v1::HostCapabilities(), {});
    EXPECT_THAT(identity, IsOk());
    host_id_ = identity->host_id;
    store::NewJob job;
    job.host_id = host_id_;
    job.kind = store::JobKind::kPrepare;
    job.spec = PrepareSpec().SerializeAsString();
    job.created_at = absl::Now();
    job.created_by = "controller_session_test";
    absl::StatusOr<store::JobRecord> created =
        controller_->store().jobs().CreateJob(job, std::nullopt);
    EXPECT_THAT(created, IsOk());
    absl::StatusOr<std::optional<store::JobRecord>> leased =
        controller_->store().jobs().LeaseNextJob(host_id_, absl::Now(),
                                                 absl::Now() + absl::Minutes(5));
    EXPECT_TRUE(leased.ok() && leased->has_value());

    struct Crash {};
    class CrashingDriver : public GatedDriver {
     public:
      using GatedDriver::GatedDriver;
      absl::StatusOr<std::string> CreateTemporarySite(std::string_view name) override {
        absl::StatusOr<std::string> created = GatedDriver::CreateTemporarySite(name);
        throw Crash{};
        return created;
      }
    };
    CrashingDriver crashing(*driver_);
    absl::StatusOr<std::unique_ptr<JobJournal>> journal =
        JobJournal::Open((config_.state_dir / "journal.db").string());
    EXPECT_THAT(journal, IsOk());
    class NoReporter : public StepReporter {
      void StepStarted(const StepReport&) override {}
      void StepFinished(const StepReport&) override {}
    } reporter;
    SystemClock clock;
    RenewalExecutor executor(crashing, **journal, reporter, clock);
    absl::StatusOr<PrepareOrder> order =
        ToPrepareOrder(created->job_id, 1, PrepareSpec().prepare());
    EXPECT_THAT(order, IsOk());
    EXPECT_THROW(executor.Prepare(*order).IgnoreError(), Crash);
    EXPECT_EQ((*journal)->UnfinishedJobs().value().size(), 1u);
    return created->job_id;
  }

  int TemporarySites() {
    absl::StatusOr<HostInventory> inventory = driver_->ScanInventory();
    EXPECT_THAT(inventory, IsOk());
    int count = 0;
    for (const SiteInfo& site : inventory->sites) count += site.name == kTemporarySiteName;
    return count;
  }
};

TEST_F(ControllerSessionRecoveryTest, AnInterruptedJobIsFinishedAndItsResultSent) {
  const std::string job_id = LeaveAnInterruptedPrepare();
  StartAgent();
  const store::JobRecord finished = WaitForJob(job_id);
  EXPECT_EQ(finished.status, store::JobStatus::kSucceeded);
  const v1::JobResult result = ResultOf(finished);
  ASSERT_TRUE(result.has_prepare());
  EXPECT_FALSE(result.prepare().csr_pem().empty());
  EXPECT_FALSE(result.prepare().temporary_site_id().empty());
  EXPECT_EQ(TemporarySites(), 1);
  EXPECT_TRUE(Logged("resumed job " + job_id));
}

TEST_F(ControllerSessionRecoveryTest, AnInterruptedJobCancelledMeanwhileIsReportedCancelled) {
  const std::string job_id = LeaveAnInterruptedPrepare();
  ASSERT_THAT(controller_->store().jobs().CancelJob(job_id, "order cancelled", absl::Now()),
              IsOk());
  StartAgent();
  EXPECT_TRUE(WaitUntil([&] { return Logged("job " + job_id + " attempt 1: cancelled"); }));
  const store::JobRecord finished = WaitForJob(job_id);
  EXPECT_EQ(finished.status, store::JobStatus::kCancelled);
  EXPECT_EQ(ResultOf(finished).failure().code(), v1::FAILURE_CODE_CANCELLED);
  StopAgent();
  CERTFLEET_ASSERT_OK_AND_ASSIGN(std::unique_ptr<JobJournal> journal,
                                 JobJournal::Open((config_.state_dir / "journal.db").string()));
  EXPECT_THAT(journal->UnreportedJobs().value(), ::testing::IsEmpty());
  EXPECT_TRUE(journal->GetJob(job_id, 1).value().result_reported);
}

TEST_F(ControllerSessionTest, JobKindsTheAgentCannotRunAreRejected) {
  StartAgent();
  v1::JobSpec probe;
  probe.mutable_probe()->add_targets()->set_address("127.0.0.2:1");
  const std::string probe_id = QueueJob(store::JobKind::kProbe, probe);
  EXPECT_TRUE(WaitUntil([&] { return Logged("job " + probe_id + " (probe) rejected"); }));
  absl::StatusOr<store::JobRecord> job = controller_->store().jobs().GetJob(probe_id);
  ASSERT_THAT(job, IsOk());
  // The controller fails a job the agent cannot run instead of offering it
  // again and again; the agent never ran it.
  EXPECT_TRUE(WaitUntil([&] {
    absl::StatusOr<store::JobRecord> failed = controller_->store().jobs().GetJob(probe_id);
    return failed.ok() && failed->status == store::JobStatus::kFailed;
  }));
  job = controller_->store().jobs().GetJob(probe_id);
  ASSERT_THAT(job, IsOk());
  ASSERT_TRUE(job->result.has_value());
  ASSERT_TRUE(job->result->failure.has_value());
  EXPECT_EQ(job->result->failure->code, "FAILURE_CODE_UNSUPPORTED_BY_PLATFORM");
  EXPECT_FALSE(Logged("job " + probe_id + " attempt"));
}

TEST_F(ControllerSessionTest, TheAgentReconnectsByItselfAfterAControllerRestart) {
  StartAgent();
  const int port = controller_->port();
  controller_->Shutdown(absl::Seconds(2));
  controller_.reset();
  EXPECT_TRUE(WaitUntil([this] { return Logged("reconnecting in"); }));
  StartController("127.0.0.1:" + std::to_string(port));
  ASSERT_NE(controller_, nullptr);
  EXPECT_TRUE(WaitUntil([this] { return session_->welcomed_sessions() >= 2; }));
  EXPECT_TRUE(WaitUntil([this] {
    absl::StatusOr<store::HostRecord> host = controller_->store().hosts().GetHost(host_id_);
    return host.ok() && host->online;
  }));
  EXPECT_TRUE(Logged("controller is going away"));
}

TEST_F(ControllerSessionTest, ADecommissionedHostStopsTheAgentWithTheReason) {
  StartAgent();
  ASSERT_THAT(controller_->store().hosts().DecommissionHost(host_id_, "retired", absl::Now()),
              IsOk());
  ASSERT_TRUE(WaitUntil([this] { return run_returned_.load(); }));
  agent_thread_.join();
  EXPECT_THAT(run_status_, testing::StatusIs(absl::StatusCode::kPermissionDenied,
                                             HasSubstr("refuses this agent's identity")));
}

TEST_F(ControllerSessionTest, AnIdentityPastItsRenewPointIsRenewedAndUsed) {
  // Enroll, then make the identity due for renewal before the agent starts.
  CERTFLEET_ASSERT_OK_AND_ASSIGN(AgentIdentity enrolled,
                                 LoadOrEnroll(config_, v1::Platform(), v1::HostCapabilities(), {}));
  enrolled.renew_at = absl::Now() - absl::Minutes(1);
  ASSERT_THAT(SaveIdentity(config_.state_dir, enrolled), IsOk());
  StartAgent();
  EXPECT_TRUE(WaitUntil([&] {
    absl::StatusOr<store::HostRecord> host = controller_->store().hosts().GetHost(host_id_);
    return host.ok() &&
           host->identity.certificate_sha256 != enrolled.certificate.Sha256Fingerprint();
  }));
  // The agent reconnects with the new identity (the old one is superseded).
  EXPECT_TRUE(WaitUntil([this] { return session_->welcomed_sessions() >= 2; }));
  CERTFLEET_ASSERT_OK_AND_ASSIGN(std::optional<AgentIdentity> stored,
                                 LoadIdentity(config_.state_dir));
  ASSERT_TRUE(stored.has_value());
  EXPECT_NE(stored->certificate, enrolled.certificate);
  EXPECT_GT(stored->renew_at, absl::Now());
  EXPECT_EQ(stored->host_id, enrolled.host_id);
}

TEST_F(ControllerSessionTest, AWrongPinStopsTheAgentWithoutSendingTheToken) {
  config_.controller_ca_sha256 = std::string(64, 'C');
  CERTFLEET_ASSERT_OK_AND_ASSIGN(session_, ControllerSession::Create(config_, *driver_, {}));
  const absl::Status status = session_->Run();
  EXPECT_THAT(status, testing::StatusIs(absl::StatusCode::kFailedPrecondition,
                                        HasSubstr("does not match the pinned")));
  EXPECT_TRUE(controller_->store()
                  .join_tokens()
                  .ValidateJoinToken(controller::HashJoinTokenSecret(config_.join_token),
                                     "web01.example.test", absl::Now())
                  .ok());
}

}  // namespace
}  // namespace certfleet::agent::session
