// The controller's /metrics page in the Prometheus text exposition format
// 0.0.4: every metric with its HELP and TYPE lines, label values escaped
// (backslash, double quote, newline). docs/http-api.md lists the metrics.
//
// The page is computed from the store at each scrape (counts and
// histograms are aggregate queries; the per-certificate gauges walk the
// bound certificates page by page; the campaign gauges read every campaign
// and the targets of those not finished), so it needs no state of its own
// and is the same on every controller replica.
//
// Thread safety: free functions; the store is thread-safe.

#ifndef CERTFLEET_CONTROLLER_HTTP_PROMETHEUS_METRICS_H_
#define CERTFLEET_CONTROLLER_HTTP_PROMETHEUS_METRICS_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "controller/store/store.h"

namespace certfleet::controller::http {

// `value` escaped for a label value: \ -> \\, " -> \", newline -> \n.
std::string EscapeLabelValue(std::string_view value);

// The whole page at `now`, with `agents_connected` as
// certfleet_agents_connected. Errors: the store's.
absl::StatusOr<std::string> RenderPrometheusMetrics(store::Store& store, absl::Time now,
                                                    int64_t agents_connected);

}  // namespace certfleet::controller::http

#endif  // CERTFLEET_CONTROLLER_HTTP_PROMETHEUS_METRICS_H_
