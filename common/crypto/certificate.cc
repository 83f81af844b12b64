#include "common/crypto/certificate.h"

#include <arpa/inet.h>
#include <openssl/asn1.h>
#include <openssl/bn.h>
#include <openssl/pem.h>

#include <ostream>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace certfleet::crypto {
namespace {

absl::Time TimeFromAsn1(const ASN1_TIME* time) {
  struct tm broken_down = {};
  if (ASN1_TIME_to_tm(time, &broken_down) != 1) return absl::InfinitePast();
  return absl::FromUnixSeconds(timegm(&broken_down));
}

std::string Digest(X509* certificate, const EVP_MD* algorithm) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  X509_digest(certificate, algorithm, digest, &length);
  return HexUpper(std::string_view(reinterpret_cast<char*>(digest), length));
}

std::string Asn1Text(const ASN1_STRING* text) {
  return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(text)),
                          static_cast<size_t>(ASN1_STRING_length(text)));
}

std::string GeneralNameText(const GENERAL_NAME* name) {
  switch (name->type) {
    case GEN_DNS:
      return absl::StrCat("DNS:", Asn1Text(name->d.dNSName));
    case GEN_EMAIL:
      return absl::StrCat("email:", Asn1Text(name->d.rfc822Name));
    case GEN_URI:
      return absl::StrCat("URI:", Asn1Text(name->d.uniformResourceIdentifier));
    case GEN_IPADD: {
      const ASN1_OCTET_STRING* address = name->d.iPAddress;
      char text[INET6_ADDRSTRLEN] = {0};
      const int family = address->length == 4 ? AF_INET : AF_INET6;
      if ((address->length != 4 && address->length != 16) ||
          inet_ntop(family, address->data, text, sizeof(text)) == nullptr) {
        return "IP:invalid";
      }
      return absl::StrCat("IP:", text);
    }
    default:
      return "other";
  }
}

}  // namespace

std::string HexUpper(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789ABCDEF";
  std::string hex;
  hex.reserve(bytes.size() * 2);
  for (unsigned char byte : bytes) {
    hex.push_back(kDigits[byte >> 4]);
    hex.push_back(kDigits[byte & 0x0F]);
  }
  return hex;
}

absl::StatusOr<Certificate> Certificate::FromDer(std::string_view der) {
  const auto* cursor = reinterpret_cast<const unsigned char*>(der.data());
  const auto* end = cursor + der.size();
  X509* parsed = d2i_X509(nullptr, &cursor, static_cast<long>(der.size()));
  if (parsed == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("not a DER X.509 certificate: ", TakeOpenSslErrors()));
  }
  Certificate certificate(std::shared_ptr<X509>(parsed, X509_free));
  if (cursor != end) {
    return absl::InvalidArgumentError(absl::StrCat(
        "a DER certificate was followed by ", end - cursor, " unexpected bytes"));
  }
  return certificate;
}

Certificate Certificate::FromNative(X509* certificate) {
  X509_up_ref(certificate);
  return Certificate(std::shared_ptr<X509>(certificate, X509_free));
}

std::string Certificate::ToDer() const {
  unsigned char* buffer = nullptr;
  const int length = i2d_X509(certificate_.get(), &buffer);
  if (length <= 0) return "";
  std::string der(reinterpret_cast<char*>(buffer), static_cast<size_t>(length));
  OPENSSL_free(buffer);
  return der;
}

std::string Certificate::ToPem() const {
  BioHandle bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509(bio.get(), certificate_.get());
  return ReadMemoryBio(bio.get());
}

std::string Certificate::Thumbprint() const { return Digest(certificate_.get(), EVP_sha1()); }

std::string Certificate::Sha256Fingerprint() const {
  return Digest(certificate_.get(), EVP_sha256());
}

std::string Certificate::SubjectText() const {
  return FormatName(X509_get_subject_name(certificate_.get()));
}

std::string Certificate::IssuerText() const {
  return FormatName(X509_get_issuer_name(certificate_.get()));
}

DistinguishedName Certificate::Subject() const {
  return DistinguishedName::FromNative(X509_get_subject_name(certificate_.get()));
}

DistinguishedName Certificate::Issuer() const {
  return DistinguishedName::FromNative(X509_get_issuer_name(certificate_.get()));
}

std::vector<std::string> Certificate::SubjectAlternativeNames() const {
  std::vector<std::string> names;
  GeneralNamesHandle general_names(static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(certificate_.get(), NID_subject_alt_name, nullptr, nullptr)));
  if (general_names == nullptr) return names;
  for (int i = 0; i < sk_GENERAL_NAME_num(general_names.get()); ++i) {
    names.push_back(GeneralNameText(sk_GENERAL_NAME_value(general_names.get(), i)));
  }
  return names;
}

std::vector<std::string> Certificate::DnsNames() const {
  std::vector<std::string> dns_names;
  for (const std::string& name : SubjectAlternativeNames()) {
    if (name.starts_with("DNS:")) dns_names.push_back(name.substr(4));
  }
  return dns_names;
}

std::string Certificate::SerialHex() const {
  BignumHandle serial(ASN1_INTEGER_to_BN(X509_get0_serialNumber(certificate_.get()), nullptr));
  if (serial == nullptr) return "";
  char* hex = BN_bn2hex(serial.get());
  std::string text(hex);
  OPENSSL_free(hex);
  return text;
}

absl::Time Certificate::NotBefore() const {
  return TimeFromAsn1(X509_get0_notBefore(certificate_.get()));
}

absl::Time Certificate::NotAfter() const {
  return TimeFromAsn1(X509_get0_notAfter(certificate_.get()));
}

bool Certificate::IsValidAt(absl::Time at) const { return NotBefore() <= at && at <= NotAfter(); }

PublicKey Certificate::public_key() const {
  return PublicKey::FromNative(X509_get0_pubkey(certificate_.get()));
}

std::string Certificate::SignatureAlgorithm() const {
  const int nid = X509_get_signature_nid(certificate_.get());
  return nid == NID_undef ? "unknown" : OBJ_nid2ln(nid);
}

bool Certificate::IsCertificateAuthority() const {
  return X509_check_ca(certificate_.get()) != 0 &&
         (X509_get_extension_flags(certificate_.get()) & EXFLAG_CA) != 0;
}

std::optional<int> Certificate::PathLength() const {
  const long path_length = X509_get_pathlen(certificate_.get());
  if (path_length < 0) return std::nullopt;
  return static_cast<int>(path_length);
}

bool Certificate::IsSelfIssued() const {
  return X509_NAME_cmp(X509_get_subject_name(certificate_.get()),
                       X509_get_issuer_name(certificate_.get())) == 0;
}

bool Certificate::IsIssuedBy(const Certificate& issuer) const {
  if (X509_NAME_cmp(X509_get_subject_name(issuer.certificate_.get()),
                    X509_get_issuer_name(certificate_.get())) != 0) {
    return false;
  }
  const bool verified = X509_verify(certificate_.get(), X509_get0_pubkey(issuer.certificate_.get())) == 1;
  ClearOpenSslErrors();
  return verified;
}

std::ostream& operator<<(std::ostream& out, const Certificate& certificate) {
  return out << "'" << certificate.SubjectText() << "' (SHA-1 " << certificate.Thumbprint() << ")";
}

bool operator==(const Certificate& a, const Certificate& b) {
  return X509_cmp(a.certificate_.get(), b.certificate_.get()) == 0;
}

}  // namespace certfleet::crypto
