// A small fleet written straight into a store for the HTTP API tests: two
// hosts (one online), sites, bound and unbound certificates, probes of every
// status, orders that are done, failed and deploying, and their jobs with
// steps. Times are relative to a fixed "now" the API is given as its clock,
// so days left and buckets are exact.
//
// Thread safety: one test thread.

#ifndef CERTFLEET_TESTS_CONTROLLER_HTTP_HTTP_TEST_SEED_H_
#define CERTFLEET_TESTS_CONTROLLER_HTTP_HTTP_TEST_SEED_H_

#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "controller/store/store.h"

namespace certfleet::controller::http::testing {

// 2026-01-01T00:00:00Z.
absl::Time SeedNow();

// A certificate record with every field the API shows, distinct per
// `number`, expiring `days_left` days after SeedNow().
store::CertificateRecord SeedCertificate(
    int number, double days_left,
    store::CertificateStoreName store_name = store::CertificateStoreName::kMy);

// Enrolls a host with a fresh join token; returns its id.
absl::StatusOr<std::string> SeedHost(store::Store& store, const std::string& hostname,
                                     std::map<std::string, std::string> labels);

struct SeededFleet {
  std::string web_host_id;  // web-01.example.com, online, labels env=prod
  std::string db_host_id;   // db-02.example.org, offline, labels env=test
  std::string done_order_id;
  std::string failed_order_id;
  std::string deploying_order_id;
  std::string failed_prepare_job_id;
  std::string running_deploy_job_id;
  std::string failed_inventory_job_id;
};

// web-01: site "1" "Shop" bound to certificate 1 (3.5 days left, probe
// matches), site "2" "Blog, \"quoted\"" bound to certificate 2 (20.5 days,
// subject starting with '=', probe mismatch); certificate 3 in CA and
// certificate 4 (expired, unbound) in MY.
// db-02: site "7" "Api" bound to certificate 5 (60.5 days, probe
// incomplete_chain), site "8" "Old" bound to certificate 6 (expired 1.5
// days ago, not probed).
// Orders: done on web-01/1 (created 3 h ago, done 1 h ago); failed on
// db-02/7 (its prepare job failed at CREATE_CSR "key generation refused");
// deploying on web-01/2 (its deploy job running at REPLACE_BINDING). A
// failed inventory job on db-02 without an order.
absl::StatusOr<SeededFleet> SeedFleet(store::Store& store);

}  // namespace certfleet::controller::http::testing

#endif  // CERTFLEET_TESTS_CONTROLLER_HTTP_HTTP_TEST_SEED_H_
