// A small PKI made by the tests themselves, so that no private key is ever
// committed: a root, an intermediate under it, server leaves signed by the
// intermediate (current, expired, not yet valid), and an unrelated CA with a
// leaf of its own. Keys are ECDSA P-256 for speed, except `rsa_leaf` which
// is RSA 2048 as IIS 6 requires.
//
// Thread safety: Shared() builds the PKI once per process, on first use.

#ifndef CERTFLEET_TESTS_SUPPORT_TEST_PKI_H_
#define CERTFLEET_TESTS_SUPPORT_TEST_PKI_H_

#include <string>

#include "absl/time/time.h"
#include "common/crypto/certificate.h"
#include "common/crypto/private_key.h"

namespace certfleet::testing {

struct Issued {
  crypto::Certificate certificate;
  crypto::PrivateKey key;
};

struct TestPki {
  // The fixed "now" the validity periods are laid around.
  absl::Time now;

  Issued root;          // CN=certfleet Test Root CA, valid now-1y .. now+10y.
  Issued intermediate;  // CN=certfleet Test Intermediate CA, issued by root.
  Issued leaf;          // CN=www.example.test (also its DNS SAN), now-10d .. now+80d.
  Issued rsa_leaf;      // CN=shop.example.test, RSA 2048.
  Issued expired_leaf;  // CN=old.example.test, now-400d .. now-35d.
  Issued future_leaf;   // CN=future.example.test, now+10d .. now+100d.
  Issued other_root;    // CN=Unrelated Root CA, a separate hierarchy.
  Issued other_leaf;    // CN=www.example.test again, but issued by other_root.

  // The process-wide PKI, built around absl::Now() at first use.
  static const TestPki& Shared();

  // A leaf for `common_name` (also its only DNS SAN) issued by the
  // intermediate, valid now-1d .. now+`days`.
  Issued IssueLeaf(const std::string& common_name, int days = 90) const;
};

}  // namespace certfleet::testing

#endif  // CERTFLEET_TESTS_SUPPORT_TEST_PKI_H_
