#include "tests/controller/http/http_test_seed.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "controller/store/ids.h"

namespace certfleet::controller::http::testing {
namespace {

#define SEED_RETURN_IF_ERROR(expression)         \
  do {                                           \
    absl::Status seed_status_ = (expression);    \
    if (!seed_status_.ok()) return seed_status_; \
  } while (false)

#define SEED_ASSIGN_OR_RETURN(lhs, expression)                                                \
  auto SEED_CONCAT(seed_or_, __LINE__) = (expression);                                        \
  if (!SEED_CONCAT(seed_or_, __LINE__).ok()) return SEED_CONCAT(seed_or_, __LINE__).status(); \
  lhs = std::move(SEED_CONCAT(seed_or_, __LINE__)).value()
#define SEED_CONCAT_INNER(a, b) a##b
#define SEED_CONCAT(a, b) SEED_CONCAT_INNER(a, b)

absl::Time Ago(absl::Duration duration) { return SeedNow() - duration; }

store::SiteRecord Site(std::string id, std::string name) {
  store::SiteRecord site;
  site.site_id = std::move(id);
  site.name = std::move(name);
  site.state = "started";
  site.auto_start = true;
  return site;
}

store::BindingRecord Binding(const std::string& site_id, const store::CertificateRecord& bound) {
  store::BindingRecord binding;
  binding.binding_id = site_id;
  binding.site_id = site_id;
  binding.secure_endpoints = {{"10.0.0.5", 443, ""}};
  binding.certificate_thumbprint = bound.thumbprint_sha1;
  binding.certificate_store = store::CertificateStoreName::kMy;
  return binding;
}

absl::Status Probe(store::Store& store, const std::string& host_id, const std::string& binding_id,
                   store::ServedStatus status) {
  store::BindingProbeRecord probe;
  probe.host_id = host_id;
  probe.binding_id = binding_id;
  probe.endpoint = "10.0.0.5:443";
  probe.probed_at = Ago(absl::Minutes(5));
  probe.status = status;
  probe.served_thumbprint = SeedCertificate(9, 1).thumbprint_sha1;
  probe.detail = absl::StrCat("probe of ", binding_id);
  return store.inventory().RecordBindingProbe(probe);
}

store::NewOrder Order(const std::string& host_id, const std::string& binding_id,
                      absl::Time created_at) {
  store::NewOrder order;
  order.host_id = host_id;
  order.site_id = binding_id;
  order.binding_id = binding_id;
  order.policy_name = "default";
  order.connector = "local";
  order.subject_alternative_names = {"DNS:www.example.com"};
  order.key_spec = "RSA_2048";
  order.signature_hash = "SHA256";
  order.created_at = created_at;
  order.created_by = "scheduler";
  order.reason = "renewal point reached";
  return order;
}

store::OrderTransition Move(const std::string& order_id, store::OrderState from,
                            store::OrderState to, absl::Time at) {
  store::OrderTransition transition;
  transition.order_id = order_id;
  transition.expected_state = from;
  transition.to = to;
  transition.at = at;
  transition.actor = "scheduler";
  transition.reason = absl::StrCat("to ", std::string(store::ToString(to)));
  return transition;
}

absl::Status MoveAlong(store::Store& store, const std::string& order_id,
                       std::vector<store::OrderState> states, absl::Time at) {
  for (size_t index = 1; index < states.size(); ++index) {
    SEED_RETURN_IF_ERROR(store.orders()
                             .TransitionOrder(Move(order_id, states[index - 1], states[index], at))
                             .status());
  }
  return absl::OkStatus();
}

store::StepSubmission Step(const store::JobRecord& job, int index, std::string name,
                           store::StepOutcome outcome, absl::Time at,
                           std::optional<store::FailureRecord> failure = std::nullopt) {
  store::StepSubmission submission;
  submission.job_id = job.job_id;
  submission.attempt = job.attempt;
  submission.step.step_index = index;
  submission.step.step = std::move(name);
  submission.step.outcome = outcome;
  submission.step.started_at = at;
  if (outcome != store::StepOutcome::kRunning) submission.step.finished_at = at;
  submission.step.detail = absl::StrCat("step ", index);
  submission.step.failure = std::move(failure);
  submission.lease_expires_at = SeedNow() + absl::Hours(1);
  return submission;
}

store::JobCompletion Completion(const store::JobRecord& job, store::JobOutcome outcome,
                                absl::Time at, std::optional<store::FailureRecord> failure) {
  store::JobCompletion completion;
  completion.job_id = job.job_id;
  completion.attempt = job.attempt;
  completion.result.outcome = outcome;
  completion.result.failure = std::move(failure);
  completion.result.finished_at = at;
  completion.received_at = at;
  return completion;
}

absl::StatusOr<store::JobRecord> Lease(store::Store& store, const std::string& host_id,
                                       absl::Time at) {
  SEED_ASSIGN_OR_RETURN(std::optional<store::JobRecord> job,
                        store.jobs().LeaseNextJob(host_id, at, SeedNow() + absl::Hours(1)));
  if (!job.has_value()) return absl::InternalError("the seed expected a queued job");
  return *job;
}

}  // namespace

absl::Time SeedNow() { return absl::FromUnixSeconds(1767225600); }

store::CertificateRecord SeedCertificate(int number, double days_left,
                                         store::CertificateStoreName store_name) {
  store::CertificateRecord certificate;
  certificate.store = store_name;
  certificate.has_private_key = store_name == store::CertificateStoreName::kMy;
  certificate.thumbprint_sha1 = absl::StrFormat("%040X", number);
  certificate.fingerprint_sha256 = absl::StrFormat("%064X", number + 500);
  certificate.subject = absl::StrCat("CN=www", number, ".example.com,O=Example Ltd");
  certificate.subject_name.common_name = absl::StrCat("www", number, ".example.com");
  certificate.issuer = "CN=CrossTrust OV CA3,O=CrossTrust";
  certificate.issuer_name.common_name = "CrossTrust OV CA3";
  certificate.serial_number = absl::StrFormat("%08X", number);
  certificate.not_after = SeedNow() + absl::Hours(24) * days_left;
  certificate.not_before = certificate.not_after - absl::Hours(24 * 90);
  certificate.subject_alternative_names = {absl::StrCat("DNS:www", number, ".example.com")};
  certificate.key_algorithm = "RSA";
  certificate.key_bits = 2048;
  certificate.signature_algorithm = "sha256WithRSAEncryption";
  certificate.signature_hash = "SHA256";
  certificate.kind = store_name == store::CertificateStoreName::kMy ? "LEAF" : "INTERMEDIATE";
  certificate.is_ca = store_name != store::CertificateStoreName::kMy;
  certificate.public_key_sha256 = absl::StrFormat("%064X", number + 9000);
  certificate.der = absl::StrCat("der-", number);
  return certificate;
}

absl::StatusOr<std::string> SeedHost(store::Store& store, const std::string& hostname,
                                     std::map<std::string, std::string> labels) {
  const std::string secret_sha256 = absl::StrFormat("%064x", std::hash<std::string>()(hostname));
  store::NewJoinToken token;
  token.secret_sha256 = secret_sha256;
  token.created_at = Ago(absl::Hours(48));
  token.expires_at = SeedNow() + absl::Hours(48);
  token.created_by = "test";
  SEED_RETURN_IF_ERROR(store.join_tokens().CreateJoinToken(token).status());
  store::HostEnrollment enrollment;
  enrollment.host_id = store::GenerateId(store::IdKind::kHost);
  enrollment.hostname = hostname;
  enrollment.join_token_secret_sha256 = secret_sha256;
  enrollment.labels = std::move(labels);
  enrollment.platform.driver = "iis6";
  enrollment.platform.web_server = "IIS 6.0 (emulated)";
  enrollment.agent_version = "0.1.0";
  enrollment.identity.certificate_serial = "0A";
  enrollment.identity.certificate_sha256 = std::string(64, 'C');
  enrollment.identity.expires_at = SeedNow() + absl::Hours(24 * 30);
  enrollment.enrolled_at = Ago(absl::Hours(24));
  SEED_ASSIGN_OR_RETURN(store::HostRecord host, store.hosts().EnrollHost(enrollment));
  return host.host_id;
}

absl::StatusOr<SeededFleet> SeedFleet(store::Store& store) {
  using store::OrderState;
  SeededFleet fleet;
  SEED_ASSIGN_OR_RETURN(fleet.web_host_id,
                        SeedHost(store, "web-01.example.com", {{"env", "prod"}}));
  SEED_ASSIGN_OR_RETURN(fleet.db_host_id, SeedHost(store, "db-02.example.org", {{"env", "test"}}));
  SEED_RETURN_IF_ERROR(store.hosts().RecordHeartbeat(fleet.web_host_id, Ago(absl::Minutes(1))));

  {
    store::InventoryReport report;
    report.host_id = fleet.web_host_id;
    report.scanned_at = Ago(absl::Minutes(10));
    report.content_hash = "web-1";
    report.sites = {Site("1", "Shop"), Site("2", "Blog, \"quoted\"")};
    store::CertificateRecord blog = SeedCertificate(2, 20.5);
    blog.subject = "=HYPERLINK(\"x\"),CN=blog.example.com";
    report.certificates = {SeedCertificate(1, 3.5), blog,
                           SeedCertificate(3, 1000, store::CertificateStoreName::kCa),
                           SeedCertificate(4, -2.5)};
    report.bindings = {Binding("1", report.certificates[0]), Binding("2", blog)};
    SEED_RETURN_IF_ERROR(
        store.inventory().IngestInventory(report, Ago(absl::Minutes(10))).status());
  }
  {
    store::InventoryReport report;
    report.host_id = fleet.db_host_id;
    report.scanned_at = Ago(absl::Minutes(20));
    report.content_hash = "db-1";
    report.sites = {Site("7", "Api"), Site("8", "Old")};
    report.certificates = {SeedCertificate(5, 60.5), SeedCertificate(6, -1.5)};
    report.bindings = {Binding("7", report.certificates[0]), Binding("8", report.certificates[1])};
    SEED_RETURN_IF_ERROR(
        store.inventory().IngestInventory(report, Ago(absl::Minutes(20))).status());
  }
  SEED_RETURN_IF_ERROR(Probe(store, fleet.web_host_id, "1", store::ServedStatus::kMatches));
  SEED_RETURN_IF_ERROR(Probe(store, fleet.web_host_id, "2", store::ServedStatus::kMismatch));
  SEED_RETURN_IF_ERROR(Probe(store, fleet.db_host_id, "7", store::ServedStatus::kIncompleteChain));

  // Done: created 3 h ago, done 1 h ago.
  SEED_ASSIGN_OR_RETURN(store::OrderRecord done, store.orders().CreateOrder(Order(
                                                     fleet.web_host_id, "1", Ago(absl::Hours(3)))));
  fleet.done_order_id = done.order_id;
  SEED_RETURN_IF_ERROR(
      MoveAlong(store, done.order_id,
                {OrderState::kDue, OrderState::kCsrRequested, OrderState::kAwaitingIssuance,
                 OrderState::kIssued, OrderState::kDeploying, OrderState::kVerifying},
                Ago(absl::Hours(2))));
  SEED_RETURN_IF_ERROR(MoveAlong(store, done.order_id, {OrderState::kVerifying, OrderState::kDone},
                                 Ago(absl::Hours(1))));

  // Failed: its prepare job failed at CREATE_CSR.
  const absl::Time failed_at = Ago(absl::Hours(2) - absl::Minutes(3));
  SEED_ASSIGN_OR_RETURN(
      store::OrderRecord failed,
      store.orders().CreateOrder(Order(fleet.db_host_id, "7", Ago(absl::Hours(2)))));
  fleet.failed_order_id = failed.order_id;
  {
    store::NewJob job;
    job.host_id = fleet.db_host_id;
    job.order_id = failed.order_id;
    job.kind = store::JobKind::kPrepare;
    job.created_at = Ago(absl::Hours(2) - absl::Minutes(1));
    job.created_by = "scheduler";
    SEED_RETURN_IF_ERROR(store.jobs()
                             .CreateJob(job, Move(failed.order_id, OrderState::kDue,
                                                  OrderState::kCsrRequested, job.created_at))
                             .status());
  }
  SEED_ASSIGN_OR_RETURN(store::JobRecord prepare,
                        Lease(store, fleet.db_host_id, Ago(absl::Hours(2) - absl::Minutes(2))));
  fleet.failed_prepare_job_id = prepare.job_id;
  const store::FailureRecord key_failure{"FAILURE_CODE_KEY_GENERATION", "key generation refused",
                                         false, ""};
  SEED_RETURN_IF_ERROR(store.jobs()
                           .RecordStep(Step(prepare, 0, "CREATE_TEMPORARY_SITE",
                                            store::StepOutcome::kSucceeded, failed_at))
                           .status());
  SEED_RETURN_IF_ERROR(store.jobs()
                           .RecordStep(Step(prepare, 1, "CREATE_CSR", store::StepOutcome::kFailed,
                                            failed_at, key_failure))
                           .status());
  {
    store::OrderTransition to_failed =
        Move(failed.order_id, OrderState::kCsrRequested, OrderState::kFailed, failed_at);
    to_failed.failure = key_failure;
    to_failed.reason = "prepare failed";
    SEED_RETURN_IF_ERROR(
        store.jobs()
            .CompleteJob(Completion(prepare, store::JobOutcome::kFailed, failed_at, key_failure),
                         to_failed)
            .status());
  }

  // Deploying: the deploy job runs at REPLACE_BINDING.
  SEED_ASSIGN_OR_RETURN(
      store::OrderRecord deploying,
      store.orders().CreateOrder(Order(fleet.web_host_id, "2", Ago(absl::Minutes(50)))));
  fleet.deploying_order_id = deploying.order_id;
  SEED_RETURN_IF_ERROR(
      MoveAlong(store, deploying.order_id,
                {OrderState::kDue, OrderState::kCsrRequested, OrderState::kAwaitingIssuance,
                 OrderState::kIssued, OrderState::kDeploying},
                Ago(absl::Minutes(40))));
  {
    store::NewJob job;
    job.host_id = fleet.web_host_id;
    job.order_id = deploying.order_id;
    job.kind = store::JobKind::kDeploy;
    job.created_at = Ago(absl::Minutes(40));
    job.created_by = "scheduler";
    SEED_RETURN_IF_ERROR(store.jobs().CreateJob(job, std::nullopt).status());
  }
  SEED_ASSIGN_OR_RETURN(store::JobRecord deploy,
                        Lease(store, fleet.web_host_id, Ago(absl::Minutes(39))));
  fleet.running_deploy_job_id = deploy.job_id;
  SEED_RETURN_IF_ERROR(store.jobs()
                           .RecordStep(Step(deploy, 0, "INSTALL_CERTIFICATE",
                                            store::StepOutcome::kSucceeded, Ago(absl::Minutes(39))))
                           .status());
  SEED_RETURN_IF_ERROR(store.jobs()
                           .RecordStep(Step(deploy, 1, "REPLACE_BINDING",
                                            store::StepOutcome::kRunning, Ago(absl::Minutes(38))))
                           .status());

  // A failed inventory job without an order.
  {
    store::NewJob job;
    job.host_id = fleet.db_host_id;
    job.kind = store::JobKind::kInventory;
    job.created_at = Ago(absl::Minutes(31));
    job.created_by = "operator";
    SEED_RETURN_IF_ERROR(store.jobs().CreateJob(job, std::nullopt).status());
  }
  SEED_ASSIGN_OR_RETURN(store::JobRecord inventory,
                        Lease(store, fleet.db_host_id, Ago(absl::Minutes(31))));
  fleet.failed_inventory_job_id = inventory.job_id;
  SEED_RETURN_IF_ERROR(
      store.jobs()
          .CompleteJob(Completion(inventory, store::JobOutcome::kFailed, Ago(absl::Minutes(30)),
                                  store::FailureRecord{"FAILURE_CODE_HOST_STATE",
                                                       "MetaBase.xml is unreadable", true, ""}),
                       std::nullopt)
          .status());
  return fleet;
}

}  // namespace certfleet::controller::http::testing
