// A fixture for the controller store's tests: a fresh in-memory SqliteStore,
// a fake clock the test advances by hand, and builders for hosts, tokens and
// inventory records.
//
// Thread safety: one test thread.

#ifndef CERTFLEET_TESTS_CONTROLLER_STORE_STORE_TEST_FIXTURE_H_
#define CERTFLEET_TESTS_CONTROLLER_STORE_STORE_TEST_FIXTURE_H_

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "absl/time/time.h"
#include "controller/store/sqlite/sqlite_store.h"
#include "controller/store/store.h"
#include "tests/support/status_matchers.h"

namespace certfleet::controller::store::testing {

// Matches an OK absl::StatusOr whose value matches `expected` (a value or
// a matcher).
MATCHER_P(IsOkAndHolds, expected, "is OK and holds a matching value") {
  if (!arg.ok()) {
    *result_listener << "which is " << arg.status().ToString();
    return false;
  }
  return ::testing::ExplainMatchResult(expected, *arg, result_listener);
}

// SHA-256 of `secret` as 64 lower-case hex digits, as HashJoinTokenSecret
// stores it.
std::string HashSecret(std::string_view secret);

// A certificate record with every field set, distinct per `number`.
CertificateRecord MakeCertificate(int number, absl::Time not_after,
                                  CertificateStoreName store = CertificateStoreName::kMy);

// A binding of site `site_id` (binding id = site id) using `thumbprint`.
BindingRecord MakeBinding(std::string_view site_id, std::string_view thumbprint);

class StoreTest : public ::testing::Test {
 protected:
  // 2024-03-01T00:00:00Z: the fake clock's start.
  static absl::Time Start() { return absl::FromUnixSeconds(1709251200); }

  void SetUp() override;

  Store& store() { return *store_; }
  SqliteStore& sqlite_store() { return *store_; }

  absl::Time now() const { return now_; }
  void Advance(absl::Duration duration) { now_ += duration; }

  // Creates a join token for `secret` valid for a day from now (optionally
  // bound to a host name) and returns it.
  JoinTokenRecord CreateToken(std::string_view secret, std::string_view bound_hostname = "",
                              std::map<std::string, std::string> labels = {});

  // Enrolls `hostname` with a fresh token and returns the host.
  HostRecord Enroll(std::string_view hostname, std::map<std::string, std::string> labels = {});

  // An inventory report for `host_id` scanned now with `content_hash`.
  InventoryReport Report(const std::string& host_id, std::string_view content_hash);

  // Report() with one started site (id "1", named `site_name`) whose
  // binding serves `certificate`, the certificate in the host's MY store.
  InventoryReport ReportWithOneSite(const std::string& host_id, std::string_view content_hash,
                                    const CertificateRecord& certificate,
                                    std::string_view site_name = "Shop");

 private:
  std::unique_ptr<SqliteStore> store_;
  absl::Time now_ = Start();
  int tokens_made_ = 0;
};

}  // namespace certfleet::controller::store::testing

#endif  // CERTFLEET_TESTS_CONTROLLER_STORE_STORE_TEST_FIXTURE_H_
