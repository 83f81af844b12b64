#include "controller/store/sqlite/migrations.h"

#include <array>

namespace certfleet::controller::store::sqlite_backend {
namespace {

// Conventions: times and durations are INTEGER microseconds since the Unix
// epoch (UTC); booleans are INTEGER 0/1; maps, lists, names and failures
// are small JSON documents (row_codec.h); serialized protobuf messages are
// BLOBs the store never looks into. Every index names the query it serves.
constexpr char kInitialSchema[] = R"sql(
CREATE TABLE hosts (
  host_id TEXT PRIMARY KEY,
  hostname TEXT NOT NULL COLLATE NOCASE UNIQUE,
  state TEXT NOT NULL CHECK (state IN ('active', 'decommissioned')),
  platform TEXT NOT NULL,
  capabilities BLOB NOT NULL,
  agent_version TEXT NOT NULL,
  identity_serial TEXT NOT NULL,
  identity_sha256 TEXT NOT NULL,
  identity_expires_at INTEGER NOT NULL,
  online INTEGER NOT NULL DEFAULT 0 CHECK (online IN (0, 1)),
  last_seen_at INTEGER,
  enrolled_at INTEGER NOT NULL,
  join_token_id TEXT NOT NULL DEFAULT '',
  inventory_content_hash TEXT NOT NULL DEFAULT '',
  inventory_scanned_at INTEGER,
  last_inventory_at INTEGER,
  inventory_failure TEXT,
  decommissioned_at INTEGER,
  decommission_reason TEXT NOT NULL DEFAULT ''
);
-- The offline sweep: online hosts last seen before a cutoff.
CREATE INDEX hosts_by_presence ON hosts (online, last_seen_at);

CREATE TABLE host_labels (
  host_id TEXT NOT NULL REFERENCES hosts (host_id) ON DELETE CASCADE,
  key TEXT NOT NULL,
  value TEXT NOT NULL,
  PRIMARY KEY (host_id, key)
) WITHOUT ROWID;
-- Host selection by label (policies, campaigns, listings).
CREATE INDEX host_labels_by_key_value ON host_labels (key, value);

CREATE TABLE join_tokens (
  token_id TEXT PRIMARY KEY,
  secret_sha256 TEXT NOT NULL UNIQUE,
  description TEXT NOT NULL,
  bound_hostname TEXT NOT NULL,
  labels TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  created_by TEXT NOT NULL,
  used_at INTEGER,
  used_by_host_id TEXT NOT NULL DEFAULT '',
  used_by_hostname TEXT NOT NULL DEFAULT '',
  revoked_at INTEGER
);
-- Token listing, newest first.
CREATE INDEX join_tokens_by_creation ON join_tokens (created_at, token_id);

CREATE TABLE sites (
  host_id TEXT NOT NULL REFERENCES hosts (host_id) ON DELETE CASCADE,
  site_id TEXT NOT NULL,
  name TEXT NOT NULL,
  state TEXT NOT NULL,
  auto_start INTEGER NOT NULL,
  content_path TEXT NOT NULL,
  configuration_location TEXT NOT NULL,
  temporary INTEGER NOT NULL,
  temporary_for_order_id TEXT NOT NULL,
  PRIMARY KEY (host_id, site_id)
);

CREATE TABLE bindings (
  host_id TEXT NOT NULL REFERENCES hosts (host_id) ON DELETE CASCADE,
  binding_id TEXT NOT NULL,
  site_id TEXT NOT NULL,
  secure_endpoints TEXT NOT NULL,
  plain_endpoints TEXT NOT NULL,
  certificate_thumbprint TEXT NOT NULL,
  certificate_store TEXT NOT NULL,
  has_pending_request INTEGER NOT NULL,
  first_seen_at INTEGER NOT NULL,
  thumbprint_since INTEGER NOT NULL,
  PRIMARY KEY (host_id, binding_id)
);
-- "Is this certificate bound on its host?" (bound-certificate scope).
CREATE INDEX bindings_by_certificate ON bindings (host_id, certificate_thumbprint);

CREATE TABLE binding_history (
  change_id INTEGER PRIMARY KEY,
  host_id TEXT NOT NULL REFERENCES hosts (host_id) ON DELETE CASCADE,
  binding_id TEXT NOT NULL,
  site_id TEXT NOT NULL,
  changed_at INTEGER NOT NULL,
  old_thumbprint TEXT NOT NULL,
  new_thumbprint TEXT NOT NULL,
  order_id TEXT NOT NULL
);
-- A binding's history, newest first.
CREATE INDEX binding_history_by_binding ON binding_history (host_id, binding_id, change_id);

-- One row per distinct certificate (by SHA-256), however many hosts and
-- stores hold it: a common intermediate is stored once, not 10,000 times.
CREATE TABLE certificates (
  certificate_id INTEGER PRIMARY KEY,
  fingerprint_sha256 TEXT NOT NULL UNIQUE,
  thumbprint_sha1 TEXT NOT NULL,
  subject TEXT NOT NULL,
  subject_name TEXT NOT NULL,
  issuer TEXT NOT NULL,
  issuer_name TEXT NOT NULL,
  serial_number TEXT NOT NULL,
  not_before INTEGER NOT NULL,
  not_after INTEGER NOT NULL,
  subject_alternative_names TEXT NOT NULL,
  key_algorithm TEXT NOT NULL,
  key_bits INTEGER NOT NULL,
  signature_algorithm TEXT NOT NULL,
  signature_hash TEXT NOT NULL,
  is_ca INTEGER NOT NULL,
  path_length_constraint INTEGER,
  kind TEXT NOT NULL,
  public_key_sha256 TEXT NOT NULL,
  subject_key_identifier TEXT NOT NULL,
  authority_key_identifier TEXT NOT NULL,
  extended_key_usages TEXT NOT NULL,
  der BLOB NOT NULL
);
-- Lookups by thumbprint (GetCertificate, thumbprint filter) and by public
-- key (which order or request an uploaded certificate answers).
CREATE INDEX certificates_by_thumbprint ON certificates (thumbprint_sha1);
CREATE INDEX certificates_by_public_key ON certificates (public_key_sha256);

-- Where each certificate is: host and store. not_after and the thumbprint
-- are copied from the (immutable) certificate so that the hot expiry query
-- walks one index in order and joins bindings without touching
-- `certificates` first.
CREATE TABLE certificate_placements (
  placement_id INTEGER PRIMARY KEY,
  host_id TEXT NOT NULL REFERENCES hosts (host_id) ON DELETE CASCADE,
  store TEXT NOT NULL CHECK (store IN ('MY', 'CA', 'ROOT', 'REQUEST')),
  certificate_id INTEGER NOT NULL REFERENCES certificates (certificate_id),
  thumbprint_sha1 TEXT NOT NULL,
  not_after INTEGER NOT NULL,
  has_private_key INTEGER NOT NULL,
  first_seen_at INTEGER NOT NULL,
  UNIQUE (host_id, store, certificate_id)
);
-- "Expiring within N days", soonest first, with a stable tie-break for
-- keyset pagination; also the dashboard's expiry buckets.
CREATE INDEX certificate_placements_by_not_after ON certificate_placements (not_after, placement_id);
CREATE INDEX certificate_placements_by_certificate ON certificate_placements (certificate_id);

CREATE TABLE pending_requests (
  host_id TEXT NOT NULL REFERENCES hosts (host_id) ON DELETE CASCADE,
  site_id TEXT NOT NULL,
  public_key_sha256 TEXT NOT NULL,
  subject TEXT NOT NULL,
  subject_alternative_names TEXT NOT NULL,
  key_spec TEXT NOT NULL,
  created_at INTEGER,
  placeholder_thumbprint TEXT NOT NULL,
  csr_pem TEXT NOT NULL,
  order_id TEXT NOT NULL,
  PRIMARY KEY (host_id, site_id, public_key_sha256)
);
-- Which request an uploaded certificate answers, fleet-wide.
CREATE INDEX pending_requests_by_public_key ON pending_requests (public_key_sha256);

CREATE TABLE policies (
  name TEXT PRIMARY KEY,
  description TEXT NOT NULL,
  hosts TEXT NOT NULL,
  priority INTEGER NOT NULL,
  renew_when_remaining_fraction REAL NOT NULL
    CHECK (renew_when_remaining_fraction > 0 AND renew_when_remaining_fraction < 1),
  renew_before INTEGER,
  jitter INTEGER,
  key_spec TEXT NOT NULL,
  signature_hash TEXT NOT NULL,
  connector TEXT NOT NULL,
  ca_product TEXT NOT NULL,
  initial_backoff INTEGER,
  maximum_backoff INTEGER,
  settings BLOB NOT NULL,
  updated_at INTEGER,
  updated_by TEXT NOT NULL
);
INSERT INTO policies VALUES (
  'default',
  'Renews every certificate when a third of its lifetime remains, with a new RSA 2048 key, through the local CA.',
  '{}', 0, 1.0 / 3.0, NULL, NULL, 'RSA_2048', 'SHA256', 'local', '', NULL, NULL, x'', NULL,
  'certfleet');

CREATE TABLE orders (
  order_id TEXT PRIMARY KEY,
  host_id TEXT NOT NULL REFERENCES hosts (host_id),
  site_id TEXT NOT NULL,
  binding_id TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('due', 'csr_requested', 'awaiting_issuance', 'issued',
    'deploying', 'verifying', 'done', 'failed', 'rolled_back', 'cancelled')),
  is_open INTEGER NOT NULL CHECK (is_open IN (0, 1)),
  triggered_by TEXT NOT NULL,
  campaign_id TEXT NOT NULL,
  policy_name TEXT NOT NULL,
  connector TEXT NOT NULL,
  ca_product TEXT NOT NULL,
  subject TEXT NOT NULL,
  subject_alternative_names TEXT NOT NULL,
  key_spec TEXT NOT NULL,
  signature_hash TEXT NOT NULL,
  previous_thumbprint TEXT NOT NULL,
  temporary_site_id TEXT NOT NULL DEFAULT '',
  csr_pem TEXT NOT NULL DEFAULT '',
  public_key_sha256 TEXT NOT NULL DEFAULT '',
  certificate_pem TEXT NOT NULL DEFAULT '',
  chain_pem TEXT NOT NULL DEFAULT '',
  issued_thumbprint TEXT NOT NULL DEFAULT '',
  attempts INTEGER NOT NULL DEFAULT 0,
  failed_attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER,
  deploy_not_before INTEGER,
  last_failure TEXT,
  external_probe BLOB NOT NULL DEFAULT x'',
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  created_by TEXT NOT NULL
);
-- At most one open order per binding, enforced by the database itself; it
-- also serves "hosts with an open order" and the open-order count.
CREATE UNIQUE INDEX orders_one_open_per_binding ON orders (host_id, binding_id) WHERE is_open = 1;
-- The scheduler's work list: due or failed orders whose next attempt has come.
CREATE INDEX orders_by_next_attempt ON orders (next_attempt_at) WHERE next_attempt_at IS NOT NULL;
-- Listings, newest first: all, by host, by campaign; counts by state.
CREATE INDEX orders_by_creation ON orders (created_at, order_id);
CREATE INDEX orders_by_host ON orders (host_id, created_at, order_id);
CREATE INDEX orders_by_campaign ON orders (campaign_id, created_at, order_id) WHERE campaign_id <> '';
CREATE INDEX orders_by_state ON orders (state);
-- Which order an uploaded certificate answers.
CREATE INDEX orders_by_public_key ON orders (public_key_sha256) WHERE public_key_sha256 <> '';

CREATE TABLE order_history (
  change_id INTEGER PRIMARY KEY,
  order_id TEXT NOT NULL REFERENCES orders (order_id) ON DELETE CASCADE,
  changed_at INTEGER NOT NULL,
  from_state TEXT,
  to_state TEXT NOT NULL,
  reason TEXT NOT NULL,
  actor TEXT NOT NULL
);
CREATE INDEX order_history_by_order ON order_history (order_id, change_id);

CREATE TABLE jobs (
  job_id TEXT PRIMARY KEY,
  host_id TEXT NOT NULL REFERENCES hosts (host_id),
  order_id TEXT REFERENCES orders (order_id),
  kind TEXT NOT NULL CHECK (kind IN ('inventory', 'prepare', 'deploy', 'rollback', 'probe',
    'cleanup')),
  status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'failed',
    'rolled_back', 'cancelled')),
  spec BLOB NOT NULL,
  created_at INTEGER NOT NULL,
  created_by TEXT NOT NULL,
  not_before INTEGER,
  attempt INTEGER NOT NULL DEFAULT 0,
  lease_granted_at INTEGER,
  lease_expires_at INTEGER,
  cancel_requested_at INTEGER,
  cancel_reason TEXT NOT NULL DEFAULT '',
  finished_at INTEGER
);
-- Leasing a host's next job; hosts with queued work.
CREATE INDEX jobs_queued_by_host ON jobs (host_id, created_at) WHERE status = 'queued';
-- The lease-expiry sweep.
CREATE INDEX jobs_running_by_lease_end ON jobs (lease_expires_at) WHERE status = 'running';
-- Listings, newest first: all, by host, by order.
CREATE INDEX jobs_by_creation ON jobs (created_at, job_id);
CREATE INDEX jobs_by_host ON jobs (host_id, created_at, job_id);
CREATE INDEX jobs_by_order ON jobs (order_id, created_at, job_id);

CREATE TABLE job_attempts (
  job_id TEXT NOT NULL REFERENCES jobs (job_id) ON DELETE CASCADE,
  attempt INTEGER NOT NULL,
  started_at INTEGER NOT NULL,
  ended_at INTEGER,
  ended_reason TEXT NOT NULL DEFAULT '',
  result_outcome TEXT CHECK (result_outcome IN ('succeeded', 'failed', 'rolled_back',
    'cancelled')),
  result_failure TEXT,
  result_finished_at INTEGER,
  result_detail BLOB,
  PRIMARY KEY (job_id, attempt)
);

CREATE TABLE job_steps (
  job_id TEXT NOT NULL,
  attempt INTEGER NOT NULL,
  step_index INTEGER NOT NULL,
  step TEXT NOT NULL,
  outcome TEXT NOT NULL CHECK (outcome IN ('running', 'succeeded', 'failed', 'skipped',
    'already_done')),
  started_at INTEGER NOT NULL,
  finished_at INTEGER,
  detail TEXT NOT NULL,
  failure TEXT,
  facts TEXT NOT NULL,
  PRIMARY KEY (job_id, attempt, step_index),
  FOREIGN KEY (job_id, attempt) REFERENCES job_attempts (job_id, attempt) ON DELETE CASCADE
);

CREATE TABLE audit_events (
  sequence INTEGER PRIMARY KEY,
  event_id TEXT NOT NULL UNIQUE,
  occurred_at INTEGER NOT NULL,
  actor TEXT NOT NULL,
  action TEXT NOT NULL,
  target TEXT NOT NULL,
  succeeded INTEGER NOT NULL,
  detail TEXT NOT NULL
);
-- Newest first, for everyone or one actor.
CREATE INDEX audit_events_by_time ON audit_events (occurred_at, sequence);
CREATE INDEX audit_events_by_actor ON audit_events (actor, occurred_at, sequence);
)sql";

// Served status from TLS probes, and the indexes of the HTTP API's listings
// and metrics.
constexpr char kProbesAndDashboardIndexes[] = R"sql(
-- The latest TLS probe of each binding. bound_thumbprint is the binding's
-- certificate when the probe was recorded; the store deletes the row when
-- the binding's certificate changes, and reads join on it as well, so a
-- probe never describes a certificate it did not see.
CREATE TABLE binding_probes (
  host_id TEXT NOT NULL,
  binding_id TEXT NOT NULL,
  bound_thumbprint TEXT NOT NULL,
  endpoint TEXT NOT NULL,
  probed_at INTEGER NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('matches', 'mismatch', 'incomplete_chain',
    'unreachable')),
  served_thumbprint TEXT NOT NULL,
  detail TEXT NOT NULL,
  PRIMARY KEY (host_id, binding_id),
  FOREIGN KEY (host_id, binding_id) REFERENCES bindings (host_id, binding_id) ON DELETE CASCADE
) WITHOUT ROWID;
-- Order listings by last change, newest first (the HTTP API's default and
-- its recent failures).
CREATE INDEX orders_by_update ON orders (updated_at, order_id);
-- certfleet_jobs_total: counts by kind and status from the index alone.
CREATE INDEX jobs_by_kind_status ON jobs (kind, status);
)sql";

// Renewal campaigns. A target's order is found through orders.campaign_id
// (orders_by_campaign), so starting a target is one order insert.
constexpr char kCampaigns[] = R"sql(
CREATE TABLE campaigns (
  campaign_id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  description TEXT NOT NULL,
  spec BLOB NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('draft', 'running', 'paused', 'completed', 'aborting',
    'aborted')),
  pause_reason TEXT NOT NULL CHECK (pause_reason IN ('', 'operator', 'failure_budget')),
  state_reason TEXT NOT NULL,
  plan_fingerprint TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  started_at INTEGER,
  finished_at INTEGER,
  updated_at INTEGER NOT NULL,
  created_by TEXT NOT NULL
);
-- Listings, newest first; the engine's "campaigns not finished".
CREATE INDEX campaigns_by_time ON campaigns (created_at, campaign_id);
CREATE INDEX campaigns_by_state ON campaigns (state);

CREATE TABLE campaign_targets (
  campaign_id TEXT NOT NULL REFERENCES campaigns (campaign_id) ON DELETE CASCADE,
  wave_index INTEGER NOT NULL CHECK (wave_index >= 0),
  host_id TEXT NOT NULL REFERENCES hosts (host_id),
  binding_id TEXT NOT NULL,
  site_id TEXT NOT NULL,
  planned_thumbprint TEXT NOT NULL,
  PRIMARY KEY (campaign_id, host_id, binding_id)
) WITHOUT ROWID;
-- "Is this binding in an open campaign?" when planning another one.
CREATE INDEX campaign_targets_by_binding ON campaign_targets (host_id, binding_id);
)sql";

// Webhooks and their durable delivery queue.
constexpr char kWebhooks[] = R"sql(
CREATE TABLE webhooks (
  webhook_id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  url TEXT NOT NULL,
  events TEXT NOT NULL,
  enabled INTEGER NOT NULL CHECK (enabled IN (0, 1)),
  secret TEXT NOT NULL,
  last_delivery_at INTEGER,
  last_delivery_result TEXT NOT NULL,
  consecutive_failures INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);

CREATE TABLE webhook_deliveries (
  delivery_id INTEGER PRIMARY KEY,
  webhook_id TEXT NOT NULL REFERENCES webhooks (webhook_id) ON DELETE CASCADE,
  event_id TEXT NOT NULL,
  event TEXT NOT NULL,
  body TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  next_attempt_at INTEGER NOT NULL,
  attempts INTEGER NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'abandoned')),
  last_result TEXT NOT NULL,
  UNIQUE (webhook_id, event_id)
);
-- The delivery loop: pending deliveries by due time.
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE state = 'pending';
-- "Was this event queued before?"
CREATE INDEX webhook_deliveries_by_event ON webhook_deliveries (event_id);
-- Pruning finished deliveries.
CREATE INDEX webhook_deliveries_by_time ON webhook_deliveries (created_at);
)sql";

// Whether a placement is bound (a binding of its host uses it), stored so
// that "bound certificates expiring within N days" and the fleet's expiry
// buckets walk a partial index of the bound placements instead of checking
// every placement in the range against the bindings. The inventory store
// refreshes the flag whenever a host's bindings or placements change.
constexpr char kBoundPlacements[] = R"sql(
ALTER TABLE certificate_placements ADD COLUMN bound INTEGER NOT NULL DEFAULT 0
  CHECK (bound IN (0, 1));
UPDATE certificate_placements SET bound = EXISTS (SELECT 1 FROM bindings b
  WHERE b.host_id = certificate_placements.host_id
    AND b.certificate_thumbprint = certificate_placements.thumbprint_sha1
    AND b.certificate_store = certificate_placements.store);
-- Bound certificates by notAfter: the HTTP API's default listing, its
-- counts, the dashboard's buckets and timeline.
CREATE INDEX certificate_placements_bound_by_not_after
  ON certificate_placements (not_after, placement_id) WHERE bound = 1;
)sql";

// The bound placements' notAfter index gains host_id, so that the counts
// over bound certificates (CountFleet's buckets, the expiry timeline,
// "expiring within N days" with its total) read the index alone and join
// the host from it instead of fetching every placement row: at 30,000 bound
// certificates that made each of them several times slower
// (docs/performance.md). Listings still walk it in (not_after,
// placement_id) order.
constexpr char kCoveringBoundPlacementIndex[] = R"sql(
DROP INDEX certificate_placements_bound_by_not_after;
CREATE INDEX certificate_placements_bound_by_not_after
  ON certificate_placements (not_after, placement_id, host_id) WHERE bound = 1;
)sql";

constexpr std::array<sqlite::Migration, 6> kMigrations{{
    {1, "initial schema: hosts, tokens, inventory, policies, orders, jobs, audit log",
     kInitialSchema},
    {2, "binding probes; order and job indexes for the HTTP API and metrics",
     kProbesAndDashboardIndexes},
    {3, "renewal campaigns and their targets", kCampaigns},
    {4, "webhooks and their delivery queue", kWebhooks},
    {5, "bound flag on certificate placements, indexed by notAfter", kBoundPlacements},
    {6, "host_id in the bound placements' notAfter index, for counts from the index alone",
     kCoveringBoundPlacementIndex},
}};

}  // namespace

std::span<const sqlite::Migration> StoreMigrations() { return kMigrations; }

}  // namespace certfleet::controller::store::sqlite_backend
