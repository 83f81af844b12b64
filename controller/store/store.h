// The controller's persistence, as one facade over small interfaces: hosts,
// join tokens, inventory, renewal policies, orders, jobs, the audit log,
// campaigns and webhooks.
// Everything the controller keeps goes through these interfaces; nothing
// outside controller/store/ sees SQL or knows which database is behind them.
//
// The embedded implementation is SQLite (controller/store/sqlite/). A
// PostgreSQL implementation for deployments with several controller replicas
// would implement the same interfaces (docs/store.md).
//
// Every method is one transaction: it either happens completely or not at
// all. Operations that must be atomic across tables (enrolling a host with a
// token, completing a job and advancing its order, decommissioning a host
// with its work) are single methods.
//
// Thread safety: implementations are thread-safe; one Store is shared by
// the gRPC callback threads, the scheduler and the HTTP server. The
// sub-interfaces live as long as the Store.

#ifndef CERTFLEET_CONTROLLER_STORE_STORE_H_
#define CERTFLEET_CONTROLLER_STORE_STORE_H_

#include "controller/store/audit_log.h"
#include "controller/store/campaign_store.h"
#include "controller/store/host_store.h"
#include "controller/store/inventory_store.h"
#include "controller/store/job_store.h"
#include "controller/store/join_token_store.h"
#include "controller/store/order_store.h"
#include "controller/store/policy_store.h"
#include "controller/store/webhook_store.h"

namespace certfleet::controller::store {

class Store {
 public:
  virtual ~Store() = default;

  virtual HostStore& hosts() = 0;
  virtual JoinTokenStore& join_tokens() = 0;
  virtual InventoryStore& inventory() = 0;
  virtual PolicyStore& policies() = 0;
  virtual OrderStore& orders() = 0;
  virtual JobStore& jobs() = 0;
  virtual AuditLog& audit_log() = 0;
  virtual CampaignStore& campaigns() = 0;
  virtual WebhookStore& webhooks() = 0;
};

}  // namespace certfleet::controller::store

#endif  // CERTFLEET_CONTROLLER_STORE_STORE_H_
