#include "controller/issuance/upload_matcher.h"

#include <algorithm>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "common/crypto/certificate_reader.h"
#include "common/crypto/object_inspector.h"

namespace certfleet::controller {
namespace {

constexpr std::string_view kBegin = "-----BEGIN ";

std::string FormatDay(absl::Time time) {
  return absl::FormatTime("%Y-%m-%d", time, absl::UTCTimeZone());
}

std::string FormatMinute(absl::Time time) {
  return absl::FormatTime("%Y-%m-%d %H:%M UTC", time, absl::UTCTimeZone());
}

std::string Quoted(std::string_view text) { return absl::StrCat("'", std::string(text), "'"); }

std::string FileNameOf(const UploadOptions& options) {
  return options.file_name.empty() ? "the file" : options.file_name;
}

// "web01.example.com, site 'Shop' (1962875481)" or as much of it as is known.
std::string Place(std::string_view hostname, std::string_view site_name, std::string_view site_id) {
  std::string place = hostname.empty() ? "an unnamed host" : std::string(hostname);
  if (!site_name.empty()) {
    absl::StrAppend(&place, ", site ", Quoted(site_name));
    if (!site_id.empty()) absl::StrAppend(&place, " (", std::string(site_id), ")");
  } else if (!site_id.empty()) {
    absl::StrAppend(&place, ", site ", std::string(site_id));
  }
  return place;
}

std::string PlaceOf(const OrderCandidate& order) {
  return Place(order.hostname, order.site_name, order.site_id);
}

// Describes the first private key block of a PEM file ("a private key
// (RSA 2048)", "an encrypted private key"), whatever else the file holds;
// nullopt when there is none. ReadCertificates skips such blocks when
// certificates are present, so the matcher looks for them itself before it
// accepts anything.
std::optional<std::string> PemPrivateKey(std::string_view bytes) {
  size_t position = 0;
  while ((position = bytes.find(kBegin, position)) != std::string_view::npos) {
    const size_t label_start = position + kBegin.size();
    const size_t label_end = bytes.find("-----", label_start);
    if (label_end == std::string_view::npos) return std::nullopt;
    const std::string_view label = bytes.substr(label_start, label_end - label_start);
    if (label.ends_with("PRIVATE KEY")) {
      const std::string end_marker = absl::StrCat("-----END ", std::string(label), "-----");
      const size_t end = bytes.find(end_marker, label_end);
      const std::string_view block =
          end == std::string_view::npos
              ? bytes.substr(position)
              : bytes.substr(position, end + end_marker.size() - position);
      absl::StatusOr<crypto::PrivateKey> key = crypto::PrivateKey::Parse(block);
      if (key.ok()) {
        return absl::StrCat("a private key (", key->public_key().Description(), ")");
      }
      return std::string("an encrypted or unreadable private key");
    }
    position = label_end;
  }
  return std::nullopt;
}

absl::Status PrivateKeyRefusal(const UploadOptions& options, std::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(
      FileNameOf(options), " contains ", std::string(what),
      "; certfleet refuses it and stored nothing: private keys never leave their host. Upload "
      "the certificate alone (the .crt, .cer or .p7b the CA returned); a key that was copied "
      "off its server should be treated as exposed"));
}

UploadFormat FormatOf(const crypto::CertificateFile& file) {
  if (file.container == crypto::Container::kPkcs7) return UploadFormat::kPkcs7;
  return file.encoding == crypto::Encoding::kPem ? UploadFormat::kPem : UploadFormat::kDer;
}

std::string ContentOf(const crypto::CertificateFile& file) {
  const size_t count = file.certificates.size();
  if (count == 1 && file.container == crypto::Container::kCertificate) {
    return crypto::RoleName(crypto::RoleOf(file.certificates.front()));
  }
  return absl::StrCat(file.container == crypto::Container::kPkcs7 ? "PKCS#7 bundle" : "PEM bundle",
                      " of ", count, count == 1 ? " certificate" : " certificates");
}

bool IsCa(const crypto::Certificate& certificate) {
  const crypto::CertificateRole role = crypto::RoleOf(certificate);
  return role == crypto::CertificateRole::kIntermediate || role == crypto::CertificateRole::kRoot;
}

// Diagnoses a file that could not be read as certificates: a CSR, a private
// key, a PKCS#12 archive or garbage. Keys and archives are refused.
absl::StatusOr<UploadOutcome> DiagnoseNonCertificate(std::string_view bytes,
                                                     const absl::Status& read_error,
                                                     const UploadCandidates& candidates,
                                                     const UploadOptions& options) {
  const std::string file = FileNameOf(options);
  absl::StatusOr<crypto::InspectedObject> object = crypto::InspectObject(bytes);
  UploadDiagnosis diagnosis;
  diagnosis.kind = DiagnosisKind::kNotACertificate;
  if (!object.ok()) {
    diagnosis.format = UploadFormat::kUnknown;
    diagnosis.detected_content = "unreadable bytes";
    diagnosis.message = absl::StrCat(file, " is not a certificate: ", read_error.message());
    return UploadOutcome{std::nullopt, std::move(diagnosis)};
  }
  switch (object->kind) {
    case crypto::ObjectKind::kPrivateKey:
      return PrivateKeyRefusal(options, absl::StrCat("a ", object->description));
    case crypto::ObjectKind::kPkcs12:
      return PrivateKeyRefusal(options, "a PKCS#12 (.pfx) archive, which holds a private key");
    case crypto::ObjectKind::kCertificateRequest: {
      diagnosis.format =
          absl::StartsWith(object->format, "PEM") ? UploadFormat::kPem : UploadFormat::kDer;
      diagnosis.detected_content = object->description;
      std::string whose;
      if (object->request.has_value()) {
        for (const OrderCandidate& order : candidates.orders) {
          if (order.request_key == object->request->public_key()) {
            whose = absl::StrCat(", the CSR of order ", order.order_id, " (", PlaceOf(order), ")");
            diagnosis.matched_order_id = order.order_id;
            diagnosis.matched_host_id = order.host_id;
            diagnosis.matched_hostname = order.hostname;
            diagnosis.matched_site_id = order.site_id;
            diagnosis.matched_site_name = order.site_name;
            break;
          }
        }
      }
      const std::string subject =
          object->request.has_value() ? Quoted(object->request->SubjectText()) : "";
      diagnosis.message = absl::StrCat(
          file, " is a certificate signing request (CSR)", subject.empty() ? "" : " for ", subject,
          whose,
          ", not a certificate: submit it at the CA's portal and upload the certificate the CA "
          "returns");
      return UploadOutcome{std::nullopt, std::move(diagnosis)};
    }
    case crypto::ObjectKind::kCertificate:
    case crypto::ObjectKind::kCertificateBundle:
      break;
  }
  // InspectObject read certificates where ReadCertificates did not: cannot
  // happen, as both use the same reader; report the reader's error.
  diagnosis.format = UploadFormat::kUnknown;
  diagnosis.detected_content = "unreadable bytes";
  diagnosis.message = absl::StrCat(file, " is not a certificate: ", read_error.message());
  return UploadOutcome{std::nullopt, std::move(diagnosis)};
}

UploadDiagnosis CaOnlyDiagnosis(const crypto::CertificateFile& file, const UploadOptions& options) {
  UploadDiagnosis diagnosis;
  diagnosis.format = FormatOf(file);
  diagnosis.detected_content = ContentOf(file);
  const crypto::Certificate& first = file.certificates.front();
  diagnosis.certificate = first;
  const bool any_intermediate =
      std::any_of(file.certificates.begin(), file.certificates.end(), [](const auto& certificate) {
        return crypto::RoleOf(certificate) == crypto::CertificateRole::kIntermediate;
      });
  diagnosis.kind =
      any_intermediate ? DiagnosisKind::kIntermediateCertificate : DiagnosisKind::kRootCertificate;
  const std::string advice =
      "upload the server certificate the CA issued for your request (this one belongs with the "
      "chain: the controller's bundle folder, or beside the server certificate in one file)";
  if (file.certificates.size() == 1) {
    const bool root = diagnosis.kind == DiagnosisKind::kRootCertificate;
    diagnosis.message = absl::StrCat(
        FileNameOf(options), " is the ", root ? "root" : "intermediate", " CA certificate ",
        Quoted(first.SubjectText()),
        root ? " (self-signed, basicConstraints CA:TRUE)"
             : " (basicConstraints CA:TRUE, issued by " + Quoted(first.IssuerText()) + ")",
        ", not a server certificate; ", advice);
    return diagnosis;
  }
  std::vector<std::string> names;
  for (const crypto::Certificate& certificate : file.certificates) {
    const bool root = crypto::RoleOf(certificate) == crypto::CertificateRole::kRoot;
    names.push_back(
        absl::StrCat(root ? "root " : "intermediate ", Quoted(certificate.SubjectText())));
  }
  diagnosis.message = absl::StrCat(FileNameOf(options), " is a ", diagnosis.detected_content,
                                   " holding only CA certificates (", absl::StrJoin(names, ", "),
                                   "), not a server certificate; ", advice);
  return diagnosis;
}

const OrderCandidate* FindOrderByKey(const UploadCandidates& candidates,
                                     const crypto::PublicKey& key) {
  // An order awaiting issuance wins over an older order with the same key
  // (a CSR re-submitted after its order was cancelled).
  const OrderCandidate* found = nullptr;
  for (const OrderCandidate& order : candidates.orders) {
    if (!(order.request_key == key)) continue;
    if (order.stage == OrderStage::kAwaitingIssuance) return &order;
    if (found == nullptr) found = &order;
  }
  return found;
}

// Picks the leaf of a file: the server certificate whose key answers an order
// (the targeted one first), else the first end-entity certificate.
const crypto::Certificate* PickLeaf(const std::vector<const crypto::Certificate*>& leaves,
                                    const UploadCandidates& candidates,
                                    const OrderCandidate* target) {
  if (target != nullptr) {
    for (const crypto::Certificate* leaf : leaves) {
      if (leaf->public_key() == target->request_key) return leaf;
    }
  }
  for (const crypto::Certificate* leaf : leaves) {
    if (FindOrderByKey(candidates, leaf->public_key()) != nullptr) return leaf;
  }
  return leaves.front();
}

UploadDiagnosis BaseDiagnosis(DiagnosisKind kind, const crypto::CertificateFile& file,
                              const crypto::Certificate& leaf) {
  UploadDiagnosis diagnosis;
  diagnosis.kind = kind;
  diagnosis.format = FormatOf(file);
  diagnosis.detected_content = ContentOf(file);
  diagnosis.certificate = leaf;
  return diagnosis;
}

void SetMatched(UploadDiagnosis& diagnosis, const OrderCandidate& order) {
  diagnosis.matched_order_id = order.order_id;
  diagnosis.matched_host_id = order.host_id;
  diagnosis.matched_hostname = order.hostname;
  diagnosis.matched_site_id = order.site_id;
  diagnosis.matched_site_name = order.site_name;
}

std::string Describe(const crypto::Certificate& leaf) {
  return absl::StrCat("the server certificate ", Quoted(leaf.SubjectText()), " (thumbprint ",
                      leaf.Thumbprint(), ")");
}

// The order `leaf` answers is not open for it: already issued with another
// certificate, or closed.
UploadDiagnosis ClosedOrderDiagnosis(const crypto::CertificateFile& file,
                                     const crypto::Certificate& leaf, const OrderCandidate& order,
                                     const UploadOptions& options) {
  UploadDiagnosis diagnosis = BaseDiagnosis(DiagnosisKind::kOrderAlreadyClosed, file, leaf);
  SetMatched(diagnosis, order);
  const std::string state = order.state_name.empty()
                                ? (order.stage == OrderStage::kIssued ? "issued" : "closed")
                                : order.state_name;
  std::string already;
  if (!order.issued_thumbprint.empty()) {
    already = absl::StrCat(" with certificate ", order.issued_thumbprint);
  }
  diagnosis.message = absl::StrCat(
      FileNameOf(options), " holds ", Describe(leaf), ", which answers order ", order.order_id,
      " (", PlaceOf(order), "), but that order is already ", state, already,
      "; nothing changed. Start a new renewal if this certificate should still be deployed");
  return diagnosis;
}

UploadAcceptance Accept(const crypto::CertificateFile& file, const crypto::Certificate& leaf,
                        const OrderCandidate& order, const UploadCandidates& candidates,
                        bool already_uploaded) {
  UploadAcceptance acceptance{.order_id = order.order_id, .leaf = leaf};
  for (const crypto::Certificate& certificate : file.certificates) {
    if (IsCa(certificate)) acceptance.chain.push_back(certificate);
  }
  acceptance.format = FormatOf(file);
  acceptance.detected_content = ContentOf(file);
  acceptance.already_uploaded = already_uploaded;
  if (crypto::RoleOf(leaf) == crypto::CertificateRole::kOtherLeaf) {
    acceptance.notes.push_back(absl::StrCat(
        Quoted(leaf.SubjectText()),
        " does not allow TLS server authentication (extended key usage without serverAuth); "
        "browsers will refuse it on a web site"));
  }
  const auto& expected = candidates.expected_issuers;
  if (!expected.empty() && std::none_of(expected.begin(), expected.end(), [&](const auto& issuer) {
        return leaf.IsIssuedBy(issuer);
      })) {
    acceptance.notes.push_back(
        absl::StrCat(Quoted(leaf.SubjectText()), " was issued by ", Quoted(leaf.IssuerText()),
                     ", which is not in the chain expected for this order's CA product or bundle"));
  }
  return acceptance;
}

std::vector<std::string> SubjectsOf(const std::vector<crypto::Certificate>& certificates) {
  std::vector<std::string> subjects;
  for (const crypto::Certificate& certificate : certificates) {
    std::string subject = Quoted(certificate.SubjectText());
    if (std::find(subjects.begin(), subjects.end(), subject) == subjects.end()) {
      subjects.push_back(std::move(subject));
    }
  }
  return subjects;
}

// The diagnoses of a server certificate whose key answers no open order, most
// specific first.
UploadDiagnosis DiagnoseUnmatchedLeaf(const crypto::CertificateFile& file,
                                      const crypto::Certificate& leaf,
                                      const UploadCandidates& candidates,
                                      const OrderCandidate* target, const UploadOptions& options) {
  const std::string file_name = FileNameOf(options);
  const crypto::PublicKey key = leaf.public_key();
  const std::string wanted = target != nullptr ? absl::StrCat("order ", target->order_id,
                                                              "'s request on ", PlaceOf(*target))
                                               : "any open certfleet order";

  // The answer to another order's request (only possible when the upload
  // targets an order: otherwise that order would simply be completed).
  for (const OrderCandidate& order : candidates.orders) {
    if (target == nullptr || &order == target || !(order.request_key == key)) continue;
    if (order.stage != OrderStage::kAwaitingIssuance) {
      return ClosedOrderDiagnosis(file, leaf, order, options);
    }
    UploadDiagnosis diagnosis = BaseDiagnosis(DiagnosisKind::kAnswersOtherSiteRequest, file, leaf);
    SetMatched(diagnosis, order);
    diagnosis.message = absl::StrCat(
        file_name, " holds ", Describe(leaf), ", which answers the request of order ",
        order.order_id, " on ", PlaceOf(order), ", not ", wanted,
        ": it was requested on a different site. Upload it without an order id to deliver it "
        "to order ",
        order.order_id);
    return diagnosis;
  }

  // The answer to a pending request certfleet did not make for an open order
  // (IIS 6: a CSR made on the real site instead of the temporary one).
  for (const PendingRequestRecord& pending : candidates.pending_requests) {
    if (!(pending.public_key == key)) continue;
    UploadDiagnosis diagnosis = BaseDiagnosis(DiagnosisKind::kAnswersOtherSiteRequest, file, leaf);
    diagnosis.matched_host_id = pending.host_id;
    diagnosis.matched_hostname = pending.hostname;
    diagnosis.matched_site_id = pending.site_id;
    diagnosis.matched_site_name = pending.site_name;
    diagnosis.matched_order_id = pending.order_id;
    std::string made;
    if (pending.created_at != absl::InfinitePast()) {
      made = absl::StrCat(" made on ", FormatMinute(pending.created_at));
    }
    diagnosis.message = absl::StrCat(
        file_name, " holds ", Describe(leaf), ", which answers the pending request", made, " on ",
        Place(pending.hostname, pending.site_name, pending.site_id),
        pending.order_id.empty() ? "" : absl::StrCat(" (order ", pending.order_id, ")"), ", not ",
        wanted,
        ": the CSR was made on a different site. Complete that request on that site, or renew "
        "through certfleet so that the request is made on the temporary site");
    return diagnosis;
  }

  // An older certificate of a known host: its key is an installed key, not a
  // pending one.
  for (const InventoryCertificate& known : candidates.inventory) {
    if (!(known.public_key == key)) continue;
    UploadDiagnosis diagnosis =
        BaseDiagnosis(DiagnosisKind::kOlderCertificateOfSameHost, file, leaf);
    diagnosis.matched_host_id = known.host_id;
    diagnosis.matched_hostname = known.hostname;
    diagnosis.matched_site_id = known.site_id;
    diagnosis.matched_site_name = known.site_name;
    const bool same = known.thumbprint == leaf.Thumbprint();
    std::string message = absl::StrCat(
        file_name, " holds an older certificate of ",
        Place(known.hostname, known.site_name, known.site_id), ": ",
        same ? absl::StrCat("it is the certificate already installed there (thumbprint ",
                            known.thumbprint, ", valid from ", FormatDay(leaf.NotBefore()), ")")
             : absl::StrCat("its key is the key of the certificate installed there (thumbprint ",
                            known.thumbprint, ", valid from ", FormatDay(known.not_before),
                            "), not the key of a pending request"));
    // Name the request it was confused with: the targeted order, else an open
    // order of the same host.
    const OrderCandidate* request = target;
    if (request == nullptr) {
      for (const OrderCandidate& order : candidates.orders) {
        if (order.stage == OrderStage::kAwaitingIssuance && order.host_id == known.host_id &&
            (known.site_id.empty() || order.site_id == known.site_id)) {
          request = &order;
          break;
        }
      }
    }
    if (request != nullptr) {
      diagnosis.matched_order_id = request->order_id;
      if (leaf.NotBefore() < request->request_created_at) {
        absl::StrAppend(&message, "; it starts on ", FormatDay(leaf.NotBefore()),
                        ", before the request of order ", request->order_id, " was made (",
                        FormatDay(request->request_created_at), ")");
      } else {
        absl::StrAppend(&message, "; it is not the answer to the request of order ",
                        request->order_id, " (made ", FormatDay(request->request_created_at), ")");
      }
    }
    absl::StrAppend(&message,
                    ". Download the certificate the CA issued for the new request (its portal "
                    "lists it by order date)");
    diagnosis.message = std::move(message);
    return diagnosis;
  }

  if (leaf.NotAfter() <= options.now) {
    UploadDiagnosis diagnosis = BaseDiagnosis(DiagnosisKind::kExpired, file, leaf);
    diagnosis.message = absl::StrCat(file_name, " holds ", Describe(leaf), ", which expired on ",
                                     FormatDay(leaf.NotAfter()), " and answers no open request");
    return diagnosis;
  }

  const auto& expected = candidates.expected_issuers;
  if (!expected.empty() && std::none_of(expected.begin(), expected.end(), [&](const auto& issuer) {
        return leaf.IsIssuedBy(issuer);
      })) {
    UploadDiagnosis diagnosis = BaseDiagnosis(DiagnosisKind::kOtherIssuer, file, leaf);
    diagnosis.message = absl::StrCat(
        file_name, " holds ", Describe(leaf), " issued by ", Quoted(leaf.IssuerText()),
        ", which is not in the expected chain (expected issuer: ",
        absl::StrJoin(SubjectsOf(expected), ", "),
        "): it is another vendor's or another CA's certificate, and its key answers no open "
        "request");
    return diagnosis;
  }

  UploadDiagnosis diagnosis = BaseDiagnosis(DiagnosisKind::kAnswersNoRequest, file, leaf);
  diagnosis.message = absl::StrCat(
      file_name, " holds ", Describe(leaf), " issued by ", Quoted(leaf.IssuerText()),
      ", whose key (SHA-256 ", key.Sha256Fingerprint(),
      ") matches no open order, no pending request and no known certificate in the fleet; "
      "check that the CA issued it for a CSR printed by `certfleetctl orders csr ORDER`");
  return diagnosis;
}

}  // namespace

std::string UploadFormatName(UploadFormat format) {
  switch (format) {
    case UploadFormat::kPem:
      return "pem";
    case UploadFormat::kDer:
      return "der";
    case UploadFormat::kPkcs7:
      return "pkcs7";
    case UploadFormat::kPkcs12:
      return "pkcs12";
    case UploadFormat::kUnknown:
      return "unknown";
  }
  return "unknown";
}

std::string DiagnosisKindName(DiagnosisKind kind) {
  switch (kind) {
    case DiagnosisKind::kIntermediateCertificate:
      return "intermediate_certificate";
    case DiagnosisKind::kRootCertificate:
      return "root_certificate";
    case DiagnosisKind::kOtherIssuer:
      return "other_issuer";
    case DiagnosisKind::kOlderCertificateOfSameHost:
      return "older_certificate_of_same_host";
    case DiagnosisKind::kAnswersOtherSiteRequest:
      return "answers_other_site_request";
    case DiagnosisKind::kAnswersNoRequest:
      return "answers_no_request";
    case DiagnosisKind::kExpired:
      return "expired";
    case DiagnosisKind::kNotACertificate:
      return "not_a_certificate";
    case DiagnosisKind::kOrderAlreadyClosed:
      return "order_already_closed";
  }
  return "not_a_certificate";
}

absl::StatusOr<UploadOutcome> MatchUpload(std::string_view bytes,
                                          const UploadCandidates& candidates,
                                          const UploadOptions& options) {
  if (bytes.size() > crypto::kMaxInputBytes) {
    return absl::ResourceExhaustedError(absl::StrFormat(
        "%s is %d bytes, over the %d-byte limit for uploads; a certificate file is a few "
        "kilobytes",
        FileNameOf(options), bytes.size(), crypto::kMaxInputBytes));
  }
  const OrderCandidate* target = nullptr;
  if (!options.order_id.empty()) {
    for (const OrderCandidate& order : candidates.orders) {
      if (order.order_id == options.order_id) target = &order;
    }
    if (target == nullptr) {
      return absl::NotFoundError(absl::StrCat("order ", options.order_id,
                                              " is not awaiting a certificate (unknown order, or "
                                              "its connector is not manual)"));
    }
  }
  if (bytes.find(kBegin) != std::string_view::npos) {
    if (std::optional<std::string> key = PemPrivateKey(bytes); key.has_value()) {
      return PrivateKeyRefusal(options, *key);
    }
  }

  absl::StatusOr<crypto::CertificateFile> file = crypto::ReadCertificates(bytes);
  if (!file.ok()) return DiagnoseNonCertificate(bytes, file.status(), candidates, options);

  std::vector<const crypto::Certificate*> leaves;
  for (const crypto::Certificate& certificate : file->certificates) {
    if (!IsCa(certificate)) leaves.push_back(&certificate);
  }
  if (leaves.empty()) return UploadOutcome{std::nullopt, CaOnlyDiagnosis(*file, options)};

  const crypto::Certificate& leaf = *PickLeaf(leaves, candidates, target);
  const crypto::PublicKey key = leaf.public_key();
  const OrderCandidate* order = nullptr;
  if (target != nullptr) {
    if (target->request_key == key) order = target;
  } else {
    order = FindOrderByKey(candidates, key);
  }
  if (order != nullptr) {
    const bool same_certificate = order->issued_thumbprint == leaf.Thumbprint();
    if (order->stage != OrderStage::kAwaitingIssuance) {
      if (same_certificate)
        return UploadOutcome{Accept(*file, leaf, *order, candidates, true), std::nullopt};
      return UploadOutcome{std::nullopt, ClosedOrderDiagnosis(*file, leaf, *order, options)};
    }
    if (leaf.NotAfter() <= options.now) {
      UploadDiagnosis diagnosis = BaseDiagnosis(DiagnosisKind::kExpired, *file, leaf);
      SetMatched(diagnosis, *order);
      diagnosis.message =
          absl::StrCat(FileNameOf(options), " holds ", Describe(leaf), ", which answers order ",
                       order->order_id, " (", PlaceOf(*order), ") but expired on ",
                       FormatDay(leaf.NotAfter()), "; ask the CA to reissue it");
      return UploadOutcome{std::nullopt, std::move(diagnosis)};
    }
    return UploadOutcome{Accept(*file, leaf, *order, candidates, false), std::nullopt};
  }
  return UploadOutcome{std::nullopt,
                       DiagnoseUnmatchedLeaf(*file, leaf, candidates, target, options)};
}

}  // namespace certfleet::controller
