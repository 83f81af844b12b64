#include "controller/store/sqlite/sqlite_policy_store.h"

#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "controller/store/sqlite/row_codec.h"

namespace certfleet::controller::store::sqlite_backend {
namespace {

using sqlite::Database;
using sqlite::Statement;

constexpr char kPolicyColumns[] =
    "name, description, hosts, priority, renew_when_remaining_fraction, renew_before, jitter, "
    "key_spec, signature_hash, connector, ca_product, initial_backoff, maximum_backoff, "
    "settings, updated_at, updated_by";

PolicyRecord PolicyFromRow(const Statement& row) {
  PolicyRecord policy;
  policy.name = row.ColumnText(0);
  policy.description = row.ColumnText(1);
  policy.hosts = DecodeHostSelector(row.ColumnText(2));
  policy.priority = static_cast<int>(row.ColumnInt64(3));
  policy.renew_when_remaining_fraction = row.ColumnDouble(4);
  policy.renew_before = DurationFromStorage(row.ColumnOptionalInt64(5));
  policy.jitter = DurationFromStorage(row.ColumnOptionalInt64(6));
  policy.key_spec = row.ColumnText(7);
  policy.signature_hash = row.ColumnText(8);
  policy.connector = row.ColumnText(9);
  policy.ca_product = row.ColumnText(10);
  policy.initial_backoff = DurationFromStorage(row.ColumnOptionalInt64(11));
  policy.maximum_backoff = DurationFromStorage(row.ColumnOptionalInt64(12));
  policy.settings = row.ColumnBlob(13);
  policy.updated_at = row.ColumnOptionalTime(14);
  policy.updated_by = row.ColumnText(15);
  return policy;
}

absl::Status ValidatePolicy(const PolicyRecord& policy) {
  bool name_ok = !policy.name.empty() && policy.name.size() <= 63;
  for (char character : policy.name) {
    if (!absl::ascii_islower(static_cast<unsigned char>(character)) &&
        !absl::ascii_isdigit(static_cast<unsigned char>(character)) && character != '-') {
      name_ok = false;
    }
  }
  if (!name_ok) {
    return absl::InvalidArgumentError(absl::StrCat(
        "policy name '", policy.name,
        "' must be 1 to 63 lower-case letters, digits and '-', for example 'prod-iis6'"));
  }
  if (!(policy.renew_when_remaining_fraction > 0.0 && policy.renew_when_remaining_fraction < 1.0)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "policy ", policy.name, ": renew_when_remaining_fraction is ",
        policy.renew_when_remaining_fraction, "; it must be between 0 and 1, for example 0.33"));
  }
  return absl::OkStatus();
}

absl::StatusOr<PolicyRecord> LoadPolicy(Database& database, std::string_view name) {
  CERTFLEET_STORE_ASSIGN_OR_RETURN(
      Statement select,
      database.Prepare(absl::StrCat("SELECT ", kPolicyColumns, " FROM policies WHERE name = ?")));
  select.BindText(1, name);
  CERTFLEET_STORE_ASSIGN_OR_RETURN(bool row, select.Step());
  if (!row) {
    return absl::NotFoundError(absl::StrCat("there is no policy named ", std::string(name)));
  }
  return PolicyFromRow(select);
}

}  // namespace

absl::StatusOr<PolicyRecord> SqlitePolicyStore::SetPolicy(const PolicyRecord& policy) {
  CERTFLEET_STORE_RETURN_IF_ERROR(ValidatePolicy(policy));
  return connection_->Write([&](Database& database) -> absl::StatusOr<PolicyRecord> {
    CERTFLEET_STORE_ASSIGN_OR_RETURN(
        Statement upsert,
        database.Prepare(
            "INSERT INTO policies (name, description, hosts, priority, "
            "renew_when_remaining_fraction, renew_before, jitter, key_spec, signature_hash, "
            "connector, ca_product, initial_backoff, maximum_backoff, settings, updated_at, "
            "updated_by) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, "
            "?16) ON CONFLICT (name) DO UPDATE SET description = excluded.description, hosts = "
            "excluded.hosts, priority = excluded.priority, renew_when_remaining_fraction = "
            "excluded.renew_when_remaining_fraction, renew_before = excluded.renew_before, "
            "jitter = excluded.jitter, key_spec = excluded.key_spec, signature_hash = "
            "excluded.signature_hash, connector = excluded.connector, ca_product = "
            "excluded.ca_product, initial_backoff = excluded.initial_backoff, maximum_backoff = "
            "excluded.maximum_backoff, settings = excluded.settings, updated_at = "
            "excluded.updated_at, updated_by = excluded.updated_by"));
    upsert.BindText(1, policy.name)
        .BindText(2, policy.description)
        .BindText(3, EncodeHostSelector(policy.hosts))
        .BindInt64(4, policy.priority)
        .BindDouble(5, policy.renew_when_remaining_fraction)
        .BindOptionalInt64(6, DurationToStorage(policy.renew_before))
        .BindOptionalInt64(7, DurationToStorage(policy.jitter))
        .BindText(8, policy.key_spec)
        .BindText(9, policy.signature_hash)
        .BindText(10, policy.connector)
        .BindText(11, policy.ca_product)
        .BindOptionalInt64(12, DurationToStorage(policy.initial_backoff))
        .BindOptionalInt64(13, DurationToStorage(policy.maximum_backoff))
        .BindBlob(14, policy.settings)
        .BindOptionalTime(15, policy.updated_at)
        .BindText(16, policy.updated_by);
    CERTFLEET_STORE_RETURN_IF_ERROR(upsert.Run());
    return LoadPolicy(database, policy.name);
  });
}

absl::StatusOr<PolicyRecord> SqlitePolicyStore::GetPolicy(std::string_view name) {
  return connection_->Read([&](Database& database) { return LoadPolicy(database, name); });
}

absl::StatusOr<std::vector<PolicyRecord>> SqlitePolicyStore::ListPolicies() {
  return connection_->Read([&](Database& database) -> absl::StatusOr<std::vector<PolicyRecord>> {
    CERTFLEET_STORE_ASSIGN_OR_RETURN(
        Statement select, database.Prepare(absl::StrCat("SELECT ", kPolicyColumns,
                                                        " FROM policies ORDER BY priority DESC, "
                                                        "name")));
    std::vector<PolicyRecord> policies;
    while (true) {
      CERTFLEET_STORE_ASSIGN_OR_RETURN(bool row, select.Step());
      if (!row) break;
      policies.push_back(PolicyFromRow(select));
    }
    return policies;
  });
}

absl::Status SqlitePolicyStore::DeletePolicy(std::string_view name) {
  if (name == kDefaultPolicyName) {
    return absl::FailedPreconditionError(
        "the default policy cannot be deleted; change it with SetPolicy instead");
  }
  return connection_->Write([&](Database& database) -> absl::Status {
    CERTFLEET_STORE_ASSIGN_OR_RETURN(Statement remove,
                                     database.Prepare("DELETE FROM policies WHERE name = ?"));
    remove.BindText(1, name);
    CERTFLEET_STORE_RETURN_IF_ERROR(remove.Run());
    if (database.ChangedRows() == 0) {
      return absl::NotFoundError(absl::StrCat("there is no policy named ", std::string(name)));
    }
    return absl::OkStatus();
  });
}

}  // namespace certfleet::controller::store::sqlite_backend
