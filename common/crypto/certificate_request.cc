#include "common/crypto/certificate_request.h"

#include <openssl/pem.h>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/crypto/certificate.h"

namespace certfleet::crypto {
namespace {

std::shared_ptr<X509_REQ> Share(X509_REQ* request) {
  return std::shared_ptr<X509_REQ>(request, X509_REQ_free);
}

}  // namespace

absl::StatusOr<CertificateRequest> CertificateRequest::Create(
    const PrivateKey& key, const DistinguishedName& subject,
    const std::vector<std::string>& dns_names) {
  if (subject.empty() && dns_names.empty()) {
    return absl::InvalidArgumentError("a CSR needs a subject or at least one DNS name");
  }
  X509RequestHandle request(X509_REQ_new());
  X509_REQ_set_version(request.get(), 0);
  absl::StatusOr<X509NameHandle> name = subject.ToNative();
  if (!name.ok()) return name.status();
  X509_REQ_set_subject_name(request.get(), name->get());
  X509_REQ_set_pubkey(request.get(), key.native_handle());

  if (!dns_names.empty()) {
    std::vector<std::string> entries;
    for (const std::string& dns_name : dns_names) entries.push_back("DNS:" + dns_name);
    const std::string value = absl::StrJoin(entries, ",");
    X509ExtensionHandle extension(
        X509V3_EXT_conf_nid(nullptr, nullptr, NID_subject_alt_name, value.c_str()));
    if (extension == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("subject alternative names '", value, "' were refused: ",
                       TakeOpenSslErrors()));
    }
    STACK_OF(X509_EXTENSION)* extensions = sk_X509_EXTENSION_new_null();
    sk_X509_EXTENSION_push(extensions, extension.get());
    const int added = X509_REQ_add_extensions(request.get(), extensions);
    sk_X509_EXTENSION_free(extensions);
    if (added != 1) {
      return absl::InternalError(absl::StrCat("adding extensions failed: ", TakeOpenSslErrors()));
    }
  }

  if (X509_REQ_sign(request.get(), key.native_handle(), EVP_sha256()) <= 0) {
    return absl::InternalError(absl::StrCat("signing the CSR failed: ", TakeOpenSslErrors()));
  }
  return CertificateRequest(Share(request.release()));
}

absl::StatusOr<CertificateRequest> CertificateRequest::Parse(std::string_view bytes) {
  if (bytes.empty()) return absl::InvalidArgumentError("the CSR file is empty");
  ClearOpenSslErrors();
  if (bytes.find("-----BEGIN") != std::string_view::npos) {
    if (bytes.find("CERTIFICATE REQUEST-----") == std::string_view::npos) {
      return absl::InvalidArgumentError(
          "no 'BEGIN CERTIFICATE REQUEST' block: this PEM file holds something else "
          "(use `certfleetctl cert inspect` to see what)");
    }
    BioHandle bio = MemoryBioFor(bytes);
    X509_REQ* request = PEM_read_bio_X509_REQ(bio.get(), nullptr, nullptr, nullptr);
    if (request == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("the PEM CSR is damaged or truncated: ", TakeOpenSslErrors()));
    }
    return CertificateRequest(Share(request));
  }
  const auto* cursor = reinterpret_cast<const unsigned char*>(bytes.data());
  X509_REQ* request = d2i_X509_REQ(nullptr, &cursor, static_cast<long>(bytes.size()));
  if (request == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("not a CSR in PEM or DER: ", TakeOpenSslErrors()));
  }
  return CertificateRequest(Share(request));
}

std::string CertificateRequest::ToPem() const {
  BioHandle bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509_REQ(bio.get(), request_.get());
  return ReadMemoryBio(bio.get());
}

std::string CertificateRequest::ToDer() const {
  unsigned char* buffer = nullptr;
  const int length = i2d_X509_REQ(request_.get(), &buffer);
  if (length <= 0) return "";
  std::string der(reinterpret_cast<char*>(buffer), static_cast<size_t>(length));
  OPENSSL_free(buffer);
  return der;
}

DistinguishedName CertificateRequest::Subject() const {
  return DistinguishedName::FromNative(X509_REQ_get_subject_name(request_.get()));
}

std::string CertificateRequest::SubjectText() const {
  return FormatName(X509_REQ_get_subject_name(request_.get()));
}

std::vector<std::string> CertificateRequest::DnsNames() const {
  std::vector<std::string> names;
  STACK_OF(X509_EXTENSION)* extensions = X509_REQ_get_extensions(request_.get());
  if (extensions == nullptr) return names;
  for (int i = 0; i < sk_X509_EXTENSION_num(extensions); ++i) {
    X509_EXTENSION* extension = sk_X509_EXTENSION_value(extensions, i);
    if (OBJ_obj2nid(X509_EXTENSION_get_object(extension)) != NID_subject_alt_name) continue;
    GeneralNamesHandle general_names(static_cast<GENERAL_NAMES*>(X509V3_EXT_d2i(extension)));
    if (general_names == nullptr) continue;
    for (int j = 0; j < sk_GENERAL_NAME_num(general_names.get()); ++j) {
      const GENERAL_NAME* name = sk_GENERAL_NAME_value(general_names.get(), j);
      if (name->type != GEN_DNS) continue;
      names.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(name->d.dNSName)),
                         static_cast<size_t>(ASN1_STRING_length(name->d.dNSName)));
    }
  }
  sk_X509_EXTENSION_pop_free(extensions, X509_EXTENSION_free);
  return names;
}

PublicKey CertificateRequest::public_key() const {
  return PublicKey::FromNative(X509_REQ_get0_pubkey(request_.get()));
}

std::string CertificateRequest::SignatureAlgorithm() const {
  const int nid = X509_REQ_get_signature_nid(request_.get());
  return nid == NID_undef ? "unknown" : OBJ_nid2ln(nid);
}

absl::Status CertificateRequest::VerifySignature() const {
  EVP_PKEY* key = X509_REQ_get0_pubkey(request_.get());
  if (key == nullptr || X509_REQ_verify(request_.get(), key) != 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "CSR signature does not verify with the key it carries (the CSR was altered or damaged): ",
        TakeOpenSslErrors()));
  }
  return absl::OkStatus();
}

}  // namespace certfleet::crypto
