#include "controller/campaigns/campaign_engine.h"

#include <algorithm>
#include <iostream>
#include <map>
#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "controller/admin/record_conversion.h"
#include "controller/campaigns/failure_budget.h"
#include "controller/campaigns/maintenance_window.h"
#include "controller/campaigns/wave_planner.h"
#include "controller/campaigns/wave_progress.h"
#include "controller/renewal/order_steps.h"
#include "controller/renewal/renewal_policy.h"
#include "controller/store/ids.h"
#include "controller/store/list_all.h"

namespace certfleet::controller::campaigns {
namespace {

constexpr std::string_view kCampaignActor = "campaign";

std::string BindingKey(std::string_view host_id, std::string_view binding_id) {
  return absl::StrCat(std::string(host_id), "/", std::string(binding_id));
}

// What the campaign's spec asks, validated.
struct CampaignSettings {
  SelectionCriteria criteria;
  WavePlanSettings waves;
  FailureBudgetSettings budget;
  std::vector<MaintenanceWindow> windows;
  int max_in_flight = 0;
};

absl::StatusOr<CampaignSettings> SettingsOf(const v1::CampaignSpec& spec) {
  CampaignSettings settings;
  absl::StatusOr<SelectionCriteria> criteria = FromCampaignSelectorProto(spec.selector());
  if (!criteria.ok()) return criteria.status();
  settings.criteria = *std::move(criteria);
  absl::StatusOr<WavePlanSettings> waves = FromWavePlanProto(spec.wave_plan());
  if (!waves.ok()) return waves.status();
  settings.waves = *std::move(waves);
  absl::StatusOr<FailureBudgetSettings> budget = FromFailureBudgetProto(spec.failure_budget());
  if (!budget.ok()) return budget.status();
  settings.budget = *budget;
  for (int index = 0; index < spec.maintenance_windows_size(); ++index) {
    absl::StatusOr<MaintenanceWindow> window = MaintenanceWindow::FromProto(
        spec.maintenance_windows(index), absl::StrCat("maintenance_windows[", index, "]."));
    if (!window.ok()) return window.status();
    settings.windows.push_back(*std::move(window));
  }
  settings.max_in_flight = static_cast<int>(spec.max_in_flight());
  return settings;
}

absl::StatusOr<v1::CampaignSpec> SpecOf(const store::CampaignRecord& campaign) {
  v1::CampaignSpec spec;
  if (!spec.ParseFromString(campaign.spec)) {
    return absl::DataLossError(
        absl::StrCat("campaign ", campaign.campaign_id, " has a spec that cannot be read"));
  }
  return spec;
}

// What a campaign renewal of one binding requests: the campaign's policy
// where it sets a field, else the host's policy.
struct Renewal {
  std::string policy_name;
  std::string connector;
  std::string ca_product;
  std::string key_spec;
  std::string signature_hash;
  v1::SubjectTemplate subject;
};

Renewal RenewalFor(const v1::RenewalPolicy& campaign_policy, const store::PolicyRecord& policy) {
  Renewal renewal;
  renewal.policy_name = policy.name;
  renewal.connector =
      campaign_policy.connector().empty() ? policy.connector : campaign_policy.connector();
  renewal.ca_product =
      campaign_policy.ca_product().empty() ? policy.ca_product : campaign_policy.ca_product();
  renewal.key_spec = campaign_policy.key_spec() == v1::KEY_SPEC_UNSPECIFIED
                         ? policy.key_spec
                         : std::string(absl::StripPrefix(
                               v1::KeySpec_Name(campaign_policy.key_spec()), "KEY_SPEC_"));
  renewal.signature_hash =
      campaign_policy.signature_hash() == v1::SIGNATURE_HASH_UNSPECIFIED
          ? policy.signature_hash
          : std::string(absl::StripPrefix(v1::SignatureHash_Name(campaign_policy.signature_hash()),
                                          "SIGNATURE_HASH_"));
  renewal.subject = campaign_policy.has_subject() ? campaign_policy.subject()
                                                  : admin::ToPolicyProto(policy).subject();
  return renewal;
}

// The certificate `thumbprint` on `host_id`, from the store; nullopt when
// the host's stores do not hold it.
absl::StatusOr<std::optional<store::CertificateRecord>> CertificateOn(store::Store& store,
                                                                      std::string_view host_id,
                                                                      std::string_view thumbprint) {
  if (thumbprint.empty()) return std::nullopt;
  store::CertificateQuery query;
  query.host_id = std::string(host_id);
  query.thumbprint = std::string(thumbprint);
  query.scope = store::CertificateScope::kServer;
  query.page.page_size = 1;
  absl::StatusOr<store::Page<store::CertificateRecord>> page =
      store.inventory().ListCertificates(query);
  if (!page.ok()) return page.status();
  if (page->items.empty()) return std::nullopt;
  return page->items.front();
}

v1::CampaignState ToCampaignStateProto(store::CampaignState state) {
  switch (state) {
    case store::CampaignState::kDraft:
      return v1::CAMPAIGN_STATE_DRAFT;
    case store::CampaignState::kRunning:
      return v1::CAMPAIGN_STATE_RUNNING;
    case store::CampaignState::kPaused:
      return v1::CAMPAIGN_STATE_PAUSED;
    case store::CampaignState::kCompleted:
      return v1::CAMPAIGN_STATE_COMPLETED;
    case store::CampaignState::kAborting:
      return v1::CAMPAIGN_STATE_ABORTING;
    case store::CampaignState::kAborted:
      return v1::CAMPAIGN_STATE_ABORTED;
  }
  return v1::CAMPAIGN_STATE_UNSPECIFIED;
}

v1::PauseReason ToPauseReasonProto(store::CampaignPauseReason reason) {
  switch (reason) {
    case store::CampaignPauseReason::kOperator:
      return v1::PAUSE_REASON_OPERATOR;
    case store::CampaignPauseReason::kFailureBudget:
      return v1::PAUSE_REASON_FAILURE_BUDGET_EXCEEDED;
    case store::CampaignPauseReason::kNone:
      return v1::PAUSE_REASON_UNSPECIFIED;
  }
  return v1::PAUSE_REASON_UNSPECIFIED;
}

// ListTargets' targets grouped exactly as TargetsByWave groups them, so that
// a TargetReference names the same target in both.
std::vector<std::vector<const store::CampaignTargetRecord*>> TargetRecordsByWave(
    const std::vector<store::CampaignTargetRecord>& targets) {
  std::vector<std::vector<const store::CampaignTargetRecord*>> waves;
  for (const store::CampaignTargetRecord& target : targets) {
    if (static_cast<int>(waves.size()) <= target.wave_index) waves.resize(target.wave_index + 1);
    waves[target.wave_index].push_back(&target);
  }
  return waves;
}

CampaignSituation SituationOf(const store::CampaignRecord& campaign,
                              const CampaignSettings& settings,
                              const std::vector<store::CampaignTargetRecord>& targets,
                              absl::Time now) {
  CampaignSituation situation;
  situation.state = campaign.state;
  situation.waves = TargetsByWave(targets);
  situation.soak_time = settings.waves.soak_time;
  situation.failure_budget = settings.budget;
  situation.max_in_flight = settings.max_in_flight;
  // The last transition into running is its start or an operator's resume:
  // failures finished before it were seen and accepted.
  if (campaign.state == store::CampaignState::kRunning) situation.resumed_at = campaign.updated_at;
  situation.now = now;
  return situation;
}

}  // namespace

CampaignEngine::CampaignEngine(store::Store& store, CampaignEngineOptions options)
    : store_(store), options_(std::move(options)) {}

void CampaignEngine::Log(std::string_view line) const {
  if (options_.log) {
    options_.log(line);
  } else {
    std::clog << "certfleet-controller: " << line << "\n";
  }
}

absl::StatusOr<CaProductOf> CampaignEngine::CaProductLookup(const SelectionCriteria& criteria) {
  if (criteria.ca_product.empty()) return CaProductOf();
  // The products certfleet installed: a done order that named a product put
  // the certificate it issued on the binding.
  absl::StatusOr<std::vector<store::OrderRecord>> done_orders =
      store::ListAll<store::OrderRecord>([&](const store::PageRequest& page) {
        store::OrderQuery query;
        query.states = {store::OrderState::kDone};
        query.page = page;
        return store_.orders().ListOrders(query);
      });
  if (!done_orders.ok()) return done_orders.status();
  auto installed = std::make_shared<std::map<std::string, std::string>>();
  for (const store::OrderRecord& order : *done_orders) {
    if (!order.ca_product.empty() && !order.issued_thumbprint.empty()) {
      (*installed)[order.issued_thumbprint] = order.ca_product;
    }
  }
  return CaProductOf([installed, fallback = options_.ca_product_of](
                         const store::CertificateRecord& certificate) -> std::string {
    if (auto found = installed->find(certificate.thumbprint_sha1); found != installed->end()) {
      return found->second;
    }
    return fallback ? fallback(certificate) : std::string();
  });
}

absl::StatusOr<v1::CampaignPlan> CampaignEngine::Plan(const v1::CampaignSpec& spec) {
  if (spec.name().empty()) {
    return absl::InvalidArgumentError(
        "name: a campaign needs a name, for example sha256-migration");
  }
  absl::StatusOr<CampaignSettings> settings = SettingsOf(spec);
  if (!settings.ok()) return settings.status();
  const absl::Time now = options_.clock();

  absl::StatusOr<std::vector<store::PolicyRecord>> policies = store_.policies().ListPolicies();
  if (!policies.ok()) return policies.status();
  absl::StatusOr<std::vector<store::HostRecord>> hosts =
      store::ListAll<store::HostRecord>([&](const store::PageRequest& page) {
        store::HostQuery query;
        query.include_decommissioned = true;
        query.page = page;
        return store_.hosts().ListHosts(query);
      });
  if (!hosts.ok()) return hosts.status();
  absl::StatusOr<std::vector<store::OrderRecord>> open_orders =
      store::ListAll<store::OrderRecord>([&](const store::PageRequest& page) {
        store::OrderQuery query;
        query.open_only = true;
        query.page = page;
        return store_.orders().ListOrders(query);
      });
  if (!open_orders.ok()) return open_orders.status();
  std::map<std::string, std::string> open_order_of;
  for (const store::OrderRecord& order : *open_orders) {
    open_order_of[BindingKey(order.host_id, order.binding_id)] = order.order_id;
  }
  absl::StatusOr<CaProductOf> ca_product_of = CaProductLookup(settings->criteria);
  if (!ca_product_of.ok()) return ca_product_of.status();
  absl::StatusOr<std::vector<std::pair<std::string, std::string>>> in_campaigns =
      store_.campaigns().ListBindingsInOpenCampaigns();
  if (!in_campaigns.ok()) return in_campaigns.status();
  const std::map<std::string, std::string> campaign_of(in_campaigns->begin(), in_campaigns->end());

  struct Selected {
    const store::HostRecord* host = nullptr;
    store::BindingRecord binding;
    std::optional<store::CertificateRecord> certificate;
    Renewal renewal;
  };
  std::map<std::string, Selected> selected;
  std::vector<PlannedTarget> targets;
  v1::CampaignPlan plan;
  for (const store::HostRecord& host : *hosts) {
    const store::PolicyRecord* policy = renewal::SelectPolicy(*policies, host);
    if (policy == nullptr) {
      return absl::FailedPreconditionError(
          absl::StrCat("no renewal policy applies to ", host.hostname, " (no default policy)"));
    }
    const Renewal renewal = RenewalFor(spec.policy(), *policy);
    absl::StatusOr<std::vector<store::BindingRecord>> bindings =
        store_.inventory().ListBindings(host.host_id);
    if (!bindings.ok()) return bindings.status();
    for (const store::BindingRecord& binding : *bindings) {
      absl::StatusOr<std::optional<store::CertificateRecord>> certificate =
          CertificateOn(store_, host.host_id, binding.certificate_thumbprint);
      if (!certificate.ok()) return certificate.status();
      const std::string key = BindingKey(host.host_id, binding.binding_id);
      BindingCandidate candidate;
      candidate.host = &host;
      candidate.binding = &binding;
      candidate.certificate = certificate->has_value() ? &**certificate : nullptr;
      if (auto found = open_order_of.find(key); found != open_order_of.end()) {
        candidate.open_order_id = found->second;
      }
      if (auto found = campaign_of.find(key); found != campaign_of.end()) {
        candidate.other_campaign_id = found->second;
      }
      candidate.key_spec = renewal.key_spec;
      candidate.signature_hash = renewal.signature_hash;
      const SelectionDecision decision =
          SelectBinding(settings->criteria, candidate, now, *ca_product_of);
      if (decision.selection == Selection::kExcluded) {
        v1::ExcludedBinding* excluded = plan.add_excluded();
        excluded->set_host_id(host.host_id);
        excluded->set_hostname(host.hostname);
        excluded->set_site_id(binding.site_id);
        excluded->set_site_name(binding.site_name);
        excluded->set_binding_id(binding.binding_id);
        excluded->set_reason(decision.reason);
        excluded->set_detail(decision.detail);
      }
      if (decision.selection != Selection::kSelected) continue;
      targets.push_back(PlannedTarget{.host_id = host.host_id,
                                      .hostname = host.hostname,
                                      .site_id = binding.site_id,
                                      .site_name = binding.site_name,
                                      .binding_id = binding.binding_id,
                                      .current_thumbprint = binding.certificate_thumbprint});
      selected[key] = Selected{&host, binding, *certificate, renewal};
    }
  }

  const std::vector<Wave> waves = PlanWaves(std::move(targets), settings->waves);
  for (const Wave& wave : waves) {
    v1::PlannedWave* planned = plan.add_waves();
    planned->set_index(static_cast<uint32_t>(wave.index));
    planned->set_host_count(static_cast<uint32_t>(wave.host_count));
    plan.set_host_count(plan.host_count() + static_cast<uint32_t>(wave.host_count));
    for (const PlannedTarget& target : wave.targets) {
      const Selected& chosen = selected.at(BindingKey(target.host_id, target.binding_id));
      v1::PlannedRenewal* renewal = planned->add_renewals();
      renewal->set_host_id(target.host_id);
      renewal->set_hostname(target.hostname);
      renewal->set_site_id(target.site_id);
      renewal->set_site_name(target.site_name);
      renewal->set_binding_id(target.binding_id);
      const store::CertificateRecord* current =
          chosen.certificate.has_value() ? &*chosen.certificate : nullptr;
      if (current != nullptr) {
        *renewal->mutable_current_certificate() = admin::ToCertificateInfoProto(*current);
        renewal->mutable_current_certificate()->clear_der();
      }
      const renewal::RequestedNames names =
          renewal::RequestedNamesFor(current, chosen.renewal.subject,
                                     renewal::FallbackCommonName(chosen.binding, *chosen.host));
      *renewal->mutable_new_subject() = admin::ToDistinguishedNameProto(names.subject);
      for (const std::string& name : names.subject_alternative_names) {
        *renewal->add_new_subject_alternative_names() = admin::ToSubjectAlternativeNameProto(name);
      }
      v1::KeySpec key_spec = v1::KEY_SPEC_RSA_2048;
      if (!chosen.renewal.key_spec.empty()) {
        v1::KeySpec_Parse(absl::StrCat("KEY_SPEC_", chosen.renewal.key_spec), &key_spec);
      }
      renewal->set_key_spec(key_spec);
      v1::SignatureHash signature_hash = v1::SIGNATURE_HASH_SHA256;
      if (!chosen.renewal.signature_hash.empty()) {
        v1::SignatureHash_Parse(absl::StrCat("SIGNATURE_HASH_", chosen.renewal.signature_hash),
                                &signature_hash);
      }
      renewal->set_signature_hash(signature_hash);
      renewal->set_connector(chosen.renewal.connector);
      renewal->set_ca_product(chosen.renewal.ca_product);
      if (options_.chain_for) {
        for (v1::CertificateInfo& certificate :
             options_.chain_for(chosen.renewal.connector, chosen.renewal.ca_product)) {
          *renewal->add_chain() = std::move(certificate);
        }
      }
      const std::vector<const MaintenanceWindow*> windows =
          WindowsForHost(settings->windows, *chosen.host);
      if (std::optional<absl::Time> opens = NextWindowOpening(windows, now); opens.has_value()) {
        admin::SetTimestamp(*opens, renewal->mutable_next_window_opens_at());
      }
      plan.set_binding_count(plan.binding_count() + 1);
    }
  }
  admin::SetTimestamp(now, plan.mutable_computed_at());
  plan.set_plan_fingerprint(PlanFingerprint(waves));
  return plan;
}

absl::StatusOr<store::CampaignRecord> CampaignEngine::Create(const v1::CampaignSpec& spec,
                                                             std::string_view expected_fingerprint,
                                                             std::string_view actor) {
  absl::StatusOr<v1::CampaignPlan> plan = Plan(spec);
  if (!plan.ok()) return plan.status();
  if (!expected_fingerprint.empty() && expected_fingerprint != plan->plan_fingerprint()) {
    return absl::FailedPreconditionError(
        absl::StrCat("the fleet changed since the plan was shown (fingerprint ",
                     std::string(expected_fingerprint), ", now ", plan->plan_fingerprint(),
                     "); run `certfleetctl campaign plan` again"));
  }
  if (plan->binding_count() == 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        "campaign ", spec.name(), " selects no binding it could renew (", plan->excluded_size(),
        " excluded); check the selector with `certfleetctl campaign plan`"));
  }
  std::vector<store::CampaignTargetRecord> targets;
  for (const v1::PlannedWave& wave : plan->waves()) {
    for (const v1::PlannedRenewal& renewal : wave.renewals()) {
      store::CampaignTargetRecord target;
      target.wave_index = static_cast<int>(wave.index());
      target.host_id = renewal.host_id();
      target.binding_id = renewal.binding_id();
      target.site_id = renewal.site_id();
      target.planned_thumbprint = renewal.current_certificate().thumbprint_sha1();
      targets.push_back(std::move(target));
    }
  }
  store::CampaignRecord campaign;
  campaign.campaign_id = store::GenerateId(store::IdKind::kCampaign);
  campaign.name = spec.name();
  campaign.description = spec.description();
  campaign.spec = spec.SerializeAsString();
  campaign.plan_fingerprint = plan->plan_fingerprint();
  campaign.state_reason =
      absl::StrCat("created by ", std::string(actor), ": ", plan->binding_count(), " bindings on ",
                   plan->host_count(), " hosts in ", plan->waves_size(), " waves");
  campaign.created_at = options_.clock();
  campaign.created_by = std::string(actor);
  absl::StatusOr<store::CampaignRecord> created =
      store_.campaigns().CreateCampaign(campaign, targets);
  if (created.ok()) {
    Log(absl::StrCat("campaign ", created->campaign_id, " (", created->name,
                     "): ", created->state_reason));
  }
  return created;
}

absl::StatusOr<store::CampaignRecord> CampaignEngine::Move(std::string_view campaign_id,
                                                           std::vector<store::CampaignState> from,
                                                           store::CampaignState to,
                                                           store::CampaignPauseReason pause_reason,
                                                           std::string reason) {
  store::CampaignTransition transition;
  transition.campaign_id = std::string(campaign_id);
  transition.expected_states = std::move(from);
  transition.to = to;
  transition.pause_reason = pause_reason;
  transition.reason = std::move(reason);
  transition.at = options_.clock();
  absl::StatusOr<store::CampaignRecord> moved = store_.campaigns().TransitionCampaign(transition);
  if (moved.ok()) {
    Log(absl::StrCat("campaign ", moved->campaign_id, " (", moved->name, ") is ",
                     std::string(store::ToString(moved->state)), ": ", moved->state_reason));
    if (options_.state_changed) options_.state_changed(*moved);
  }
  return moved;
}

absl::StatusOr<store::CampaignRecord> CampaignEngine::Start(std::string_view campaign_id,
                                                            std::string_view actor) {
  absl::StatusOr<store::CampaignRecord> started =
      Move(campaign_id, {store::CampaignState::kDraft}, store::CampaignState::kRunning,
           store::CampaignPauseReason::kNone, absl::StrCat("started by ", std::string(actor)));
  if (started.ok()) RunOnce();
  return started;
}

absl::StatusOr<store::CampaignRecord> CampaignEngine::Pause(std::string_view campaign_id,
                                                            std::string_view reason,
                                                            std::string_view actor) {
  return Move(campaign_id, {store::CampaignState::kRunning}, store::CampaignState::kPaused,
              store::CampaignPauseReason::kOperator,
              absl::StrCat("paused by ", std::string(actor),
                           reason.empty() ? "" : absl::StrCat(": ", std::string(reason))));
}

absl::StatusOr<store::CampaignRecord> CampaignEngine::Resume(std::string_view campaign_id,
                                                             std::string_view actor) {
  absl::StatusOr<store::CampaignRecord> resumed =
      Move(campaign_id, {store::CampaignState::kPaused}, store::CampaignState::kRunning,
           store::CampaignPauseReason::kNone, absl::StrCat("resumed by ", std::string(actor)));
  if (resumed.ok()) RunOnce();
  return resumed;
}

absl::StatusOr<store::CampaignRecord> CampaignEngine::Abort(std::string_view campaign_id,
                                                            std::string_view reason,
                                                            std::string_view actor) {
  const std::string why =
      absl::StrCat("aborted by ", std::string(actor),
                   reason.empty() ? "" : absl::StrCat(": ", std::string(reason)));
  absl::StatusOr<store::CampaignRecord> campaign = store_.campaigns().GetCampaign(campaign_id);
  if (!campaign.ok()) return campaign.status();
  if (campaign->state == store::CampaignState::kDraft) {
    return Move(campaign_id, {store::CampaignState::kDraft}, store::CampaignState::kAborted,
                store::CampaignPauseReason::kNone, why);
  }
  absl::StatusOr<store::CampaignRecord> aborting =
      Move(campaign_id, {store::CampaignState::kRunning, store::CampaignState::kPaused},
           store::CampaignState::kAborting, store::CampaignPauseReason::kNone, why);
  if (!aborting.ok()) return aborting;
  RunOnce();
  return store_.campaigns().GetCampaign(campaign_id);
}

CampaignPassSummary CampaignEngine::RunOnce() {
  CampaignPassSummary summary;
  const absl::Time now = options_.clock();
  store::CampaignQuery query;
  query.states = {store::CampaignState::kRunning, store::CampaignState::kPaused,
                  store::CampaignState::kAborting};
  absl::StatusOr<std::vector<store::CampaignRecord>> campaigns =
      store::ListAll<store::CampaignRecord>([&](const store::PageRequest& page) {
        query.page = page;
        return store_.campaigns().ListCampaigns(query);
      });
  if (!campaigns.ok()) {
    summary.problems.push_back(absl::StrCat("campaigns: ", campaigns.status().message()));
    return summary;
  }
  for (const store::CampaignRecord& campaign : *campaigns) Step(campaign, now, summary);
  if (summary.orders_created > 0 && options_.orders_created) options_.orders_created();
  for (const std::string& problem : summary.problems) Log(problem);
  return summary;
}

void CampaignEngine::Step(const store::CampaignRecord& campaign, absl::Time now,
                          CampaignPassSummary& summary) {
  const std::string name =
      absl::StrCat("campaign ", campaign.campaign_id, " (", campaign.name, ")");
  absl::StatusOr<v1::CampaignSpec> spec = SpecOf(campaign);
  absl::StatusOr<CampaignSettings> settings =
      spec.ok() ? SettingsOf(*spec) : absl::StatusOr<CampaignSettings>(spec.status());
  if (!settings.ok()) {
    summary.problems.push_back(absl::StrCat(name, ": ", settings.status().message()));
    return;
  }
  absl::StatusOr<std::vector<store::CampaignTargetRecord>> targets =
      store_.campaigns().ListTargets(campaign.campaign_id);
  if (!targets.ok()) {
    summary.problems.push_back(absl::StrCat(name, ": ", targets.status().message()));
    return;
  }
  const CampaignStep step = DecideCampaignStep(SituationOf(campaign, *settings, *targets, now));
  const std::vector<std::vector<const store::CampaignTargetRecord*>> by_wave =
      TargetRecordsByWave(*targets);

  absl::StatusOr<std::vector<store::PolicyRecord>> policies = store_.policies().ListPolicies();
  for (const TargetReference& reference : step.start) {
    const store::CampaignTargetRecord& target = *by_wave[reference.wave][reference.target];
    const std::string what =
        absl::StrCat(name, ": ", target.hostname, " binding ", target.binding_id);
    absl::StatusOr<store::HostRecord> host = store_.hosts().GetHost(target.host_id);
    absl::StatusOr<store::BindingRecord> binding =
        host.ok() ? store_.inventory().GetBinding(target.host_id, target.binding_id)
                  : absl::StatusOr<store::BindingRecord>(host.status());
    if (!policies.ok() || !binding.ok()) {
      summary.problems.push_back(absl::StrCat(
          what, ": ", (policies.ok() ? binding.status() : policies.status()).message()));
      continue;
    }
    const store::PolicyRecord* policy = renewal::SelectPolicy(*policies, *host);
    if (policy == nullptr) {
      summary.problems.push_back(absl::StrCat(what, ": no renewal policy applies"));
      continue;
    }
    const Renewal renewal = RenewalFor(spec->policy(), *policy);
    absl::StatusOr<std::optional<store::CertificateRecord>> current =
        CertificateOn(store_, target.host_id, binding->certificate_thumbprint);
    if (!current.ok()) {
      summary.problems.push_back(absl::StrCat(what, ": ", current.status().message()));
      continue;
    }
    renewal::RequestedNames names =
        renewal::RequestedNamesFor(current->has_value() ? &**current : nullptr, renewal.subject,
                                   renewal::FallbackCommonName(*binding, *host));
    store::NewOrder order;
    order.host_id = target.host_id;
    order.site_id = binding->site_id;
    order.binding_id = target.binding_id;
    order.trigger = store::OrderTrigger::kCampaign;
    order.campaign_id = campaign.campaign_id;
    order.policy_name = renewal.policy_name;
    order.connector = renewal.connector;
    order.ca_product = renewal.ca_product;
    order.subject = std::move(names.subject);
    order.subject_alternative_names = std::move(names.subject_alternative_names);
    order.key_spec = renewal.key_spec;
    order.signature_hash = renewal.signature_hash;
    order.previous_thumbprint = binding->certificate_thumbprint;
    order.next_attempt_at = now;
    order.created_at = now;
    order.created_by = std::string(kCampaignActor);
    order.reason = absl::StrCat("campaign ", campaign.name, ", wave ", reference.wave);
    absl::StatusOr<store::OrderRecord> created = store_.orders().CreateOrder(order);
    if (!created.ok()) {
      // Typically another order of the binding is still open; the target
      // starts in a later pass, once it closed.
      summary.problems.push_back(absl::StrCat(what, ": ", created.status().message()));
      continue;
    }
    ++summary.orders_created;
    Log(absl::StrCat(name, ": order ", created->order_id, " for ", target.hostname, " site ",
                     target.site_name.empty() ? target.site_id : target.site_name, " (wave ",
                     reference.wave, ")"));
  }

  for (const TargetReference& reference : step.cancel) {
    const store::CampaignTargetRecord& target = *by_wave[reference.wave][reference.target];
    if (!target.order.has_value()) continue;
    store::OrderTransition transition;
    transition.order_id = target.order->order_id;
    transition.expected_state = target.order->state;
    transition.to = store::OrderState::kCancelled;
    transition.at = now;
    transition.reason =
        absl::StrCat("campaign ", campaign.name, " aborted before this renewal reached its deploy");
    transition.actor = std::string(kCampaignActor);
    absl::StatusOr<store::OrderRecord> cancelled = store_.orders().TransitionOrder(transition);
    if (!cancelled.ok()) {
      // It moved on (for example into deploying): it finishes or rolls back.
      summary.problems.push_back(
          absl::StrCat(name, ": order ", transition.order_id, ": ", cancelled.status().message()));
      continue;
    }
    ++summary.orders_cancelled;
  }

  if (step.new_state.has_value()) {
    absl::StatusOr<store::CampaignRecord> moved =
        Move(campaign.campaign_id, {campaign.state}, *step.new_state, step.pause_reason,
             step.state_reason);
    if (moved.ok()) {
      ++summary.state_changes;
    } else {
      summary.problems.push_back(absl::StrCat(name, ": ", moved.status().message()));
    }
  }
  if (step.decide_again_at.has_value() &&
      (!summary.run_again_at.has_value() || *step.decide_again_at < *summary.run_again_at)) {
    summary.run_again_at = step.decide_again_at;
  }
}

absl::StatusOr<v1::Campaign> CampaignEngine::Describe(const store::CampaignRecord& campaign,
                                                      bool with_targets) {
  absl::StatusOr<v1::CampaignSpec> spec = SpecOf(campaign);
  if (!spec.ok()) return spec.status();
  absl::StatusOr<CampaignSettings> settings = SettingsOf(*spec);
  if (!settings.ok()) return settings.status();
  absl::StatusOr<std::vector<store::CampaignTargetRecord>> targets =
      store_.campaigns().ListTargets(campaign.campaign_id);
  if (!targets.ok()) return targets.status();
  const absl::Time now = options_.clock();
  const CampaignStep step = DecideCampaignStep(SituationOf(campaign, *settings, *targets, now));
  const std::vector<std::vector<const store::CampaignTargetRecord*>> by_wave =
      TargetRecordsByWave(*targets);

  v1::Campaign proto;
  proto.set_campaign_id(campaign.campaign_id);
  *proto.mutable_spec() = *spec;
  proto.set_state(ToCampaignStateProto(campaign.state));
  proto.set_pause_reason(ToPauseReasonProto(campaign.pause_reason));
  proto.set_state_reason(campaign.state_reason);
  proto.set_plan_fingerprint(campaign.plan_fingerprint);
  *proto.mutable_progress() = ToCampaignProgressProto(step.progress);
  admin::SetTimestamp(campaign.created_at, proto.mutable_created_at());
  if (campaign.started_at) admin::SetTimestamp(*campaign.started_at, proto.mutable_started_at());
  if (campaign.finished_at) admin::SetTimestamp(*campaign.finished_at, proto.mutable_finished_at());
  proto.set_created_by(campaign.created_by);
  for (size_t index = 0; index < step.waves.size(); ++index) {
    const WaveOutlook& outlook = step.waves[index];
    v1::CampaignWave* wave = proto.add_waves();
    wave->set_index(static_cast<uint32_t>(index));
    wave->set_state(outlook.state);
    *wave->mutable_progress() = ToCampaignProgressProto(outlook.progress);
    if (outlook.started_at) admin::SetTimestamp(*outlook.started_at, wave->mutable_started_at());
    if (outlook.finished_at) admin::SetTimestamp(*outlook.finished_at, wave->mutable_finished_at());
    if (!with_targets || index >= by_wave.size()) continue;
    for (const store::CampaignTargetRecord* target : by_wave[index]) {
      v1::CampaignTarget* shown = wave->add_targets();
      shown->set_host_id(target->host_id);
      shown->set_hostname(target->hostname);
      shown->set_site_id(target->site_id);
      shown->set_site_name(target->site_name);
      shown->set_binding_id(target->binding_id);
      if (!target->order.has_value()) continue;
      const store::OrderRecord& order = *target->order;
      shown->set_order_id(order.order_id);
      shown->set_order_state(admin::ToOrderStateProto(order.state));
      if (order.last_failure.has_value() && (order.state == store::OrderState::kFailed ||
                                             order.state == store::OrderState::kRolledBack)) {
        *shown->mutable_failure() = admin::ToOrderProto(order, target->hostname).last_failure();
      }
      if (order.state == store::OrderState::kIssued) {
        if (std::optional<absl::Time> opens = DeployNotBefore(order, now); opens.has_value()) {
          admin::SetTimestamp(*opens, shown->mutable_waiting_for_window_until());
        }
      }
    }
  }
  return proto;
}

std::optional<absl::Time> CampaignEngine::DeployNotBefore(const store::OrderRecord& order,
                                                          absl::Time now) {
  if (order.campaign_id.empty()) return std::nullopt;
  absl::StatusOr<store::CampaignRecord> campaign =
      store_.campaigns().GetCampaign(order.campaign_id);
  if (!campaign.ok()) return std::nullopt;
  absl::StatusOr<v1::CampaignSpec> spec = SpecOf(*campaign);
  if (!spec.ok() || spec->maintenance_windows_size() == 0) return std::nullopt;
  absl::StatusOr<CampaignSettings> settings = SettingsOf(*spec);
  absl::StatusOr<store::HostRecord> host = store_.hosts().GetHost(order.host_id);
  if (!settings.ok() || !host.ok()) return std::nullopt;
  const std::vector<const MaintenanceWindow*> windows = WindowsForHost(settings->windows, *host);
  if (MayDeployAt(windows, now)) return std::nullopt;
  return EarliestDeployTime(windows, now);
}

}  // namespace certfleet::controller::campaigns
