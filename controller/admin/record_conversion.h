// Conversions between the store's records (controller/store/records.h) and
// the certfleet.v1 messages of the admin API. Everything the admin service
// answers goes through here, so the mapping of names ("csr_requested",
// "RSA_2048", "DNS:host") to wire enums lives in one place.
//
// Thread safety: free functions without shared state.

#ifndef CERTFLEET_CONTROLLER_ADMIN_RECORD_CONVERSION_H_
#define CERTFLEET_CONTROLLER_ADMIN_RECORD_CONVERSION_H_

#include <google/protobuf/duration.pb.h>
#include <google/protobuf/timestamp.pb.h>

#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "certfleet/v1/admin.pb.h"
#include "common/crypto/certificate.h"
#include "controller/issuance/upload_matcher.h"
#include "controller/store/records.h"

namespace certfleet::controller::admin {

void SetTimestamp(absl::Time time, google::protobuf::Timestamp* timestamp);
absl::Time FromTimestamp(const google::protobuf::Timestamp& timestamp);
void SetDuration(absl::Duration duration, google::protobuf::Duration* proto);
absl::Duration FromDuration(const google::protobuf::Duration& duration);

// Page size 0 keeps the store's default; larger than the store's maximum is
// capped by the store.
store::PageRequest FromPageRequest(const v1::PageRequest& page);
template <typename Item>
void SetPageResponse(const store::Page<Item>& page, v1::PageResponse* response) {
  response->set_next_page_token(page.next_page_token);
  response->set_total_size(static_cast<uint64_t>(page.total_size));
}

v1::OrderState ToOrderStateProto(store::OrderState state);
// InvalidArgument for ORDER_STATE_UNSPECIFIED or an unknown value.
absl::StatusOr<store::OrderState> FromOrderStateProto(v1::OrderState state);
v1::JobStatus ToJobStatusProto(store::JobStatus status);
absl::StatusOr<store::JobStatus> FromJobStatusProto(v1::JobStatus status);
v1::JobKind ToJobKindProto(store::JobKind kind);
absl::StatusOr<store::JobKind> FromJobKindProto(v1::JobKind kind);

v1::DistinguishedName ToDistinguishedNameProto(const store::DistinguishedNameRecord& name);
// "DNS:www.example.com" -> kind DNS, value "www.example.com".
v1::SubjectAlternativeName ToSubjectAlternativeNameProto(std::string_view name);
// The inverse: "DNS:www.example.com", "IP:10.0.0.5", "EMAIL:...", "URI:...".
std::string FromSubjectAlternativeNameProto(const v1::SubjectAlternativeName& name);

v1::Host ToHostProto(const store::HostRecord& host);
v1::Site ToSiteProto(const store::SiteRecord& site);
v1::Binding ToBindingProto(const store::BindingRecord& binding);
// SERVED_STATUS_NOT_PROBED when `probe` is unset.
v1::ServedStatus ToServedStatusProto(const std::optional<store::BindingProbeRecord>& probe);
// The stored probe as a ProbeResult (address, time, thumbprints, problem).
v1::ProbeResult ToProbeResultProto(const store::BindingProbeRecord& probe);
// The status to show for several bindings of one certificate: the most
// serious (mismatch, incomplete chain, unreachable, matches, not probed).
v1::ServedStatus WorseServedStatus(v1::ServedStatus a, v1::ServedStatus b);
v1::CertificateInfo ToCertificateInfoProto(const store::CertificateRecord& certificate);
// What the toolkit reads from a certificate (for uploads), DER included.
v1::CertificateInfo ToCertificateInfoProto(const crypto::Certificate& certificate);
v1::PendingRequest ToPendingRequestProto(const store::PendingRequestRecord& request);
// `hostname` is the order's host's name (orders do not store it). The
// issued certificate and chain are filled from the order's PEM when present.
v1::Order ToOrderProto(const store::OrderRecord& order, std::string_view hostname);
v1::Job ToJobProto(const store::JobRecord& job);
v1::JoinToken ToJoinTokenProto(const store::JoinTokenRecord& token, absl::Time now);
v1::RenewalPolicy ToPolicyProto(const store::PolicyRecord& policy);
// InvalidArgument naming the field for a policy without a name.
absl::StatusOr<store::PolicyRecord> FromPolicyProto(const v1::RenewalPolicy& policy);
v1::AuditEvent ToAuditEventProto(const store::AuditEventRecord& event);
v1::FileFormat ToFileFormatProto(UploadFormat format);
v1::Diagnosis ToDiagnosisProto(const UploadDiagnosis& diagnosis);
store::HostSelectorRecord FromHostSelectorProto(const v1::HostSelector& selector);

}  // namespace certfleet::controller::admin

#endif  // CERTFLEET_CONTROLLER_ADMIN_RECORD_CONVERSION_H_
