// Runs renewal campaigns: plans a campaign from the inventory (which
// bindings, wave by wave, with what subject, key and chain), creates it from
// that plan, and then, on every pass, applies the decision of
// DecideCampaignStep (wave_progress.h) to the store: creates the orders of
// the targets to start (ordinary orders tagged with the campaign, which the
// renewal engine then carries out), cancels what an abort cancels, and moves
// the campaign between states. Operators' actions (start, pause, resume,
// abort) are compare-and-set transitions. Maintenance windows gate deploys
// through DeployNotBefore, which the renewal engine asks before queuing a
// campaign order's deploy.
//
// Everything is read from the store on each pass, so a controller restart
// in the middle of a campaign continues where it was; nothing is kept in
// memory between passes.
//
// Thread safety: thread-safe; passes and operator actions may run at once
// (the store's compare-and-set decides between them).

#ifndef CERTFLEET_CONTROLLER_CAMPAIGNS_CAMPAIGN_ENGINE_H_
#define CERTFLEET_CONTROLLER_CAMPAIGNS_CAMPAIGN_ENGINE_H_

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "certfleet/v1/campaign.pb.h"
#include "controller/campaigns/campaign_selector.h"
#include "controller/store/store.h"

namespace certfleet::controller::campaigns {

struct CampaignEngineOptions {
  // The controller's clock (a fake one in tests).
  std::function<absl::Time()> clock = [] { return absl::Now(); };
  // Which CA product a certificate belongs to (selector's ca_product), for
  // certificates certfleet did not install itself; empty function: unknown.
  // A certificate a done order issued has that order's ca_product first.
  CaProductOf ca_product_of;
  // The chain (intermediates then root, der left empty) a renewal through
  // `connector` / `ca_product` will install, as far as known before
  // issuance; empty function or answer: unknown.
  std::function<std::vector<v1::CertificateInfo>(std::string_view connector,
                                                 std::string_view ca_product)>
      chain_for;
  // Called after orders were created, so the renewal engine starts them.
  std::function<void()> orders_created;
  // Called after a campaign changed state (for notifications).
  std::function<void(const store::CampaignRecord& campaign)> state_changed;
  // One line per decision. Empty: std::clog.
  std::function<void(std::string_view line)> log;
};

// What one pass did, for logs and tests.
struct CampaignPassSummary {
  int orders_created = 0;
  int orders_cancelled = 0;
  int state_changes = 0;
  // The earliest time a campaign wants another pass even if nothing
  // changes (a soak ending, a window opening); unset when none.
  std::optional<absl::Time> run_again_at;
  // Store errors met; the pass goes on with the next campaign.
  std::vector<std::string> problems;
};

class CampaignEngine {
 public:
  // `store` must outlive the engine.
  CampaignEngine(store::Store& store, CampaignEngineOptions options);

  CampaignEngine(const CampaignEngine&) = delete;
  CampaignEngine& operator=(const CampaignEngine&) = delete;

  // What `spec` would do now, changing nothing. InvalidArgument naming the
  // field for an invalid spec (selector, wave plan, budget, windows, an
  // empty name).
  absl::StatusOr<v1::CampaignPlan> Plan(const v1::CampaignSpec& spec);

  // Plans `spec` and stores it as a draft campaign. FailedPrecondition when
  // `expected_fingerprint` is set and the plan changed since (naming both),
  // or when the plan renews nothing; Plan's errors otherwise.
  absl::StatusOr<store::CampaignRecord> Create(const v1::CampaignSpec& spec,
                                               std::string_view expected_fingerprint,
                                               std::string_view actor);

  // Operator actions. FailedPrecondition naming the current state when the
  // campaign cannot make that move; NotFound for an unknown id. Abort of a
  // draft ends it at once (aborted); of a running or paused campaign it
  // starts ABORTING, which a pass settles.
  absl::StatusOr<store::CampaignRecord> Start(std::string_view campaign_id, std::string_view actor);
  absl::StatusOr<store::CampaignRecord> Pause(std::string_view campaign_id, std::string_view reason,
                                              std::string_view actor);
  absl::StatusOr<store::CampaignRecord> Resume(std::string_view campaign_id,
                                               std::string_view actor);
  absl::StatusOr<store::CampaignRecord> Abort(std::string_view campaign_id, std::string_view reason,
                                              std::string_view actor);

  // One step of every running, paused or aborting campaign.
  CampaignPassSummary RunOnce();

  // `campaign` as the wire shows it: its spec, state, waves with their
  // progress and, when `with_targets`, each wave's targets with their
  // orders.
  absl::StatusOr<v1::Campaign> Describe(const store::CampaignRecord& campaign, bool with_targets);

  // For the renewal engine, before it queues the deploy of `order`: unset
  // when it may deploy now (not a campaign order, no window applies, or a
  // window is open); otherwise when the host's next maintenance window
  // opens.
  std::optional<absl::Time> DeployNotBefore(const store::OrderRecord& order, absl::Time now);

 private:
  // Applies one DecideCampaignStep to `campaign`.
  void Step(const store::CampaignRecord& campaign, absl::Time now, CampaignPassSummary& summary);
  absl::StatusOr<store::CampaignRecord> Move(std::string_view campaign_id,
                                             std::vector<store::CampaignState> from,
                                             store::CampaignState to,
                                             store::CampaignPauseReason pause_reason,
                                             std::string reason);
  // The products of certificates for `criteria`'s ca_product condition: the
  // ca_product of the done order that issued a certificate, else
  // options_.ca_product_of. An empty function when no condition is set.
  absl::StatusOr<CaProductOf> CaProductLookup(const SelectionCriteria& criteria);
  void Log(std::string_view line) const;

  store::Store& store_;
  const CampaignEngineOptions options_;
};

}  // namespace certfleet::controller::campaigns

#endif  // CERTFLEET_CONTROLLER_CAMPAIGNS_CAMPAIGN_ENGINE_H_
