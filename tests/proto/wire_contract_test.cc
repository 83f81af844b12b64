// Tests of the wire contract in proto/certfleet/v1: that messages survive
// serialization, that the generated gRPC mock stubs are usable with gmock,
// and that the .proto files keep the conventions written in their headers
// (UNSPECIFIED zero values, prefixed enum values, Timestamp for `_at` fields,
// no private key or passphrase on the wire, a comment on every declaration,
// one request and response message per admin RPC).

#include <gmock/gmock.h>
#include <google/protobuf/descriptor.h>
#include <google/protobuf/util/message_differencer.h>
#include <google/protobuf/util/time_util.h>
#include <grpcpp/client_context.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "certfleet/v1/admin.grpc.pb.h"
#include "certfleet/v1/admin_mock.grpc.pb.h"
#include "certfleet/v1/agent.grpc.pb.h"
#include "certfleet/v1/agent_mock.grpc.pb.h"

namespace certfleet::v1 {
namespace {

namespace protobuf = ::google::protobuf;
using protobuf::util::MessageDifferencer;
using protobuf::util::TimeUtil;
using ::testing::_;
using ::testing::DoAll;
using ::testing::Return;
using ::testing::SetArgPointee;

constexpr char kPackage[] = "certfleet.v1";

// The gRPC service classes have no descriptor(); the services are found in
// the file of one of their request messages.
const protobuf::ServiceDescriptor* AgentServiceDescriptor() {
  return EnrollRequest::descriptor()->file()->FindServiceByName("AgentService");
}

const protobuf::ServiceDescriptor* AdminServiceDescriptor() {
  return ListHostsRequest::descriptor()->file()->FindServiceByName("AdminService");
}

// Every .proto file of the package, found on disk so that a new file is
// covered without editing this test.
std::vector<std::string> ProtoFilesOnDisk() {
  const std::filesystem::path folder =
      std::filesystem::path(CERTFLEET_SOURCE_DIR) / "proto" / "certfleet" / "v1";
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(folder)) {
    if (entry.path().extension() == ".proto") {
      names.push_back("certfleet/v1/" + entry.path().filename().string());
    }
  }
  std::sort(names.begin(), names.end());
  return names;
}

// Descriptors of every certfleet.v1 file, reached from the two services'
// files through their imports.
std::vector<const protobuf::FileDescriptor*> PackageFiles() {
  std::vector<const protobuf::FileDescriptor*> pending = {AgentServiceDescriptor()->file(),
                                                          AdminServiceDescriptor()->file()};
  std::set<const protobuf::FileDescriptor*> seen;
  std::vector<const protobuf::FileDescriptor*> result;
  while (!pending.empty()) {
    const protobuf::FileDescriptor* file = pending.back();
    pending.pop_back();
    if (file->package() != kPackage || !seen.insert(file).second) continue;
    result.push_back(file);
    for (int i = 0; i < file->dependency_count(); ++i) pending.push_back(file->dependency(i));
  }
  return result;
}

void CollectMessages(const protobuf::Descriptor* message,
                     std::vector<const protobuf::Descriptor*>* out) {
  if (message->options().map_entry()) return;  // Synthesised for map<>, not declared.
  out->push_back(message);
  for (int i = 0; i < message->nested_type_count(); ++i) {
    CollectMessages(message->nested_type(i), out);
  }
}

std::vector<const protobuf::Descriptor*> AllMessages() {
  std::vector<const protobuf::Descriptor*> messages;
  for (const protobuf::FileDescriptor* file : PackageFiles()) {
    for (int i = 0; i < file->message_type_count(); ++i) {
      CollectMessages(file->message_type(i), &messages);
    }
  }
  return messages;
}

std::vector<const protobuf::EnumDescriptor*> AllEnums() {
  std::vector<const protobuf::EnumDescriptor*> enums;
  for (const protobuf::FileDescriptor* file : PackageFiles()) {
    for (int i = 0; i < file->enum_type_count(); ++i) enums.push_back(file->enum_type(i));
  }
  for (const protobuf::Descriptor* message : AllMessages()) {
    for (int i = 0; i < message->enum_type_count(); ++i) enums.push_back(message->enum_type(i));
  }
  return enums;
}

// "KeySpec" -> "KEY_SPEC", the prefix every value of that enum must carry.
std::string UpperSnake(const std::string& camel) {
  std::string out;
  for (size_t i = 0; i < camel.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(camel[i]);
    if (std::isupper(c) && i > 0) out.push_back('_');
    out.push_back(static_cast<char>(std::toupper(c)));
  }
  return out;
}

// ---------------------------------------------------------------------------
// Serialization
// ---------------------------------------------------------------------------

CertificateInfo SampleLeaf() {
  CertificateInfo leaf;
  leaf.set_thumbprint_sha1("3F2A9C1B0D4E5F60718293A4B5C6D7E8F9012345");
  leaf.set_fingerprint_sha256(std::string(64, 'A'));
  leaf.set_subject("CN=www.example.com,O=Example Ltd,C=JP");
  leaf.mutable_subject_name()->set_common_name("www.example.com");
  leaf.mutable_subject_name()->set_organization("Example Ltd");
  leaf.mutable_subject_name()->set_country("JP");
  leaf.set_issuer("CN=CrossTrust OV CA3,O=CrossTrust,C=JP");
  leaf.set_serial_number("0A1B2C3D");
  *leaf.mutable_not_before() = TimeUtil::SecondsToTimestamp(1'700'000'000);
  *leaf.mutable_not_after() = TimeUtil::SecondsToTimestamp(1'731'536'000);
  SubjectAlternativeName* san = leaf.add_subject_alternative_names();
  san->set_kind(SUBJECT_ALTERNATIVE_NAME_KIND_DNS);
  san->set_value("www.example.com");
  leaf.set_key_algorithm(KEY_ALGORITHM_RSA);
  leaf.set_key_bits(2048);
  leaf.set_signature_algorithm("sha256WithRSAEncryption");
  leaf.set_signature_hash(SIGNATURE_HASH_SHA256);
  leaf.set_is_ca(false);
  leaf.set_kind(CERTIFICATE_KIND_LEAF);
  leaf.set_store(CERTIFICATE_STORE_MY);
  leaf.set_has_private_key(true);
  leaf.set_der(std::string("\x30\x82\x01\x00\x00\xff", 6));  // Bytes, NUL included.
  return leaf;
}

TEST(WireContractTest, CertificateInfoRoundTripsWithEveryFieldIntact) {
  const CertificateInfo original = SampleLeaf();
  std::string bytes;
  ASSERT_TRUE(original.SerializeToString(&bytes));

  CertificateInfo parsed;
  ASSERT_TRUE(parsed.ParseFromString(bytes));
  EXPECT_TRUE(MessageDifferencer::Equals(original, parsed));
  EXPECT_EQ(parsed.thumbprint_sha1(), "3F2A9C1B0D4E5F60718293A4B5C6D7E8F9012345");
  EXPECT_EQ(parsed.der().size(), 6u);
  EXPECT_EQ(parsed.der()[4], '\0');
  EXPECT_EQ(TimeUtil::TimestampToSeconds(parsed.not_after()), 1'731'536'000);
  EXPECT_EQ(parsed.subject_alternative_names(0).value(), "www.example.com");
}

TEST(WireContractTest, PathLengthConstraintKeepsPresenceAcrossTheWire) {
  CertificateInfo without_constraint;
  without_constraint.set_is_ca(true);
  CertificateInfo with_zero;
  with_zero.set_is_ca(true);
  with_zero.set_path_length_constraint(0);

  CertificateInfo parsed_without;
  CertificateInfo parsed_zero;
  ASSERT_TRUE(parsed_without.ParseFromString(without_constraint.SerializeAsString()));
  ASSERT_TRUE(parsed_zero.ParseFromString(with_zero.SerializeAsString()));
  // pathLenConstraint:0 and "no constraint" must stay distinguishable.
  EXPECT_FALSE(parsed_without.has_path_length_constraint());
  EXPECT_TRUE(parsed_zero.has_path_length_constraint());
  EXPECT_EQ(parsed_zero.path_length_constraint(), 0u);
}

TEST(WireContractTest, JobAssignmentWithDeploySpecRoundTrips) {
  ControllerMessage original;
  JobAssignment* assignment = original.mutable_job_assignment();
  assignment->mutable_lease()->set_job_id("job-42");
  assignment->mutable_lease()->set_attempt(3);
  *assignment->mutable_lease()->mutable_expires_at() = TimeUtil::SecondsToTimestamp(1'800'000'000);
  assignment->set_kind(JOB_KIND_DEPLOY);
  assignment->set_order_id("order-7");
  DeployJob* deploy = assignment->mutable_spec()->mutable_deploy();
  deploy->set_site_id("1962875481");
  deploy->set_temporary_site_id("2034112233");
  deploy->set_certificate_pem("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n");
  deploy->add_intermediate_pems("intermediate");
  deploy->set_expected_thumbprint("3F2A9C1B0D4E5F60718293A4B5C6D7E8F9012345");
  deploy->set_restart_policy(RESTART_POLICY_IF_NOT_SERVED);
  deploy->mutable_backup()->set_encryption(PFX_ENCRYPTION_LEGACY_3DES);
  deploy->mutable_backup()->set_keep_last(5);
  *deploy->mutable_verification()->mutable_handshake_timeout() = TimeUtil::SecondsToDuration(10);

  ControllerMessage parsed;
  ASSERT_TRUE(parsed.ParseFromString(original.SerializeAsString()));
  EXPECT_TRUE(MessageDifferencer::Equals(original, parsed));
  ASSERT_EQ(parsed.message_case(), ControllerMessage::kJobAssignment);
  ASSERT_EQ(parsed.job_assignment().spec().spec_case(), JobSpec::kDeploy);
  EXPECT_EQ(parsed.job_assignment().lease().attempt(), 3u);
  EXPECT_EQ(parsed.job_assignment().spec().deploy().backup().encryption(),
            PFX_ENCRYPTION_LEGACY_3DES);
  EXPECT_EQ(TimeUtil::DurationToSeconds(
                parsed.job_assignment().spec().deploy().verification().handshake_timeout()),
            10);
}

TEST(WireContractTest, InventoryWithMapsAndNestedRepeatedFieldsRoundTrips) {
  ReportInventoryRequest original;
  HostInventory* inventory = original.mutable_inventory();
  inventory->set_content_hash("abc");
  Site* site = inventory->add_sites();
  site->set_site_id("1962875481");
  site->set_name("Boutique – Tōkyō");  // Non-ASCII site names must survive.
  site->set_state(SITE_STATE_STARTED);
  Binding* binding = inventory->add_bindings();
  binding->set_binding_id("1962875481");
  binding->set_site_id("1962875481");
  Endpoint* endpoint = binding->add_secure_endpoints();
  endpoint->set_ip_address("10.0.0.5");
  endpoint->set_port(443);
  binding->set_certificate_thumbprint("3F2A9C1B0D4E5F60718293A4B5C6D7E8F9012345");
  binding->set_certificate_store(CERTIFICATE_STORE_MY);
  *inventory->add_certificates() = SampleLeaf();
  inventory->add_pending_requests()->set_site_id("2034112233");

  ReportInventoryRequest parsed;
  ASSERT_TRUE(parsed.ParseFromString(original.SerializeAsString()));
  EXPECT_TRUE(MessageDifferencer::Equals(original, parsed));
  EXPECT_EQ(parsed.inventory().sites(0).name(), "Boutique – Tōkyō");
  EXPECT_EQ(parsed.inventory().bindings(0).secure_endpoints(0).port(), 443u);

  Host host;
  (*host.mutable_labels())["env"] = "prod";
  (*host.mutable_labels())["group"] = "web-eu";
  Host parsed_host;
  ASSERT_TRUE(parsed_host.ParseFromString(host.SerializeAsString()));
  EXPECT_EQ(parsed_host.labels().at("group"), "web-eu");
  EXPECT_EQ(parsed_host.labels().size(), 2u);
}

TEST(WireContractTest, UploadResponseCarriesEitherAnOrderOrADiagnosis) {
  UploadCertificateResponse response;
  response.mutable_accepted()->mutable_order()->set_order_id("order-7");
  response.mutable_diagnosis()->set_kind(DIAGNOSIS_KIND_ANSWERS_OTHER_SITE_REQUEST);
  response.mutable_diagnosis()->set_matched_site_name("Shop");

  UploadCertificateResponse parsed;
  ASSERT_TRUE(parsed.ParseFromString(response.SerializeAsString()));
  // A oneof: the later diagnosis replaced the accepted order.
  ASSERT_EQ(parsed.outcome_case(), UploadCertificateResponse::kDiagnosis);
  EXPECT_EQ(parsed.diagnosis().kind(), DIAGNOSIS_KIND_ANSWERS_OTHER_SITE_REQUEST);
  EXPECT_EQ(parsed.diagnosis().matched_site_name(), "Shop");
  EXPECT_FALSE(parsed.has_accepted());
}

// ---------------------------------------------------------------------------
// Mock stubs
// ---------------------------------------------------------------------------

// What a certfleetctl command does with the admin API, written against the
// stub interface as production code will be.
std::vector<std::string> ThumbprintsExpiringWithin30Days(AdminService::StubInterface& stub,
                                                         grpc::Status* status) {
  ListCertificatesRequest request;
  *request.mutable_expiring_within() = TimeUtil::HoursToDuration(24 * 30);
  request.mutable_page()->set_page_size(50);
  ListCertificatesResponse response;
  grpc::ClientContext context;
  *status = stub.ListCertificates(&context, request, &response);
  std::vector<std::string> thumbprints;
  for (const CertificateRecord& record : response.certificates()) {
    thumbprints.push_back(record.certificate().thumbprint_sha1());
  }
  return thumbprints;
}

TEST(WireContractTest, AdminMockStubAnswersAStubbedListCertificates) {
  MockAdminServiceStub stub;
  ListCertificatesResponse canned;
  canned.add_certificates()->mutable_certificate()->set_thumbprint_sha1("AA");
  canned.add_certificates()->mutable_certificate()->set_thumbprint_sha1("BB");
  const auto asks_for_30_days = [](const ListCertificatesRequest& request) {
    return TimeUtil::DurationToHours(request.expiring_within()) == 24 * 30 &&
           request.page().page_size() == 50;
  };
  EXPECT_CALL(stub, ListCertificates(_, ::testing::Truly(asks_for_30_days), _))
      .WillOnce(DoAll(SetArgPointee<2>(canned), Return(grpc::Status::OK)));

  grpc::Status status;
  const std::vector<std::string> thumbprints = ThumbprintsExpiringWithin30Days(stub, &status);
  EXPECT_TRUE(status.ok());
  EXPECT_THAT(thumbprints, ::testing::ElementsAre("AA", "BB"));
}

TEST(WireContractTest, AgentMockStubCanRefuseAStaleAttempt) {
  MockAgentServiceStub stub;
  const auto reports_attempt_2 = [](const ReportStepRequest& request) {
    return request.job_id() == "job-42" && request.attempt() == 2;
  };
  EXPECT_CALL(stub, ReportStep(_, ::testing::Truly(reports_attempt_2), _))
      .WillOnce(Return(grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                                    "attempt 2 of job-42 is stale; current attempt is 3")));

  AgentService::StubInterface& interface = stub;
  ReportStepRequest request;
  request.set_job_id("job-42");
  request.set_attempt(2);
  request.mutable_step()->set_step(STEP_NAME_REPLACE_BINDING);
  request.mutable_step()->set_outcome(STEP_OUTCOME_SUCCEEDED);
  ReportStepResponse response;
  grpc::ClientContext context;
  const grpc::Status status = interface.ReportStep(&context, request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(status.error_message(), ::testing::HasSubstr("stale"));
}

// ---------------------------------------------------------------------------
// Service shapes
// ---------------------------------------------------------------------------

std::set<std::string> MethodNames(const protobuf::ServiceDescriptor* service) {
  std::set<std::string> names;
  for (int i = 0; i < service->method_count(); ++i) names.insert(service->method(i)->name());
  return names;
}

TEST(WireContractTest, AgentServiceHasTheRpcsOfTheDesign) {
  const protobuf::ServiceDescriptor* service = AgentServiceDescriptor();
  ASSERT_NE(service, nullptr);
  EXPECT_EQ(service->full_name(), "certfleet.v1.AgentService");
  EXPECT_EQ(MethodNames(service),
            (std::set<std::string>{"Enroll", "Connect", "ReportInventory", "ReportStep",
                                   "CompleteJob", "RenewIdentity"}));

  const protobuf::MethodDescriptor* connect = service->FindMethodByName("Connect");
  ASSERT_NE(connect, nullptr);
  EXPECT_TRUE(connect->client_streaming());
  EXPECT_TRUE(connect->server_streaming());
  for (int i = 0; i < service->method_count(); ++i) {
    const protobuf::MethodDescriptor* method = service->method(i);
    if (method == connect) continue;
    EXPECT_FALSE(method->client_streaming()) << method->name();
    EXPECT_FALSE(method->server_streaming()) << method->name();
    EXPECT_EQ(method->input_type()->name(), method->name() + "Request");
    EXPECT_EQ(method->output_type()->name(), method->name() + "Response");
  }
}

TEST(WireContractTest, AdminServiceHasTheRpcsOfTheDesignEachWithItsOwnMessages) {
  const protobuf::ServiceDescriptor* service = AdminServiceDescriptor();
  ASSERT_NE(service, nullptr);
  const std::set<std::string> expected = {
      "ListHosts",        "GetHost",           "SetHostLabels",   "RescanHost",
      "DecommissionHost", "ListCertificates",  "GetCertificate",  "GetBindingHistory",
      "ListOrders",       "GetOrder",          "RenewNow",        "CancelOrder",
      "GetOrderCsr",      "UploadCertificate", "ListJobs",        "GetJob",
      "CreateJoinToken",  "ListJoinTokens",    "RevokeJoinToken", "ListPolicies",
      "SetPolicy",        "DeletePolicy",      "ListCaProducts",  "PlanCampaign",
      "CreateCampaign",   "StartCampaign",     "ListCampaigns",   "GetCampaign",
      "PauseCampaign",    "ResumeCampaign",    "AbortCampaign",   "ListWebhooks",
      "SetWebhook",       "DeleteWebhook",     "GetFleetSummary", "ListAuditEvents"};
  EXPECT_EQ(MethodNames(service), expected);

  std::set<std::string> message_types_used;
  for (int i = 0; i < service->method_count(); ++i) {
    const protobuf::MethodDescriptor* method = service->method(i);
    EXPECT_FALSE(method->client_streaming() || method->server_streaming()) << method->name();
    EXPECT_EQ(method->input_type()->name(), method->name() + "Request");
    EXPECT_EQ(method->output_type()->name(), method->name() + "Response");
    // Each listing pages.
    if (method->name().rfind("List", 0) == 0 &&
        method->output_type()->FindFieldByName("page") != nullptr) {
      EXPECT_NE(method->input_type()->FindFieldByName("page"), nullptr) << method->name();
    }
    message_types_used.insert(method->input_type()->name());
    message_types_used.insert(method->output_type()->name());
  }
  EXPECT_EQ(message_types_used.size(), 2u * expected.size()) << "a message is shared by two RPCs";
}

// ---------------------------------------------------------------------------
// Conventions of the .proto files
// ---------------------------------------------------------------------------

TEST(WireContractTest, EveryProtoFileIsInThePackageAndReachableFromAService) {
  std::set<std::string> reachable;
  for (const protobuf::FileDescriptor* file : PackageFiles()) {
    EXPECT_EQ(file->syntax(), protobuf::FileDescriptor::SYNTAX_PROTO3) << file->name();
    reachable.insert(file->name());
  }
  const std::vector<std::string> on_disk = ProtoFilesOnDisk();
  ASSERT_GE(on_disk.size(), 3u);
  EXPECT_EQ(std::set<std::string>(on_disk.begin(), on_disk.end()), reachable);
}

TEST(WireContractTest, EveryEnumStartsWithUnspecifiedAndPrefixesItsValues) {
  const std::vector<const protobuf::EnumDescriptor*> enums = AllEnums();
  ASSERT_GE(enums.size(), 20u);
  for (const protobuf::EnumDescriptor* enumeration : enums) {
    const std::string prefix = UpperSnake(enumeration->name()) + "_";
    const protobuf::EnumValueDescriptor* zero = enumeration->FindValueByNumber(0);
    ASSERT_NE(zero, nullptr) << enumeration->full_name() << " has no value 0";
    EXPECT_EQ(zero->name(), prefix + "UNSPECIFIED") << enumeration->full_name();
    EXPECT_EQ(enumeration->value(0), zero) << enumeration->full_name() << ": 0 must come first";
    for (int i = 0; i < enumeration->value_count(); ++i) {
      EXPECT_EQ(enumeration->value(i)->name().rfind(prefix, 0), 0u)
          << enumeration->value(i)->name() << " lacks the prefix " << prefix;
    }
  }
}

TEST(WireContractTest, TimeFieldsUseTimestampAndDurationTypes) {
  int timestamps = 0;
  for (const protobuf::Descriptor* message : AllMessages()) {
    for (int i = 0; i < message->field_count(); ++i) {
      const protobuf::FieldDescriptor* field = message->field(i);
      const std::string& name = field->name();
      const bool is_timestamp = field->message_type() != nullptr &&
                                field->message_type()->full_name() == "google.protobuf.Timestamp";
      if (name.size() > 3 && name.compare(name.size() - 3, 3, "_at") == 0) {
        EXPECT_TRUE(is_timestamp) << field->full_name() << " ends in _at but is not a Timestamp";
      }
      if (is_timestamp) ++timestamps;
      // Durations are never raw integers of seconds or days. ExpiryBuckets is
      // the one exception: its fields are named after the buckets and count
      // certificates.
      if (message->full_name() == "certfleet.v1.ExpiryBuckets") continue;
      for (const char* unit : {"_milliseconds", "_seconds", "_minutes", "_hours", "_days"}) {
        const std::string suffix = unit;
        if (name.size() > suffix.size() &&
            name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0) {
          ADD_FAILURE() << field->full_name() << " encodes a duration as a number";
        }
      }
    }
  }
  EXPECT_GE(timestamps, 30);
}

TEST(WireContractTest, NoPrivateKeyOrPassphraseCanTravel) {
  for (const protobuf::Descriptor* message : AllMessages()) {
    for (int i = 0; i < message->field_count(); ++i) {
      const protobuf::FieldDescriptor* field = message->field(i);
      const std::string& name = field->name();
      if (name.find("private_key") != std::string::npos) {
        // Only the fact that a store holds a key (has_private_key) is reported.
        EXPECT_EQ(field->type(), protobuf::FieldDescriptor::TYPE_BOOL) << field->full_name();
      }
      EXPECT_EQ(name.find("passphrase"), std::string::npos) << field->full_name();
      EXPECT_EQ(name.find("password"), std::string::npos) << field->full_name();
      EXPECT_EQ(name.find("key_pem"), std::string::npos) << field->full_name();
    }
  }
}

// Declarations found in the .proto text, by category, with those that have
// neither a comment on the line before nor a trailing comment.
struct SourceScan {
  std::map<std::string, int> declarations;
  std::vector<std::string> uncommented;
};

SourceScan ScanProtoSources() {
  static const std::vector<std::pair<std::string, std::regex>> kDeclarations = {
      {"message", std::regex(R"(^message\s+\w+\s*\{)")},
      {"enum", std::regex(R"(^enum\s+\w+\s*\{)")},
      {"service", std::regex(R"(^service\s+\w+\s*\{)")},
      {"oneof", std::regex(R"(^oneof\s+\w+\s*\{)")},
      {"rpc", std::regex(R"(^rpc\s+\w+\s*\()")},
      {"field",
       std::regex(
           R"(^(repeated\s+|optional\s+)?(map<[^>]+>|[A-Za-z_][\w.]*)\s+[a-z_][a-z0-9_]*\s*=\s*\d+\s*;)")},
      {"enum value", std::regex(R"(^[A-Z][A-Z0-9_]*\s*=\s*\d+\s*;)")},
  };
  SourceScan scan;
  const std::filesystem::path root = std::filesystem::path(CERTFLEET_SOURCE_DIR) / "proto";
  for (const std::string& name : ProtoFilesOnDisk()) {
    std::ifstream input(root / name);
    std::string line;
    std::string previous;
    int number = 0;
    while (std::getline(input, line)) {
      ++number;
      const size_t first = line.find_first_not_of(" \t");
      const std::string trimmed = first == std::string::npos ? "" : line.substr(first);
      for (const auto& [category, pattern] : kDeclarations) {
        if (!std::regex_search(trimmed, pattern)) continue;
        ++scan.declarations[category];
        const bool leading = previous.rfind("//", 0) == 0;
        const bool trailing = trimmed.find("//") != std::string::npos;
        if (!leading && !trailing) {
          scan.uncommented.push_back(name + ":" + std::to_string(number) + ": " + trimmed);
        }
        break;
      }
      if (!trimmed.empty()) previous = trimmed;
    }
  }
  return scan;
}

TEST(WireContractTest, EveryDeclarationHasAComment) {
  const SourceScan scan = ScanProtoSources();
  std::ostringstream uncommented;
  for (const std::string& line : scan.uncommented) uncommented << "\n  " << line;
  EXPECT_TRUE(scan.uncommented.empty()) << "declarations without a comment:" << uncommented.str();

  // The scan must have seen every declaration the descriptors know, or it
  // could miss an uncommented one.
  int fields = 0;
  int oneofs = 0;
  int enum_values = 0;
  for (const protobuf::Descriptor* message : AllMessages()) {
    fields += message->field_count();
    oneofs += message->real_oneof_decl_count();
  }
  for (const protobuf::EnumDescriptor* enumeration : AllEnums()) {
    enum_values += enumeration->value_count();
  }
  int rpcs = 0;
  int services = 0;
  for (const protobuf::FileDescriptor* file : PackageFiles()) {
    services += file->service_count();
    for (int i = 0; i < file->service_count(); ++i) rpcs += file->service(i)->method_count();
  }
  std::map<std::string, int> expected = {
      {"message", static_cast<int>(AllMessages().size())},
      {"enum", static_cast<int>(AllEnums().size())},
      {"service", services},
      {"oneof", oneofs},
      {"rpc", rpcs},
      {"field", fields},
      {"enum value", enum_values},
  };
  EXPECT_EQ(scan.declarations, expected);
}

}  // namespace
}  // namespace certfleet::v1
