// Helpers for the IIS 6 driver tests: an emulated host built with the tests'
// own PKI (tests/support/test_pki.h) as its CA, RSA certificates issued for a
// CSR as a CA would, and a byte-for-byte snapshot of a folder tree to prove
// that a refused operation left the host exactly as it was.
//
// Thread safety: functions without shared state; TestPki::Shared() is built
// once per process.

#ifndef CERTFLEET_TESTS_AGENT_DRIVERS_IIS6_IIS6_TEST_HOST_H_
#define CERTFLEET_TESTS_AGENT_DRIVERS_IIS6_IIS6_TEST_HOST_H_

#include <filesystem>
#include <map>
#include <string>

#include "absl/time/time.h"
#include "agent/drivers/iis6/emulated_host_builder.h"
#include "common/crypto/certificate.h"
#include "common/crypto/certificate_request.h"
#include "common/crypto/private_key.h"

namespace certfleet::testing {

// The shared test PKI's intermediate (with the root above it) as an issuer.
iis6::CertificateIssuer TestIssuer();

// Builds an emulated host in `host_root` issued by TestIssuer(), address
// 127.0.0.2, HTTP 8080, HTTPS 8443/8444. Throws std::runtime_error on
// failure (a broken fixture, not a test result).
iis6::EmulatedHost BuildTestHost(const std::filesystem::path& host_root);

// What a CA returns for `request`: a server certificate issued by the test
// PKI's intermediate, valid from `not_before` for `days` days.
crypto::Certificate IssueForRequest(const crypto::CertificateRequest& request,
                                    absl::Time not_before = absl::Now() - absl::Hours(1),
                                    int days = 90);

// A fresh RSA 2048 key.
crypto::PrivateKey NewRsaKey();

// Every file below `root` (relative path -> content, plus its mode as
// "mode:0600" entries) and every folder, so that two snapshots compare equal
// exactly when nothing was created, removed, changed or re-permissioned.
std::map<std::string, std::string> SnapshotTree(const std::filesystem::path& root);

// File mode bits (e.g. 0600) of `path`.
unsigned FileMode(const std::filesystem::path& path);

}  // namespace certfleet::testing

#endif  // CERTFLEET_TESTS_AGENT_DRIVERS_IIS6_IIS6_TEST_HOST_H_
