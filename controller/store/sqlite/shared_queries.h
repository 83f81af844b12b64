// Internal to controller/store/sqlite: the pieces of one area's logic that
// another area's transaction needs (enrolling consumes a token, completing a
// job moves its order, decommissioning cancels orders and jobs). Each is
// implemented beside the area it belongs to.
//
// Thread safety: REQUIRES for every function: called from inside a
// SqliteConnection::Write or Read, which holds the connection's mutex and an
// open transaction.

#ifndef CERTFLEET_CONTROLLER_STORE_SQLITE_SHARED_QUERIES_H_
#define CERTFLEET_CONTROLLER_STORE_SQLITE_SHARED_QUERIES_H_

#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/sqlite/database.h"
#include "controller/store/records.h"

namespace certfleet::controller::store::sqlite_backend {

// The host with its labels. NotFound naming the id otherwise.
absl::StatusOr<HostRecord> LoadHost(sqlite::Database& database, std::string_view host_id);

// As LoadHost, and FailedPrecondition when the host is decommissioned.
absl::StatusOr<HostRecord> LoadActiveHost(sqlite::Database& database, std::string_view host_id);

// JoinTokenStore::ConsumeJoinToken inside the caller's transaction.
absl::StatusOr<JoinTokenRecord> ConsumeJoinTokenIn(sqlite::Database& database,
                                                   std::string_view secret_sha256,
                                                   std::string_view hostname,
                                                   std::string_view host_id, absl::Time now);

enum class History { kInclude, kOmit };

// The order, with its history when asked. NotFound naming the id otherwise.
absl::StatusOr<OrderRecord> LoadOrder(sqlite::Database& database, std::string_view order_id,
                                      History history);

// Every order of a campaign, oldest first (history omitted).
absl::StatusOr<std::vector<OrderRecord>> LoadCampaignOrders(sqlite::Database& database,
                                                            std::string_view campaign_id);

// OrderStore::TransitionOrder inside the caller's transaction.
absl::StatusOr<OrderRecord> TransitionOrderIn(sqlite::Database& database,
                                              const OrderTransition& transition);

// Whose jobs CancelJobsIn cancels.
enum class JobOwner { kOrder, kHost };

// Cancels the queued jobs of an order or host and asks the running ones to
// stop, recording `reason` at `at`.
absl::Status CancelJobsIn(sqlite::Database& database, JobOwner owner, std::string_view owner_id,
                          std::string_view reason, absl::Time at);

}  // namespace certfleet::controller::store::sqlite_backend

#endif  // CERTFLEET_CONTROLLER_STORE_SQLITE_SHARED_QUERIES_H_
