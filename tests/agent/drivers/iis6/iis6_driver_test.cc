// The IIS 6 host driver against an emulated host root: every HostDriver
// method as its contract says, the IIS 6 rules (RSA only, no SNI, MY with
// key, stale pending request), retries that change nothing, refusals that
// leave the host byte for byte as it was, and the wrong-file diagnoses at
// accept time.

#include "agent/drivers/iis6/iis6_driver.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/str_replace.h"
#include "common/crypto/certificate_builder.h"
#include "common/crypto/pkcs12.h"
#include "tests/agent/drivers/iis6/iis6_test_host.h"
#include "tests/support/status_matchers.h"
#include "tests/support/temporary_directory.h"
#include "tests/support/test_pki.h"

namespace certfleet::iis6 {
namespace {

using ::certfleet::agent::CertificateStore;
using ::certfleet::agent::HostInventory;
using ::certfleet::agent::SiteEndpoint;
using ::certfleet::testing::FileMode;
using ::certfleet::testing::IsOk;
using ::certfleet::testing::SnapshotTree;
using ::certfleet::testing::StatusIs;
using ::certfleet::testing::TemporaryDirectory;
using ::certfleet::testing::TestPki;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::SizeIs;

constexpr absl::Duration kDay = absl::Hours(24);
const crypto::KeySpec kRsa2048{crypto::KeyAlgorithm::kRsa, 2048};

crypto::DistinguishedName Subject(const std::string& common_name) {
  crypto::DistinguishedName subject;
  subject.common_name = common_name;
  subject.organization = "Boutique Zürich AG";
  subject.country = "CH";
  return subject;
}

std::string ReadAll(const std::filesystem::path& path) {
  std::ifstream stream(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(stream), {});
}

void WriteAll(const std::filesystem::path& path, const std::string& content) {
  std::ofstream stream(path, std::ios::binary | std::ios::trunc);
  stream << content;
}

class Iis6DriverTest : public ::testing::Test {
 protected:
  void SetUp() override {
    host_ = testing::BuildTestHost(HostRoot());
    Iis6DriverSettings settings;
    settings.host_root = HostRoot();
    settings.random_number = [this] { return next_random_++; };
    settings.clock = [this] { return now_; };
    settings.restart.method = RestartMethod::kCommand;
    settings.restart.command = {"/bin/true"};
    CERTFLEET_ASSERT_OK_AND_ASSIGN(driver_, Iis6Driver::Open(std::move(settings)));
  }

  std::filesystem::path HostRoot() const { return folder_.path() / "host"; }
  std::filesystem::path MetaBaseFile() const { return HostRoot() / "inetsrv" / "MetaBase.xml"; }
  std::filesystem::path RequestFolder(const std::string& site_id) const {
    return HostRoot() / "stores" / "REQUEST" / site_id;
  }
  const EmulatedSite& Boutique() const { return host_.sites[1]; }
  const EmulatedSite& Shop() const { return host_.sites[2]; }

  size_t CountIn(CertificateStore store) {
    auto listed = driver_->stores().List(store);
    EXPECT_THAT(listed, IsOk());
    return listed.ok() ? listed->size() : 0;
  }

  // The temporary-site part of a renewal: a temporary site with a pending
  // request, and the certificate a CA issued for it.
  struct Prepared {
    std::string site_id;
    crypto::CertificateRequest request;
    crypto::Certificate issued;
  };
  Prepared Prepare(const std::string& common_name = "www.boutique-zuerich.example.test") {
    absl::StatusOr<std::string> site_id = driver_->CreateTemporarySite("certfleet temporary");
    EXPECT_THAT(site_id, IsOk());
    absl::StatusOr<crypto::CertificateRequest> request =
        driver_->CreatePendingRequest(*site_id, Subject(common_name), {common_name}, kRsa2048);
    EXPECT_THAT(request, IsOk());
    return Prepared{*site_id, *request, testing::IssueForRequest(*request)};
  }

  // Edits MetaBase.xml as an administrator would in Notepad.
  void EditMetaBase(const std::string& from, const std::string& to) {
    const std::string before = ReadAll(MetaBaseFile());
    const std::string after = absl::StrReplaceAll(before, {{from, to}});
    ASSERT_NE(before, after) << "no \"" << from << "\" in MetaBase.xml";
    WriteAll(MetaBaseFile(), after);
  }

  TemporaryDirectory folder_;
  EmulatedHost host_;
  std::unique_ptr<Iis6Driver> driver_;
  std::uint32_t next_random_ = 811939328;  // Gives site id 1811939328 first.
  absl::Time now_ = absl::Now();
  const TestPki& pki_ = TestPki::Shared();
};

TEST_F(Iis6DriverTest, ScansSitesBindingsStoresAndRequests) {
  CERTFLEET_ASSERT_OK_AND_ASSIGN(HostInventory inventory, driver_->ScanInventory());
  ASSERT_THAT(inventory.sites, SizeIs(4));
  EXPECT_EQ(inventory.sites[0].site_id, "1");
  EXPECT_EQ(inventory.sites[0].name, "Default Web Site");
  EXPECT_EQ(inventory.sites[1].name, "Boutique Zürich");
  EXPECT_EQ(inventory.sites[1].content_path, "C:\\Inetpub\\Boutique Zürich");
  EXPECT_THAT(inventory.sites[1].secure_endpoints, ElementsAre(SiteEndpoint{"", 8443, ""}));
  EXPECT_THAT(inventory.sites[1].plain_endpoints,
              ElementsAre(SiteEndpoint{"", 8080, "www.boutique-zuerich.example.test"}));
  EXPECT_EQ(inventory.sites[1].bound_thumbprint, Boutique().thumbprint);
  EXPECT_TRUE(inventory.sites[1].auto_start);
  EXPECT_FALSE(inventory.sites[3].auto_start);
  EXPECT_EQ(driver_->Platform(), "iis6");
  EXPECT_EQ(driver_->address(), "127.0.0.2");

  int personal = 0, intermediate = 0, root = 0;
  for (const agent::StoredCertificate& stored : inventory.certificates) {
    if (stored.store == CertificateStore::kPersonal) {
      ++personal;
      EXPECT_TRUE(stored.has_private_key);
    }
    intermediate += stored.store == CertificateStore::kIntermediate;
    root += stored.store == CertificateStore::kRoot;
  }
  EXPECT_EQ(personal, 2);
  EXPECT_EQ(intermediate, 1);
  EXPECT_EQ(root, 1);

  ASSERT_THAT(
      driver_->CreatePendingRequest(kBoutiqueSiteId, Subject("a.example.test"), {}, kRsa2048),
      IsOk());
  CERTFLEET_ASSERT_OK_AND_ASSIGN(inventory, driver_->ScanInventory());
  EXPECT_TRUE(inventory.sites[1].has_pending_request);
  ASSERT_THAT(inventory.pending_requests, SizeIs(1));
  EXPECT_EQ(inventory.pending_requests[0].site_id, kBoutiqueSiteId);
}

TEST_F(Iis6DriverTest, TemporarySiteIsStoppedWithAFreshIdAndARetryFindsIt) {
  const auto history_before =
      std::distance(std::filesystem::directory_iterator(HostRoot() / "inetsrv" / "History"), {});
  CERTFLEET_ASSERT_OK_AND_ASSIGN(std::string site_id,
                                 driver_->CreateTemporarySite("certfleet temporary"));
  EXPECT_EQ(site_id, "1811939328");
  CERTFLEET_ASSERT_OK_AND_ASSIGN(std::string again,
                                 driver_->CreateTemporarySite("certfleet temporary"));
  EXPECT_EQ(again, site_id);

  CERTFLEET_ASSERT_OK_AND_ASSIGN(HostInventory inventory, driver_->ScanInventory());
  ASSERT_THAT(inventory.sites, SizeIs(5));
  EXPECT_EQ(inventory.sites[4].site_id, site_id);
  EXPECT_FALSE(inventory.sites[4].auto_start);
  EXPECT_TRUE(inventory.sites[4].secure_endpoints.empty());
  // Saved once, through MetaBase::Save, with one history copy.
  EXPECT_EQ(
      std::distance(std::filesystem::directory_iterator(HostRoot() / "inetsrv" / "History"), {}),
      history_before + 1);
}

TEST_F(Iis6DriverTest, TemporarySiteSkipsIdsOfLeftoverPendingRequests) {
  // A deleted site's pending request is still in REQUEST under id 1811939328.
  ASSERT_THAT(driver_->stores().folder(), ::testing::Ne(""));
  CertificateStores stores(HostRoot() / "stores");
  ASSERT_THAT(
      stores.CreatePendingRequest("1811939328", Subject("a.example.test"), {}, kRsa2048, now_),
      IsOk());
  CERTFLEET_ASSERT_OK_AND_ASSIGN(std::string site_id,
                                 driver_->CreateTemporarySite("certfleet temporary"));
  EXPECT_EQ(site_id, "1811939329");
}

TEST_F(Iis6DriverTest, TemporarySiteNeverAdoptsARealSite) {
  const auto before = SnapshotTree(HostRoot());
  EXPECT_THAT(driver_->CreateTemporarySite("Shop"),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("a site named 'Shop' exists already (site 1547880923 'Shop') and "
                                 "is not a temporary site")));
  EXPECT_THAT(driver_->CreateTemporarySite(""),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("needs a name")));
  EXPECT_EQ(SnapshotTree(HostRoot()), before);
}

TEST_F(Iis6DriverTest, DeletingTheTemporarySiteKeepsKeyAndCertificate) {
  const Prepared prepared = Prepare();
  ASSERT_THAT(driver_->AcceptCertificate(prepared.site_id, prepared.issued, {}), IsOk());
  const std::filesystem::path key_file =
      HostRoot() / "stores" / "MY" / (prepared.issued.Thumbprint() + ".key");
  const std::string key = ReadAll(key_file);

  ASSERT_THAT(driver_->DeleteSite(prepared.site_id), IsOk());
  EXPECT_THAT(driver_->ReadBinding(prepared.site_id), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_EQ(ReadAll(key_file), key);
  EXPECT_TRUE(driver_->stores().HasPrivateKey(prepared.issued.Thumbprint()).value_or(false));
  // A retry of the deletion.
  const auto before = SnapshotTree(HostRoot());
  EXPECT_THAT(driver_->DeleteSite(prepared.site_id), IsOk());
  EXPECT_EQ(SnapshotTree(HostRoot()), before);
  EXPECT_THAT(driver_->DeleteSite("not-a-site"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("is not an IIS site id")));
}

TEST_F(Iis6DriverTest, PendingRequestRetryReturnsTheSameCsr) {
  CERTFLEET_ASSERT_OK_AND_ASSIGN(std::string site_id,
                                 driver_->CreateTemporarySite("certfleet temporary"));
  CERTFLEET_ASSERT_OK_AND_ASSIGN(crypto::CertificateRequest first,
                                 driver_->CreatePendingRequest(site_id, Subject("www.example.test"),
                                                               {"www.example.test"}, kRsa2048));
  const auto before = SnapshotTree(HostRoot());
  CERTFLEET_ASSERT_OK_AND_ASSIGN(crypto::CertificateRequest second,
                                 driver_->CreatePendingRequest(site_id, Subject("www.example.test"),
                                                               {"www.example.test"}, kRsa2048));
  EXPECT_EQ(second.ToDer(), first.ToDer());
  EXPECT_EQ(SnapshotTree(HostRoot()), before);
}

TEST_F(Iis6DriverTest, PendingRequestForOtherParametersIsRefused) {
  CERTFLEET_ASSERT_OK_AND_ASSIGN(std::string site_id,
                                 driver_->CreateTemporarySite("certfleet temporary"));
  ASSERT_THAT(driver_->CreatePendingRequest(site_id, Subject("www.example.test"), {}, kRsa2048),
              IsOk());
  const auto before = SnapshotTree(HostRoot());
  EXPECT_THAT(driver_->CreatePendingRequest(site_id, Subject("other.example.test"), {}, kRsa2048),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       AllOf(HasSubstr("already has a pending request for 'CN=www.example.test"),
                             HasSubstr("clear it before making a new one"))));
  EXPECT_THAT(driver_->CreatePendingRequest(site_id, Subject("www.example.test"), {},
                                            {crypto::KeyAlgorithm::kRsa, 3072}),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("RSA 2048")));
  EXPECT_EQ(SnapshotTree(HostRoot()), before);
}

TEST_F(Iis6DriverTest, EcdsaKeySpecIsRefusedNamingTheRule) {
  const auto before = SnapshotTree(HostRoot());
  EXPECT_THAT(
      driver_->CreatePendingRequest(kBoutiqueSiteId, Subject("www.example.test"), {},
                                    {crypto::KeyAlgorithm::kEcdsa, 256}),
      StatusIs(absl::StatusCode::kInvalidArgument, AllOf(HasSubstr("IIS 6 supports RSA keys only"),
                                                         HasSubstr("ecdsa-p256 is refused"))));
  EXPECT_EQ(SnapshotTree(HostRoot()), before);
}

TEST_F(Iis6DriverTest, PendingRequestForUnknownSiteIsNotFound) {
  EXPECT_THAT(driver_->CreatePendingRequest("424242", Subject("www.example.test"), {}, kRsa2048),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_FALSE(std::filesystem::exists(RequestFolder("424242")));
}

TEST_F(Iis6DriverTest, ClearPendingRequestRemovesItAndIsOkWhenNone) {
  ASSERT_THAT(driver_->CreatePendingRequest(kShopSiteId, Subject("a.example.test"), {}, kRsa2048),
              IsOk());
  ASSERT_THAT(driver_->ClearPendingRequest(kShopSiteId), IsOk());
  EXPECT_FALSE(std::filesystem::exists(RequestFolder(kShopSiteId)));
  EXPECT_THAT(driver_->ClearPendingRequest(kShopSiteId), IsOk());
}

TEST_F(Iis6DriverTest, AcceptPutsCertificateWithRequestKeyInMyAndChainIntoCaAndRoot) {
  // A host whose stores hold another CA's chain: the accepted certificate's
  // chain must be installed.
  TemporaryDirectory other;
  EmulatedHostOptions options;
  options.host_root = other.path() / "host";
  options.demo_ca_folder = other.path() / "ca";
  ASSERT_THAT(BuildEmulatedHost(options), IsOk());
  Iis6DriverSettings settings;
  settings.host_root = options.host_root;
  CERTFLEET_ASSERT_OK_AND_ASSIGN(auto driver, Iis6Driver::Open(settings));
  CERTFLEET_ASSERT_OK_AND_ASSIGN(std::string site_id, driver->CreateTemporarySite("temporary"));
  CERTFLEET_ASSERT_OK_AND_ASSIGN(
      crypto::CertificateRequest request,
      driver->CreatePendingRequest(site_id, Subject("www.example.test"), {}, kRsa2048));
  const std::string request_key =
      ReadAll(options.host_root / "stores" / "REQUEST" / site_id / "request.key");
  const crypto::Certificate issued = testing::IssueForRequest(request);

  ASSERT_THAT(driver->AcceptCertificate(site_id, issued,
                                        {pki_.intermediate.certificate, pki_.root.certificate}),
              IsOk());
  const std::filesystem::path my = options.host_root / "stores" / "MY";
  EXPECT_EQ(ReadAll(my / (issued.Thumbprint() + ".key")), request_key);
  EXPECT_EQ(FileMode(my / (issued.Thumbprint() + ".key")), 0600u);
  EXPECT_TRUE(std::filesystem::exists(my / (issued.Thumbprint() + ".cer")));
  EXPECT_FALSE(std::filesystem::exists(options.host_root / "stores" / "REQUEST" / site_id));
  EXPECT_TRUE(std::filesystem::exists(options.host_root / "stores" / "CA" /
                                      (pki_.intermediate.certificate.Thumbprint() + ".cer")));
  EXPECT_TRUE(std::filesystem::exists(options.host_root / "stores" / "ROOT" /
                                      (pki_.root.certificate.Thumbprint() + ".cer")));
}

TEST_F(Iis6DriverTest, AcceptTwiceGivesNoSecondCertificateOrKey) {
  const Prepared prepared = Prepare();
  const std::vector<crypto::Certificate> chain = {pki_.intermediate.certificate,
                                                  pki_.root.certificate};
  ASSERT_THAT(driver_->AcceptCertificate(prepared.site_id, prepared.issued, chain), IsOk());
  const auto after_first = SnapshotTree(HostRoot());
  ASSERT_THAT(driver_->AcceptCertificate(prepared.site_id, prepared.issued, chain), IsOk());
  EXPECT_EQ(SnapshotTree(HostRoot()), after_first);
  EXPECT_EQ(CountIn(CertificateStore::kPersonal), 3u);
  EXPECT_EQ(CountIn(CertificateStore::kIntermediate), 1u);
  // Also after the temporary site is gone.
  ASSERT_THAT(driver_->DeleteSite(prepared.site_id), IsOk());
  EXPECT_THAT(driver_->AcceptCertificate(prepared.site_id, prepared.issued, chain), IsOk());
  EXPECT_EQ(CountIn(CertificateStore::kPersonal), 3u);
}

TEST_F(Iis6DriverTest, AcceptFinishesAfterACrashBeforeThePlaceholderWasRemoved) {
  const Prepared prepared = Prepare();
  CERTFLEET_ASSERT_OK_AND_ASSIGN(auto request,
                                 driver_->stores().ReadPendingRequest(prepared.site_id));
  CertificateStores stores(HostRoot() / "stores");
  ASSERT_THAT(stores.AddPersonal(prepared.issued, request->key), IsOk());

  ASSERT_THAT(driver_->AcceptCertificate(prepared.site_id, prepared.issued, {}), IsOk());
  EXPECT_FALSE(std::filesystem::exists(RequestFolder(prepared.site_id)));
  EXPECT_EQ(CountIn(CertificateStore::kPersonal), 3u);
}

// The wrong-file diagnoses, each leaving the host untouched.
class Iis6DriverDiagnosisTest : public Iis6DriverTest {
 protected:
  void SetUp() override {
    Iis6DriverTest::SetUp();
    prepared_.emplace(Prepare());
  }

  void ExpectRefused(const crypto::Certificate& certificate,
                     const std::vector<crypto::Certificate>& chain,
                     const ::testing::Matcher<std::string>& message) {
    const auto before = SnapshotTree(HostRoot());
    EXPECT_THAT(driver_->AcceptCertificate(prepared_->site_id, certificate, chain),
                StatusIs(absl::StatusCode::kFailedPrecondition, message));
    EXPECT_EQ(SnapshotTree(HostRoot()), before);
  }

  std::optional<Prepared> prepared_;
};

TEST_F(Iis6DriverDiagnosisTest, IntermediateGivenAsTheCertificate) {
  ExpectRefused(pki_.intermediate.certificate, {},
                AllOf(HasSubstr("this is an intermediate CA certificate 'CN=certfleet Test "
                                "Intermediate CA"),
                      HasSubstr("not the server certificate")));
}

TEST_F(Iis6DriverDiagnosisTest, RootGivenAsTheCertificate) {
  ExpectRefused(pki_.root.certificate, {},
                HasSubstr("this is a root CA certificate 'CN=certfleet Test Root CA"));
}

TEST_F(Iis6DriverDiagnosisTest, AnotherVendorsCertificate) {
  ExpectRefused(pki_.other_leaf.certificate, {},
                AllOf(HasSubstr("was issued by 'CN=Unrelated Root CA"),
                      HasSubstr("not in the expected chain")));
}

TEST_F(Iis6DriverDiagnosisTest, OlderCertificateOfThisHost) {
  // The Boutique's key, certified again long ago: the "older certificate
  // from the same CA" an operator finds in their downloads.
  CERTFLEET_ASSERT_OK_AND_ASSIGN(crypto::PrivateKey boutique_key,
                                 driver_->stores().ReadPrivateKey(Boutique().thumbprint));
  crypto::CertificateProfile profile;
  profile.subject.common_name = "www.boutique-zuerich.example.test";
  profile.not_before = now_ - 400 * kDay;
  profile.not_after = now_ - 10 * kDay;
  CERTFLEET_ASSERT_OK_AND_ASSIGN(
      crypto::Certificate older,
      crypto::IssueCertificate(profile, boutique_key.public_key(), pki_.intermediate.certificate,
                               pki_.intermediate.key));
  ExpectRefused(older, {},
                AllOf(HasSubstr("this is an older certificate of this host"),
                      HasSubstr(older.Thumbprint()), HasSubstr(Boutique().thumbprint),
                      HasSubstr("bound to site 1962875481 'Boutique Zürich'"),
                      HasSubstr("issued before the pending request of site 1811939328")));
}

TEST_F(Iis6DriverDiagnosisTest, CurrentlyBoundCertificateUploadedAgain) {
  CERTFLEET_ASSERT_OK_AND_ASSIGN(
      auto bound, driver_->stores().Find(CertificateStore::kPersonal, Shop().thumbprint));
  ExpectRefused(bound->certificate, {},
                AllOf(HasSubstr("this is a certificate this host already has"),
                      HasSubstr("bound to site 1547880923 'Shop'")));
}

TEST_F(Iis6DriverDiagnosisTest, AnswerToAnotherSitesRequestOnThisHost) {
  CERTFLEET_ASSERT_OK_AND_ASSIGN(
      crypto::CertificateRequest boutique_request,
      driver_->CreatePendingRequest(kBoutiqueSiteId, Subject("www.boutique-zuerich.example.test"),
                                    {}, kRsa2048));
  ExpectRefused(testing::IssueForRequest(boutique_request), {},
                AllOf(HasSubstr("answers the pending request of another site: site 1962875481 "
                                "'Boutique Zürich'"),
                      HasSubstr("not site 1811939328 'certfleet temporary'")));
}

TEST_F(Iis6DriverDiagnosisTest, CertificateForAKeyNobodyHas) {
  CERTFLEET_ASSERT_OK_AND_ASSIGN(
      crypto::CertificateRequest elsewhere,
      crypto::CertificateRequest::Create(testing::NewRsaKey(), Subject("www.example.test"), {}));
  ExpectRefused(testing::IssueForRequest(elsewhere), {},
                HasSubstr("does not answer the pending request of site 1811939328 'certfleet "
                          "temporary'"));
}

TEST_F(Iis6DriverDiagnosisTest, ExpiredAnswerIsRefused) {
  const crypto::Certificate expired =
      testing::IssueForRequest(prepared_->request, now_ - 100 * kDay, 30);
  ExpectRefused(expired, {}, HasSubstr("but expired on"));
}

TEST_F(Iis6DriverDiagnosisTest, ChainOfAnotherProductIsRefused) {
  const auto before = SnapshotTree(HostRoot());
  EXPECT_THAT(
      driver_->AcceptCertificate(prepared_->site_id, prepared_->issued,
                                 {pki_.intermediate.certificate, pki_.other_root.certificate}),
      StatusIs(absl::StatusCode::kInvalidArgument,
               AllOf(HasSubstr("holds 'CN=Unrelated Root CA"),
                     HasSubstr("which is not on its path to a root"),
                     HasSubstr("chain of another product"))));
  EXPECT_THAT(driver_->AcceptCertificate(prepared_->site_id, prepared_->issued,
                                         {pki_.rsa_leaf.certificate}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("'CN=shop.example.test"),
                             HasSubstr("which is not a CA certificate"))));
  EXPECT_EQ(SnapshotTree(HostRoot()), before);
}

TEST_F(Iis6DriverDiagnosisTest, ChainWithoutTheIssuerIsRefused) {
  // A host whose CA store lacks the intermediate, given only the root.
  std::filesystem::remove(HostRoot() / "stores" / "CA" /
                          (pki_.intermediate.certificate.Thumbprint() + ".cer"));
  const auto before = SnapshotTree(HostRoot());
  EXPECT_THAT(
      driver_->AcceptCertificate(prepared_->site_id, prepared_->issued, {pki_.root.certificate}),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("does not hold its issuer 'CN=certfleet Test Intermediate CA")));
  EXPECT_EQ(SnapshotTree(HostRoot()), before);
}

TEST_F(Iis6DriverTest, InstallChainSortsIntermediatesAndRootsAndRefusesLeaves) {
  ASSERT_THAT(driver_->InstallChain({pki_.other_root.certificate}), IsOk());
  EXPECT_EQ(CountIn(CertificateStore::kRoot), 2u);
  EXPECT_EQ(CountIn(CertificateStore::kIntermediate), 1u);
  const auto before = SnapshotTree(HostRoot());
  ASSERT_THAT(driver_->InstallChain({pki_.intermediate.certificate, pki_.root.certificate}),
              IsOk());
  EXPECT_EQ(SnapshotTree(HostRoot()), before);
  EXPECT_THAT(driver_->InstallChain({pki_.other_root.certificate, pki_.leaf.certificate}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("'CN=www.example.test")));
  EXPECT_EQ(SnapshotTree(HostRoot()), before);
}

TEST_F(Iis6DriverTest, ReplaceBindingBindsTheNewCertificateAndClearsTheStaleRequest) {
  // The real site has a stale pending request: IIS would show
  // "certificate pending" instead of "replace".
  ASSERT_THAT(
      driver_->CreatePendingRequest(kBoutiqueSiteId, Subject("stale.example.test"), {}, kRsa2048),
      IsOk());
  const Prepared prepared = Prepare();
  ASSERT_THAT(driver_->AcceptCertificate(prepared.site_id, prepared.issued, {}), IsOk());

  ASSERT_THAT(driver_->ReplaceBinding(kBoutiqueSiteId, prepared.issued.Thumbprint()), IsOk());
  EXPECT_THAT(driver_->ReadBinding(kBoutiqueSiteId),
              ::testing::Eq(absl::StatusOr<std::string>(prepared.issued.Thumbprint())));
  EXPECT_FALSE(std::filesystem::exists(RequestFolder(kBoutiqueSiteId)));
  EXPECT_THAT(ReadAll(MetaBaseFile()),
              HasSubstr("SSLCertHash=\"" + prepared.issued.Thumbprint() + "\""));
  // Everything else in the file is as it was (the other sites' bindings).
  EXPECT_THAT(ReadAll(MetaBaseFile()), HasSubstr("SSLCertHash=\"" + Shop().thumbprint + "\""));
  EXPECT_THAT(ReadAll(MetaBaseFile()), HasSubstr("Name=\"ProjectCode\""));

  // A retry writes nothing (no new history copy either).
  const auto before = SnapshotTree(HostRoot());
  ASSERT_THAT(
      driver_->ReplaceBinding(kBoutiqueSiteId, absl::AsciiStrToLower(prepared.issued.Thumbprint())),
      IsOk());
  EXPECT_EQ(SnapshotTree(HostRoot()), before);
}

TEST_F(Iis6DriverTest, ReplaceBindingRefusesCertificateNotInMy) {
  ASSERT_THAT(
      driver_->CreatePendingRequest(kBoutiqueSiteId, Subject("stale.example.test"), {}, kRsa2048),
      IsOk());
  const auto before = SnapshotTree(HostRoot());
  EXPECT_THAT(driver_->ReplaceBinding(kBoutiqueSiteId, pki_.rsa_leaf.certificate.Thumbprint()),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       AllOf(HasSubstr("is not in the MY store"),
                             HasSubstr("site 1962875481 'Boutique Zürich'"))));
  // Refused before anything changed: the stale request is still there.
  EXPECT_EQ(SnapshotTree(HostRoot()), before);
}

TEST_F(Iis6DriverTest, ReplaceBindingRefusesCertificateWithoutItsKey) {
  const Prepared prepared = Prepare();
  ASSERT_THAT(driver_->AcceptCertificate(prepared.site_id, prepared.issued, {}), IsOk());
  std::filesystem::remove(HostRoot() / "stores" / "MY" / (prepared.issued.Thumbprint() + ".key"));
  const auto before = SnapshotTree(HostRoot());
  EXPECT_THAT(driver_->ReplaceBinding(kBoutiqueSiteId, prepared.issued.Thumbprint()),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("is in the MY store without its private key")));
  EXPECT_EQ(SnapshotTree(HostRoot()), before);
}

TEST_F(Iis6DriverTest, ReplaceBindingRefusesEcdsaCertificate) {
  CertificateStores stores(HostRoot() / "stores");
  ASSERT_THAT(stores.AddPersonal(pki_.leaf.certificate, pki_.leaf.key), IsOk());
  const auto before = SnapshotTree(HostRoot());
  EXPECT_THAT(
      driver_->ReplaceBinding(kBoutiqueSiteId, pki_.leaf.certificate.Thumbprint()),
      StatusIs(absl::StatusCode::kInvalidArgument,
               AllOf(HasSubstr("IIS 6 supports RSA keys only"), HasSubstr("ECDSA P-256 key"))));
  EXPECT_EQ(SnapshotTree(HostRoot()), before);
}

TEST_F(Iis6DriverTest, ReplaceBindingRefusesASecondCertificateOnOneIpAndPort) {
  // The Shop moves onto the Boutique's endpoint: ":8443:" is 127.0.0.2:8443.
  EditMetaBase("SecureBindings=\":8444:\"", "SecureBindings=\"127.0.0.2:8443:\"");
  const Prepared prepared = Prepare("shop.example.test");
  ASSERT_THAT(driver_->AcceptCertificate(prepared.site_id, prepared.issued, {}), IsOk());
  const auto before = SnapshotTree(HostRoot());
  EXPECT_THAT(
      driver_->ReplaceBinding(kShopSiteId, prepared.issued.Thumbprint()),
      StatusIs(
          absl::StatusCode::kFailedPrecondition,
          AllOf(HasSubstr("IIS 6 has no SNI"), HasSubstr("two certificates on 127.0.0.2:8443"),
                HasSubstr("site 1962875481 'Boutique Zürich' serves " + Boutique().thumbprint))));
  EXPECT_EQ(SnapshotTree(HostRoot()), before);
  // The same certificate on both sites is fine.
  EXPECT_THAT(driver_->ReplaceBinding(kShopSiteId, Boutique().thumbprint), IsOk());
}

TEST_F(Iis6DriverTest, StoppedSiteOnTheSameEndpointIsNoConflict) {
  EditMetaBase("SecureBindings=\":8444:\"", "SecureBindings=\":8443:\"");
  EditMetaBase("ServerAutoStart=\"TRUE\"\r\n\t\tServerBindings=\":8080:shop.example.test\"",
               "ServerAutoStart=\"FALSE\"\r\n\t\tServerBindings=\":8080:shop.example.test\"");
  const Prepared prepared = Prepare();
  ASSERT_THAT(driver_->AcceptCertificate(prepared.site_id, prepared.issued, {}), IsOk());
  EXPECT_THAT(driver_->ReplaceBinding(kBoutiqueSiteId, prepared.issued.Thumbprint()), IsOk());
}

TEST_F(Iis6DriverTest, ReplaceBindingNeedsEditWhileRunning) {
  const Prepared prepared = Prepare();
  ASSERT_THAT(driver_->AcceptCertificate(prepared.site_id, prepared.issued, {}), IsOk());
  EditMetaBase("EnableEditWhileRunning=\"1\"", "EnableEditWhileRunning=\"0\"");
  const auto before = SnapshotTree(HostRoot());
  EXPECT_THAT(driver_->ReplaceBinding(kBoutiqueSiteId, prepared.issued.Thumbprint()),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("EnableEditWhileRunning is off at /LM")));
  EXPECT_EQ(SnapshotTree(HostRoot()), before);
}

TEST_F(Iis6DriverTest, ReplaceBindingRefusesBadInput) {
  EXPECT_THAT(
      driver_->ReplaceBinding(kBoutiqueSiteId, "F00"),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("is not a certificate thumbprint")));
  EXPECT_THAT(driver_->ReplaceBinding("424242", Shop().thumbprint),
              StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(Iis6DriverTest, CorruptMetaBaseIsRefusedAndLeftUntouched) {
  const std::string original = ReadAll(MetaBaseFile());
  const std::string corrupt = original.substr(0, original.size() / 2);
  WriteAll(MetaBaseFile(), corrupt);
  const auto before = SnapshotTree(HostRoot());

  const auto refused =
      StatusIs(absl::StatusCode::kFailedPrecondition,
               AllOf(HasSubstr(MetaBaseFile().string()), HasSubstr("the file was left untouched")));
  EXPECT_THAT(driver_->ScanInventory(), refused);
  EXPECT_THAT(driver_->CreateTemporarySite("certfleet temporary"), refused);
  EXPECT_THAT(driver_->DeleteSite(kShopSiteId), refused);
  EXPECT_THAT(driver_->ReplaceBinding(kShopSiteId, Boutique().thumbprint), refused);
  EXPECT_THAT(driver_->ReadBinding(kShopSiteId), refused);
  EXPECT_THAT(driver_->CreatePendingRequest(kShopSiteId, Subject("a.example.test"), {}, kRsa2048),
              refused);
  EXPECT_EQ(ReadAll(MetaBaseFile()), corrupt);
  EXPECT_EQ(SnapshotTree(HostRoot()), before);
}

TEST_F(Iis6DriverTest, MissingMetaBaseIsSaidSo) {
  std::filesystem::remove(MetaBaseFile());
  EXPECT_THAT(driver_->ScanInventory(), StatusIs(absl::StatusCode::kFailedPrecondition,
                                                 HasSubstr("this host has no IIS configuration")));
}

TEST_F(Iis6DriverTest, SecureEndpointsUseTheEmulationAddressForAllUnassigned) {
  EXPECT_THAT(driver_->SecureEndpoints(kBoutiqueSiteId),
              ::testing::Eq(absl::StatusOr<std::vector<SiteEndpoint>>(
                  std::vector<SiteEndpoint>{{"127.0.0.2", 8443, ""}})));
  EditMetaBase("SecureBindings=\":8444:\"", "SecureBindings=\"127.0.0.5:443:\"");
  EXPECT_THAT(driver_->SecureEndpoints(kShopSiteId),
              ::testing::Eq(absl::StatusOr<std::vector<SiteEndpoint>>(
                  std::vector<SiteEndpoint>{{"127.0.0.5", 443, ""}})));
}

TEST_F(Iis6DriverTest, AddressComesFromSettingsOverEmulationConf) {
  Iis6DriverSettings settings;
  settings.host_root = HostRoot();
  settings.address = "127.0.0.9";
  CERTFLEET_ASSERT_OK_AND_ASSIGN(auto driver, Iis6Driver::Open(settings));
  EXPECT_EQ(driver->address(), "127.0.0.9");
  WriteAll(HostRoot() / "emulation.conf", "address\n");
  settings.address.reset();
  EXPECT_THAT(Iis6Driver::Open(settings),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("emulation.conf line 1: expected key=value")));
  settings.host_root = folder_.path() / "nothing-here";
  EXPECT_THAT(Iis6Driver::Open(settings),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("is not an IIS 6 host root")));
}

TEST_F(Iis6DriverTest, RestartRunsTheConfiguredCommand) { EXPECT_THAT(driver_->Restart(), IsOk()); }

class Iis6DriverBackupTest : public Iis6DriverTest {
 protected:
  agent::BackupOptions Options(int keep_last = 5) {
    agent::BackupOptions options;
    options.folder = folder_.path() / "backups";
    options.passphrase = "correct horse battery staple";
    options.keep_last = keep_last;
    return options;
  }

  std::vector<std::string> BackupFiles() {
    std::vector<std::string> names;
    for (const auto& entry : std::filesystem::directory_iterator(folder_.path() / "backups")) {
      names.push_back(entry.path().filename().string());
    }
    std::sort(names.begin(), names.end());
    return names;
  }
};

TEST_F(Iis6DriverBackupTest, WritesAPfxThatOpensWithThePassphrase) {
  now_ = absl::FromCivil(absl::CivilSecond(2024, 3, 1, 12, 30, 5), absl::UTCTimeZone());
  CERTFLEET_ASSERT_OK_AND_ASSIGN(
      std::filesystem::path path,
      driver_->Backup(kBoutiqueSiteId, Boutique().thumbprint, Options()));
  EXPECT_EQ(path.filename().string(),
            std::string(kBoutiqueSiteId) + "-" + Boutique().thumbprint + "-20240301T123005Z.pfx");
  EXPECT_EQ(FileMode(path), 0600u);
  EXPECT_EQ(FileMode(folder_.path() / "backups"), 0700u);

  CERTFLEET_ASSERT_OK_AND_ASSIGN(crypto::Pkcs12Contents contents,
                                 crypto::ImportPkcs12(ReadAll(path), Options().passphrase));
  EXPECT_EQ(contents.certificate.Thumbprint(), Boutique().thumbprint);
  EXPECT_EQ(contents.key.public_key(), contents.certificate.public_key());
  ASSERT_THAT(contents.chain, SizeIs(2));
  EXPECT_THAT(crypto::ImportPkcs12(ReadAll(path), "wrong"),
              StatusIs(absl::StatusCode::kPermissionDenied));

  // A retry returns the same backup.
  now_ += absl::Minutes(5);
  EXPECT_THAT(driver_->Backup(kBoutiqueSiteId, Boutique().thumbprint, Options()),
              ::testing::Eq(absl::StatusOr<std::filesystem::path>(path)));
  EXPECT_THAT(BackupFiles(), SizeIs(1));
}

TEST_F(Iis6DriverBackupTest, KeepsTheLastNOfASite) {
  now_ = absl::FromCivil(absl::CivilSecond(2024, 3, 1, 0, 0, 0), absl::UTCTimeZone());
  ASSERT_THAT(driver_->Backup(kShopSiteId, Shop().thumbprint, Options(2)), IsOk());
  for (int round = 1; round <= 3; ++round) {
    now_ += absl::Hours(1);
    agent::BackupOptions options = Options(2);
    // A new passphrase makes a new backup (the old ones no longer count).
    options.passphrase = "passphrase " + std::to_string(round);
    ASSERT_THAT(driver_->Backup(kBoutiqueSiteId, Boutique().thumbprint, options), IsOk());
  }
  const std::string boutique = std::string(kBoutiqueSiteId) + "-" + Boutique().thumbprint;
  EXPECT_THAT(
      BackupFiles(),
      ElementsAre(std::string(kShopSiteId) + "-" + Shop().thumbprint + "-20240301T000000Z.pfx",
                  boutique + "-20240301T020000Z.pfx", boutique + "-20240301T030000Z.pfx"));
}

TEST_F(Iis6DriverBackupTest, RefusesBadOptionsAndCertificatesWithoutKey) {
  agent::BackupOptions options = Options();
  options.passphrase.clear();
  EXPECT_THAT(driver_->Backup(kShopSiteId, Shop().thumbprint, options),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("passphrase is empty")));
  options = Options(0);
  EXPECT_THAT(driver_->Backup(kShopSiteId, Shop().thumbprint, options),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("keep_last is 0")));
  EXPECT_THAT(driver_->Backup(kShopSiteId, pki_.root.certificate.Thumbprint(), Options()),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("not in the MY store with its private key")));
  EXPECT_FALSE(std::filesystem::exists(folder_.path() / "backups"));
}

}  // namespace
}  // namespace certfleet::iis6
