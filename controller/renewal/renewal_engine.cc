#include "controller/renewal/renewal_engine.h"

#include <iostream>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/crypto/certificate_reader.h"
#include "common/crypto/certificate_request.h"
#include "common/tls/tls_probe.h"
#include "controller/admin/record_conversion.h"
#include "controller/renewal/order_steps.h"
#include "controller/renewal/renewal_policy.h"
#include "controller/store/list_all.h"

namespace certfleet::controller::renewal {
namespace {

std::string NameOf(store::OrderState state) { return std::string(store::ToString(state)); }

std::string TimeText(absl::Time time) {
  return absl::FormatTime("%Y-%m-%d %H:%M:%S UTC", time, absl::UTCTimeZone());
}

// Orders that occupy their host: a job runs there or is about to.
bool OccupiesHost(store::OrderState state) {
  return state == store::OrderState::kCsrRequested || state == store::OrderState::kIssued ||
         state == store::OrderState::kDeploying || state == store::OrderState::kVerifying;
}

crypto::SignatureDigest DigestNamed(std::string_view name) {
  if (name == "SHA1") return crypto::SignatureDigest::kSha1;
  if (name == "SHA384") return crypto::SignatureDigest::kSha384;
  return crypto::SignatureDigest::kSha256;
}

// "host:port" split at the last colon, brackets removed from IPv6.
std::optional<std::pair<std::string, uint16_t>> SplitAddress(std::string_view address) {
  const size_t colon = address.rfind(':');
  if (colon == std::string_view::npos) return std::nullopt;
  std::string host(address.substr(0, colon));
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  int port = 0;
  for (const char digit : address.substr(colon + 1)) {
    if (digit < '0' || digit > '9' || port > 65535) return std::nullopt;
    port = port * 10 + (digit - '0');
  }
  if (host.empty() || port <= 0 || port > 65535) return std::nullopt;
  return std::make_pair(host, static_cast<uint16_t>(port));
}

}  // namespace

RenewalEngine::RenewalEngine(store::Store& store, RenewalEngineOptions options)
    : store_(store), options_(std::move(options)) {}

RenewalEngine::~RenewalEngine() { Stop(); }

void RenewalEngine::Start() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (thread_.joinable() || stopping_) return;
  thread_ = std::thread([this] { Loop(); });
}

void RenewalEngine::Stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void RenewalEngine::Wake() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    woken_ = true;
  }
  wake_.notify_all();
}

void RenewalEngine::HostChanged(std::string_view host_id) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    changed_hosts_.insert(std::string(host_id));
    woken_ = true;
  }
  wake_.notify_all();
}

void RenewalEngine::Loop() {
  while (true) {
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait_for(lock, absl::ToChronoMilliseconds(options_.tick_interval),
                     [this] { return woken_ || stopping_; });
      if (stopping_) return;
      woken_ = false;
    }
    PassSummary summary = RunOnce();
    for (const std::string& problem : summary.problems) Log(problem);
  }
}

PassSummary RenewalEngine::RunOnce() {
  std::lock_guard<std::mutex> pass(pass_mutex_);
  PassSummary summary;
  if (options_.before_pass) options_.before_pass();
  const absl::Time now = options_.clock();
  Plan(now, summary);
  StartDueOrders(now, summary);
  IssueOrders(now, summary);
  DeployIssuedOrders(now, summary);
  VerifyDeployedOrders(now, summary);
  return summary;
}

// ---------------------------------------------------------------------------
// Planning
// ---------------------------------------------------------------------------

void RenewalEngine::Plan(absl::Time now, PassSummary& summary) {
  std::set<std::string> changed;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    changed.swap(changed_hosts_);
  }
  const bool plan_all = now - last_full_plan_ >= options_.planning_interval;
  if (!plan_all && changed.empty()) return;
  absl::StatusOr<std::vector<store::PolicyRecord>> policies = store_.policies().ListPolicies();
  if (!policies.ok()) {
    summary.problems.push_back(absl::StrCat("planning: ", policies.status().message()));
    return;
  }
  if (plan_all) {
    absl::StatusOr<std::vector<store::HostRecord>> hosts =
        store::ListAll<store::HostRecord>([&](const store::PageRequest& page) {
          store::HostQuery query;
          query.page = page;
          return store_.hosts().ListHosts(query);
        });
    if (!hosts.ok()) {
      summary.problems.push_back(absl::StrCat("planning: ", hosts.status().message()));
      return;
    }
    for (const store::HostRecord& host : *hosts) PlanHost(host, *policies, now, summary);
    last_full_plan_ = now;
    return;
  }
  for (const std::string& host_id : changed) {
    absl::StatusOr<store::HostRecord> host = store_.hosts().GetHost(host_id);
    if (!host.ok()) continue;  // Decommissioned or gone since.
    PlanHost(*host, *policies, now, summary);
  }
}

void RenewalEngine::PlanHost(const store::HostRecord& host,
                             const std::vector<store::PolicyRecord>& policies, absl::Time now,
                             PassSummary& summary) {
  if (host.state != store::HostState::kActive) return;
  const store::PolicyRecord* policy = SelectPolicy(policies, host);
  if (policy == nullptr) {
    summary.problems.push_back("planning: the default renewal policy is missing");
    return;
  }
  absl::StatusOr<std::vector<store::BindingRecord>> bindings =
      store_.inventory().ListBindings(host.host_id);
  if (!bindings.ok()) {
    summary.problems.push_back(
        absl::StrCat("planning host ", host.hostname, ": ", bindings.status().message()));
    return;
  }
  absl::StatusOr<std::vector<store::CertificateRecord>> certificates =
      store::ListAll<store::CertificateRecord>([&](const store::PageRequest& page) {
        store::CertificateQuery query;
        query.host_id = host.host_id;
        query.scope = store::CertificateScope::kBound;
        query.page = page;
        return store_.inventory().ListCertificates(query);
      });
  if (!certificates.ok()) {
    summary.problems.push_back(
        absl::StrCat("planning host ", host.hostname, ": ", certificates.status().message()));
    return;
  }
  const v1::RenewalPolicy settings = admin::ToPolicyProto(*policy);
  const absl::Duration retry_closed_after =
      std::max(policy->maximum_backoff.value_or(kDefaultMaximumBackoff),
               policy->initial_backoff.value_or(kDefaultInitialBackoff));
  for (const store::BindingRecord& binding : *bindings) {
    if (binding.certificate_thumbprint.empty()) continue;
    const store::CertificateRecord* current = nullptr;
    for (const store::CertificateRecord& certificate : *certificates) {
      if (certificate.thumbprint_sha1 == binding.certificate_thumbprint) current = &certificate;
    }
    if (current == nullptr) continue;  // Not in the stores: nothing to date it by.
    const absl::Time due_at = RenewalDueAt(*policy, binding.binding_id, *current);
    if (due_at > now) continue;

    // The binding's last order for this very certificate decides whether a
    // new one is wanted: one in flight, or done (the inventory has not
    // caught up yet), or cancelled by an operator: no; closed unsuccessfully:
    // only after the policy's longest backoff.
    store::OrderQuery latest_query;
    latest_query.binding_id = binding.binding_id;
    latest_query.host_id = host.host_id;
    latest_query.page.page_size = 1;
    absl::StatusOr<store::Page<store::OrderRecord>> latest =
        store_.orders().ListOrders(latest_query);
    if (!latest.ok()) {
      summary.problems.push_back(
          absl::StrCat("planning binding ", binding.binding_id, ": ", latest.status().message()));
      continue;
    }
    if (!latest->items.empty()) {
      const store::OrderRecord& last = latest->items.front();
      if (last.open) continue;
      if (last.previous_thumbprint == binding.certificate_thumbprint) {
        if (last.state == store::OrderState::kDone || last.state == store::OrderState::kCancelled) {
          continue;
        }
        if (now < last.updated_at + retry_closed_after) continue;
      }
    }

    RequestedNames names =
        RequestedNamesFor(current, settings.subject(), FallbackCommonName(binding, host));
    store::NewOrder order;
    order.host_id = host.host_id;
    order.site_id = binding.site_id;
    order.binding_id = binding.binding_id;
    order.trigger = store::OrderTrigger::kSchedule;
    order.policy_name = policy->name;
    order.connector = policy->connector;
    order.ca_product = policy->ca_product;
    order.subject = std::move(names.subject);
    order.subject_alternative_names = std::move(names.subject_alternative_names);
    order.key_spec = policy->key_spec;
    order.signature_hash = policy->signature_hash;
    order.previous_thumbprint = binding.certificate_thumbprint;
    order.next_attempt_at = now;
    order.created_at = now;
    order.created_by = std::string(kSchedulerActor);
    order.reason = absl::StrCat("certificate ", current->thumbprint_sha1, " expires ",
                                TimeText(current->not_after), "; policy ", policy->name,
                                " renews it from ", TimeText(due_at));
    absl::StatusOr<store::OrderRecord> created = store_.orders().CreateOrder(order);
    if (absl::IsAlreadyExists(created.status())) continue;  // An operator was faster.
    if (!created.ok()) {
      summary.problems.push_back(
          absl::StrCat("planning binding ", binding.binding_id, ": ", created.status().message()));
      continue;
    }
    ++summary.orders_created;
    Log(absl::StrCat("order ", created->order_id, ": due for ", host.hostname, " site ",
                     binding.site_name.empty() ? binding.site_id : binding.site_name, " (",
                     order.reason, ")"));

    // Refuse at order time what the platform cannot use, naming the limit.
    v1::HostCapabilities capabilities;
    if (!host.capabilities.empty() && capabilities.ParseFromString(host.capabilities) &&
        capabilities.supported_key_specs_size() > 0) {
      const v1::JobSpec prepare = PrepareJobFor(*created);
      bool supported = false;
      for (const int key_spec : capabilities.supported_key_specs()) {
        supported = supported || key_spec == prepare.prepare().key_spec();
      }
      if (!supported) {
        FailOrder(*created, "FAILURE_CODE_UNSUPPORTED_BY_PLATFORM",
                  absl::StrCat("policy ", policy->name, " asks for a ", policy->key_spec,
                               " key, which ", host.hostname, " (",
                               host.platform.web_server.empty() ? host.platform.driver
                                                                : host.platform.web_server,
                               ") cannot use; change the policy's key_spec"),
                  now, summary);
      }
    }
  }
}

// ---------------------------------------------------------------------------
// Steps
// ---------------------------------------------------------------------------

absl::StatusOr<std::vector<store::OrderRecord>> RenewalEngine::OrdersIn(
    std::vector<store::OrderState> states) {
  store::OrderQuery query;
  query.states = std::move(states);
  return store::ListAll<store::OrderRecord>([&](const store::PageRequest& page) {
    query.page = page;
    return store_.orders().ListOrders(query);
  });
}

absl::StatusOr<RenewalEngine::OrdersByState> RenewalEngine::InFlightOrders() {
  absl::StatusOr<std::vector<store::OrderRecord>> orders = OrdersIn(
      {store::OrderState::kCsrRequested, store::OrderState::kAwaitingIssuance,
       store::OrderState::kIssued, store::OrderState::kDeploying, store::OrderState::kVerifying});
  if (!orders.ok()) return orders.status();
  OrdersByState by_state;
  for (store::OrderRecord& order : *orders) by_state[order.state].push_back(std::move(order));
  return by_state;
}

void RenewalEngine::StartDueOrders(absl::Time now, PassSummary& summary) {
  absl::StatusOr<OrdersByState> in_flight = InFlightOrders();
  if (!in_flight.ok()) {
    summary.problems.push_back(absl::StrCat("starting orders: ", in_flight.status().message()));
    return;
  }
  int running = 0;
  std::set<std::string> busy_hosts;
  for (const auto& [state, orders] : *in_flight) {
    for (const store::OrderRecord& order : orders) {
      if (OccupiesHost(state)) busy_hosts.insert(order.host_id);
      if (state != store::OrderState::kAwaitingIssuance || order.connector != "manual") ++running;
    }
  }
  if (running >= options_.maximum_in_flight) return;
  absl::StatusOr<std::vector<store::OrderRecord>> ready =
      store_.orders().ListOrdersReadyAt(now, std::max(100, 4 * options_.maximum_in_flight));
  if (!ready.ok()) {
    summary.problems.push_back(absl::StrCat("starting orders: ", ready.status().message()));
    return;
  }
  for (store::OrderRecord& order : *ready) {
    if (running >= options_.maximum_in_flight) break;
    if (busy_hosts.contains(order.host_id)) continue;
    if (order.state == store::OrderState::kFailed) {
      store::OrderTransition retry;
      retry.order_id = order.order_id;
      retry.expected_state = store::OrderState::kFailed;
      retry.to = store::OrderState::kDue;
      retry.at = now;
      retry.reason = absl::StrCat("retry ", order.failed_attempts, " after backoff");
      retry.actor = std::string(kSchedulerActor);
      absl::StatusOr<store::OrderRecord> due = store_.orders().TransitionOrder(retry);
      if (!due.ok()) {
        summary.problems.push_back(
            absl::StrCat("order ", order.order_id, ": ", due.status().message()));
        continue;
      }
      order = *std::move(due);
    }
    store::NewJob job;
    job.host_id = order.host_id;
    job.order_id = order.order_id;
    job.kind = store::JobKind::kPrepare;
    job.spec = PrepareJobFor(order).SerializeAsString();
    job.created_at = now;
    job.created_by = std::string(kSchedulerActor);
    store::OrderTransition transition;
    transition.order_id = order.order_id;
    transition.expected_state = store::OrderState::kDue;
    transition.to = store::OrderState::kCsrRequested;
    transition.at = now;
    transition.reason = absl::StrCat("asked the host for a new ", order.key_spec, " key and CSR");
    transition.actor = std::string(kSchedulerActor);
    absl::StatusOr<store::JobRecord> queued = store_.jobs().CreateJob(job, transition);
    if (!queued.ok()) {
      summary.problems.push_back(
          absl::StrCat("order ", order.order_id, ": ", queued.status().message()));
      continue;
    }
    ++summary.prepares_queued;
    ++running;
    busy_hosts.insert(order.host_id);
    Log(absl::StrCat("order ", order.order_id, ": prepare job ", queued->job_id, " queued"));
    if (options_.job_queued) options_.job_queued(order.host_id);
  }
}

void RenewalEngine::IssueOrders(absl::Time now, PassSummary& summary) {
  absl::StatusOr<std::vector<store::OrderRecord>> awaiting =
      OrdersIn({store::OrderState::kAwaitingIssuance});
  if (!awaiting.ok()) {
    summary.problems.push_back(absl::StrCat("issuing: ", awaiting.status().message()));
    return;
  }
  for (const store::OrderRecord& order : *awaiting) {
    if (order.connector == "manual") continue;  // Waits for an upload.
    auto backoff = issuance_backoff_.find(order.order_id);
    if (backoff != issuance_backoff_.end() && now < backoff->second) continue;
    IssuanceConnector* connector = ConnectorNamed(order.connector);
    if (connector == nullptr) {
      FailOrder(order, "FAILURE_CODE_ISSUANCE_FAILED",
                absl::StrCat("issuance connector \"", order.connector,
                             "\" is not configured on this controller"),
                now, summary);
      continue;
    }
    absl::StatusOr<crypto::CertificateRequest> request =
        crypto::CertificateRequest::Parse(order.csr_pem);
    if (!request.ok()) {
      FailOrder(order, "FAILURE_CODE_INVALID_INPUT",
                absl::StrCat("the order's CSR does not parse: ", request.status().message()), now,
                summary);
      continue;
    }
    absl::StatusOr<store::HostRecord> host = store_.hosts().GetHost(order.host_id);
    IssuanceRequest issuance{.order_id = order.order_id,
                             .request = *std::move(request),
                             .subject = {},
                             .names = order.subject_alternative_names,
                             .validity = absl::ZeroDuration(),
                             .digest = DigestNamed(order.signature_hash),
                             .ca_product = order.ca_product,
                             .hostname = host.ok() ? host->hostname : order.host_id,
                             .site_name = order.site_id,
                             .now = now};
    absl::StatusOr<IssuanceResult> result = connector->Submit(issuance);
    if (!result.ok()) {
      if (absl::IsUnavailable(result.status()) || absl::IsDeadlineExceeded(result.status())) {
        const absl::Time retry_at = now + kDefaultInitialBackoff;
        issuance_backoff_[order.order_id] = retry_at;
        summary.problems.push_back(absl::StrCat("order ", order.order_id, ": connector ",
                                                order.connector, ": ", result.status().message(),
                                                "; trying again at ", TimeText(retry_at)));
        continue;
      }
      FailOrder(order, "FAILURE_CODE_ISSUANCE_FAILED",
                absl::StrCat("connector ", order.connector,
                             " refused the order: ", result.status().message()),
                now, summary);
      continue;
    }
    issuance_backoff_.erase(order.order_id);
    if (result->state != IssuanceState::kIssued || !result->leaf.has_value()) continue;
    store::OrderTransition transition;
    transition.order_id = order.order_id;
    transition.expected_state = store::OrderState::kAwaitingIssuance;
    transition.to = store::OrderState::kIssued;
    transition.at = now;
    transition.reason = result->message.empty()
                            ? absl::StrCat("certificate ", result->leaf->Thumbprint(), " issued")
                            : result->message;
    transition.actor = absl::StrCat("connector ", order.connector);
    transition.certificate_pem = result->leaf->ToPem();
    transition.chain_pem = crypto::ToPemBundle(result->chain);
    transition.issued_thumbprint = result->leaf->Thumbprint();
    absl::StatusOr<store::OrderRecord> issued = store_.orders().TransitionOrder(transition);
    if (!issued.ok()) {
      summary.problems.push_back(
          absl::StrCat("order ", order.order_id, ": ", issued.status().message()));
      continue;
    }
    ++summary.orders_issued;
    Log(absl::StrCat("order ", order.order_id, ": issued ", result->leaf->Thumbprint(), " by ",
                     order.connector, ", valid until ", TimeText(result->leaf->NotAfter())));
  }
}

void RenewalEngine::DeployIssuedOrders(absl::Time now, PassSummary& summary) {
  absl::StatusOr<std::vector<store::OrderRecord>> issued = OrdersIn({store::OrderState::kIssued});
  if (!issued.ok()) {
    summary.problems.push_back(absl::StrCat("deploying: ", issued.status().message()));
    return;
  }
  for (const store::OrderRecord& order : *issued) {
    if (options_.deploy_not_before) {
      // Not logged: the order is asked again on every pass until then.
      if (std::optional<absl::Time> wait = options_.deploy_not_before(order, now);
          wait.has_value() && *wait > now) {
        continue;
      }
    }
    absl::StatusOr<store::PolicyRecord> policy = PolicyNamed(order.policy_name);
    if (!policy.ok()) {
      summary.problems.push_back(
          absl::StrCat("order ", order.order_id, ": ", policy.status().message()));
      continue;
    }
    absl::StatusOr<v1::JobSpec> spec = DeployJobFor(order, admin::ToPolicyProto(*policy));
    if (!spec.ok()) {
      FailOrder(order, "FAILURE_CODE_INVALID_INPUT", std::string(spec.status().message()), now,
                summary);
      continue;
    }
    store::NewJob job;
    job.host_id = order.host_id;
    job.order_id = order.order_id;
    job.kind = store::JobKind::kDeploy;
    job.spec = spec->SerializeAsString();
    job.created_at = now;
    job.created_by = std::string(kSchedulerActor);
    job.not_before = order.deploy_not_before;
    store::OrderTransition transition;
    transition.order_id = order.order_id;
    transition.expected_state = store::OrderState::kIssued;
    transition.to = store::OrderState::kDeploying;
    transition.at = now;
    transition.reason =
        absl::StrCat("asked the host to install ", order.issued_thumbprint, " and switch the site");
    transition.actor = std::string(kSchedulerActor);
    absl::StatusOr<store::JobRecord> queued = store_.jobs().CreateJob(job, transition);
    if (!queued.ok()) {
      summary.problems.push_back(
          absl::StrCat("order ", order.order_id, ": ", queued.status().message()));
      continue;
    }
    ++summary.deploys_queued;
    Log(absl::StrCat("order ", order.order_id, ": deploy job ", queued->job_id, " queued"));
    if (options_.job_queued) options_.job_queued(order.host_id);
  }
}

void RenewalEngine::VerifyDeployedOrders(absl::Time now, PassSummary& summary) {
  absl::StatusOr<std::vector<store::OrderRecord>> verifying =
      OrdersIn({store::OrderState::kVerifying});
  if (!verifying.ok()) {
    summary.problems.push_back(absl::StrCat("verifying: ", verifying.status().message()));
    return;
  }
  for (const store::OrderRecord& order : *verifying) {
    // Probe the addresses the agent verified, from here.
    store::JobQuery jobs;
    jobs.order_id = order.order_id;
    jobs.kind = store::JobKind::kDeploy;
    jobs.statuses = {store::JobStatus::kSucceeded};
    jobs.page.page_size = 1;
    absl::StatusOr<store::Page<store::JobRecord>> deploys = store_.jobs().ListJobs(jobs);
    std::vector<std::string> addresses;
    if (deploys.ok() && !deploys->items.empty()) {
      absl::StatusOr<store::JobRecord> deploy = store_.jobs().GetJob(deploys->items.front().job_id);
      v1::JobResult result;
      if (deploy.ok() && deploy->result.has_value() &&
          result.ParseFromString(deploy->result->detail)) {
        for (const v1::ProbeResult& probe : result.deploy().verification()) {
          addresses.push_back(probe.address());
        }
      }
    }
    std::vector<crypto::Certificate> roots;
    if (absl::StatusOr<crypto::CertificateFile> chain = crypto::ReadCertificates(order.chain_pem);
        chain.ok()) {
      for (const crypto::Certificate& certificate : chain->certificates) {
        if (certificate.IsSelfIssued()) roots.push_back(certificate);
      }
    }
    v1::ProbeResult recorded;
    std::vector<std::string> findings;
    bool confirmed = !addresses.empty();
    for (const std::string& address : addresses) {
      std::optional<std::pair<std::string, uint16_t>> target = SplitAddress(address);
      if (!target.has_value()) {
        confirmed = false;
        findings.push_back(absl::StrCat(address, ": not an address the controller can probe"));
        continue;
      }
      tls::ProbeOptions probe_options;
      probe_options.host = target->first;
      probe_options.port = target->second;
      probe_options.timeout = options_.probe_timeout;
      probe_options.trusted_roots = roots;
      absl::StatusOr<tls::ProbeResult> probe = tls::ProbeTls(probe_options);
      recorded.Clear();
      recorded.set_address(address);
      admin::SetTimestamp(options_.clock(), recorded.mutable_probed_at());
      recorded.set_expected_thumbprint(order.issued_thumbprint);
      if (!probe.ok()) {
        confirmed = false;
        recorded.set_problem(std::string(probe.status().message()));
        findings.push_back(absl::StrCat(address, ": ", probe.status().message()));
        continue;
      }
      recorded.set_handshake_completed(true);
      recorded.set_tls_version(probe->protocol);
      recorded.set_cipher(probe->cipher);
      for (const crypto::Certificate& served : probe->served_chain) {
        *recorded.add_served_chain() = admin::ToCertificateInfoProto(served);
      }
      const std::string served = probe->served_chain.empty() ? "" : probe->leaf().Thumbprint();
      recorded.set_served_thumbprint(served);
      recorded.set_thumbprint_matches(served == order.issued_thumbprint);
      recorded.set_chain_verifies(probe->verification.ok());
      recorded.set_chain_complete(probe->verification.problem !=
                                  crypto::ChainProblem::kMissingIntermediate);
      if (!probe->verification.ok()) recorded.set_problem(probe->verification.reason);
      if (served != order.issued_thumbprint || !probe->verification.ok()) confirmed = false;
      findings.push_back(absl::StrCat(address, " serves ", served.empty() ? "nothing" : served,
                                      probe->verification.ok()
                                          ? " with a chain that verifies"
                                          : absl::StrCat(" (", probe->verification.reason, ")")));
    }
    store::OrderTransition transition;
    transition.order_id = order.order_id;
    transition.expected_state = store::OrderState::kVerifying;
    transition.to = store::OrderState::kDone;
    transition.at = now;
    transition.actor = std::string(kSchedulerActor);
    transition.external_probe = recorded.SerializeAsString();
    // The agent's handshake on the host decided the deploy (and would have
    // rolled back); the controller's view is recorded beside it, and a
    // disagreement is said plainly in the history.
    transition.reason =
        addresses.empty()
            ? "done; the agent reported no endpoint for the controller to probe"
            : absl::StrCat(confirmed ? "done; confirmed by the controller's probe: "
                                     : "done (verified on the host); the controller's probe "
                                       "disagrees or could not connect: ",
                           absl::StrJoin(findings, "; "));
    absl::StatusOr<store::OrderRecord> done = store_.orders().TransitionOrder(transition);
    if (!done.ok()) {
      summary.problems.push_back(
          absl::StrCat("order ", order.order_id, ": ", done.status().message()));
      continue;
    }
    ++summary.orders_done;
    Log(absl::StrCat("order ", order.order_id, ": ", transition.reason));
    if (options_.order_finished) options_.order_finished(*done);
  }
}

// ---------------------------------------------------------------------------
// Job results
// ---------------------------------------------------------------------------

absl::StatusOr<std::optional<store::OrderTransition>> RenewalEngine::TransitionForJobResult(
    const store::JobRecord& job, const store::JobResultRecord& result) {
  if (job.order_id.empty()) return std::nullopt;
  absl::StatusOr<store::OrderRecord> order = store_.orders().GetOrder(job.order_id);
  if (!order.ok()) return order.status();
  const absl::Time now = options_.clock();
  absl::StatusOr<store::PolicyRecord> policy = PolicyNamed(order->policy_name);
  if (!policy.ok()) return policy.status();
  const absl::Time retry_at = NextRetryAt(*policy, order->failed_attempts + 1, now,
                                          ExpiryOf(order->host_id, order->previous_thumbprint));
  return TransitionForResult(*order, job, result, retry_at, now);
}

void RenewalEngine::JobCompleted(const store::JobRecord& job) {
  if (job.order_id.empty()) return;
  absl::StatusOr<store::OrderRecord> order = store_.orders().GetOrder(job.order_id);
  if (order.ok()) {
    Log(absl::StrCat(
        "order ", order->order_id, ": ", std::string(store::ToString(job.kind)), " job ",
        job.job_id, " ended ", std::string(store::ToString(job.status)), "; order ",
        NameOf(order->state),
        order->history.empty() ? "" : absl::StrCat(": ", order->history.back().reason)));
    // A job result that closed its order (rolled back, or failed for good).
    const bool ended_by_this_job = !order->open && !order->history.empty() &&
                                   order->history.back().actor != std::string(kSchedulerActor);
    if (ended_by_this_job && options_.order_finished &&
        (order->state == store::OrderState::kRolledBack ||
         order->state == store::OrderState::kFailed)) {
      options_.order_finished(*order);
    }
  }
  Wake();
}

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

absl::StatusOr<store::PolicyRecord> RenewalEngine::PolicyNamed(std::string_view name) {
  absl::StatusOr<store::PolicyRecord> policy = store_.policies().GetPolicy(name);
  // An order outlives a deleted policy; the default's settings then apply.
  if (absl::IsNotFound(policy.status())) {
    return store_.policies().GetPolicy(store::kDefaultPolicyName);
  }
  return policy;
}

absl::Time RenewalEngine::ExpiryOf(std::string_view host_id, std::string_view thumbprint) {
  if (thumbprint.empty()) return absl::InfiniteFuture();
  store::CertificateQuery query;
  query.host_id = std::string(host_id);
  query.thumbprint = std::string(thumbprint);
  query.page.page_size = 1;
  absl::StatusOr<store::Page<store::CertificateRecord>> found =
      store_.inventory().ListCertificates(query);
  if (!found.ok() || found->items.empty()) return absl::InfiniteFuture();
  return found->items.front().not_after;
}

void RenewalEngine::FailOrder(const store::OrderRecord& order, std::string_view code,
                              std::string reason, absl::Time now, PassSummary& summary) {
  store::OrderTransition transition;
  transition.order_id = order.order_id;
  transition.expected_state = order.state;
  transition.to = store::OrderState::kFailed;
  transition.at = now;
  transition.reason = reason;
  transition.actor = std::string(kSchedulerActor);
  transition.failure = store::FailureRecord{
      .code = std::string(code), .message = reason, .retryable = false, .diagnosis = {}};
  absl::StatusOr<store::OrderRecord> failed = store_.orders().TransitionOrder(transition);
  if (!failed.ok()) {
    summary.problems.push_back(
        absl::StrCat("order ", order.order_id, ": ", failed.status().message()));
    return;
  }
  ++summary.orders_failed;
  Log(absl::StrCat("order ", order.order_id, ": failed: ", reason));
  if (options_.order_finished) options_.order_finished(*failed);
}

IssuanceConnector* RenewalEngine::ConnectorNamed(std::string_view name) const {
  for (IssuanceConnector* connector : options_.connectors) {
    if (connector->name() == name) return connector;
  }
  return nullptr;
}

void RenewalEngine::Log(std::string_view line) const {
  if (options_.log) {
    options_.log(line);
    return;
  }
  std::clog << "certfleet-controller: renewal: " << line << "\n";
}

}  // namespace certfleet::controller::renewal
