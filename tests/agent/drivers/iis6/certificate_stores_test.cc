// The MY, CA, ROOT and REQUEST stores of an emulated IIS 6 host: layout,
// modes, atomic pending requests, and that every write can be retried.

#include "agent/drivers/iis6/certificate_stores.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "absl/strings/ascii.h"
#include "common/crypto/certificate_builder.h"
#include "tests/agent/drivers/iis6/iis6_test_host.h"
#include "tests/support/status_matchers.h"
#include "tests/support/temporary_directory.h"
#include "tests/support/test_pki.h"

namespace certfleet::iis6 {
namespace {

using ::certfleet::agent::CertificateStore;
using ::certfleet::testing::FileMode;
using ::certfleet::testing::IsOk;
using ::certfleet::testing::StatusIs;
using ::certfleet::testing::TemporaryDirectory;
using ::certfleet::testing::TestPki;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;

crypto::DistinguishedName Subject(const std::string& common_name) {
  crypto::DistinguishedName subject;
  subject.common_name = common_name;
  subject.organization = "Example K.K.";
  subject.country = "JP";
  return subject;
}

const crypto::KeySpec kRsa2048{crypto::KeyAlgorithm::kRsa, 2048};

class CertificateStoresTest : public ::testing::Test {
 protected:
  std::filesystem::path StoresFolder() const { return folder_.path() / "stores"; }

  TemporaryDirectory folder_;
  CertificateStores stores_{folder_.path() / "stores"};
  const TestPki& pki_ = TestPki::Shared();
};

TEST_F(CertificateStoresTest, MissingStoreIsEmpty) {
  CERTFLEET_ASSERT_OK_AND_ASSIGN(auto listed, stores_.List(CertificateStore::kPersonal));
  EXPECT_THAT(listed, IsEmpty());
  CERTFLEET_ASSERT_OK_AND_ASSIGN(auto requests, stores_.ListPendingRequests());
  EXPECT_THAT(requests, IsEmpty());
}

TEST_F(CertificateStoresTest, AddsIntermediateAndRootAsDerNamedByThumbprint) {
  ASSERT_THAT(
      stores_.AddCertificate(CertificateStore::kIntermediate, pki_.intermediate.certificate),
      IsOk());
  ASSERT_THAT(stores_.AddCertificate(CertificateStore::kRoot, pki_.root.certificate), IsOk());

  const std::filesystem::path file =
      StoresFolder() / "CA" / (pki_.intermediate.certificate.Thumbprint() + ".cer");
  ASSERT_TRUE(std::filesystem::exists(file));
  EXPECT_EQ(FileMode(StoresFolder()), 0700u);
  EXPECT_EQ(FileMode(StoresFolder() / "CA"), 0700u);
  CERTFLEET_ASSERT_OK_AND_ASSIGN(auto listed, stores_.List(CertificateStore::kIntermediate));
  ASSERT_THAT(listed, SizeIs(1));
  EXPECT_EQ(listed[0].certificate, pki_.intermediate.certificate);
  EXPECT_FALSE(listed[0].has_private_key);
  CERTFLEET_ASSERT_OK_AND_ASSIGN(auto roots, stores_.List(CertificateStore::kRoot));
  ASSERT_THAT(roots, SizeIs(1));
  EXPECT_EQ(roots[0].store, CertificateStore::kRoot);
}

TEST_F(CertificateStoresTest, AddingTwiceKeepsOneFile) {
  ASSERT_THAT(stores_.AddCertificate(CertificateStore::kRoot, pki_.root.certificate), IsOk());
  ASSERT_THAT(stores_.AddCertificate(CertificateStore::kRoot, pki_.root.certificate), IsOk());
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(StoresFolder() / "ROOT"),
                          std::filesystem::directory_iterator()),
            1);
}

TEST_F(CertificateStoresTest, AddCertificateRefusesPersonalAndRequestStores) {
  EXPECT_THAT(stores_.AddCertificate(CertificateStore::kPersonal, pki_.rsa_leaf.certificate),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("MY needs the private key")));
  EXPECT_THAT(stores_.AddCertificate(CertificateStore::kRequest, pki_.rsa_leaf.certificate),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("not REQUEST")));
  EXPECT_FALSE(std::filesystem::exists(StoresFolder()));
}

TEST_F(CertificateStoresTest, AddPersonalWritesKeyWithMode0600) {
  const crypto::Certificate& certificate = pki_.rsa_leaf.certificate;
  ASSERT_THAT(stores_.AddPersonal(certificate, pki_.rsa_leaf.key), IsOk());

  const std::filesystem::path key_file =
      StoresFolder() / "MY" / (certificate.Thumbprint() + ".key");
  EXPECT_EQ(FileMode(key_file), 0600u);
  EXPECT_EQ(FileMode(StoresFolder() / "MY"), 0700u);
  EXPECT_TRUE(stores_.HasPrivateKey(certificate.Thumbprint()).value_or(false));
  CERTFLEET_ASSERT_OK_AND_ASSIGN(crypto::PrivateKey key,
                                 stores_.ReadPrivateKey(certificate.Thumbprint()));
  EXPECT_EQ(key.public_key(), certificate.public_key());
  CERTFLEET_ASSERT_OK_AND_ASSIGN(auto listed, stores_.List(CertificateStore::kPersonal));
  ASSERT_THAT(listed, SizeIs(1));
  EXPECT_TRUE(listed[0].has_private_key);
}

TEST_F(CertificateStoresTest, AddPersonalTwiceChangesNothing) {
  const crypto::Certificate& certificate = pki_.rsa_leaf.certificate;
  ASSERT_THAT(stores_.AddPersonal(certificate, pki_.rsa_leaf.key), IsOk());
  const auto before = testing::SnapshotTree(StoresFolder());
  ASSERT_THAT(stores_.AddPersonal(certificate, pki_.rsa_leaf.key), IsOk());
  EXPECT_EQ(testing::SnapshotTree(StoresFolder()), before);
}

TEST_F(CertificateStoresTest, AddPersonalRefusesAKeyOfAnotherCertificate) {
  EXPECT_THAT(stores_.AddPersonal(pki_.rsa_leaf.certificate, pki_.leaf.key),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("the private key does not belong to the certificate "
                                 "'CN=shop.example.test")));
  EXPECT_FALSE(std::filesystem::exists(StoresFolder()));
}

TEST_F(CertificateStoresTest, AddPersonalCompletesACertificateWithoutItsKey) {
  const crypto::Certificate& certificate = pki_.rsa_leaf.certificate;
  ASSERT_THAT(stores_.AddPersonal(certificate, pki_.rsa_leaf.key), IsOk());
  std::filesystem::remove(StoresFolder() / "MY" / (certificate.Thumbprint() + ".key"));
  EXPECT_FALSE(stores_.HasPrivateKey(certificate.Thumbprint()).value_or(true));

  ASSERT_THAT(stores_.AddPersonal(certificate, pki_.rsa_leaf.key), IsOk());
  EXPECT_TRUE(stores_.HasPrivateKey(certificate.Thumbprint()).value_or(false));
}

TEST_F(CertificateStoresTest, FindsByThumbprintInAnyCase) {
  ASSERT_THAT(stores_.AddPersonal(pki_.rsa_leaf.certificate, pki_.rsa_leaf.key), IsOk());
  CERTFLEET_ASSERT_OK_AND_ASSIGN(
      auto found, stores_.Find(CertificateStore::kPersonal,
                               absl::AsciiStrToLower(pki_.rsa_leaf.certificate.Thumbprint())));
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->certificate, pki_.rsa_leaf.certificate);
  EXPECT_TRUE(found->has_private_key);

  CERTFLEET_ASSERT_OK_AND_ASSIGN(auto absent, stores_.Find(CertificateStore::kIntermediate,
                                                           pki_.root.certificate.Thumbprint()));
  EXPECT_FALSE(absent.has_value());
}

TEST_F(CertificateStoresTest, FindRefusesMalformedThumbprintAndRequestStore) {
  EXPECT_THAT(stores_.Find(CertificateStore::kPersonal, "../../etc/passwd"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("is not a certificate thumbprint (40 hex digits")));
  EXPECT_THAT(stores_.Find(CertificateStore::kRequest, pki_.root.certificate.Thumbprint()),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("looked up by site id")));
  EXPECT_THAT(stores_.ReadPrivateKey(pki_.root.certificate.Thumbprint()),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("is not in the MY store")));
}

TEST_F(CertificateStoresTest, DamagedStoreFileIsNamed) {
  ASSERT_THAT(
      stores_.AddCertificate(CertificateStore::kIntermediate, pki_.intermediate.certificate),
      IsOk());
  const std::filesystem::path file =
      StoresFolder() / "CA" / (pki_.intermediate.certificate.Thumbprint() + ".cer");
  folder_.WriteFile(std::filesystem::relative(file, folder_.path()).string(), "<html>oops</html>");
  EXPECT_THAT(stores_.List(CertificateStore::kIntermediate),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr(file.string() + " is not a certificate")));
}

TEST_F(CertificateStoresTest, FileNamedAfterAnotherThumbprintIsRefused) {
  ASSERT_THAT(stores_.AddCertificate(CertificateStore::kRoot, pki_.root.certificate), IsOk());
  std::filesystem::rename(
      StoresFolder() / "ROOT" / (pki_.root.certificate.Thumbprint() + ".cer"),
      StoresFolder() / "ROOT" / (pki_.other_root.certificate.Thumbprint() + ".cer"));
  EXPECT_THAT(
      stores_.List(CertificateStore::kRoot),
      StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("not the one its name says")));
}

TEST_F(CertificateStoresTest, KeyOfAnotherCertificateIsReported) {
  ASSERT_THAT(stores_.AddPersonal(pki_.rsa_leaf.certificate, pki_.rsa_leaf.key), IsOk());
  folder_.WriteFile("stores/MY/" + pki_.rsa_leaf.certificate.Thumbprint() + ".key",
                    testing::NewRsaKey().ToPem());
  EXPECT_THAT(stores_.HasPrivateKey(pki_.rsa_leaf.certificate.Thumbprint()),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("holds a private key that does not belong to the certificate")));
}

TEST_F(CertificateStoresTest, CreatesPendingRequestWithKeyCsrAndPlaceholder) {
  const absl::Time now = absl::FromUnixSeconds(absl::ToUnixSeconds(absl::Now()));
  CERTFLEET_ASSERT_OK_AND_ASSIGN(
      PendingRequest request,
      stores_.CreatePendingRequest("1962875481", Subject("www.example.test"), {"www.example.test"},
                                   kRsa2048, now));

  const std::filesystem::path folder = StoresFolder() / "REQUEST" / "1962875481";
  EXPECT_EQ(FileMode(folder / "request.key"), 0600u);
  EXPECT_TRUE(std::filesystem::exists(folder / "request.csr"));
  EXPECT_TRUE(std::filesystem::exists(folder / "placeholder.cer"));
  EXPECT_EQ(FileMode(StoresFolder() / "REQUEST"), 0700u);
  EXPECT_THAT(request.request.VerifySignature(), IsOk());
  EXPECT_EQ(request.request.Subject(), Subject("www.example.test"));
  EXPECT_THAT(request.request.DnsNames(), ElementsAre("www.example.test"));
  EXPECT_EQ(request.request.public_key(), request.key.public_key());
  // IIS's placeholder: self-signed, same subject and key, dated now.
  EXPECT_EQ(request.placeholder.public_key(), request.key.public_key());
  EXPECT_EQ(request.placeholder.Subject(), Subject("www.example.test"));
  EXPECT_TRUE(request.placeholder.IsIssuedBy(request.placeholder));
  EXPECT_EQ(request.created(), now);

  CERTFLEET_ASSERT_OK_AND_ASSIGN(auto read, stores_.ReadPendingRequest("1962875481"));
  ASSERT_TRUE(read.has_value());
  EXPECT_EQ(read->request.ToDer(), request.request.ToDer());
  CERTFLEET_ASSERT_OK_AND_ASSIGN(auto placeholders, stores_.List(CertificateStore::kRequest));
  ASSERT_THAT(placeholders, SizeIs(1));
  EXPECT_EQ(placeholders[0].certificate, request.placeholder);
  EXPECT_TRUE(placeholders[0].has_private_key);
  // No half-built folder is left behind.
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(StoresFolder() / "REQUEST"),
                          std::filesystem::directory_iterator()),
            1);
}

TEST_F(CertificateStoresTest, SecondPendingRequestForASiteIsRefused) {
  ASSERT_THAT(
      stores_.CreatePendingRequest("7", Subject("a.example.test"), {}, kRsa2048, absl::Now()),
      IsOk());
  const auto before = testing::SnapshotTree(StoresFolder());
  EXPECT_THAT(
      stores_.CreatePendingRequest("7", Subject("b.example.test"), {}, kRsa2048, absl::Now()),
      StatusIs(absl::StatusCode::kAlreadyExists,
               HasSubstr("site 7 already has a pending request")));
  EXPECT_EQ(testing::SnapshotTree(StoresFolder()), before);
}

TEST_F(CertificateStoresTest, PendingRequestRefusesSiteIdsThatAreNotNumbers) {
  EXPECT_THAT(
      stores_.CreatePendingRequest("../MY", Subject("a.example.test"), {}, kRsa2048, absl::Now()),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("is not an IIS site id")));
  EXPECT_THAT(stores_.ReadPendingRequest("01"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("\"01\"")));
  EXPECT_THAT(stores_.RemovePendingRequest(""),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("is not an IIS site id")));
  EXPECT_FALSE(std::filesystem::exists(StoresFolder()));
}

TEST_F(CertificateStoresTest, CrashLeftoversAreIgnoredAndCleaned) {
  // A crash while building a request leaves a hidden folder; it is neither a
  // pending request nor an obstacle to making one.
  folder_.WriteFile("stores/REQUEST/.12.new-abcdef/request.key", "half");
  CERTFLEET_ASSERT_OK_AND_ASSIGN(auto requests, stores_.ListPendingRequests());
  EXPECT_THAT(requests, IsEmpty());
  ASSERT_THAT(
      stores_.CreatePendingRequest("12", Subject("a.example.test"), {}, kRsa2048, absl::Now()),
      IsOk());
  EXPECT_FALSE(std::filesystem::exists(StoresFolder() / "REQUEST" / ".12.new-abcdef"));
}

TEST_F(CertificateStoresTest, IncompletePendingRequestIsReported) {
  ASSERT_THAT(
      stores_.CreatePendingRequest("12", Subject("a.example.test"), {}, kRsa2048, absl::Now()),
      IsOk());
  std::filesystem::remove(StoresFolder() / "REQUEST" / "12" / "request.key");
  EXPECT_THAT(stores_.ReadPendingRequest("12"),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("is incomplete: request.key is missing")));
}

TEST_F(CertificateStoresTest, ListsPendingRequestsInSiteIdOrder) {
  for (const char* site_id : {"1962875481", "3", "20"}) {
    ASSERT_THAT(
        stores_.CreatePendingRequest(site_id, Subject("a.example.test"), {}, kRsa2048, absl::Now()),
        IsOk());
  }
  CERTFLEET_ASSERT_OK_AND_ASSIGN(auto requests, stores_.ListPendingRequests());
  ASSERT_THAT(requests, SizeIs(3));
  EXPECT_EQ(requests[0].site_id, "3");
  EXPECT_EQ(requests[1].site_id, "20");
  EXPECT_EQ(requests[2].site_id, "1962875481");
}

TEST_F(CertificateStoresTest, RemovesPendingRequestAndRemovingAgainIsOk) {
  ASSERT_THAT(
      stores_.CreatePendingRequest("12", Subject("a.example.test"), {}, kRsa2048, absl::Now()),
      IsOk());
  ASSERT_THAT(stores_.RemovePendingRequest("12"), IsOk());
  EXPECT_FALSE(std::filesystem::exists(StoresFolder() / "REQUEST" / "12"));
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(StoresFolder() / "REQUEST"),
                          std::filesystem::directory_iterator()),
            0);
  EXPECT_THAT(stores_.RemovePendingRequest("12"), IsOk());
  CERTFLEET_ASSERT_OK_AND_ASSIGN(auto read, stores_.ReadPendingRequest("12"));
  EXPECT_FALSE(read.has_value());
}

TEST_F(CertificateStoresTest, AcceptMovesCertificateAndRequestKeyIntoMy) {
  CERTFLEET_ASSERT_OK_AND_ASSIGN(
      PendingRequest request,
      stores_.CreatePendingRequest("12", Subject("a.example.test"), {}, kRsa2048, absl::Now()));
  const crypto::Certificate issued = testing::IssueForRequest(request.request);

  ASSERT_THAT(stores_.AcceptPendingRequest("12", issued), IsOk());
  CERTFLEET_ASSERT_OK_AND_ASSIGN(crypto::PrivateKey key,
                                 stores_.ReadPrivateKey(issued.Thumbprint()));
  EXPECT_EQ(key.ToPem(), request.key.ToPem());
  EXPECT_FALSE(std::filesystem::exists(StoresFolder() / "REQUEST" / "12"));

  // A retry: the certificate is in MY with its key.
  const auto before = testing::SnapshotTree(StoresFolder());
  EXPECT_THAT(stores_.AcceptPendingRequest("12", issued), IsOk());
  EXPECT_EQ(testing::SnapshotTree(StoresFolder()), before);
}

TEST_F(CertificateStoresTest, AcceptFinishesAfterACrashBetweenItsSteps) {
  CERTFLEET_ASSERT_OK_AND_ASSIGN(
      PendingRequest request,
      stores_.CreatePendingRequest("12", Subject("a.example.test"), {}, kRsa2048, absl::Now()));
  const crypto::Certificate issued = testing::IssueForRequest(request.request);
  // The crash came after the MY write, before the placeholder was removed.
  ASSERT_THAT(stores_.AddPersonal(issued, request.key), IsOk());

  ASSERT_THAT(stores_.AcceptPendingRequest("12", issued), IsOk());
  EXPECT_FALSE(std::filesystem::exists(StoresFolder() / "REQUEST" / "12"));
  CERTFLEET_ASSERT_OK_AND_ASSIGN(auto personal, stores_.List(CertificateStore::kPersonal));
  EXPECT_THAT(personal, SizeIs(1));
}

TEST_F(CertificateStoresTest, AcceptRefusesCertificateForAnotherKey) {
  ASSERT_THAT(
      stores_.CreatePendingRequest("12", Subject("a.example.test"), {}, kRsa2048, absl::Now()),
      IsOk());
  const auto before = testing::SnapshotTree(StoresFolder());
  EXPECT_THAT(stores_.AcceptPendingRequest("12", pki_.rsa_leaf.certificate),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("does not answer the pending request of site 12")));
  EXPECT_THAT(
      stores_.AcceptPendingRequest("13", pki_.rsa_leaf.certificate),
      StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("site 13 has no pending request")));
  EXPECT_EQ(testing::SnapshotTree(StoresFolder()), before);
}

}  // namespace
}  // namespace certfleet::iis6
