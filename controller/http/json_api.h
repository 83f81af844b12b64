// The controller's JSON API under /api/v1 (docs/http-api.md): the fleet
// summary, hosts, certificates (and their CSV export), orders, recent
// failures, jobs and renewal campaigns, read from the store. Every resource
// is a GET; filters and pagination come from query parameters; errors are
// {"error": {"code", "message"}} with 400 (bad parameter or page token) or
// 404 (unknown resource or id), and 500/503 when the store fails.
//
// The API only reads: it never changes the store. It knows nothing about
// HTTP transport or authentication (HttpServer does both). Campaigns' waves
// and progress come from ApiOptions::describe_campaign (the campaign
// engine's Describe), so the HTTP side does not decide them itself.
//
// Thread safety: Handle may be called from several threads at once (the
// store is thread-safe and the API keeps no state between requests).

#ifndef CERTFLEET_CONTROLLER_HTTP_JSON_API_H_
#define CERTFLEET_CONTROLLER_HTTP_JSON_API_H_

#include <cstdint>
#include <functional>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "certfleet/v1/campaign.pb.h"
#include "controller/http/http_types.h"
#include "controller/store/store.h"

namespace certfleet::controller::http {

struct ApiOptions {
  // The time "now" for days left, expiry buckets and the timeline.
  std::function<absl::Time()> clock = [] { return absl::Now(); };
  // Number of agents with an open session (the controller's session
  // registry). Unset: the number of hosts the store has online.
  std::function<int64_t()> agents_connected;
  // A campaign with its waves and their progress, without targets
  // (campaigns::CampaignEngine::Describe(campaign, false)). Must be
  // thread-safe. Unset: the campaign resources answer 503 (a controller
  // that does not run the renewal engine has no campaign engine).
  std::function<absl::StatusOr<v1::Campaign>(const store::CampaignRecord& campaign)>
      describe_campaign;
};

class JsonApi {
 public:
  // `store` must outlive the API.
  JsonApi(store::Store* store, ApiOptions options);

  // Answers a GET of `request.path` (which starts with "/api/").
  HttpResponse Handle(const HttpRequest& request) const;

  // The number of connected agents, as ApiOptions says.
  absl::StatusOr<int64_t> AgentsConnected() const;

 private:
  absl::StatusOr<HttpResponse> Route(const HttpRequest& request) const;
  absl::StatusOr<HttpResponse> Summary(const HttpRequest& request) const;
  absl::StatusOr<HttpResponse> ListHosts(const HttpRequest& request) const;
  absl::StatusOr<HttpResponse> GetHost(const HttpRequest& request,
                                       const std::string& host_id) const;
  absl::StatusOr<HttpResponse> ListCertificates(const HttpRequest& request) const;
  absl::StatusOr<HttpResponse> ExportCertificates(const HttpRequest& request) const;
  absl::StatusOr<HttpResponse> ListOrders(const HttpRequest& request) const;
  absl::StatusOr<HttpResponse> GetOrder(const HttpRequest& request,
                                        const std::string& order_id) const;
  absl::StatusOr<HttpResponse> ListFailures(const HttpRequest& request) const;
  absl::StatusOr<HttpResponse> ListJobs(const HttpRequest& request) const;
  absl::StatusOr<HttpResponse> GetJob(const HttpRequest& request, const std::string& job_id) const;
  absl::StatusOr<HttpResponse> ListCampaigns(const HttpRequest& request) const;
  absl::StatusOr<HttpResponse> GetCampaign(const HttpRequest& request,
                                           const std::string& campaign_id) const;
  // Unavailable when no describe_campaign was given.
  absl::Status CampaignsAvailable() const;

  store::Store* store_;
  ApiOptions options_;
};

// The JSON error answer for `status` (400 InvalidArgument, 401
// Unauthenticated, 404 NotFound, 503 Unavailable, 500 otherwise).
HttpResponse ErrorResponse(const absl::Status& status);

}  // namespace certfleet::controller::http

#endif  // CERTFLEET_CONTROLLER_HTTP_JSON_API_H_
