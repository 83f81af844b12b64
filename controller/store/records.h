// Plain records the controller's store reads and writes: hosts and their
// agent identities, join tokens, the inventory (sites, bindings, certificates,
// pending requests, binding history), renewal policies, orders with their
// state history, jobs with attempts and step reports, and audit events.
//
// These are storage records, independent of any database and of the wire
// format: the service layer converts them to and from certfleet.v1 messages.
// Where a wire message nests a structure that the store never queries (host
// capabilities, a job's spec and result detail, a failure's diagnosis, a
// policy's subject template), the record keeps the serialized message as
// opaque bytes so the store need not follow every change to the .proto
// files.
//
// Conventions:
// - Identifiers are strings. The store generates them (GenerateId in
//   ids.h) as a kind prefix and 32 lower-case hex digits of a random 128-bit
//   value, e.g. "order-3f2a...". Random ids need no coordination between
//   controller replicas (a later PostgreSQL backend), cannot be guessed, and
//   the prefix makes a job id passed where an order id belongs fail loudly.
//   Host ids are chosen by the caller with GenerateId(IdKind::kHost) because
//   the agent's certificate must name the host before the host is stored.
//   Site and binding ids are host-local and come from the host's driver.
// - Times are absl::Time (UTC), passed in by callers: the store never reads
//   the clock, so tests drive it with a fake clock. An empty optional means
//   "not set".
// - Thumbprints are SHA-1 of the DER as 40 upper-case hex digits; the store
//   upper-cases thumbprints and fingerprints it is given.
// - No record has a field for a private key: certificates carry public DER
//   only.
//
// Thread safety: plain values.

#ifndef CERTFLEET_CONTROLLER_STORE_RECORDS_H_
#define CERTFLEET_CONTROLLER_STORE_RECORDS_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace certfleet::controller::store {

// ---------------------------------------------------------------------------
// Shared pieces
// ---------------------------------------------------------------------------

// Page size used when a request leaves it at 0, and the largest allowed.
inline constexpr int kDefaultPageSize = 100;
inline constexpr int kMaximumPageSize = 1000;

// Which page of a listing to return. Listings use keyset pagination: the
// token names the last item returned, so pages stay consistent while rows
// are added. A token is only valid for the listing (and filters) that
// produced it; a foreign or damaged token is InvalidArgument.
struct PageRequest {
  // 0: kDefaultPageSize; larger than kMaximumPageSize: capped.
  int page_size = 0;
  // Empty for the first page; otherwise Page::next_page_token.
  std::string page_token;
};

template <typename Item>
struct Page {
  std::vector<Item> items;
  // Empty on the last page.
  std::string next_page_token;
  // Number of items matching the filters over all pages.
  int64_t total_size = 0;
};

// Why something failed (certfleet.v1.Failure).
struct FailureRecord {
  // The FailureCode's name as the caller chose to spell it, e.g.
  // "FAILURE_CODE_UNEXPECTED_HOST_STATE". Not interpreted by the store.
  std::string code;
  std::string message;
  bool retryable = false;
  // Serialized certfleet.v1.Diagnosis; empty when none.
  std::string diagnosis;

  friend bool operator==(const FailureRecord&, const FailureRecord&) = default;
};

// An X.509 name split into the attributes certfleet uses.
struct DistinguishedNameRecord {
  std::string common_name;
  std::string organization;
  std::string organizational_unit;
  std::string locality;
  std::string state_or_province;
  std::string country;
  std::string email_address;

  friend bool operator==(const DistinguishedNameRecord&, const DistinguishedNameRecord&) = default;
};

// Selects hosts (certfleet.v1.HostSelector): every condition set must hold.
struct HostSelectorRecord {
  std::map<std::string, std::string> labels;
  // Shell-style pattern ('*', '?'), case-insensitive; empty: any name.
  std::string hostname_pattern;
  std::vector<std::string> host_ids;

  friend bool operator==(const HostSelectorRecord&, const HostSelectorRecord&) = default;
};

// ---------------------------------------------------------------------------
// Hosts
// ---------------------------------------------------------------------------

enum class HostState { kActive, kDecommissioned };

// What a host runs (certfleet.v1.Platform).
struct PlatformRecord {
  std::string driver;
  std::string web_server;
  std::string operating_system;
  std::string operating_system_version;
  std::string remote_address;
  std::vector<std::string> installed_updates;

  friend bool operator==(const PlatformRecord&, const PlatformRecord&) = default;
};

// The agent's current client certificate.
struct AgentIdentityRecord {
  // Serial number, upper-case hex.
  std::string certificate_serial;
  // SHA-256 of the certificate's DER, 64 upper-case hex digits.
  std::string certificate_sha256;
  absl::Time expires_at = absl::UnixEpoch();

  friend bool operator==(const AgentIdentityRecord&, const AgentIdentityRecord&) = default;
};

struct HostRecord {
  std::string host_id;
  // Unique in the fleet, compared case-insensitively.
  std::string hostname;
  std::map<std::string, std::string> labels;
  PlatformRecord platform;
  // Serialized certfleet.v1.HostCapabilities.
  std::string capabilities;
  std::string agent_version;
  AgentIdentityRecord identity;
  HostState state = HostState::kActive;
  bool online = false;
  std::optional<absl::Time> last_seen_at;
  absl::Time enrolled_at = absl::UnixEpoch();
  // The join token of the last enrollment.
  std::string join_token_id;
  // Content hash and agent-clock scan time of the last applied or unchanged
  // inventory report; empty / unset before the first one.
  std::string inventory_content_hash;
  std::optional<absl::Time> inventory_scanned_at;
  // When the controller last stored a report (changed or not).
  std::optional<absl::Time> last_inventory_at;
  // Set while the last scan failed; the previous inventory is kept.
  std::optional<FailureRecord> last_inventory_failure;
  std::optional<absl::Time> decommissioned_at;
  std::string decommission_reason;
};

// Everything EnrollHost needs: the join token to consume and the new host.
struct HostEnrollment {
  // From GenerateId(IdKind::kHost), or the id of the decommissioned host of
  // the same name when re-enrolling it.
  std::string host_id;
  std::string hostname;
  // SHA-256 of the join token's secret (HashJoinTokenSecret).
  std::string join_token_secret_sha256;
  // The agent's labels; the token's labels win on conflict.
  std::map<std::string, std::string> labels;
  PlatformRecord platform;
  std::string capabilities;
  std::string agent_version;
  AgentIdentityRecord identity;
  absl::Time enrolled_at = absl::UnixEpoch();
};

// What an agent says about itself in every Hello.
struct AgentDescription {
  std::string agent_version;
  PlatformRecord platform;
  std::string capabilities;
};

// Whether a host's agent is connected.
enum class Presence { kOnline, kOffline };

enum class Connectivity { kAny, kOnline, kOffline };

struct HostQuery {
  HostSelectorRecord selector;
  Connectivity connectivity = Connectivity::kAny;
  bool include_decommissioned = false;
  PageRequest page;
};

struct HostHeartbeat {
  std::string host_id;
  absl::Time seen_at = absl::UnixEpoch();
};

// ---------------------------------------------------------------------------
// Join tokens
// ---------------------------------------------------------------------------

enum class JoinTokenState { kActive, kUsed, kExpired, kRevoked };

struct JoinTokenRecord {
  std::string token_id;
  // SHA-256 of the secret; the secret itself is never stored.
  std::string secret_sha256;
  std::string description;
  // Empty: any host name may use it.
  std::string bound_hostname;
  std::map<std::string, std::string> labels;
  absl::Time created_at = absl::UnixEpoch();
  absl::Time expires_at = absl::UnixEpoch();
  std::string created_by;
  std::optional<absl::Time> used_at;
  std::string used_by_host_id;
  std::string used_by_hostname;
  std::optional<absl::Time> revoked_at;

  // Used and revoked win over expired; expired means expires_at <= now.
  JoinTokenState StateAt(absl::Time now) const;
};

struct NewJoinToken {
  std::string secret_sha256;
  std::string description;
  std::string bound_hostname;
  std::map<std::string, std::string> labels;
  absl::Time created_at = absl::UnixEpoch();
  absl::Time expires_at = absl::UnixEpoch();
  std::string created_by;
};

struct JoinTokenQuery {
  // Empty: every state.
  std::vector<JoinTokenState> states;
  // The time states are judged at.
  absl::Time now = absl::UnixEpoch();
  PageRequest page;
};

// ---------------------------------------------------------------------------
// Inventory
// ---------------------------------------------------------------------------

// Certificate stores as IIS 6 / CryptoAPI name them.
enum class CertificateStoreName { kMy, kCa, kRoot, kRequest };

struct SiteRecord {
  std::string site_id;
  std::string name;
  // The SiteState name as the caller spells it ("started", "stopped", ...).
  std::string state;
  bool auto_start = false;
  std::string content_path;
  std::string configuration_location;
  bool temporary = false;
  std::string temporary_for_order_id;

  friend bool operator==(const SiteRecord&, const SiteRecord&) = default;
};

struct EndpointRecord {
  std::string ip_address;
  int port = 0;
  std::string host_header;

  friend bool operator==(const EndpointRecord&, const EndpointRecord&) = default;
};

// What a TLS probe of a binding's secure endpoint found, compared with the
// certificate the binding names.
enum class ServedStatus {
  // The bound certificate is served with a complete chain.
  kMatches,
  // Another certificate is served.
  kMismatch,
  // The bound certificate is served but its chain is incomplete.
  kIncompleteChain,
  // No TLS handshake could be completed.
  kUnreachable,
};

// The latest probe of one binding (one per host and binding; a new probe
// replaces it). A probe describes the certificate the binding had when it
// was recorded: once the binding's thumbprint changes the probe is dropped,
// and the binding reads as not probed until the next one.
struct BindingProbeRecord {
  std::string host_id;
  std::string binding_id;
  // The endpoint probed, "ip:port".
  std::string endpoint;
  absl::Time probed_at = absl::UnixEpoch();
  ServedStatus status = ServedStatus::kUnreachable;
  // Thumbprint of the leaf served; empty when unreachable.
  std::string served_thumbprint;
  // What the probe saw, for people ("served CN=old.example.com", "connection refused").
  std::string detail;

  friend bool operator==(const BindingProbeRecord&, const BindingProbeRecord&) = default;
};

struct BindingRecord {
  std::string binding_id;
  std::string site_id;
  std::vector<EndpointRecord> secure_endpoints;
  std::vector<EndpointRecord> plain_endpoints;
  // Empty when the site has no certificate.
  std::string certificate_thumbprint;
  CertificateStoreName certificate_store = CertificateStoreName::kMy;
  bool has_pending_request = false;
  // Filled by the store on reads: when the binding was first seen, and since
  // when it has had its current thumbprint.
  absl::Time first_seen_at = absl::UnixEpoch();
  absl::Time thumbprint_since = absl::UnixEpoch();
  // Filled by the store on reads: the site's name.
  std::string site_name;
  // Filled by the store on reads: the latest probe while it describes the
  // current thumbprint; empty when the binding was never probed since its
  // certificate last changed. Ignored in inventory reports.
  std::optional<BindingProbeRecord> last_probe;
};

// Every field the certificate toolkit extracts (certfleet.v1.CertificateInfo)
// and where the certificate was found.
struct CertificateRecord {
  // Where: filled by the store on reads; ignored in inventory reports
  // (host_id comes from the report).
  std::string host_id;
  std::string hostname;
  CertificateStoreName store = CertificateStoreName::kMy;
  bool has_private_key = false;
  absl::Time first_seen_at = absl::UnixEpoch();

  std::string thumbprint_sha1;
  std::string fingerprint_sha256;
  std::string subject;
  DistinguishedNameRecord subject_name;
  std::string issuer;
  DistinguishedNameRecord issuer_name;
  std::string serial_number;
  absl::Time not_before = absl::UnixEpoch();
  absl::Time not_after = absl::UnixEpoch();
  // As the toolkit writes them: "DNS:www.example.com", "IP:10.0.0.5", ...
  std::vector<std::string> subject_alternative_names;
  // The KeyAlgorithm / SignatureHash / CertificateKind names as the caller
  // spells them ("RSA", "SHA256", "LEAF").
  std::string key_algorithm;
  int key_bits = 0;
  std::string signature_algorithm;
  std::string signature_hash;
  bool is_ca = false;
  std::optional<int> path_length_constraint;
  std::string kind;
  std::string public_key_sha256;
  std::string subject_key_identifier;
  std::string authority_key_identifier;
  std::vector<std::string> extended_key_usages;
  // DER of the public certificate. Listings leave it empty unless asked.
  std::string der;
  // Filled by ListCertificates when CertificateQuery::include_bindings: the
  // bindings of host_id that use this certificate (same thumbprint and
  // store), by binding id, with site names and last probes.
  std::vector<BindingRecord> bindings;
};

// A pending certificate request on a host (certfleet.v1.PendingRequest).
struct PendingRequestRecord {
  std::string site_id;
  std::string public_key_sha256;
  DistinguishedNameRecord subject;
  std::vector<std::string> subject_alternative_names;
  std::string key_spec;
  std::optional<absl::Time> created_at;
  std::string placeholder_thumbprint;
  std::string csr_pem;
  std::string order_id;
  // Filled by the store on reads.
  std::string host_id;

  friend bool operator==(const PendingRequestRecord&, const PendingRequestRecord&) = default;
};

// One scan of a host, as the agent reported it.
struct InventoryReport {
  std::string host_id;
  // Agent clock; a report scanned before the stored one is ignored.
  absl::Time scanned_at = absl::UnixEpoch();
  // The agent's hash of the content; equal hashes mean nothing changed.
  std::string content_hash;
  // Set when the scan failed: the rest is then ignored and the previous
  // inventory kept.
  std::optional<FailureRecord> scan_failure;
  std::vector<SiteRecord> sites;
  std::vector<BindingRecord> bindings;
  // Every certificate of every store; one entry per store it is in.
  std::vector<CertificateRecord> certificates;
  std::vector<PendingRequestRecord> pending_requests;
  PlatformRecord platform;
};

enum class InventoryDisposition { kApplied, kUnchanged, kStale, kScanFailureRecorded };

struct InventoryIngestResult {
  InventoryDisposition disposition = InventoryDisposition::kApplied;
  // The content hash the store holds for the host afterwards.
  std::string stored_content_hash;
  // Binding history rows this report appended.
  int binding_changes = 0;
};

// A change of a binding's certificate.
struct BindingChangeRecord {
  std::string host_id;
  std::string binding_id;
  std::string site_id;
  absl::Time changed_at = absl::UnixEpoch();
  // Empty: no certificate.
  std::string old_thumbprint;
  std::string new_thumbprint;
  // The order that made the change; empty when only an inventory showed it.
  std::string order_id;

  friend bool operator==(const BindingChangeRecord&, const BindingChangeRecord&) = default;
};

// Which certificates a listing includes.
enum class CertificateScope {
  // Every certificate in every store.
  kAll,
  // Certificates in MY.
  kServer,
  // Certificates a binding of the same host uses.
  kBound,
};

enum class CertificateSortKey { kNotAfter, kHostname, kSubject, kIssuer };
enum class SortDirection { kAscending, kDescending };

struct CertificateQuery {
  // Only certificates whose notAfter is before this (already expired ones
  // included). ExpiringWithin() fills it from a now and a duration.
  std::optional<absl::Time> not_after_before;
  std::string host_id;
  // Case-insensitive substrings.
  std::string issuer_contains;
  // Matches the subject or any subjectAltName.
  std::string subject_contains;
  std::string thumbprint;
  std::string public_key_sha256;
  CertificateScope scope = CertificateScope::kAll;
  CertificateSortKey sort_key = CertificateSortKey::kNotAfter;
  SortDirection direction = SortDirection::kAscending;
  bool include_der = false;
  // Fill CertificateRecord::bindings (one indexed query per item).
  bool include_bindings = false;
  bool include_decommissioned_hosts = false;
  // False: Page::total_size is left at 0, which saves a count over every
  // match when a caller walks all pages (exports, metrics).
  bool count_total_size = true;
  PageRequest page;
};

// Certificates by time left; the buckets do not overlap.
struct ExpiryBucketCounts {
  int64_t expired = 0;
  int64_t under_7_days = 0;
  int64_t under_30_days = 0;
  int64_t under_90_days = 0;
  int64_t later = 0;

  friend bool operator==(const ExpiryBucketCounts&, const ExpiryBucketCounts&) = default;
};

// Bindings with a certificate, by what their latest probe found.
struct ServedStatusCounts {
  int64_t matches = 0;
  int64_t mismatch = 0;
  int64_t incomplete_chain = 0;
  int64_t unreachable = 0;
  // Never probed, or probed before the binding's certificate changed.
  int64_t not_probed = 0;

  friend bool operator==(const ServedStatusCounts&, const ServedStatusCounts&) = default;
};

// One bucket of the expiry timeline: bound certificates whose notAfter is in
// [start, start + width).
struct ExpiryTimelineBucket {
  absl::Time start = absl::UnixEpoch();
  int64_t count = 0;

  friend bool operator==(const ExpiryTimelineBucket&, const ExpiryTimelineBucket&) = default;
};

struct FleetCounts {
  // Hosts not decommissioned.
  int64_t hosts = 0;
  int64_t agents_online = 0;
  int64_t agents_offline = 0;
  int64_t hosts_with_inventory_failure = 0;
  // Bound certificates (one per host and certificate).
  ExpiryBucketCounts certificates_by_expiry;
};

// ---------------------------------------------------------------------------
// Renewal policies
// ---------------------------------------------------------------------------

inline constexpr std::string_view kDefaultPolicyName = "default";

struct PolicyRecord {
  // Lower-case letters, digits and '-'.
  std::string name;
  std::string description;
  HostSelectorRecord hosts;
  int priority = 0;
  // Renew when this fraction of the lifetime remains, in (0, 1).
  double renew_when_remaining_fraction = 1.0 / 3.0;
  std::optional<absl::Duration> renew_before;
  std::optional<absl::Duration> jitter;
  // The KeySpec / SignatureHash names as the caller spells them
  // ("RSA_2048", "SHA256").
  std::string key_spec;
  std::string signature_hash;
  std::string connector;
  std::string ca_product;
  std::optional<absl::Duration> initial_backoff;
  std::optional<absl::Duration> maximum_backoff;
  // Serialized certfleet.v1.RenewalPolicy holding what the store does not
  // query (subject template, restart policy, backup spec).
  std::string settings;
  std::optional<absl::Time> updated_at;
  std::string updated_by;
};

// ---------------------------------------------------------------------------
// Orders
// ---------------------------------------------------------------------------

// due -> csr_requested -> awaiting_issuance -> issued -> deploying ->
// verifying -> done, with failed / rolled_back / cancelled (see
// IsAllowedOrderTransition).
enum class OrderState {
  kDue,
  kCsrRequested,
  kAwaitingIssuance,
  kIssued,
  kDeploying,
  kVerifying,
  kDone,
  kFailed,
  kRolledBack,
  kCancelled,
};

enum class OrderTrigger { kSchedule, kOperator, kCampaign, kRetry };

// One entry of an order's state history.
struct OrderStateChange {
  // Unset for the entry that created the order.
  std::optional<OrderState> from;
  OrderState to = OrderState::kDue;
  absl::Time changed_at = absl::UnixEpoch();
  std::string reason;
  // "scheduler", "agent", "connector local", or an admin name.
  std::string actor;

  friend bool operator==(const OrderStateChange&, const OrderStateChange&) = default;
};

struct OrderRecord {
  std::string order_id;
  std::string host_id;
  std::string site_id;
  std::string binding_id;
  OrderState state = OrderState::kDue;
  // True until the order is done, rolled back, cancelled, or failed with no
  // retry planned. At most one open order per binding.
  bool open = true;
  OrderTrigger trigger = OrderTrigger::kSchedule;
  std::string campaign_id;
  std::string policy_name;
  std::string connector;
  std::string ca_product;
  // What the new certificate is requested with.
  DistinguishedNameRecord subject;
  std::vector<std::string> subject_alternative_names;
  std::string key_spec;
  std::string signature_hash;
  // Thumbprint bound when the order was made.
  std::string previous_thumbprint;
  // From the prepare job.
  std::string temporary_site_id;
  std::string csr_pem;
  std::string public_key_sha256;
  // From issuance.
  std::string certificate_pem;
  // Intermediates then root, PEM, nearest to the leaf first.
  std::string chain_pem;
  std::string issued_thumbprint;
  // Times the order went from due to csr_requested.
  int attempts = 0;
  // Times the order entered failed.
  int failed_attempts = 0;
  // When the scheduler acts next; set only while due or failed.
  std::optional<absl::Time> next_attempt_at;
  std::optional<absl::Time> deploy_not_before;
  std::optional<FailureRecord> last_failure;
  // Serialized certfleet.v1.ProbeResult of the controller's own check.
  std::string external_probe;
  absl::Time created_at = absl::UnixEpoch();
  absl::Time updated_at = absl::UnixEpoch();
  std::string created_by;
  // Oldest first. Filled by GetOrder; empty in listings.
  std::vector<OrderStateChange> history;
};

struct NewOrder {
  std::string host_id;
  std::string site_id;
  std::string binding_id;
  OrderTrigger trigger = OrderTrigger::kSchedule;
  std::string campaign_id;
  std::string policy_name;
  std::string connector;
  std::string ca_product;
  DistinguishedNameRecord subject;
  std::vector<std::string> subject_alternative_names;
  std::string key_spec;
  std::string signature_hash;
  std::string previous_thumbprint;
  // When the scheduler may start it; unset: at once (created_at).
  std::optional<absl::Time> next_attempt_at;
  std::optional<absl::Time> deploy_not_before;
  absl::Time created_at = absl::UnixEpoch();
  std::string created_by;
  // For the history entry.
  std::string reason;
};

// A state change with what it brings. Fields left unset are not changed.
struct OrderTransition {
  std::string order_id;
  // When set, the order must be in this state (compare-and-set, so that two
  // actors cannot both advance the same order).
  std::optional<OrderState> expected_state;
  OrderState to = OrderState::kDue;
  absl::Time at = absl::UnixEpoch();
  std::string reason;
  std::string actor;

  std::optional<std::string> temporary_site_id;
  std::optional<std::string> csr_pem;
  std::optional<std::string> public_key_sha256;
  std::optional<std::string> certificate_pem;
  std::optional<std::string> chain_pem;
  std::optional<std::string> issued_thumbprint;
  std::optional<std::string> external_probe;
  // Recorded as last_failure (entering failed or rolled_back).
  std::optional<FailureRecord> failure;
  // Entering due or failed: when the scheduler acts next. Entering failed
  // without it means no retry is planned, which closes the order.
  std::optional<absl::Time> next_attempt_at;
  std::optional<absl::Time> deploy_not_before;
};

// Which time order listings are sorted by, newest first.
enum class OrderSortKey { kCreatedAt, kUpdatedAt };

struct OrderQuery {
  // Empty: every state.
  std::vector<OrderState> states;
  // Only open orders (OrderRecord::open).
  bool open_only = false;
  OrderSortKey sort_key = OrderSortKey::kCreatedAt;
  std::string host_id;
  std::string site_id;
  std::string binding_id;
  std::string campaign_id;
  PageRequest page;
};

// Durations of finished orders as a cumulative histogram (Prometheus
// style): cumulative_counts[i] orders took at most upper_bounds[i].
struct DurationHistogram {
  // Ascending.
  std::vector<absl::Duration> upper_bounds;
  std::vector<int64_t> cumulative_counts;
  // Every order counted, and the sum of their durations.
  int64_t count = 0;
  absl::Duration sum = absl::ZeroDuration();
};

// ---------------------------------------------------------------------------
// Jobs
// ---------------------------------------------------------------------------

enum class JobKind { kInventory, kPrepare, kDeploy, kRollback, kProbe, kCleanup };

enum class JobStatus { kQueued, kRunning, kSucceeded, kFailed, kRolledBack, kCancelled };

enum class JobOutcome { kSucceeded, kFailed, kRolledBack, kCancelled };

enum class StepOutcome { kRunning, kSucceeded, kFailed, kSkipped, kAlreadyDone };

// One step of a job attempt (certfleet.v1.StepReport).
struct StepReportRecord {
  // Position in the attempt, from 0; with job and attempt it identifies the
  // report.
  int step_index = 0;
  // The StepName as the caller spells it ("REPLACE_BINDING").
  std::string step;
  StepOutcome outcome = StepOutcome::kRunning;
  absl::Time started_at = absl::UnixEpoch();
  std::optional<absl::Time> finished_at;
  std::string detail;
  std::optional<FailureRecord> failure;
  std::map<std::string, std::string> facts;

  friend bool operator==(const StepReportRecord&, const StepReportRecord&) = default;
};

// How an attempt ended (certfleet.v1.JobResult).
struct JobResultRecord {
  JobOutcome outcome = JobOutcome::kSucceeded;
  std::optional<FailureRecord> failure;
  // Agent clock.
  absl::Time finished_at = absl::UnixEpoch();
  // Serialized kind-specific result (certfleet.v1.JobResult as a whole).
  std::string detail;

  friend bool operator==(const JobResultRecord&, const JobResultRecord&) = default;
};

struct JobAttemptRecord {
  int64_t attempt = 0;
  absl::Time started_at = absl::UnixEpoch();
  std::optional<absl::Time> ended_at;
  // Why it ended without a result ("lease expired at ...", "released: ...").
  std::string ended_reason;
  std::optional<JobResultRecord> result;
  // In step_index order.
  std::vector<StepReportRecord> steps;
};

struct JobRecord {
  std::string job_id;
  std::string host_id;
  // Empty for jobs outside an order.
  std::string order_id;
  JobKind kind = JobKind::kInventory;
  JobStatus status = JobStatus::kQueued;
  // Serialized certfleet.v1.JobSpec.
  std::string spec;
  absl::Time created_at = absl::UnixEpoch();
  std::string created_by;
  // Not leased before this time (maintenance windows); unset: any time.
  std::optional<absl::Time> not_before;
  // The current (or last) attempt; 0 until first leased. The fencing token.
  int64_t attempt = 0;
  std::optional<absl::Time> lease_granted_at;
  std::optional<absl::Time> lease_expires_at;
  std::optional<absl::Time> cancel_requested_at;
  std::string cancel_reason;
  std::optional<absl::Time> finished_at;
  // The final attempt's result; unset until the job ends with one.
  std::optional<JobResultRecord> result;
  // Every attempt, oldest first, with steps. Filled by GetJob only.
  std::vector<JobAttemptRecord> attempts;
};

struct NewJob {
  std::string host_id;
  std::string order_id;
  JobKind kind = JobKind::kInventory;
  std::string spec;
  absl::Time created_at = absl::UnixEpoch();
  std::string created_by;
  std::optional<absl::Time> not_before;
};

// A step report as it arrives from the agent.
struct StepSubmission {
  std::string job_id;
  int64_t attempt = 0;
  StepReportRecord step;
  // The lease's new end (the caller adds the lease duration to now); the
  // lease is never shortened.
  absl::Time lease_expires_at = absl::UnixEpoch();
};

struct StepSubmissionResult {
  // False when the same report was already stored (a repeat).
  bool newly_recorded = false;
  absl::Time lease_expires_at = absl::UnixEpoch();
  // True when the job has been cancelled; the agent stops at a safe point.
  bool cancellation_requested = false;
};

struct JobCompletion {
  std::string job_id;
  int64_t attempt = 0;
  JobResultRecord result;
  // Controller clock when the completion arrived.
  absl::Time received_at = absl::UnixEpoch();
};

struct JobCompletionResult {
  // False when the same result had already been recorded (a repeat after a
  // lost answer); nothing changed then.
  bool newly_recorded = false;
  JobRecord job;
};

struct JobQuery {
  std::string host_id;
  std::string order_id;
  std::optional<JobKind> kind;
  // Empty: every status.
  std::vector<JobStatus> statuses;
  PageRequest page;
};

// How many jobs of one kind are in one status.
struct JobCountRecord {
  JobKind kind = JobKind::kInventory;
  JobStatus status = JobStatus::kQueued;
  int64_t count = 0;

  friend bool operator==(const JobCountRecord&, const JobCountRecord&) = default;
};

// ---------------------------------------------------------------------------
// Audit log
// ---------------------------------------------------------------------------

struct AuditEventRecord {
  std::string event_id;
  absl::Time occurred_at = absl::UnixEpoch();
  // The admin identity's name.
  std::string actor;
  // The RPC, e.g. "CreateJoinToken".
  std::string action;
  // What it acted on ("host host-12...", "token token-3...").
  std::string target;
  bool succeeded = true;
  std::string detail;
};

struct AuditQuery {
  // Only this actor's; empty: everyone's.
  std::string actor;
  // Only events at or after this time.
  std::optional<absl::Time> since;
  PageRequest page;
};

// ---------------------------------------------------------------------------
// Names of enum values, as stored and as shown in messages ("due",
// "csr_requested", "MY", ...), and their parsers (InvalidArgument for an
// unknown name).
// ---------------------------------------------------------------------------

std::string_view ToString(HostState state);
std::string_view ToString(JoinTokenState state);
std::string_view ToString(CertificateStoreName store);
std::string_view ToString(OrderState state);
std::string_view ToString(OrderTrigger trigger);
std::string_view ToString(JobKind kind);
std::string_view ToString(JobStatus status);
std::string_view ToString(JobOutcome outcome);
std::string_view ToString(StepOutcome outcome);
std::string_view ToString(InventoryDisposition disposition);
std::string_view ToString(ServedStatus status);

absl::StatusOr<HostState> ParseHostState(std::string_view name);
absl::StatusOr<CertificateStoreName> ParseCertificateStoreName(std::string_view name);
absl::StatusOr<OrderState> ParseOrderState(std::string_view name);
absl::StatusOr<OrderTrigger> ParseOrderTrigger(std::string_view name);
absl::StatusOr<JobKind> ParseJobKind(std::string_view name);
absl::StatusOr<JobStatus> ParseJobStatus(std::string_view name);
absl::StatusOr<JobOutcome> ParseJobOutcome(std::string_view name);
absl::StatusOr<StepOutcome> ParseStepOutcome(std::string_view name);
absl::StatusOr<ServedStatus> ParseServedStatus(std::string_view name);

// ---------------------------------------------------------------------------
// Order state rules, shared by every backend.
// ---------------------------------------------------------------------------

// Done, rolled back and cancelled are final. Failed is final only when no
// retry is planned, which OrderRecord::open captures.
bool IsFinalOrderState(OrderState state);

// Whether the order graph has an edge `from` -> `to`:
//   due -> csr_requested -> awaiting_issuance -> issued -> deploying ->
//   verifying -> done; deploying or verifying -> rolled_back; any open state
//   -> failed or cancelled; failed -> due (retry).
bool IsAllowedOrderTransition(OrderState from, OrderState to);

// The job status an outcome finishes a job with.
JobStatus JobStatusForOutcome(JobOutcome outcome);

}  // namespace certfleet::controller::store

#endif  // CERTFLEET_CONTROLLER_STORE_RECORDS_H_
