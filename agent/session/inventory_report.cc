#include "agent/session/inventory_report.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <openssl/evp.h>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "agent/drivers/iis6/iis6_driver.h"

namespace certfleet::agent::session {
namespace {

namespace v1 = certfleet::v1;

void SetTimestamp(absl::Time time, google::protobuf::Timestamp* timestamp) {
  const int64_t seconds = absl::ToUnixSeconds(time);
  timestamp->set_seconds(seconds);
  timestamp->set_nanos(
      static_cast<int32_t>(absl::ToInt64Nanoseconds(time - absl::FromUnixSeconds(seconds))));
}

void SetName(const crypto::DistinguishedName& name, v1::DistinguishedName* out) {
  out->set_common_name(name.common_name);
  out->set_organization(name.organization);
  out->set_organizational_unit(name.organizational_unit);
  out->set_locality(name.locality);
  out->set_state_or_province(name.state);
  out->set_country(name.country);
}

v1::SignatureHash HashOf(const std::string& algorithm) {
  const std::string lower = absl::AsciiStrToLower(algorithm);
  if (absl::StrContains(lower, "sha256")) return v1::SIGNATURE_HASH_SHA256;
  if (absl::StrContains(lower, "sha384")) return v1::SIGNATURE_HASH_SHA384;
  if (absl::StrContains(lower, "sha512")) return v1::SIGNATURE_HASH_SHA512;
  if (absl::StrContains(lower, "sha1")) return v1::SIGNATURE_HASH_SHA1;
  if (absl::StrContains(lower, "md5")) return v1::SIGNATURE_HASH_MD5;
  if (absl::StrContains(lower, "ed25519")) return v1::SIGNATURE_HASH_NONE;
  return v1::SIGNATURE_HASH_UNSPECIFIED;
}

v1::KeySpec KeySpecOf(const crypto::PublicKey& key) {
  if (key.algorithm() == crypto::KeyAlgorithm::kRsa) {
    if (key.bits() == 2048) return v1::KEY_SPEC_RSA_2048;
    if (key.bits() == 3072) return v1::KEY_SPEC_RSA_3072;
    if (key.bits() == 4096) return v1::KEY_SPEC_RSA_4096;
  } else if (key.algorithm() == crypto::KeyAlgorithm::kEcdsa) {
    if (key.bits() == 256) return v1::KEY_SPEC_ECDSA_P256;
    if (key.bits() == 384) return v1::KEY_SPEC_ECDSA_P384;
  }
  return v1::KEY_SPEC_UNSPECIFIED;
}

void AddAlternativeName(const std::string& entry, v1::SubjectAlternativeName* name) {
  const size_t colon = entry.find(':');
  const std::string kind = absl::AsciiStrToUpper(entry.substr(0, colon));
  name->set_value(colon == std::string::npos ? entry : entry.substr(colon + 1));
  if (kind == "DNS") {
    name->set_kind(v1::SUBJECT_ALTERNATIVE_NAME_KIND_DNS);
  } else if (kind == "IP" || kind == "IP ADDRESS") {
    name->set_kind(v1::SUBJECT_ALTERNATIVE_NAME_KIND_IP_ADDRESS);
  } else if (kind == "EMAIL") {
    name->set_kind(v1::SUBJECT_ALTERNATIVE_NAME_KIND_EMAIL);
  } else if (kind == "URI") {
    name->set_kind(v1::SUBJECT_ALTERNATIVE_NAME_KIND_URI);
  }
}

v1::CertificateStore ToStore(CertificateStore store) {
  switch (store) {
    case CertificateStore::kPersonal:
      return v1::CERTIFICATE_STORE_MY;
    case CertificateStore::kIntermediate:
      return v1::CERTIFICATE_STORE_CA;
    case CertificateStore::kRoot:
      return v1::CERTIFICATE_STORE_ROOT;
    case CertificateStore::kRequest:
      return v1::CERTIFICATE_STORE_REQUEST;
  }
  return v1::CERTIFICATE_STORE_UNSPECIFIED;
}

void AddEndpoints(const std::vector<SiteEndpoint>& endpoints,
                  google::protobuf::RepeatedPtrField<v1::Endpoint>* out) {
  for (const SiteEndpoint& endpoint : endpoints) {
    v1::Endpoint* added = out->Add();
    added->set_ip_address(endpoint.address);
    added->set_port(endpoint.port);
    added->set_host_header(endpoint.host_header);
  }
}

// The IIS 6 driver marks the sites it creates for a renewal with a reserved
// host header (Iis6Driver::kTemporaryHostHeader).
bool IsTemporarySite(const SiteInfo& site) {
  for (const SiteEndpoint& endpoint : site.plain_endpoints) {
    if (endpoint.host_header == iis6::Iis6Driver::kTemporaryHostHeader) return true;
  }
  return false;
}

}  // namespace

std::string Sha256Hex(std::string_view bytes) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(bytes.data(), bytes.size(), digest, &length, EVP_sha256(), nullptr);
  return crypto::HexUpper(std::string_view(reinterpret_cast<const char*>(digest), length));
}

v1::CertificateInfo ToCertificateInfo(const crypto::Certificate& certificate) {
  v1::CertificateInfo info;
  info.set_thumbprint_sha1(certificate.Thumbprint());
  info.set_fingerprint_sha256(certificate.Sha256Fingerprint());
  info.set_subject(certificate.SubjectText());
  SetName(certificate.Subject(), info.mutable_subject_name());
  info.set_issuer(certificate.IssuerText());
  SetName(certificate.Issuer(), info.mutable_issuer_name());
  info.set_serial_number(certificate.SerialHex());
  SetTimestamp(certificate.NotBefore(), info.mutable_not_before());
  SetTimestamp(certificate.NotAfter(), info.mutable_not_after());
  for (const std::string& name : certificate.SubjectAlternativeNames()) {
    AddAlternativeName(name, info.add_subject_alternative_names());
  }
  const crypto::PublicKey key = certificate.public_key();
  switch (key.algorithm()) {
    case crypto::KeyAlgorithm::kRsa:
      info.set_key_algorithm(v1::KEY_ALGORITHM_RSA);
      break;
    case crypto::KeyAlgorithm::kEcdsa:
      info.set_key_algorithm(v1::KEY_ALGORITHM_ECDSA);
      break;
    case crypto::KeyAlgorithm::kOther:
      info.set_key_algorithm(v1::KEY_ALGORITHM_OTHER);
      break;
  }
  info.set_key_bits(static_cast<uint32_t>(key.bits()));
  info.set_signature_algorithm(certificate.SignatureAlgorithm());
  info.set_signature_hash(HashOf(certificate.SignatureAlgorithm()));
  info.set_is_ca(certificate.IsCertificateAuthority());
  if (std::optional<int> path_length = certificate.PathLength(); path_length.has_value()) {
    info.set_path_length_constraint(static_cast<uint32_t>(*path_length));
  }
  if (certificate.IsCertificateAuthority()) {
    info.set_kind(certificate.IsSelfIssued() ? v1::CERTIFICATE_KIND_ROOT
                                             : v1::CERTIFICATE_KIND_INTERMEDIATE);
  } else {
    info.set_kind(certificate.IsSelfIssued() ? v1::CERTIFICATE_KIND_SELF_SIGNED_LEAF
                                             : v1::CERTIFICATE_KIND_LEAF);
  }
  info.set_public_key_sha256(key.Sha256Fingerprint());
  info.set_der(certificate.ToDer());
  return info;
}

std::string InventoryContentHash(const v1::HostInventory& inventory) {
  v1::HostInventory copy = inventory;
  copy.clear_scanned_at();
  copy.clear_content_hash();
  copy.clear_served();
  std::string bytes;
  {
    google::protobuf::io::StringOutputStream stream(&bytes);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    copy.SerializeToCodedStream(&coded);
  }
  return Sha256Hex(bytes);
}

v1::HostInventory ToHostInventoryProto(const HostInventory& inventory, const v1::Platform& platform,
                                       absl::Time scanned_at) {
  v1::HostInventory report;
  SetTimestamp(scanned_at, report.mutable_scanned_at());
  *report.mutable_platform() = platform;
  for (const SiteInfo& site : inventory.sites) {
    v1::Site* out = report.add_sites();
    out->set_site_id(site.site_id);
    out->set_name(site.name);
    out->set_state(site.auto_start ? v1::SITE_STATE_STARTED : v1::SITE_STATE_STOPPED);
    out->set_auto_start(site.auto_start);
    out->set_content_path(site.content_path);
    out->set_configuration_location(absl::StrCat("/LM/W3SVC/", site.site_id));
    out->set_temporary(IsTemporarySite(site));
    if (site.secure_endpoints.empty() && site.bound_thumbprint.empty()) continue;
    v1::Binding* binding = report.add_bindings();
    binding->set_binding_id(site.site_id);
    binding->set_site_id(site.site_id);
    AddEndpoints(site.secure_endpoints, binding->mutable_secure_endpoints());
    AddEndpoints(site.plain_endpoints, binding->mutable_plain_endpoints());
    binding->set_certificate_thumbprint(site.bound_thumbprint);
    if (!site.bound_thumbprint.empty()) binding->set_certificate_store(v1::CERTIFICATE_STORE_MY);
    binding->set_has_pending_request(site.has_pending_request);
  }
  for (const StoredCertificate& stored : inventory.certificates) {
    v1::CertificateInfo* info = report.add_certificates();
    *info = ToCertificateInfo(stored.certificate);
    info->set_store(ToStore(stored.store));
    info->set_has_private_key(stored.has_private_key);
    if (stored.store == CertificateStore::kRequest) {
      info->set_kind(v1::CERTIFICATE_KIND_REQUEST_PLACEHOLDER);
    }
  }
  for (const PendingRequestInfo& pending : inventory.pending_requests) {
    v1::PendingRequest* out = report.add_pending_requests();
    out->set_site_id(pending.site_id);
    const crypto::PublicKey key = pending.request.public_key();
    out->set_public_key_sha256(key.Sha256Fingerprint());
    SetName(pending.request.Subject(), out->mutable_subject());
    for (const std::string& name : pending.request.DnsNames()) {
      v1::SubjectAlternativeName* added = out->add_subject_alternative_names();
      added->set_kind(v1::SUBJECT_ALTERNATIVE_NAME_KIND_DNS);
      added->set_value(name);
    }
    out->set_key_spec(KeySpecOf(key));
    for (const StoredCertificate& stored : inventory.certificates) {
      if (stored.store == CertificateStore::kRequest && stored.certificate.public_key() == key) {
        SetTimestamp(stored.certificate.NotBefore(), out->mutable_created_at());
        out->set_placeholder_thumbprint(stored.certificate.Thumbprint());
      }
    }
    out->set_csr_pem(pending.request.ToPem());
  }
  report.set_content_hash(InventoryContentHash(report));
  return report;
}

v1::HostInventory ScanFailureReport(const absl::Status& scan_error, const v1::Platform& platform,
                                    absl::Time scanned_at) {
  v1::HostInventory report;
  SetTimestamp(scanned_at, report.mutable_scanned_at());
  *report.mutable_platform() = platform;
  v1::Failure* failure = report.mutable_scan_failure();
  failure->set_code(absl::IsFailedPrecondition(scan_error) ? v1::FAILURE_CODE_CORRUPT_CONFIGURATION
                                                           : v1::FAILURE_CODE_IO_ERROR);
  failure->set_message(std::string(scan_error.message()));
  failure->set_retryable(true);
  report.set_content_hash(InventoryContentHash(report));
  return report;
}

}  // namespace certfleet::agent::session
