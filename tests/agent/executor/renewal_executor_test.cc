// Tests of the renewal executor against an emulated IIS 6 host served by the
// real iis6-emulator binary: every verify is a real TLS handshake. Covers the
// whole prepare + deploy sequence, a crash injected after each driver call
// of a deploy followed by a new executor resuming, and a rollback when the
// served chain is incomplete.

#include "agent/executor/renewal_executor.h"

#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "absl/time/time.h"
#include "agent/drivers/iis6/emulated_host_builder.h"
#include "agent/drivers/iis6/iis6_driver.h"
#include "agent/executor/job_journal.h"
#include "common/tls/tls_probe.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/agent/drivers/iis6/iis6_test_host.h"
#include "tests/support/status_matchers.h"
#include "tests/support/temporary_directory.h"
#include "tests/support/test_pki.h"
#include "tests/tools/iis6-emulator/emulated_host.h"
#include "tests/tools/iis6-emulator/emulator_process.h"

namespace certfleet::agent {
namespace {

namespace fs = std::filesystem;

using ::certfleet::testing::EmulatorProcess;
using ::certfleet::testing::IsOk;
using ::certfleet::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr char kTemporarySiteName[] = "certfleet-renewal-job-1";

// What a crash looks like to the executor: nothing after it runs.
struct InjectedCrash {};

// Forwards every call to a real driver and calls `after_call` with the
// method's name once the call has returned (and its effect is on the host).
class ForwardingDriver : public HostDriver {
 public:
  ForwardingDriver(HostDriver& inner, std::function<void(std::string_view)> after_call)
      : inner_(inner), after_call_(std::move(after_call)) {}

  std::string Platform() const override { return inner_.Platform(); }
  absl::StatusOr<HostInventory> ScanInventory() override {
    return After("ScanInventory", inner_.ScanInventory());
  }
  absl::StatusOr<std::string> CreateTemporarySite(std::string_view name) override {
    return After("CreateTemporarySite", inner_.CreateTemporarySite(name));
  }
  absl::Status DeleteSite(std::string_view site_id) override {
    return After("DeleteSite", inner_.DeleteSite(site_id));
  }
  absl::StatusOr<crypto::CertificateRequest> CreatePendingRequest(
      std::string_view site_id, const crypto::DistinguishedName& subject,
      const std::vector<std::string>& dns_names, const crypto::KeySpec& key_spec) override {
    return After("CreatePendingRequest",
                 inner_.CreatePendingRequest(site_id, subject, dns_names, key_spec));
  }
  absl::Status ClearPendingRequest(std::string_view site_id) override {
    return After("ClearPendingRequest", inner_.ClearPendingRequest(site_id));
  }
  absl::Status AcceptCertificate(std::string_view site_id, const crypto::Certificate& certificate,
                                 const std::vector<crypto::Certificate>& chain) override {
    return After("AcceptCertificate", inner_.AcceptCertificate(site_id, certificate, chain));
  }
  absl::Status InstallChain(const std::vector<crypto::Certificate>& chain) override {
    return After("InstallChain", inner_.InstallChain(chain));
  }
  absl::StatusOr<std::string> ReadBinding(std::string_view site_id) override {
    return After("ReadBinding", inner_.ReadBinding(site_id));
  }
  absl::Status ReplaceBinding(std::string_view site_id, std::string_view thumbprint) override {
    return After("ReplaceBinding", inner_.ReplaceBinding(site_id, thumbprint));
  }
  absl::Status Restart() override { return After("Restart", inner_.Restart()); }
  absl::StatusOr<std::vector<SiteEndpoint>> SecureEndpoints(std::string_view site_id) override {
    return After("SecureEndpoints", inner_.SecureEndpoints(site_id));
  }
  absl::StatusOr<fs::path> Backup(std::string_view site_id, std::string_view thumbprint,
                                  const BackupOptions& options) override {
    return After("Backup", inner_.Backup(site_id, thumbprint, options));
  }

 private:
  template <typename Result>
  Result After(std::string_view method, Result result) {
    after_call_(method);
    return result;
  }

  HostDriver& inner_;
  std::function<void(std::string_view)> after_call_;
};

class RecordingReporter : public StepReporter {
 public:
  void StepStarted(const StepReport& report) override { started.push_back(report); }
  void StepFinished(const StepReport& report) override { finished.push_back(report); }

  std::vector<std::string> FinishedNames() const {
    std::vector<std::string> names;
    for (const StepReport& report : finished) names.push_back(report.step_name);
    return names;
  }
  const StepReport* Finished(std::string_view name) const {
    for (const StepReport& report : finished) {
      if (report.step_name == name) return &report;
    }
    return nullptr;
  }

  std::vector<StepReport> started;
  std::vector<StepReport> finished;
};

// Advances one second per reading, so step times are distinct.
class SteppingClock : public Clock {
 public:
  absl::Time Now() override { return now_ += absl::Seconds(1); }

 private:
  absl::Time now_ = absl::FromUnixSeconds(1'800'000'000);
};

class RenewalExecutorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    iis6::EmulatedHostOptions options;
    options.host_root = HostRoot();
    options.address = "127.0.0.2";
    options.http_port = testing::FreePort();
    options.https_port = testing::FreePort();
    options.issuer = testing::TestIssuer();
    CERTFLEET_ASSERT_OK_AND_ASSIGN(host_, iis6::BuildEmulatedHost(options));
    for (const iis6::EmulatedSite& site : host_.sites) {
      if (site.site_id == iis6::kBoutiqueSiteId) site_ = site;
    }
    ASSERT_FALSE(site_.thumbprint.empty());
    CERTFLEET_ASSERT_OK_AND_ASSIGN(emulator_,
                                   EmulatorProcess::Start(HostRoot(), temporary_.path() / "log"));
    OpenDriverAndJournal();
  }

  fs::path HostRoot() const { return temporary_.path() / "host"; }

  void OpenDriverAndJournal() {
    executor_.reset();
    journal_.reset();
    driver_.reset();
    iis6::Iis6DriverSettings settings;
    settings.host_root = HostRoot();
    CERTFLEET_ASSERT_OK_AND_ASSIGN(driver_, iis6::Iis6Driver::Open(std::move(settings)));
    CERTFLEET_ASSERT_OK_AND_ASSIGN(journal_,
                                   JobJournal::Open((temporary_.path() / "journal.db").string()));
  }

  RenewalExecutor& Executor(HostDriver& driver) {
    executor_ = std::make_unique<RenewalExecutor>(driver, *journal_, reporter_, clock_);
    return *executor_;
  }

  PrepareOrder Prepare() const {
    PrepareOrder order;
    order.job_id = "prepare-1";
    order.site_id = site_.site_id;
    order.temporary_site_name = kTemporarySiteName;
    order.subject.common_name = site_.host_name;
    order.dns_names = {site_.host_name};
    return order;
  }

  // Prepares with `driver` and returns the deploy order of the certificate
  // the test CA issued for the CSR.
  DeployOrder PrepareAndIssue() {
    absl::StatusOr<crypto::CertificateRequest> request = Executor(*driver_).Prepare(Prepare());
    if (!request.ok()) throw std::runtime_error(request.status().ToString());
    const crypto::Certificate leaf = testing::IssueForRequest(*request);
    const iis6::CertificateIssuer issuer = testing::TestIssuer();
    std::vector<crypto::Certificate> chain = {issuer.certificate};
    chain.insert(chain.end(), issuer.chain.begin(), issuer.chain.end());
    return DeployOrder{.job_id = "deploy-1",
                       .attempt = 1,
                       .site_id = site_.site_id,
                       .temporary_site_name = kTemporarySiteName,
                       .leaf = leaf,
                       .chain = chain,
                       .expected_thumbprint = leaf.Thumbprint(),
                       .trusted_root = testing::TestPki::Shared().root.certificate,
                       .backup = std::nullopt};
  }

  // Whether the host still has the temporary site.
  bool HasTemporarySite() const {
    absl::StatusOr<HostInventory> inventory = driver_->ScanInventory();
    if (!inventory.ok()) throw std::runtime_error(inventory.status().ToString());
    const std::vector<SiteInfo> sites = inventory->sites;
    for (const SiteInfo& site : sites) {
      if (site.name == kTemporarySiteName) return true;
    }
    return false;
  }

  // The leaf served on the site's secure endpoint and whether its chain
  // verifies to the test root.
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
  iis6::EmulatedHost host_;
  iis6::EmulatedSite site_;
  std::unique_ptr<EmulatorProcess> emulator_;
  std::unique_ptr<iis6::Iis6Driver> driver_;
  std::unique_ptr<JobJournal> journal_;
  std::unique_ptr<RenewalExecutor> executor_;
  RecordingReporter reporter_;
  SteppingClock clock_;
};

TEST_F(RenewalExecutorTest, PrepareAndDeployServeTheNewCertificateWithAVerifiedChain) {
  const DeployOrder order = PrepareAndIssue();
  ASSERT_FALSE(order.job_id.empty());
  BackupOptions backup;
  backup.folder = temporary_.path() / "backups";
  backup.passphrase = "correct horse";
  DeployOrder with_backup = order;
  with_backup.backup = backup;

  CERTFLEET_ASSERT_OK_AND_ASSIGN(DeployResult result, Executor(*driver_).Deploy(with_backup));

  EXPECT_EQ(result.outcome, JobOutcome::kSucceeded) << result.reason;
  EXPECT_EQ(result.previous_thumbprint, site_.thumbprint);
  ASSERT_TRUE(result.backup_path.has_value());
  EXPECT_TRUE(fs::exists(*result.backup_path));
  EXPECT_EQ(driver_->ReadBinding(site_.site_id).value(), order.expected_thumbprint);
  const tls::ProbeResult served = Served();
  ASSERT_FALSE(served.served_chain.empty());
  EXPECT_EQ(served.leaf().Thumbprint(), order.expected_thumbprint);
  EXPECT_TRUE(served.verification.ok()) << served.verification.reason;
  EXPECT_THAT(reporter_.FinishedNames(),
              ElementsAre("create_temporary_site", "create_pending_request", "accept_certificate",
                          "install_chain", "read_binding", "replace_binding",
                          "delete_temporary_site", "restart", "verify", "backup"));
  for (const StepReport& report : reporter_.finished) {
    EXPECT_EQ(report.outcome, StepOutcome::kSucceeded) << report.step_name << ": " << report.detail;
    EXPECT_LT(report.started, *report.finished);
  }
  EXPECT_THAT(reporter_.Finished("verify")->detail, HasSubstr("with a chain that verifies"));
  EXPECT_FALSE(HasTemporarySite());
  CERTFLEET_ASSERT_OK_AND_ASSIGN(JobRecord job, journal_->GetJob("deploy-1", 1));
  EXPECT_EQ(job.state, JobState::kSucceeded);
  EXPECT_THAT(journal_->UnfinishedJobs().value(), ::testing::IsEmpty());
}

TEST_F(RenewalExecutorTest, AWrongExpectedThumbprintTouchesNothing) {
  DeployOrder order = PrepareAndIssue();
  order.expected_thumbprint = std::string(40, 'A');
  EXPECT_THAT(Executor(*driver_).Deploy(order),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("not the expected")));
  EXPECT_THAT(journal_->GetJob("deploy-1", 1), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_EQ(driver_->ReadBinding(site_.site_id).value(), site_.thumbprint);
}

TEST_F(RenewalExecutorTest, AnIncompleteServedChainIsRolledBackWithTheReason) {
  const DeployOrder order = PrepareAndIssue();
  // The intermediate disappears from the CA store once the chain step is
  // done: the host then serves the leaf alone.
  ForwardingDriver driver(*driver_, [this](std::string_view method) {
    if (method != "InstallChain") return;
    const fs::path folder = driver_->stores().StoreFolder(CertificateStore::kIntermediate);
    for (const fs::directory_entry& entry : fs::directory_iterator(folder)) {
      fs::remove_all(entry.path());
    }
  });

  CERTFLEET_ASSERT_OK_AND_ASSIGN(DeployResult result, Executor(driver).Deploy(order));

  EXPECT_EQ(result.outcome, JobOutcome::kRolledBack);
  EXPECT_THAT(result.reason, HasSubstr("missing_intermediate"));
  EXPECT_THAT(result.reason, HasSubstr("is served again"));
  EXPECT_EQ(driver_->ReadBinding(site_.site_id).value(), site_.thumbprint);
  const tls::ProbeResult served = Served();
  ASSERT_FALSE(served.served_chain.empty());
  EXPECT_EQ(served.leaf().Thumbprint(), site_.thumbprint);
  ASSERT_NE(reporter_.Finished("verify"), nullptr);
  EXPECT_EQ(reporter_.Finished("verify")->outcome, StepOutcome::kFailed);
  EXPECT_THAT(reporter_.Finished("verify")->detail, HasSubstr("missing_intermediate"));
  ASSERT_NE(reporter_.Finished("rollback_verify"), nullptr);
  EXPECT_EQ(reporter_.Finished("rollback_verify")->outcome, StepOutcome::kSucceeded);
  CERTFLEET_ASSERT_OK_AND_ASSIGN(JobRecord job, journal_->GetJob("deploy-1", 1));
  EXPECT_EQ(job.state, JobState::kRolledBack);
  EXPECT_THAT(job.detail, HasSubstr("missing_intermediate"));
}

// A crash after the N-th driver call of the deploy; a new executor over the
// same journal file and host root then resumes.
class RenewalExecutorCrashTest : public RenewalExecutorTest,
                                 public ::testing::WithParamInterface<int> {};

TEST_P(RenewalExecutorCrashTest, ResumingEndsVerifiedOrCleanlyRolledBack) {
  const DeployOrder order = PrepareAndIssue();
  int calls = 0;
  const int crash_after = GetParam();
  ForwardingDriver crashing(*driver_, [&](std::string_view) {
    if (++calls == crash_after) throw InjectedCrash{};
  });
  EXPECT_THROW(Executor(crashing).Deploy(order).IgnoreError(), InjectedCrash);

  // The restart: everything in memory is gone; the files remain.
  OpenDriverAndJournal();
  CERTFLEET_ASSERT_OK_AND_ASSIGN(std::vector<ResumedJob> resumed,
                                 Executor(*driver_).ResumeUnfinished());

  ASSERT_EQ(resumed.size(), 1u);
  EXPECT_EQ(resumed[0].job_id, "deploy-1");
  EXPECT_EQ(resumed[0].state, JobState::kSucceeded) << resumed[0].detail;
  EXPECT_EQ(driver_->ReadBinding(site_.site_id).value(), order.expected_thumbprint);
  const tls::ProbeResult served = Served();
  ASSERT_FALSE(served.served_chain.empty());
  EXPECT_EQ(served.leaf().Thumbprint(), order.expected_thumbprint);
  EXPECT_TRUE(served.verification.ok()) << served.verification.reason;
  EXPECT_THAT(journal_->UnfinishedJobs().value(), ::testing::IsEmpty());
  EXPECT_FALSE(HasTemporarySite());
}

// A deploy makes 9 driver calls: ScanInventory, AcceptCertificate,
// InstallChain, ReadBinding, ReplaceBinding, ScanInventory, DeleteSite,
// Restart, SecureEndpoints.
INSTANTIATE_TEST_SUITE_P(AfterEachDriverCall, RenewalExecutorCrashTest, ::testing::Range(1, 10));

// A crash in the middle of a rollback is finished by the next executor.
TEST_F(RenewalExecutorTest, ACrashDuringRollbackIsFinishedAfterTheRestart) {
  const DeployOrder order = PrepareAndIssue();
  bool chain_removed = false;
  bool rolling_back = false;
  ForwardingDriver driver(*driver_, [&](std::string_view method) {
    if (method == "InstallChain" && !chain_removed) {
      chain_removed = true;
      const fs::path folder = driver_->stores().StoreFolder(CertificateStore::kIntermediate);
      for (const fs::directory_entry& entry : fs::directory_iterator(folder)) {
        fs::remove_all(entry.path());
      }
    }
    // The second ReplaceBinding is the rollback's: crash right after it.
    if (method == "ReplaceBinding") {
      if (rolling_back) throw InjectedCrash{};
      rolling_back = true;
    }
  });
  EXPECT_THROW(Executor(driver).Deploy(order).IgnoreError(), InjectedCrash);

  OpenDriverAndJournal();
  CERTFLEET_ASSERT_OK_AND_ASSIGN(std::vector<ResumedJob> resumed,
                                 Executor(*driver_).ResumeUnfinished());

  ASSERT_EQ(resumed.size(), 1u);
  EXPECT_EQ(resumed[0].state, JobState::kRolledBack) << resumed[0].detail;
  EXPECT_THAT(resumed[0].detail, HasSubstr("missing_intermediate"));
  EXPECT_EQ(driver_->ReadBinding(site_.site_id).value(), site_.thumbprint);
  const tls::ProbeResult served = Served();
  ASSERT_FALSE(served.served_chain.empty());
  EXPECT_EQ(served.leaf().Thumbprint(), site_.thumbprint);
}

TEST_F(RenewalExecutorTest, APrepareCutShortIsFinishedAfterTheRestartWithItsPendingRequest) {
  ForwardingDriver crashing(*driver_, [](std::string_view method) {
    if (method == "CreateTemporarySite") throw InjectedCrash{};
  });
  EXPECT_THROW(Executor(crashing).Prepare(Prepare()).IgnoreError(), InjectedCrash);

  OpenDriverAndJournal();
  CERTFLEET_ASSERT_OK_AND_ASSIGN(std::vector<ResumedJob> resumed,
                                 Executor(*driver_).ResumeUnfinished());

  ASSERT_EQ(resumed.size(), 1u);
  EXPECT_EQ(resumed[0].kind, "prepare");
  EXPECT_EQ(resumed[0].state, JobState::kSucceeded) << resumed[0].detail;
  CERTFLEET_ASSERT_OK_AND_ASSIGN(HostInventory inventory, driver_->ScanInventory());
  std::string temporary_site_id;
  int temporary_sites = 0;
  for (const SiteInfo& site : inventory.sites) {
    if (site.name == kTemporarySiteName) {
      temporary_site_id = site.site_id;
      ++temporary_sites;
      EXPECT_TRUE(site.has_pending_request);
    }
  }
  EXPECT_EQ(temporary_sites, 1);
  ASSERT_EQ(inventory.pending_requests.size(), 1u);
  EXPECT_EQ(inventory.pending_requests[0].site_id, temporary_site_id);
  CERTFLEET_ASSERT_OK_AND_ASSIGN(crypto::CertificateRequest journaled,
                                 executor_->PreparedRequest("prepare-1", 1));
  EXPECT_EQ(journaled.ToDer(), inventory.pending_requests[0].request.ToDer());
  EXPECT_THAT(executor_->PreparedRequest("deploy-9", 1), StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(RenewalExecutorTest, ASiteReboundByHandDuringTheCrashIsLeftAlone) {
  const DeployOrder order = PrepareAndIssue();
  ForwardingDriver crashing(*driver_, [](std::string_view method) {
    if (method == "ReplaceBinding") throw InjectedCrash{};
  });
  EXPECT_THROW(Executor(crashing).Deploy(order).IgnoreError(), InjectedCrash);
  // A person binds the Shop's certificate to the site meanwhile.
  std::string other_thumbprint;
  for (const iis6::EmulatedSite& site : host_.sites) {
    if (site.site_id == iis6::kShopSiteId) other_thumbprint = site.thumbprint;
  }
  ASSERT_FALSE(other_thumbprint.empty());
  ASSERT_THAT(driver_->ReplaceBinding(site_.site_id, other_thumbprint), IsOk());

  OpenDriverAndJournal();
  CERTFLEET_ASSERT_OK_AND_ASSIGN(std::vector<ResumedJob> resumed,
                                 Executor(*driver_).ResumeUnfinished());

  ASSERT_EQ(resumed.size(), 1u);
  EXPECT_EQ(resumed[0].state, JobState::kFailed);
  EXPECT_THAT(resumed[0].detail, HasSubstr("changed by hand, left alone"));
  EXPECT_EQ(driver_->ReadBinding(site_.site_id).value(), other_thumbprint);
}

}  // namespace
}  // namespace certfleet::agent
