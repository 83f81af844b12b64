#include "agent/drivers/iis6/certificate_diagnosis.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/crypto/object_inspector.h"

namespace certfleet::iis6 {
namespace {

std::string FormatDate(absl::Time time) {
  return absl::FormatTime("%Y-%m-%d %H:%M:%S UTC", time, absl::UTCTimeZone());
}

std::string Quoted(const crypto::Certificate& certificate) {
  return absl::StrCat("'", certificate.SubjectText(), "'");
}

// "'CN=www.example.test' (thumbprint AB..., valid 2024-01-01 ... to ...)".
std::string Identify(const crypto::Certificate& certificate) {
  return absl::StrCat(Quoted(certificate), " (thumbprint ", certificate.Thumbprint(), ", valid ",
                      FormatDate(certificate.NotBefore()), " to ",
                      FormatDate(certificate.NotAfter()), ")");
}

std::string TargetSite(const DiagnosisInput& input) {
  return DescribeSite(input.site_id, input.site_name);
}

// What the operator should have accepted instead, for the end of a message.
std::string WhatIsExpected(const DiagnosisInput& input) {
  if (!input.site_request.has_value()) {
    return absl::StrCat(TargetSite(input), " has no pending request");
  }
  return absl::StrCat(
      "the certificate expected is the one the CA issued for the pending request "
      "of ",
      TargetSite(input), " ('", input.site_request->subject, "', made ",
      FormatDate(input.site_request->created), ")");
}

bool IsSelfSigned(const crypto::Certificate& certificate) {
  return certificate.IsSelfIssued() && certificate.IsIssuedBy(certificate);
}

}  // namespace

std::string_view CertificateVerdictName(CertificateVerdict verdict) {
  switch (verdict) {
    case CertificateVerdict::kAnswersRequest:
      return "answers_request";
    case CertificateVerdict::kPlaceholder:
      return "placeholder";
    case CertificateVerdict::kCertificateAuthority:
      return "certificate_authority";
    case CertificateVerdict::kAnswersOtherRequest:
      return "answers_other_request";
    case CertificateVerdict::kOlderCertificate:
      return "older_certificate";
    case CertificateVerdict::kNotServerCertificate:
      return "not_server_certificate";
    case CertificateVerdict::kOtherIssuer:
      return "other_issuer";
    case CertificateVerdict::kNoPendingRequest:
      return "no_pending_request";
    case CertificateVerdict::kUnknownKey:
      return "unknown_key";
  }
  return "unknown";
}

std::string DescribeSite(std::string_view site_id, std::string_view site_name,
                         std::string_view host) {
  std::string text = absl::StrCat("site ", std::string(site_id));
  if (!site_name.empty()) absl::StrAppend(&text, " '", std::string(site_name), "'");
  if (!host.empty()) absl::StrAppend(&text, " on host ", std::string(host));
  return text;
}

CertificateDiagnosis DiagnoseIssuedCertificate(const crypto::Certificate& certificate,
                                               const DiagnosisInput& input) {
  const crypto::PublicKey key = certificate.public_key();

  if (input.site_request.has_value() && input.site_request->public_key == key) {
    if (IsSelfSigned(certificate)) {
      return {CertificateVerdict::kPlaceholder,
              absl::StrCat("this is the self-signed placeholder ", Quoted(certificate),
                           " that IIS keeps for the pending request of ", TargetSite(input),
                           ", not a certificate issued by a CA: submit the request's CSR to the "
                           "CA and accept the certificate it returns")};
    }
    return {CertificateVerdict::kAnswersRequest, ""};
  }

  if (certificate.IsCertificateAuthority()) {
    const bool root = crypto::RoleOf(certificate) == crypto::CertificateRole::kRoot;
    return {CertificateVerdict::kCertificateAuthority,
            absl::StrCat("this is ", root ? "a root" : "an intermediate", " CA certificate ",
                         Quoted(certificate),
                         ", not the server certificate (it has basicConstraints CA:TRUE); give it "
                         "as part of the chain, and accept the server certificate: ",
                         WhatIsExpected(input))};
  }

  for (const KnownPendingRequest& other : input.other_requests) {
    if (!(other.public_key == key)) continue;
    const std::string other_site = DescribeSite(other.site_id, other.site_name, other.host);
    return {CertificateVerdict::kAnswersOtherRequest,
            absl::StrCat("this certificate ", Quoted(certificate),
                         " answers the pending request of another site: ", other_site, " ('",
                         other.subject, "', made ", FormatDate(other.created), "), not ",
                         TargetSite(input), "; accept it on ", other_site, " or submit the CSR of ",
                         TargetSite(input), " to the CA")};
  }

  for (const KnownCertificate& installed : input.installed) {
    if (!(installed.certificate.public_key() == key)) continue;
    std::string message;
    if (installed.certificate == certificate) {
      message = absl::StrCat("this is a certificate this host already has: ", Identify(certificate),
                             " is ", installed.location);
    } else {
      message = absl::StrCat("this is an older certificate of this host: ", Identify(certificate),
                             " is for the key of ", Identify(installed.certificate), ", which is ",
                             installed.location);
    }
    if (input.site_request.has_value() && certificate.NotBefore() < input.site_request->created) {
      absl::StrAppend(&message, "; it was issued before the pending request of ", TargetSite(input),
                      " was made (", FormatDate(input.site_request->created), ")");
    }
    absl::StrAppend(&message, ", not the one just issued: ", WhatIsExpected(input));
    return {CertificateVerdict::kOlderCertificate, message};
  }

  const crypto::CertificateRole role = crypto::RoleOf(certificate);
  if (role == crypto::CertificateRole::kOtherLeaf) {
    return {CertificateVerdict::kNotServerCertificate,
            absl::StrCat("this certificate ", Quoted(certificate),
                         " is not meant for TLS servers (its extended key usage lacks "
                         "serverAuth), so IIS cannot serve it: ",
                         WhatIsExpected(input))};
  }

  if (!input.expected_issuers.empty()) {
    bool issuer_expected = false;
    for (const crypto::Certificate& issuer : input.expected_issuers) {
      if (certificate.IsIssuedBy(issuer)) {
        issuer_expected = true;
        break;
      }
    }
    if (!issuer_expected) {
      std::vector<std::string> names;
      for (const crypto::Certificate& issuer : input.expected_issuers) {
        names.push_back(Quoted(issuer));
      }
      const std::string issued_by =
          IsSelfSigned(certificate)
              ? std::string("is self-signed")
              : absl::StrCat("was issued by '", certificate.IssuerText(), "'");
      return {CertificateVerdict::kOtherIssuer,
              absl::StrCat("this certificate ", Quoted(certificate), " ", issued_by,
                           ", which is not in the expected chain (", absl::StrJoin(names, ", "),
                           "): it is another CA's or another vendor's certificate, not the one "
                           "issued for this host; ",
                           WhatIsExpected(input))};
    }
  }

  if (!input.site_request.has_value()) {
    return {CertificateVerdict::kNoPendingRequest,
            absl::StrCat(TargetSite(input), " has no pending request, so ", Quoted(certificate),
                         " answers nothing there: create the pending request (and have the CA "
                         "sign its CSR) before accepting a certificate")};
  }

  std::string message = absl::StrCat(
      "this certificate ", Identify(certificate), " does not answer the pending request of ",
      TargetSite(input), " ('", input.site_request->subject, "', made ",
      FormatDate(input.site_request->created), "): its public key (SHA-256 ",
      key.Sha256Fingerprint(), ") is not the request's (SHA-256 ",
      input.site_request->public_key.Sha256Fingerprint(),
      ") nor that of any other request or certificate on this host");
  if (certificate.NotBefore() < input.site_request->created) {
    absl::StrAppend(&message,
                    "; it was issued before the request was made, so it is most likely "
                    "an older certificate for a key this host no longer has");
  } else {
    absl::StrAppend(&message, "; it was issued for a CSR made elsewhere");
  }
  return {CertificateVerdict::kUnknownKey, message};
}

}  // namespace certfleet::iis6
