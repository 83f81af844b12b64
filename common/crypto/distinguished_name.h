// The parts of an X.509 name that certificate requests are made with and
// that operators read: CN, O, OU, L, ST, C.
//
// Thread safety: a plain value.

#ifndef CERTFLEET_COMMON_CRYPTO_DISTINGUISHED_NAME_H_
#define CERTFLEET_COMMON_CRYPTO_DISTINGUISHED_NAME_H_

#include <string>

#include "absl/status/statusor.h"
#include "common/crypto/openssl_handles.h"

namespace certfleet::crypto {

struct DistinguishedName {
  std::string common_name;
  std::string organization;
  std::string organizational_unit;
  std::string locality;
  std::string state;
  std::string country;

  // Parses "CN=www.example.com, O=Example Ltd, C=JP" (also with "/" or ","
  // separators, as in `openssl -subj`). Returns InvalidArgument for an
  // unknown attribute, a missing '=' or a country that is not two letters.
  static absl::StatusOr<DistinguishedName> Parse(std::string_view text);

  // Reads the six attributes from an OpenSSL name; other attributes are
  // ignored here (the full text is available from FormatName).
  static DistinguishedName FromNative(const X509_NAME* name);

  // Builds an OpenSSL name with the non-empty attributes, in the order
  // C, ST, L, O, OU, CN. Returns InvalidArgument when OpenSSL refuses a value.
  absl::StatusOr<X509NameHandle> ToNative() const;

  // "CN=..., O=..., C=..." with the non-empty attributes, most specific first.
  std::string ToString() const;

  bool empty() const;

  friend bool operator==(const DistinguishedName&, const DistinguishedName&) = default;
};

// The whole name as one line in RFC 2253 order with UTF-8 kept, e.g.
// "CN=www.example.com,O=Example Ltd,C=JP".
std::string FormatName(const X509_NAME* name);

}  // namespace certfleet::crypto

#endif  // CERTFLEET_COMMON_CRYPTO_DISTINGUISHED_NAME_H_
