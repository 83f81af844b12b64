// AdminService (proto/certfleet/v1/admin.proto): what certfleetctl and other
// operator tools call on the controller. Every RPC first authenticates the
// caller as an admin (AuthenticateAdmin: an admin client certificate of the
// fleet CA; agents get PermissionDenied, no certificate Unauthenticated).
// Every RPC that changes something appends an audit event with the admin's
// name, the action (the RPC's name), its target and whether it succeeded.
//
// The service is thin: it validates, calls the store (and the upload
// matcher), converts records to messages (record_conversion.h) and converts
// the status once. The renewal engine is level-triggered on order states:
// RenewNow and an accepted upload only change the order in the store and call
// `wake_renewals`.
//
// Campaign and webhook RPCs answer UNIMPLEMENTED until the campaigns issue
// adds them.
//
// Thread safety: the gRPC callback threads call it concurrently; it keeps no
// mutable state of its own (the store is thread-safe).

#ifndef CERTFLEET_CONTROLLER_ADMIN_ADMIN_SERVICE_H_
#define CERTFLEET_CONTROLLER_ADMIN_ADMIN_SERVICE_H_

#include <grpcpp/grpcpp.h>

#include <functional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "certfleet/v1/admin.grpc.pb.h"
#include "controller/admin/admin_identity.h"
#include "controller/campaigns/campaign_engine.h"
#include "controller/identity/fleet_authority.h"
#include "controller/store/store.h"

namespace certfleet::controller::admin {

struct AdminServiceOptions {
  // Called after RenewNow created an order and after an upload moved an
  // order to issued, so that the renewal engine looks at the store now.
  // Empty: nobody to wake.
  std::function<void()> wake_renewals;
  // Asks the host's agent for an inventory (queues an inventory job and
  // offers it to the connected agent) and returns the job id. Empty: the
  // service queues the inventory job in the store itself; the agent gets it
  // when it next asks for work.
  std::function<absl::StatusOr<std::string>(std::string_view host_id, std::string_view reason)>
      request_inventory;
  // The controller's clock.
  std::function<absl::Time()> clock = [] { return absl::Now(); };
  // Runs the campaign RPCs; not owned, must outlive the service. Null: the
  // campaign RPCs answer FAILED_PRECONDITION (no engine on this
  // controller).
  campaigns::CampaignEngine* campaigns = nullptr;
};

#define CERTFLEET_ADMIN_RPC(Name)                                                                \
  grpc::ServerUnaryReactor* Name(grpc::CallbackServerContext* context,                           \
                                 const v1::Name##Request* request, v1::Name##Response* response) \
      override

class AdminServiceImpl final : public v1::AdminService::CallbackService {
 public:
  // `authority` and `store` must outlive the service.
  AdminServiceImpl(const FleetAuthority& authority, store::Store& store,
                   AdminServiceOptions options);

  CERTFLEET_ADMIN_RPC(ListHosts);
  CERTFLEET_ADMIN_RPC(GetHost);
  CERTFLEET_ADMIN_RPC(SetHostLabels);
  CERTFLEET_ADMIN_RPC(RescanHost);
  CERTFLEET_ADMIN_RPC(DecommissionHost);
  CERTFLEET_ADMIN_RPC(ListCertificates);
  CERTFLEET_ADMIN_RPC(GetCertificate);
  CERTFLEET_ADMIN_RPC(GetBindingHistory);
  CERTFLEET_ADMIN_RPC(ListOrders);
  CERTFLEET_ADMIN_RPC(GetOrder);
  CERTFLEET_ADMIN_RPC(RenewNow);
  CERTFLEET_ADMIN_RPC(CancelOrder);
  CERTFLEET_ADMIN_RPC(GetOrderCsr);
  CERTFLEET_ADMIN_RPC(UploadCertificate);
  CERTFLEET_ADMIN_RPC(ListJobs);
  CERTFLEET_ADMIN_RPC(GetJob);
  CERTFLEET_ADMIN_RPC(CreateJoinToken);
  CERTFLEET_ADMIN_RPC(ListJoinTokens);
  CERTFLEET_ADMIN_RPC(RevokeJoinToken);
  CERTFLEET_ADMIN_RPC(ListPolicies);
  CERTFLEET_ADMIN_RPC(SetPolicy);
  CERTFLEET_ADMIN_RPC(DeletePolicy);
  CERTFLEET_ADMIN_RPC(ListCaProducts);
  CERTFLEET_ADMIN_RPC(PlanCampaign);
  CERTFLEET_ADMIN_RPC(CreateCampaign);
  CERTFLEET_ADMIN_RPC(StartCampaign);
  CERTFLEET_ADMIN_RPC(ListCampaigns);
  CERTFLEET_ADMIN_RPC(GetCampaign);
  CERTFLEET_ADMIN_RPC(PauseCampaign);
  CERTFLEET_ADMIN_RPC(ResumeCampaign);
  CERTFLEET_ADMIN_RPC(AbortCampaign);
  CERTFLEET_ADMIN_RPC(ListWebhooks);
  CERTFLEET_ADMIN_RPC(SetWebhook);
  CERTFLEET_ADMIN_RPC(DeleteWebhook);
  CERTFLEET_ADMIN_RPC(GetFleetSummary);
  CERTFLEET_ADMIN_RPC(ListAuditEvents);

 private:
  // Change() for a campaign operator action: runs `act`, answers the
  // campaign as it is afterwards in `shown`, wakes the renewal engine.
  grpc::ServerUnaryReactor* CampaignAction(
      grpc::CallbackServerContext* context, std::string_view action, const std::string& campaign_id,
      const std::function<absl::StatusOr<store::CampaignRecord>(const AdminPeer&)>& act,
      v1::Campaign* shown);
  // Authenticates, runs `body` and finishes the call with its status.
  grpc::ServerUnaryReactor* Read(grpc::CallbackServerContext* context,
                                 const std::function<absl::Status(const AdminPeer&)>& body);
  // As Read, then appends an audit event (action, target, success, and
  // `detail` or the error message).
  grpc::ServerUnaryReactor* Change(
      grpc::CallbackServerContext* context, std::string_view action, std::string target,
      const std::function<absl::Status(const AdminPeer&, std::string& detail)>& body);
  void WakeRenewals() const;
  absl::StatusOr<std::string> HostnameOf(std::string_view host_id);

  const FleetAuthority& authority_;
  store::Store& store_;
  AdminServiceOptions options_;
};

#undef CERTFLEET_ADMIN_RPC

}  // namespace certfleet::controller::admin

#endif  // CERTFLEET_CONTROLLER_ADMIN_ADMIN_SERVICE_H_
