#include "controller/store/sqlite/sqlite_inventory_store.h"

#include <map>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "controller/store/sqlite/row_codec.h"
#include "controller/store/sqlite/shared_queries.h"

namespace certfleet::controller::store::sqlite_backend {
namespace {

using sqlite::Database;
using sqlite::Statement;

// ----- Reading rows --------------------------------------------------------

constexpr char kSiteColumns[] =
    "site_id, name, state, auto_start, content_path, configuration_location, temporary, "
    "temporary_for_order_id";

SiteRecord SiteFromRow(const Statement& row) {
  SiteRecord site;
  site.site_id = row.ColumnText(0);
  site.name = row.ColumnText(1);
  site.state = row.ColumnText(2);
  site.auto_start = row.ColumnBool(3);
  site.content_path = row.ColumnText(4);
  site.configuration_location = row.ColumnText(5);
  site.temporary = row.ColumnBool(6);
  site.temporary_for_order_id = row.ColumnText(7);
  return site;
}

// A probe counts only while it describes the binding's current thumbprint
// (the row is also deleted when the thumbprint changes).
constexpr char kBindingSelect[] =
    "SELECT b.binding_id, b.site_id, b.secure_endpoints, b.plain_endpoints, "
    "b.certificate_thumbprint, b.certificate_store, b.has_pending_request, b.first_seen_at, "
    "b.thumbprint_since, coalesce(s.name, ''), b.host_id, pr.endpoint, pr.probed_at, pr.status, "
    "pr.served_thumbprint, pr.detail FROM bindings b LEFT JOIN sites s ON "
    "s.host_id = b.host_id AND s.site_id = b.site_id LEFT JOIN binding_probes pr ON "
    "pr.host_id = b.host_id AND pr.binding_id = b.binding_id AND "
    "pr.bound_thumbprint = b.certificate_thumbprint";

BindingRecord BindingFromRow(const Statement& row) {
  BindingRecord binding;
  binding.binding_id = row.ColumnText(0);
  binding.site_id = row.ColumnText(1);
  binding.secure_endpoints = DecodeEndpoints(row.ColumnText(2));
  binding.plain_endpoints = DecodeEndpoints(row.ColumnText(3));
  binding.certificate_thumbprint = row.ColumnText(4);
  binding.certificate_store =
      ParseCertificateStoreName(row.ColumnText(5)).value_or(CertificateStoreName::kMy);
  binding.has_pending_request = row.ColumnBool(6);
  binding.first_seen_at = row.ColumnTime(7);
  binding.thumbprint_since = row.ColumnTime(8);
  binding.site_name = row.ColumnText(9);
  if (std::optional<absl::Time> probed_at = row.ColumnOptionalTime(12); probed_at.has_value()) {
    BindingProbeRecord probe;
    probe.host_id = row.ColumnText(10);
    probe.binding_id = binding.binding_id;
    probe.endpoint = row.ColumnText(11);
    probe.probed_at = *probed_at;
    probe.status = ParseServedStatus(row.ColumnText(13)).value_or(ServedStatus::kUnreachable);
    probe.served_thumbprint = row.ColumnText(14);
    probe.detail = row.ColumnText(15);
    binding.last_probe = std::move(probe);
  }
  return binding;
}

// The bindings of `host_id` using the certificate with `thumbprint` in
// `store` (bindings_by_certificate), by binding id.
absl::StatusOr<std::vector<BindingRecord>> SelectBindingsUsing(Database& database,
                                                               std::string_view host_id,
                                                               std::string_view thumbprint,
                                                               CertificateStoreName store) {
  CERTFLEET_STORE_ASSIGN_OR_RETURN(
      Statement select,
      database.Prepare(absl::StrCat(kBindingSelect,
                                    " WHERE b.host_id = ? AND b.certificate_thumbprint = ? AND "
                                    "b.certificate_store = ? ORDER BY b.binding_id")));
  select.BindText(1, host_id).BindText(2, thumbprint).BindText(3, std::string(ToString(store)));
  std::vector<BindingRecord> bindings;
  while (true) {
    CERTFLEET_STORE_ASSIGN_OR_RETURN(bool row, select.Step());
    if (!row) break;
    bindings.push_back(BindingFromRow(select));
  }
  return bindings;
}

// Drops the probe of a binding whose certificate changed.
absl::Status DeleteBindingProbe(Database& database, std::string_view host_id,
                                std::string_view binding_id) {
  CERTFLEET_STORE_ASSIGN_OR_RETURN(
      Statement remove,
      database.Prepare("DELETE FROM binding_probes WHERE host_id = ? AND binding_id = ?"));
  remove.BindText(1, host_id).BindText(2, binding_id);
  return remove.Run();
}

// "The certificate is bound on its host": the stored flag (migration 5),
// which RefreshBoundFlags keeps equal to "a binding of the placement's host
// names its thumbprint and store". Served by the partial index
// certificate_placements_bound_by_not_after.
constexpr char kPlacementIsBound[] = "p.bound = 1";

// Recomputes the bound flag of every placement of `host_id` after its
// bindings or placements changed.
absl::Status RefreshBoundFlags(Database& database, std::string_view host_id) {
  CERTFLEET_STORE_ASSIGN_OR_RETURN(
      Statement update,
      database.Prepare(
          "UPDATE certificate_placements SET bound = EXISTS (SELECT 1 FROM bindings b WHERE "
          "b.host_id = certificate_placements.host_id AND b.certificate_thumbprint = "
          "certificate_placements.thumbprint_sha1 AND b.certificate_store = "
          "certificate_placements.store) WHERE host_id = ?"));
  update.BindText(1, host_id);
  return update.Run();
}

constexpr char kPendingRequestColumns[] =
    "host_id, site_id, public_key_sha256, subject, subject_alternative_names, key_spec, "
    "created_at, placeholder_thumbprint, csr_pem, order_id";

PendingRequestRecord PendingRequestFromRow(const Statement& row) {
  PendingRequestRecord request;
  request.host_id = row.ColumnText(0);
  request.site_id = row.ColumnText(1);
  request.public_key_sha256 = row.ColumnText(2);
  request.subject = DecodeDistinguishedName(row.ColumnText(3));
  request.subject_alternative_names = DecodeStringList(row.ColumnText(4));
  request.key_spec = row.ColumnText(5);
  request.created_at = row.ColumnOptionalTime(6);
  request.placeholder_thumbprint = row.ColumnText(7);
  request.csr_pem = row.ColumnText(8);
  request.order_id = row.ColumnText(9);
  return request;
}

// Placement columns first, then the certificate's; the last column is the
// DER or an empty blob.
constexpr char kCertificateColumns[] =
    "p.placement_id, p.host_id, h.hostname, p.store, p.has_private_key, p.first_seen_at, "
    "c.thumbprint_sha1, c.fingerprint_sha256, c.subject, c.subject_name, c.issuer, "
    "c.issuer_name, c.serial_number, c.not_before, c.not_after, c.subject_alternative_names, "
    "c.key_algorithm, c.key_bits, c.signature_algorithm, c.signature_hash, c.is_ca, "
    "c.path_length_constraint, c.kind, c.public_key_sha256, c.subject_key_identifier, "
    "c.authority_key_identifier, c.extended_key_usages";

CertificateRecord CertificateFromRow(const Statement& row) {
  CertificateRecord certificate;
  certificate.host_id = row.ColumnText(1);
  certificate.hostname = row.ColumnText(2);
  certificate.store =
      ParseCertificateStoreName(row.ColumnText(3)).value_or(CertificateStoreName::kMy);
  certificate.has_private_key = row.ColumnBool(4);
  certificate.first_seen_at = row.ColumnTime(5);
  certificate.thumbprint_sha1 = row.ColumnText(6);
  certificate.fingerprint_sha256 = row.ColumnText(7);
  certificate.subject = row.ColumnText(8);
  certificate.subject_name = DecodeDistinguishedName(row.ColumnText(9));
  certificate.issuer = row.ColumnText(10);
  certificate.issuer_name = DecodeDistinguishedName(row.ColumnText(11));
  certificate.serial_number = row.ColumnText(12);
  certificate.not_before = row.ColumnTime(13);
  certificate.not_after = row.ColumnTime(14);
  certificate.subject_alternative_names = DecodeStringList(row.ColumnText(15));
  certificate.key_algorithm = row.ColumnText(16);
  certificate.key_bits = static_cast<int>(row.ColumnInt64(17));
  certificate.signature_algorithm = row.ColumnText(18);
  certificate.signature_hash = row.ColumnText(19);
  certificate.is_ca = row.ColumnBool(20);
  if (std::optional<int64_t> length = row.ColumnOptionalInt64(21); length.has_value()) {
    certificate.path_length_constraint = static_cast<int>(*length);
  }
  certificate.kind = row.ColumnText(22);
  certificate.public_key_sha256 = row.ColumnText(23);
  certificate.subject_key_identifier = row.ColumnText(24);
  certificate.authority_key_identifier = row.ColumnText(25);
  certificate.extended_key_usages = DecodeStringList(row.ColumnText(26));
  certificate.der = row.ColumnBlob(27);
  return certificate;
}

// ----- The certificate listing ----------------------------------------------

struct SortSpecification {
  std::string_view name;
  std::string_view expression;
  bool numeric;
};

SortSpecification SortFor(CertificateSortKey key) {
  switch (key) {
    case CertificateSortKey::kHostname:
      return {"hostname", "h.hostname", false};
    case CertificateSortKey::kSubject:
      return {"subject", "c.subject", false};
    case CertificateSortKey::kIssuer:
      return {"issuer", "c.issuer", false};
    case CertificateSortKey::kNotAfter:
      break;
  }
  return {"not_after", "p.not_after", true};
}

// The SQL of one certificate listing, shared by ListCertificates and
// ExplainListCertificates so that the plan checked is the plan run.
struct CertificateListing {
  WhereClause where;
  WhereClause page_where;
  std::string from;
  std::string count_from;
  std::string order_by;
  SortSpecification sort;
  int page_size = 0;
  bool include_der = false;

  std::string PageSql() const {
    return absl::StrCat("SELECT ", kCertificateColumns, include_der ? ", c.der" : ", x''", from,
                        page_where.Sql(), order_by, " LIMIT ?");
  }
  std::string CountSql() const { return absl::StrCat("SELECT count(*)", count_from, where.Sql()); }
};

absl::StatusOr<CertificateListing> BuildCertificateListing(const CertificateQuery& query) {
  CertificateListing listing;
  CERTFLEET_STORE_ASSIGN_OR_RETURN(listing.page_size, EffectivePageSize(query.page));
  listing.include_der = query.include_der;
  listing.sort = SortFor(query.sort_key);
  const bool descending = query.direction == SortDirection::kDescending;

  bool needs_certificates = query.sort_key == CertificateSortKey::kSubject ||
                            query.sort_key == CertificateSortKey::kIssuer;
  WhereClause& where = listing.where;
  if (!query.include_decommissioned_hosts) where.Add("h.state = 'active'");
  if (query.not_after_before.has_value()) {
    where.Add("p.not_after < ?", {sqlite::TimeToStorage(*query.not_after_before)});
  }
  if (!query.host_id.empty()) where.Add("p.host_id = ?", {query.host_id});
  if (query.scope == CertificateScope::kServer) where.Add("p.store = 'MY'");
  if (query.scope == CertificateScope::kBound) where.Add(kPlacementIsBound);
  if (!query.issuer_contains.empty()) {
    needs_certificates = true;
    where.Add("c.issuer LIKE ? ESCAPE '\\'", {LikeSubstringPattern(query.issuer_contains)});
  }
  if (!query.subject_contains.empty()) {
    needs_certificates = true;
    const std::string pattern = LikeSubstringPattern(query.subject_contains);
    where.Add("c.subject LIKE ? ESCAPE '\\' OR c.subject_alternative_names LIKE ? ESCAPE '\\'",
              {pattern, pattern});
  }
  if (!query.thumbprint.empty()) {
    needs_certificates = true;
    where.Add("c.thumbprint_sha1 = ?", {NormalizeHex(query.thumbprint)});
  }
  if (!query.public_key_sha256.empty()) {
    needs_certificates = true;
    where.Add("c.public_key_sha256 = ?", {NormalizeHex(query.public_key_sha256)});
  }

  listing.from =
      " FROM certificate_placements p JOIN hosts h ON h.host_id = p.host_id "
      "JOIN certificates c ON c.certificate_id = p.certificate_id";
  listing.count_from = needs_certificates ? listing.from
                                          : std::string(
                                                " FROM certificate_placements p JOIN hosts h ON "
                                                "h.host_id = p.host_id");
  const std::string direction = descending ? " DESC" : "";
  listing.order_by = absl::StrCat(" ORDER BY ", std::string(listing.sort.expression), direction,
                                  ", p.placement_id", direction);

  listing.page_where = where;
  if (!query.page.page_token.empty()) {
    CERTFLEET_STORE_ASSIGN_OR_RETURN(nlohmann::json position,
                                     DecodePageToken("certificates", query.page.page_token));
    const bool shape_ok =
        position.is_array() && position.size() == 3 && position[0].is_string() &&
        position[0].get<std::string>() == listing.sort.name &&
        (listing.sort.numeric ? position[1].is_number_integer() : position[1].is_string()) &&
        position[2].is_number_integer();
    if (!shape_ok) return InvalidPageTokenError(query.page.page_token);
    WhereClause::Parameter value = listing.sort.numeric
                                       ? WhereClause::Parameter(position[1].get<int64_t>())
                                       : WhereClause::Parameter(position[1].get<std::string>());
    listing.page_where.Add(absl::StrCat("(", std::string(listing.sort.expression),
                                        ", p.placement_id) ", descending ? "<" : ">", " (?, ?)"),
                           {value, position[2].get<int64_t>()});
  }
  return listing;
}

// ----- Ingestion ------------------------------------------------------------

absl::Status ValidateReport(const InventoryReport& report) {
  if (report.content_hash.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("the inventory report of host ", report.host_id, " has no content hash"));
  }
  std::set<std::string> sites;
  for (const SiteRecord& site : report.sites) {
    if (site.site_id.empty() || !sites.insert(site.site_id).second) {
      return absl::InvalidArgumentError(absl::StrCat(
          "the inventory report of host ", report.host_id,
          site.site_id.empty() ? " has a site without an id"
                               : absl::StrCat(" lists site ", site.site_id, " twice")));
    }
  }
  std::set<std::string> bindings;
  for (const BindingRecord& binding : report.bindings) {
    if (binding.binding_id.empty() || !bindings.insert(binding.binding_id).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("the inventory report of host ", report.host_id,
                       binding.binding_id.empty()
                           ? " has a binding without an id"
                           : absl::StrCat(" lists binding ", binding.binding_id, " twice")));
    }
  }
  for (size_t index = 0; index < report.certificates.size(); ++index) {
    const CertificateRecord& certificate = report.certificates[index];
    if (certificate.thumbprint_sha1.size() != 40 || certificate.fingerprint_sha256.size() != 64) {
      return absl::InvalidArgumentError(absl::StrCat(
          "certificate ", index + 1, " of the inventory report of host ", report.host_id, " (",
          certificate.subject.empty() ? "no subject" : certificate.subject,
          ") lacks a 40-digit SHA-1 thumbprint or a 64-digit SHA-256 fingerprint"));
    }
  }
  return absl::OkStatus();
}

absl::Status ReplaceSites(Database& database, const InventoryReport& report) {
  CERTFLEET_STORE_ASSIGN_OR_RETURN(Statement remove,
                                   database.Prepare("DELETE FROM sites WHERE host_id = ?"));
  remove.BindText(1, report.host_id);
  CERTFLEET_STORE_RETURN_IF_ERROR(remove.Run());
  for (const SiteRecord& site : report.sites) {
    CERTFLEET_STORE_ASSIGN_OR_RETURN(
        Statement insert,
        database.Prepare("INSERT INTO sites (host_id, site_id, name, state, auto_start, "
                         "content_path, configuration_location, temporary, "
                         "temporary_for_order_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"));
    insert.BindText(1, report.host_id)
        .BindText(2, site.site_id)
        .BindText(3, site.name)
        .BindText(4, site.state)
        .BindBool(5, site.auto_start)
        .BindText(6, site.content_path)
        .BindText(7, site.configuration_location)
        .BindBool(8, site.temporary)
        .BindText(9, site.temporary_for_order_id);
    CERTFLEET_STORE_RETURN_IF_ERROR(insert.Run());
  }
  return absl::OkStatus();
}

absl::Status AppendBindingChange(Database& database, const BindingChangeRecord& change) {
  CERTFLEET_STORE_ASSIGN_OR_RETURN(
      Statement insert,
      database.Prepare("INSERT INTO binding_history (host_id, binding_id, site_id, changed_at, "
                       "old_thumbprint, new_thumbprint, order_id) VALUES (?, ?, ?, ?, ?, ?, ?)"));
  insert.BindText(1, change.host_id)
      .BindText(2, change.binding_id)
      .BindText(3, change.site_id)
      .BindTime(4, change.changed_at)
      .BindText(5, change.old_thumbprint)
      .BindText(6, change.new_thumbprint)
      .BindText(7, change.order_id);
  return insert.Run();
}

// Returns how many bindings changed certificate.
absl::StatusOr<int> MergeBindings(Database& database, const InventoryReport& report,
                                  absl::Time received_at) {
  std::map<std::string, std::string> stored_thumbprints;
  {
    CERTFLEET_STORE_ASSIGN_OR_RETURN(
        Statement select,
        database.Prepare(
            "SELECT binding_id, certificate_thumbprint FROM bindings WHERE host_id = ?"));
    select.BindText(1, report.host_id);
    while (true) {
      CERTFLEET_STORE_ASSIGN_OR_RETURN(bool row, select.Step());
      if (!row) break;
      stored_thumbprints[select.ColumnText(0)] = select.ColumnText(1);
    }
  }
  int changes = 0;
  for (const BindingRecord& binding : report.bindings) {
    const std::string thumbprint = NormalizeHex(binding.certificate_thumbprint);
    auto stored = stored_thumbprints.find(binding.binding_id);
    const bool known = stored != stored_thumbprints.end();
    const bool changed = known && stored->second != thumbprint;
    CERTFLEET_STORE_ASSIGN_OR_RETURN(
        Statement write,
        database.Prepare(
            known ? "UPDATE bindings SET site_id = ?3, secure_endpoints = ?4, plain_endpoints = "
                    "?5, certificate_thumbprint = ?6, certificate_store = ?7, "
                    "has_pending_request = ?8, thumbprint_since = CASE WHEN ?10 THEN ?9 ELSE "
                    "thumbprint_since END WHERE host_id = ?1 AND binding_id = ?2"
                  : "INSERT INTO bindings (host_id, binding_id, site_id, secure_endpoints, "
                    "plain_endpoints, certificate_thumbprint, certificate_store, "
                    "has_pending_request, first_seen_at, thumbprint_since) VALUES (?1, ?2, ?3, "
                    "?4, ?5, ?6, ?7, ?8, ?9, ?9)"));
    write.BindText(1, report.host_id)
        .BindText(2, binding.binding_id)
        .BindText(3, binding.site_id)
        .BindText(4, EncodeEndpoints(binding.secure_endpoints))
        .BindText(5, EncodeEndpoints(binding.plain_endpoints))
        .BindText(6, thumbprint)
        .BindText(7, std::string(ToString(binding.certificate_store)))
        .BindBool(8, binding.has_pending_request)
        .BindTime(9, received_at);
    if (known) write.BindBool(10, changed);
    CERTFLEET_STORE_RETURN_IF_ERROR(write.Run());
    if (changed) {
      CERTFLEET_STORE_RETURN_IF_ERROR(
          DeleteBindingProbe(database, report.host_id, binding.binding_id));
      BindingChangeRecord change;
      change.host_id = report.host_id;
      change.binding_id = binding.binding_id;
      change.site_id = binding.site_id;
      change.changed_at = received_at;
      change.old_thumbprint = stored->second;
      change.new_thumbprint = thumbprint;
      CERTFLEET_STORE_RETURN_IF_ERROR(AppendBindingChange(database, change));
      ++changes;
    }
    if (known) stored_thumbprints.erase(stored);
  }
  // What is left was not in the report: the binding (or its site) is gone.
  for (const auto& [binding_id, thumbprint] : stored_thumbprints) {
    CERTFLEET_STORE_ASSIGN_OR_RETURN(
        Statement remove,
        database.Prepare("DELETE FROM bindings WHERE host_id = ? AND binding_id = ?"));
    remove.BindText(1, report.host_id).BindText(2, binding_id);
    CERTFLEET_STORE_RETURN_IF_ERROR(remove.Run());
  }
  return changes;
}

absl::StatusOr<int64_t> UpsertCertificate(Database& database,
                                          const CertificateRecord& certificate) {
  CERTFLEET_STORE_ASSIGN_OR_RETURN(
      Statement upsert,
      database.Prepare(
          "INSERT INTO certificates (fingerprint_sha256, thumbprint_sha1, subject, subject_name, "
          "issuer, issuer_name, serial_number, not_before, not_after, subject_alternative_names, "
          "key_algorithm, key_bits, signature_algorithm, signature_hash, is_ca, "
          "path_length_constraint, kind, public_key_sha256, subject_key_identifier, "
          "authority_key_identifier, extended_key_usages, der) VALUES (?1, ?2, ?3, ?4, ?5, ?6, "
          "?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22) "
          "ON CONFLICT (fingerprint_sha256) DO UPDATE SET der = CASE WHEN "
          "length(certificates.der) = 0 THEN excluded.der ELSE certificates.der END "
          "RETURNING certificate_id"));
  upsert.BindText(1, NormalizeHex(certificate.fingerprint_sha256))
      .BindText(2, NormalizeHex(certificate.thumbprint_sha1))
      .BindText(3, certificate.subject)
      .BindText(4, EncodeDistinguishedName(certificate.subject_name))
      .BindText(5, certificate.issuer)
      .BindText(6, EncodeDistinguishedName(certificate.issuer_name))
      .BindText(7, NormalizeHex(certificate.serial_number))
      .BindTime(8, certificate.not_before)
      .BindTime(9, certificate.not_after)
      .BindText(10, EncodeStringList(certificate.subject_alternative_names))
      .BindText(11, certificate.key_algorithm)
      .BindInt64(12, certificate.key_bits)
      .BindText(13, certificate.signature_algorithm)
      .BindText(14, certificate.signature_hash)
      .BindBool(15, certificate.is_ca)
      .BindOptionalInt64(16, certificate.path_length_constraint.has_value()
                                 ? std::optional<int64_t>(*certificate.path_length_constraint)
                                 : std::nullopt)
      .BindText(17, certificate.kind)
      .BindText(18, NormalizeHex(certificate.public_key_sha256))
      .BindText(19, NormalizeHex(certificate.subject_key_identifier))
      .BindText(20, NormalizeHex(certificate.authority_key_identifier))
      .BindText(21, EncodeStringList(certificate.extended_key_usages))
      .BindBlob(22, certificate.der);
  CERTFLEET_STORE_ASSIGN_OR_RETURN(bool row, upsert.Step());
  if (!row) return absl::InternalError("the certificate upsert returned no row");
  const int64_t certificate_id = upsert.ColumnInt64(0);
  CERTFLEET_STORE_RETURN_IF_ERROR(upsert.Run());
  return certificate_id;
}

absl::Status MergeCertificates(Database& database, const InventoryReport& report,
                               absl::Time received_at) {
  struct Stored {
    int64_t placement_id;
    bool has_private_key;
  };
  // Key: store name, '/', SHA-256 fingerprint.
  std::map<std::string, Stored> stored;
  {
    CERTFLEET_STORE_ASSIGN_OR_RETURN(
        Statement select,
        database.Prepare("SELECT p.placement_id, p.store, c.fingerprint_sha256, "
                         "p.has_private_key FROM certificate_placements p JOIN certificates c ON "
                         "c.certificate_id = p.certificate_id WHERE p.host_id = ?"));
    select.BindText(1, report.host_id);
    while (true) {
      CERTFLEET_STORE_ASSIGN_OR_RETURN(bool row, select.Step());
      if (!row) break;
      stored[absl::StrCat(select.ColumnText(1), "/", select.ColumnText(2))] =
          Stored{select.ColumnInt64(0), select.ColumnBool(3)};
    }
  }
  std::set<int64_t> kept;
  for (const CertificateRecord& certificate : report.certificates) {
    const std::string key = absl::StrCat(std::string(ToString(certificate.store)), "/",
                                         NormalizeHex(certificate.fingerprint_sha256));
    auto found = stored.find(key);
    if (found != stored.end()) {
      kept.insert(found->second.placement_id);
      if (found->second.has_private_key != certificate.has_private_key) {
        CERTFLEET_STORE_ASSIGN_OR_RETURN(
            Statement update,
            database.Prepare(
                "UPDATE certificate_placements SET has_private_key = ? WHERE placement_id = ?"));
        update.BindBool(1, certificate.has_private_key).BindInt64(2, found->second.placement_id);
        CERTFLEET_STORE_RETURN_IF_ERROR(update.Run());
        found->second.has_private_key = certificate.has_private_key;
      }
      continue;
    }
    CERTFLEET_STORE_ASSIGN_OR_RETURN(int64_t certificate_id,
                                     UpsertCertificate(database, certificate));
    CERTFLEET_STORE_ASSIGN_OR_RETURN(
        Statement insert,
        database.Prepare("INSERT INTO certificate_placements (host_id, store, certificate_id, "
                         "thumbprint_sha1, not_after, has_private_key, first_seen_at) VALUES "
                         "(?, ?, ?, ?, ?, ?, ?)"));
    insert.BindText(1, report.host_id)
        .BindText(2, std::string(ToString(certificate.store)))
        .BindInt64(3, certificate_id)
        .BindText(4, NormalizeHex(certificate.thumbprint_sha1))
        .BindTime(5, certificate.not_after)
        .BindBool(6, certificate.has_private_key)
        .BindTime(7, received_at);
    CERTFLEET_STORE_RETURN_IF_ERROR(insert.Run());
    const int64_t placement_id = database.LastInsertRowId();
    stored[key] = Stored{placement_id, certificate.has_private_key};
    kept.insert(placement_id);
  }
  for (const auto& [key, placement] : stored) {
    if (kept.contains(placement.placement_id)) continue;
    CERTFLEET_STORE_ASSIGN_OR_RETURN(
        Statement remove,
        database.Prepare("DELETE FROM certificate_placements WHERE placement_id = ?"));
    remove.BindInt64(1, placement.placement_id);
    CERTFLEET_STORE_RETURN_IF_ERROR(remove.Run());
  }
  return absl::OkStatus();
}

absl::Status ReplacePendingRequests(Database& database, const InventoryReport& report) {
  CERTFLEET_STORE_ASSIGN_OR_RETURN(
      Statement remove, database.Prepare("DELETE FROM pending_requests WHERE host_id = ?"));
  remove.BindText(1, report.host_id);
  CERTFLEET_STORE_RETURN_IF_ERROR(remove.Run());
  for (const PendingRequestRecord& request : report.pending_requests) {
    CERTFLEET_STORE_ASSIGN_OR_RETURN(
        Statement insert,
        database.Prepare("INSERT OR REPLACE INTO pending_requests (host_id, site_id, "
                         "public_key_sha256, subject, subject_alternative_names, key_spec, "
                         "created_at, placeholder_thumbprint, csr_pem, order_id) VALUES (?, ?, "
                         "?, ?, ?, ?, ?, ?, ?, ?)"));
    insert.BindText(1, report.host_id)
        .BindText(2, request.site_id)
        .BindText(3, NormalizeHex(request.public_key_sha256))
        .BindText(4, EncodeDistinguishedName(request.subject))
        .BindText(5, EncodeStringList(request.subject_alternative_names))
        .BindText(6, request.key_spec)
        .BindOptionalTime(7, request.created_at)
        .BindText(8, NormalizeHex(request.placeholder_thumbprint))
        .BindText(9, request.csr_pem)
        .BindText(10, request.order_id);
    CERTFLEET_STORE_RETURN_IF_ERROR(insert.Run());
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<PendingRequestRecord>> SelectPendingRequests(Database& database,
                                                                        std::string_view column,
                                                                        std::string_view value) {
  CERTFLEET_STORE_ASSIGN_OR_RETURN(
      Statement select,
      database.Prepare(absl::StrCat("SELECT ", kPendingRequestColumns,
                                    " FROM pending_requests WHERE ", std::string(column),
                                    " = ? ORDER BY host_id, site_id, public_key_sha256")));
  select.BindText(1, value);
  std::vector<PendingRequestRecord> requests;
  while (true) {
    CERTFLEET_STORE_ASSIGN_OR_RETURN(bool row, select.Step());
    if (!row) break;
    requests.push_back(PendingRequestFromRow(select));
  }
  return requests;
}

}  // namespace

absl::StatusOr<InventoryIngestResult> SqliteInventoryStore::IngestInventory(
    const InventoryReport& report, absl::Time received_at) {
  if (!report.scan_failure.has_value()) {
    CERTFLEET_STORE_RETURN_IF_ERROR(ValidateReport(report));
  }
  return connection_->Write([&](Database& database) -> absl::StatusOr<InventoryIngestResult> {
    CERTFLEET_STORE_ASSIGN_OR_RETURN(HostRecord host, LoadActiveHost(database, report.host_id));
    InventoryIngestResult result;
    result.stored_content_hash = host.inventory_content_hash;
    if (host.inventory_scanned_at.has_value() && report.scanned_at < *host.inventory_scanned_at) {
      result.disposition = InventoryDisposition::kStale;
      return result;
    }
    if (report.scan_failure.has_value()) {
      CERTFLEET_STORE_ASSIGN_OR_RETURN(
          Statement update,
          database.Prepare("UPDATE hosts SET inventory_failure = ?2, last_inventory_at = ?3 "
                           "WHERE host_id = ?1"));
      update.BindText(1, host.host_id)
          .BindOptionalText(2, EncodeFailure(report.scan_failure))
          .BindTime(3, received_at);
      CERTFLEET_STORE_RETURN_IF_ERROR(update.Run());
      result.disposition = InventoryDisposition::kScanFailureRecorded;
      return result;
    }
    if (report.content_hash != host.inventory_content_hash) {
      CERTFLEET_STORE_RETURN_IF_ERROR(ReplaceSites(database, report));
      CERTFLEET_STORE_ASSIGN_OR_RETURN(result.binding_changes,
                                       MergeBindings(database, report, received_at));
      CERTFLEET_STORE_RETURN_IF_ERROR(MergeCertificates(database, report, received_at));
      CERTFLEET_STORE_RETURN_IF_ERROR(ReplacePendingRequests(database, report));
      CERTFLEET_STORE_RETURN_IF_ERROR(RefreshBoundFlags(database, report.host_id));
      result.disposition = InventoryDisposition::kApplied;
    } else {
      result.disposition = InventoryDisposition::kUnchanged;
    }
    const bool has_platform = !report.platform.driver.empty();
    CERTFLEET_STORE_ASSIGN_OR_RETURN(
        Statement update,
        database.Prepare("UPDATE hosts SET inventory_content_hash = ?2, inventory_scanned_at = "
                         "?3, last_inventory_at = ?4, inventory_failure = NULL, platform = CASE "
                         "WHEN ?5 THEN ?6 ELSE platform END WHERE host_id = ?1"));
    update.BindText(1, host.host_id)
        .BindText(2, report.content_hash)
        .BindTime(3, report.scanned_at)
        .BindTime(4, received_at)
        .BindBool(5, has_platform)
        .BindText(6, EncodePlatform(report.platform));
    CERTFLEET_STORE_RETURN_IF_ERROR(update.Run());
    result.stored_content_hash = report.content_hash;
    return result;
  });
}

absl::StatusOr<std::vector<SiteRecord>> SqliteInventoryStore::ListSites(std::string_view host_id) {
  return connection_->Read([&](Database& database) -> absl::StatusOr<std::vector<SiteRecord>> {
    CERTFLEET_STORE_RETURN_IF_ERROR(LoadHost(database, host_id).status());
    CERTFLEET_STORE_ASSIGN_OR_RETURN(
        Statement select, database.Prepare(absl::StrCat("SELECT ", kSiteColumns,
                                                        " FROM sites WHERE host_id = ? ORDER BY "
                                                        "site_id")));
    select.BindText(1, host_id);
    std::vector<SiteRecord> sites;
    while (true) {
      CERTFLEET_STORE_ASSIGN_OR_RETURN(bool row, select.Step());
      if (!row) break;
      sites.push_back(SiteFromRow(select));
    }
    return sites;
  });
}

absl::StatusOr<std::vector<BindingRecord>> SqliteInventoryStore::ListBindings(
    std::string_view host_id) {
  return connection_->Read([&](Database& database) -> absl::StatusOr<std::vector<BindingRecord>> {
    CERTFLEET_STORE_RETURN_IF_ERROR(LoadHost(database, host_id).status());
    CERTFLEET_STORE_ASSIGN_OR_RETURN(Statement select,
                                     database.Prepare(absl::StrCat(kBindingSelect,
                                                                   " WHERE b.host_id = ? ORDER BY "
                                                                   "b.binding_id")));
    select.BindText(1, host_id);
    std::vector<BindingRecord> bindings;
    while (true) {
      CERTFLEET_STORE_ASSIGN_OR_RETURN(bool row, select.Step());
      if (!row) break;
      bindings.push_back(BindingFromRow(select));
    }
    return bindings;
  });
}

absl::StatusOr<BindingRecord> SqliteInventoryStore::GetBinding(std::string_view host_id,
                                                               std::string_view binding_id) {
  return connection_->Read([&](Database& database) -> absl::StatusOr<BindingRecord> {
    CERTFLEET_STORE_ASSIGN_OR_RETURN(
        Statement select, database.Prepare(absl::StrCat(
                              kBindingSelect, " WHERE b.host_id = ? AND b.binding_id = ?")));
    select.BindText(1, host_id).BindText(2, binding_id);
    CERTFLEET_STORE_ASSIGN_OR_RETURN(bool row, select.Step());
    if (!row) {
      return absl::NotFoundError(
          absl::StrCat("host ", std::string(host_id), " has no binding ", std::string(binding_id)));
    }
    return BindingFromRow(select);
  });
}

absl::StatusOr<std::vector<PendingRequestRecord>> SqliteInventoryStore::ListPendingRequests(
    std::string_view host_id) {
  return connection_->Read(
      [&](Database& database) -> absl::StatusOr<std::vector<PendingRequestRecord>> {
        CERTFLEET_STORE_RETURN_IF_ERROR(LoadHost(database, host_id).status());
        return SelectPendingRequests(database, "host_id", host_id);
      });
}

absl::StatusOr<std::vector<PendingRequestRecord>>
SqliteInventoryStore::FindPendingRequestsByPublicKey(std::string_view public_key_sha256) {
  const std::string key = NormalizeHex(public_key_sha256);
  return connection_->Read([&](Database& database) {
    return SelectPendingRequests(database, "public_key_sha256", key);
  });
}

absl::StatusOr<Page<CertificateRecord>> SqliteInventoryStore::ListCertificates(
    const CertificateQuery& query) {
  CERTFLEET_STORE_ASSIGN_OR_RETURN(CertificateListing listing, BuildCertificateListing(query));
  return connection_->Read([&](Database& database) -> absl::StatusOr<Page<CertificateRecord>> {
    Page<CertificateRecord> page;
    if (query.count_total_size) {
      CERTFLEET_STORE_ASSIGN_OR_RETURN(Statement count, database.Prepare(listing.CountSql()));
      listing.where.Bind(count);
      CERTFLEET_STORE_RETURN_IF_ERROR(count.Step().status());
      page.total_size = count.ColumnInt64(0);
    }

    CERTFLEET_STORE_ASSIGN_OR_RETURN(Statement select, database.Prepare(listing.PageSql()));
    select.BindInt64(listing.page_where.Bind(select), listing.page_size + 1);
    std::vector<int64_t> placement_ids;
    while (true) {
      CERTFLEET_STORE_ASSIGN_OR_RETURN(bool row, select.Step());
      if (!row) break;
      placement_ids.push_back(select.ColumnInt64(0));
      page.items.push_back(CertificateFromRow(select));
    }
    if (page.items.size() > static_cast<size_t>(listing.page_size)) {
      page.items.pop_back();
      const CertificateRecord& last = page.items.back();
      nlohmann::json value;
      if (listing.sort.numeric) {
        value = sqlite::TimeToStorage(last.not_after);
      } else if (listing.sort.name == "hostname") {
        value = last.hostname;
      } else if (listing.sort.name == "subject") {
        value = last.subject;
      } else {
        value = last.issuer;
      }
      page.next_page_token = EncodePageToken(
          "certificates", nlohmann::json::array({std::string(listing.sort.name), value,
                                                 placement_ids[page.items.size() - 1]}));
    }
    if (query.include_bindings) {
      for (CertificateRecord& certificate : page.items) {
        CERTFLEET_STORE_ASSIGN_OR_RETURN(
            certificate.bindings,
            SelectBindingsUsing(database, certificate.host_id, certificate.thumbprint_sha1,
                                certificate.store));
      }
    }
    return page;
  });
}

absl::StatusOr<std::string> SqliteInventoryStore::ExplainListCertificates(
    const CertificateQuery& query) {
  CERTFLEET_STORE_ASSIGN_OR_RETURN(CertificateListing listing, BuildCertificateListing(query));
  return connection_->Read([&](Database& database) -> absl::StatusOr<std::string> {
    CERTFLEET_STORE_ASSIGN_OR_RETURN(
        Statement explain,
        database.Prepare(absl::StrCat("EXPLAIN QUERY PLAN ", listing.PageSql())));
    explain.BindInt64(listing.page_where.Bind(explain), listing.page_size + 1);
    std::vector<std::string> lines;
    while (true) {
      CERTFLEET_STORE_ASSIGN_OR_RETURN(bool row, explain.Step());
      if (!row) break;
      lines.push_back(explain.ColumnText(3));
    }
    return absl::StrJoin(lines, "\n");
  });
}

absl::StatusOr<Page<BindingChangeRecord>> SqliteInventoryStore::ListBindingHistory(
    std::string_view host_id, std::string_view binding_id, const PageRequest& page_request) {
  CERTFLEET_STORE_ASSIGN_OR_RETURN(const int page_size, EffectivePageSize(page_request));
  WhereClause where;
  where.Add("host_id = ? AND binding_id = ?", {std::string(host_id), std::string(binding_id)});
  WhereClause page_where = where;
  if (!page_request.page_token.empty()) {
    CERTFLEET_STORE_ASSIGN_OR_RETURN(nlohmann::json position,
                                     DecodePageToken("binding_history", page_request.page_token));
    if (!position.is_number_integer()) return InvalidPageTokenError(page_request.page_token);
    page_where.Add("change_id < ?", {position.get<int64_t>()});
  }
  return connection_->Read([&](Database& database) -> absl::StatusOr<Page<BindingChangeRecord>> {
    Page<BindingChangeRecord> page;
    CERTFLEET_STORE_ASSIGN_OR_RETURN(
        Statement count,
        database.Prepare(absl::StrCat("SELECT count(*) FROM binding_history", where.Sql())));
    where.Bind(count);
    CERTFLEET_STORE_RETURN_IF_ERROR(count.Step().status());
    page.total_size = count.ColumnInt64(0);
    CERTFLEET_STORE_ASSIGN_OR_RETURN(
        Statement select,
        database.Prepare(absl::StrCat(
            "SELECT change_id, host_id, binding_id, site_id, changed_at, old_thumbprint, "
            "new_thumbprint, order_id FROM binding_history",
            page_where.Sql(), " ORDER BY change_id DESC LIMIT ?")));
    select.BindInt64(page_where.Bind(select), page_size + 1);
    std::vector<int64_t> change_ids;
    while (true) {
      CERTFLEET_STORE_ASSIGN_OR_RETURN(bool row, select.Step());
      if (!row) break;
      change_ids.push_back(select.ColumnInt64(0));
      BindingChangeRecord change;
      change.host_id = select.ColumnText(1);
      change.binding_id = select.ColumnText(2);
      change.site_id = select.ColumnText(3);
      change.changed_at = select.ColumnTime(4);
      change.old_thumbprint = select.ColumnText(5);
      change.new_thumbprint = select.ColumnText(6);
      change.order_id = select.ColumnText(7);
      page.items.push_back(std::move(change));
    }
    if (page.items.size() > static_cast<size_t>(page_size)) {
      page.items.pop_back();
      page.next_page_token = EncodePageToken("binding_history", change_ids[page.items.size() - 1]);
    }
    return page;
  });
}

absl::StatusOr<bool> SqliteInventoryStore::RecordBindingChange(const BindingChangeRecord& change) {
  return connection_->Write([&](Database& database) -> absl::StatusOr<bool> {
    CERTFLEET_STORE_ASSIGN_OR_RETURN(
        Statement select,
        database.Prepare("SELECT site_id, certificate_thumbprint FROM bindings WHERE host_id = ? "
                         "AND binding_id = ?"));
    select.BindText(1, change.host_id).BindText(2, change.binding_id);
    CERTFLEET_STORE_ASSIGN_OR_RETURN(bool row, select.Step());
    if (!row) {
      return absl::NotFoundError(
          absl::StrCat("host ", change.host_id, " has no binding ", change.binding_id));
    }
    const std::string site_id = select.ColumnText(0);
    const std::string current = select.ColumnText(1);
    select.Reset();
    const std::string old_thumbprint = NormalizeHex(change.old_thumbprint);
    const std::string new_thumbprint = NormalizeHex(change.new_thumbprint);
    if (current == new_thumbprint) return false;
    if (current != old_thumbprint) {
      return absl::FailedPreconditionError(absl::StrCat(
          "binding ", change.binding_id, " of host ", change.host_id, " has certificate ",
          current.empty() ? "(none)" : current, ", not the expected ",
          old_thumbprint.empty() ? "(none)" : old_thumbprint, "; not switching it to ",
          new_thumbprint.empty() ? "(none)" : new_thumbprint));
    }
    CERTFLEET_STORE_ASSIGN_OR_RETURN(
        Statement update,
        database.Prepare("UPDATE bindings SET certificate_thumbprint = ?3, thumbprint_since = ?4 "
                         "WHERE host_id = ?1 AND binding_id = ?2"));
    update.BindText(1, change.host_id)
        .BindText(2, change.binding_id)
        .BindText(3, new_thumbprint)
        .BindTime(4, change.changed_at);
    CERTFLEET_STORE_RETURN_IF_ERROR(update.Run());
    CERTFLEET_STORE_RETURN_IF_ERROR(
        DeleteBindingProbe(database, change.host_id, change.binding_id));
    CERTFLEET_STORE_RETURN_IF_ERROR(RefreshBoundFlags(database, change.host_id));
    BindingChangeRecord normalized = change;
    normalized.site_id = site_id;
    normalized.old_thumbprint = old_thumbprint;
    normalized.new_thumbprint = new_thumbprint;
    CERTFLEET_STORE_RETURN_IF_ERROR(AppendBindingChange(database, normalized));
    return true;
  });
}

absl::StatusOr<FleetCounts> SqliteInventoryStore::CountFleet(absl::Time now) {
  return connection_->Read([&](Database& database) -> absl::StatusOr<FleetCounts> {
    FleetCounts counts;
    CERTFLEET_STORE_ASSIGN_OR_RETURN(
        Statement hosts,
        database.Prepare("SELECT count(*), coalesce(sum(online), 0), "
                         "coalesce(sum(inventory_failure IS NOT NULL), 0) FROM hosts "
                         "WHERE state = 'active'"));
    CERTFLEET_STORE_RETURN_IF_ERROR(hosts.Step().status());
    counts.hosts = hosts.ColumnInt64(0);
    counts.agents_online = hosts.ColumnInt64(1);
    counts.agents_offline = counts.hosts - counts.agents_online;
    counts.hosts_with_inventory_failure = hosts.ColumnInt64(2);

    CERTFLEET_STORE_ASSIGN_OR_RETURN(
        Statement buckets,
        database.Prepare(
            absl::StrCat("SELECT coalesce(sum(p.not_after < ?1), 0), "
                         "coalesce(sum(p.not_after >= ?1 AND p.not_after < ?2), 0), "
                         "coalesce(sum(p.not_after >= ?2 AND p.not_after < ?3), 0), "
                         "coalesce(sum(p.not_after >= ?3 AND p.not_after < ?4), 0), "
                         "coalesce(sum(p.not_after >= ?4), 0) "
                         "FROM certificate_placements p JOIN hosts h ON h.host_id = p.host_id "
                         "WHERE h.state = 'active' AND ",
                         kPlacementIsBound)));
    buckets.BindTime(1, now)
        .BindTime(2, now + absl::Hours(24 * 7))
        .BindTime(3, now + absl::Hours(24 * 30))
        .BindTime(4, now + absl::Hours(24 * 90));
    CERTFLEET_STORE_RETURN_IF_ERROR(buckets.Step().status());
    counts.certificates_by_expiry.expired = buckets.ColumnInt64(0);
    counts.certificates_by_expiry.under_7_days = buckets.ColumnInt64(1);
    counts.certificates_by_expiry.under_30_days = buckets.ColumnInt64(2);
    counts.certificates_by_expiry.under_90_days = buckets.ColumnInt64(3);
    counts.certificates_by_expiry.later = buckets.ColumnInt64(4);
    return counts;
  });
}

absl::Status SqliteInventoryStore::RecordBindingProbe(const BindingProbeRecord& probe) {
  if (probe.endpoint.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("the probe of binding ", probe.binding_id,
                                                   " of host ", probe.host_id,
                                                   " names no endpoint"));
  }
  return connection_->Write([&](Database& database) -> absl::Status {
    CERTFLEET_STORE_ASSIGN_OR_RETURN(
        Statement select, database.Prepare("SELECT certificate_thumbprint FROM bindings WHERE "
                                           "host_id = ? AND binding_id = ?"));
    select.BindText(1, probe.host_id).BindText(2, probe.binding_id);
    CERTFLEET_STORE_ASSIGN_OR_RETURN(bool row, select.Step());
    if (!row) {
      return absl::NotFoundError(absl::StrCat("host ", probe.host_id, " has no binding ",
                                              probe.binding_id, "; its probe is not stored"));
    }
    const std::string bound_thumbprint = select.ColumnText(0);
    select.Reset();
    CERTFLEET_STORE_ASSIGN_OR_RETURN(
        Statement upsert,
        database.Prepare("INSERT OR REPLACE INTO binding_probes (host_id, binding_id, "
                         "bound_thumbprint, endpoint, probed_at, status, served_thumbprint, "
                         "detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"));
    upsert.BindText(1, probe.host_id)
        .BindText(2, probe.binding_id)
        .BindText(3, bound_thumbprint)
        .BindText(4, probe.endpoint)
        .BindTime(5, probe.probed_at)
        .BindText(6, std::string(ToString(probe.status)))
        .BindText(7, NormalizeHex(probe.served_thumbprint))
        .BindText(8, probe.detail);
    return upsert.Run();
  });
}

absl::StatusOr<ServedStatusCounts> SqliteInventoryStore::CountBindingsByServedStatus() {
  return connection_->Read([&](Database& database) -> absl::StatusOr<ServedStatusCounts> {
    CERTFLEET_STORE_ASSIGN_OR_RETURN(
        Statement select,
        database.Prepare(
            "SELECT pr.status, count(*) FROM bindings b JOIN hosts h ON h.host_id = b.host_id "
            "LEFT JOIN binding_probes pr ON pr.host_id = b.host_id AND "
            "pr.binding_id = b.binding_id AND pr.bound_thumbprint = b.certificate_thumbprint "
            "WHERE h.state = 'active' AND b.certificate_thumbprint <> '' GROUP BY pr.status"));
    ServedStatusCounts counts;
    while (true) {
      CERTFLEET_STORE_ASSIGN_OR_RETURN(bool row, select.Step());
      if (!row) break;
      const int64_t count = select.ColumnInt64(1);
      std::optional<std::string> name = select.ColumnOptionalText(0);
      if (!name.has_value()) {
        counts.not_probed += count;
        continue;
      }
      CERTFLEET_STORE_ASSIGN_OR_RETURN(ServedStatus status, ParseServedStatus(*name));
      switch (status) {
        case ServedStatus::kMatches:
          counts.matches += count;
          break;
        case ServedStatus::kMismatch:
          counts.mismatch += count;
          break;
        case ServedStatus::kIncompleteChain:
          counts.incomplete_chain += count;
          break;
        case ServedStatus::kUnreachable:
          counts.unreachable += count;
          break;
      }
    }
    return counts;
  });
}

absl::StatusOr<std::vector<ExpiryTimelineBucket>>
SqliteInventoryStore::CountBoundCertificatesByExpiry(absl::Time from, absl::Duration bucket_width,
                                                     int bucket_count) {
  constexpr int kMaximumBuckets = 10000;
  if (bucket_width <= absl::ZeroDuration() || bucket_count < 1 || bucket_count > kMaximumBuckets) {
    return absl::InvalidArgumentError(
        absl::StrCat("an expiry timeline needs a positive bucket width and 1 to ", kMaximumBuckets,
                     " buckets (asked: width ", absl::FormatDuration(bucket_width), ", ",
                     bucket_count, " buckets)"));
  }
  const int64_t start = sqlite::TimeToStorage(from);
  const int64_t width = absl::ToInt64Microseconds(bucket_width);
  if (width <= 0) return absl::InvalidArgumentError("the bucket width is under a microsecond");
  return connection_->Read(
      [&](Database& database) -> absl::StatusOr<std::vector<ExpiryTimelineBucket>> {
        // A range walk of certificate_placements_by_not_after.
        CERTFLEET_STORE_ASSIGN_OR_RETURN(
            Statement select,
            database.Prepare(absl::StrCat(
                "SELECT (p.not_after - ?1) / ?2 AS bucket, count(*) FROM certificate_placements "
                "p JOIN hosts h ON h.host_id = p.host_id WHERE p.not_after >= ?1 AND "
                "p.not_after < ?3 AND h.state = 'active' AND ",
                kPlacementIsBound, " GROUP BY bucket")));
        select.BindInt64(1, start).BindInt64(2, width).BindInt64(3, start + width * bucket_count);
        std::vector<ExpiryTimelineBucket> buckets(bucket_count);
        for (int index = 0; index < bucket_count; ++index) {
          buckets[index].start = from + bucket_width * index;
        }
        while (true) {
          CERTFLEET_STORE_ASSIGN_OR_RETURN(bool row, select.Step());
          if (!row) break;
          const int64_t bucket = select.ColumnInt64(0);
          if (bucket >= 0 && bucket < bucket_count) buckets[bucket].count = select.ColumnInt64(1);
        }
        return buckets;
      });
}

}  // namespace certfleet::controller::store::sqlite_backend
