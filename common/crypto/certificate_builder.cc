#include "common/crypto/certificate_builder.h"

#include <openssl/bn.h>
#include <openssl/rand.h>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace certfleet::crypto {
namespace {

const EVP_MD* DigestOf(SignatureDigest digest) {
  switch (digest) {
    case SignatureDigest::kSha256:
      return EVP_sha256();
    case SignatureDigest::kSha384:
      return EVP_sha384();
    case SignatureDigest::kSha1:
      return EVP_sha1();
  }
  return EVP_sha256();
}

absl::Status AddExtension(X509* certificate, X509V3_CTX* context, int nid,
                          const std::string& value) {
  X509ExtensionHandle extension(X509V3_EXT_conf_nid(nullptr, context, nid, value.c_str()));
  if (extension == nullptr || X509_add_ext(certificate, extension.get(), -1) != 1) {
    return absl::InvalidArgumentError(absl::StrCat("extension ", OBJ_nid2sn(nid), "='", value,
                                                   "' was refused: ", TakeOpenSslErrors()));
  }
  return absl::OkStatus();
}

absl::Status SetSerial(X509* certificate, const std::string& serial_hex) {
  BignumHandle serial(BN_new());
  if (serial_hex.empty()) {
    // 127 random bits keep the serial positive and unique without a counter.
    if (BN_rand(serial.get(), 127, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) != 1) {
      return absl::InternalError(absl::StrCat("no random serial: ", TakeOpenSslErrors()));
    }
  } else {
    BIGNUM* parsed = serial.get();
    if (BN_hex2bn(&parsed, serial_hex.c_str()) == 0) {
      return absl::InvalidArgumentError(absl::StrCat("serial '", serial_hex, "' is not hex"));
    }
  }
  ASN1_INTEGER* integer = BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(certificate));
  return integer != nullptr ? absl::OkStatus()
                            : absl::InternalError("cannot set the serial number");
}

std::string KeyUsageFor(CertificateUsage usage, KeyAlgorithm algorithm) {
  switch (usage) {
    case CertificateUsage::kCertificateAuthority:
      return "critical,keyCertSign,cRLSign,digitalSignature";
    case CertificateUsage::kTlsServer:
    case CertificateUsage::kTlsClient:
    case CertificateUsage::kTlsServerAndClient:
      // RSA key exchange (all IIS 6 offers) needs keyEncipherment.
      return algorithm == KeyAlgorithm::kRsa ? "critical,digitalSignature,keyEncipherment"
                                             : "critical,digitalSignature";
  }
  return "critical,digitalSignature";
}

std::string ExtendedKeyUsageFor(CertificateUsage usage) {
  switch (usage) {
    case CertificateUsage::kTlsServer:
      return "serverAuth";
    case CertificateUsage::kTlsClient:
      return "clientAuth";
    case CertificateUsage::kTlsServerAndClient:
      return "serverAuth,clientAuth";
    case CertificateUsage::kCertificateAuthority:
      break;
  }
  return "";
}

std::string AlternativeNameValue(const std::vector<std::string>& names) {
  std::vector<std::string> entries;
  for (const std::string& name : names) {
    entries.push_back(name.find(':') == std::string::npos ? "DNS:" + name : name);
  }
  return absl::StrJoin(entries, ",");
}

absl::Status SetTime(ASN1_TIME* field, absl::Time time) {
  if (ASN1_TIME_set(field, absl::ToTimeT(time)) == nullptr) {
    return absl::InvalidArgumentError("a validity time is out of range");
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<Certificate> IssueCertificate(const CertificateProfile& profile,
                                             const PublicKey& subject_key,
                                             const std::optional<Certificate>& issuer,
                                             const PrivateKey& issuer_key) {
  if (profile.not_after <= profile.not_before) {
    return absl::InvalidArgumentError("not_after must be later than not_before");
  }
  if (profile.path_length.has_value() &&
      profile.usage != CertificateUsage::kCertificateAuthority) {
    return absl::InvalidArgumentError("a path length is only meaningful on a CA certificate");
  }
  if (profile.subject.empty() && profile.alternative_names.empty()) {
    return absl::InvalidArgumentError("a certificate needs a subject or an alternative name");
  }
  if (!issuer.has_value() && !(subject_key == issuer_key.public_key())) {
    return absl::InvalidArgumentError(
        "a self-signed certificate must be signed by its own key");
  }
  if (issuer.has_value() && !(issuer->public_key() == issuer_key.public_key())) {
    return absl::InvalidArgumentError("the issuer key does not belong to the issuer certificate");
  }

  X509Handle certificate(X509_new());
  X509_set_version(certificate.get(), 2);
  if (absl::Status status = SetSerial(certificate.get(), profile.serial_hex); !status.ok()) {
    return status;
  }
  absl::StatusOr<X509NameHandle> subject = profile.subject.ToNative();
  if (!subject.ok()) return subject.status();
  X509_set_subject_name(certificate.get(), subject->get());
  X509_set_issuer_name(certificate.get(),
                       issuer.has_value() ? X509_get_subject_name(issuer->native_handle())
                                          : subject->get());
  if (absl::Status status = SetTime(X509_getm_notBefore(certificate.get()), profile.not_before);
      !status.ok()) {
    return status;
  }
  if (absl::Status status = SetTime(X509_getm_notAfter(certificate.get()), profile.not_after);
      !status.ok()) {
    return status;
  }
  const auto* cursor = reinterpret_cast<const unsigned char*>(subject_key.der().data());
  EvpPkeyHandle subject_native(
      d2i_PUBKEY(nullptr, &cursor, static_cast<long>(subject_key.der().size())));
  if (subject_native == nullptr) {
    return absl::InvalidArgumentError("the subject public key does not decode");
  }
  X509_set_pubkey(certificate.get(), subject_native.get());

  X509V3_CTX context;
  X509V3_set_ctx_nodb(&context);
  X509V3_set_ctx(&context, issuer.has_value() ? issuer->native_handle() : certificate.get(),
                 certificate.get(), nullptr, nullptr, 0);

  const bool is_ca = profile.usage == CertificateUsage::kCertificateAuthority;
  std::string basic_constraints = is_ca ? "critical,CA:TRUE" : "critical,CA:FALSE";
  if (profile.path_length.has_value()) {
    absl::StrAppend(&basic_constraints, ",pathlen:", *profile.path_length);
  }
  struct Extension {
    int nid;
    std::string value;
  };
  std::vector<Extension> extensions = {
      {NID_basic_constraints, basic_constraints},
      {NID_key_usage, KeyUsageFor(profile.usage, subject_key.algorithm())},
      {NID_subject_key_identifier, "hash"},
  };
  if (issuer.has_value()) extensions.push_back({NID_authority_key_identifier, "keyid:always"});
  if (const std::string usage = ExtendedKeyUsageFor(profile.usage); !usage.empty()) {
    extensions.push_back({NID_ext_key_usage, usage});
  }
  if (!profile.alternative_names.empty()) {
    extensions.push_back({NID_subject_alt_name, AlternativeNameValue(profile.alternative_names)});
  }
  for (const Extension& extension : extensions) {
    if (absl::Status status =
            AddExtension(certificate.get(), &context, extension.nid, extension.value);
        !status.ok()) {
      return status;
    }
  }

  const EVP_MD* digest = DigestOf(profile.digest);
  if (X509_sign(certificate.get(), issuer_key.native_handle(), digest) <= 0) {
    return absl::InternalError(absl::StrCat("signing failed: ", TakeOpenSslErrors()));
  }
  return Certificate::FromNative(certificate.get());
}

absl::StatusOr<Certificate> IssueFromRequest(const CertificateRequest& request,
                                             CertificateProfile profile,
                                             const Certificate& issuer,
                                             const PrivateKey& issuer_key) {
  if (absl::Status status = request.VerifySignature(); !status.ok()) return status;
  if (profile.subject.empty()) profile.subject = request.Subject();
  if (profile.alternative_names.empty()) {
    for (const std::string& name : request.DnsNames()) {
      profile.alternative_names.push_back("DNS:" + name);
    }
  }
  return IssueCertificate(profile, request.public_key(), issuer, issuer_key);
}

}  // namespace certfleet::crypto
