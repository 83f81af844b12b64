#include "controller/issuance/ca_product_catalogue.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/crypto/certificate_builder.h"
#include "common/crypto/certificate_reader.h"
#include "tests/support/status_matchers.h"
#include "tests/support/temporary_directory.h"
#include "tests/support/test_pki.h"

namespace certfleet::controller {
namespace {

using ::certfleet::testing::IsOk;
using ::certfleet::testing::Issued;
using ::certfleet::testing::StatusIs;
using ::certfleet::testing::TemporaryDirectory;
using ::certfleet::testing::TestPki;
using ::testing::AllOf;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::Field;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

absl::Time Utc(int year, int month, int day, int hour = 0, int minute = 0, int second = 0) {
  return absl::FromCivil(absl::CivilSecond(year, month, day, hour, minute, second),
                         absl::UTCTimeZone());
}

absl::Duration Days(int days) { return absl::Hours(24 * days); }

crypto::PrivateKey NewKey() {
  return *crypto::PrivateKey::Generate({crypto::KeyAlgorithm::kEcdsa, 256});
}

crypto::DistinguishedName Name(const std::string& common_name,
                               const std::string& organization = "certfleet tests") {
  crypto::DistinguishedName name;
  name.common_name = common_name;
  name.organization = organization;
  return name;
}

Issued MakeRoot(const crypto::DistinguishedName& subject, absl::Time not_before,
                absl::Time not_after) {
  crypto::PrivateKey key = NewKey();
  crypto::CertificateProfile profile;
  profile.subject = subject;
  profile.not_before = not_before;
  profile.not_after = not_after;
  profile.usage = crypto::CertificateUsage::kCertificateAuthority;
  return Issued{*crypto::IssueCertificate(profile, key.public_key(), std::nullopt, key), key};
}

Issued MakeIntermediate(const Issued& issuer, const crypto::DistinguishedName& subject,
                        absl::Time not_before, absl::Time not_after,
                        const crypto::PrivateKey& key = NewKey()) {
  crypto::CertificateProfile profile;
  profile.subject = subject;
  profile.not_before = not_before;
  profile.not_after = not_after;
  profile.usage = crypto::CertificateUsage::kCertificateAuthority;
  profile.path_length = 0;
  return Issued{
      *crypto::IssueCertificate(profile, key.public_key(), issuer.certificate, issuer.key), key};
}

crypto::Certificate MakeLeaf(const Issued& issuer, absl::Time not_before, absl::Time not_after,
                             crypto::SignatureDigest digest = crypto::SignatureDigest::kSha256) {
  crypto::CertificateProfile profile;
  profile.subject = Name("www.example.test", "Example Ltd");
  profile.alternative_names = {"DNS:www.example.test"};
  profile.not_before = not_before;
  profile.not_after = not_after;
  profile.digest = digest;
  return *crypto::IssueCertificate(profile, NewKey().public_key(), issuer.certificate, issuer.key);
}

// A leaf of the test PKI whose validity starts at `not_before`: what a
// product's date rules are judged on.
crypto::Certificate LeafStarting(absl::Time not_before) {
  return MakeLeaf(TestPki::Shared().intermediate, not_before, not_before + Days(365));
}

const CaProductCatalogue& Builtin() {
  static const CaProductCatalogue* catalogue =
      new CaProductCatalogue(*CaProductCatalogue::Builtin());
  return *catalogue;
}

// --- The table of IIS6.md -----------------------------------------------------

TEST(CaProductCatalogueTest, BuiltinCatalogueIsTheDataFile) {
  absl::StatusOr<CaProductCatalogue> builtin = CaProductCatalogue::Builtin();
  ASSERT_THAT(builtin, IsOk());
  absl::StatusOr<CaProductCatalogue> file = CaProductCatalogue::Load(
      std::filesystem::path(CERTFLEET_SOURCE_DIR) / "controller/issuance/ca_products.json");
  ASSERT_THAT(file, IsOk());
  ASSERT_EQ(builtin->products().size(), file->products().size());
  for (size_t i = 0; i < file->products().size(); ++i) {
    EXPECT_EQ(builtin->products()[i].name, file->products()[i].name);
    EXPECT_EQ(builtin->products()[i].rules.size(), file->products()[i].rules.size());
  }
  std::vector<std::string> names;
  for (const CaProduct& product : builtin->products()) names.push_back(product.name);
  EXPECT_THAT(names, ElementsAre("Enterprise SSL (SHA-256)", "Crypto SSL (SHA-256)",
                                 "Enterprise SSL (SHA-1)", "Crypto SSL (SHA-1)", "Enterprise SSL",
                                 "Enterprise EV SSL", "Enterprise SSL for mobile"));
}

struct TableRow {
  std::string product;
  absl::Time issued;
  std::string intermediate;
  std::string root;
};

TEST(CaProductCatalogueTest, EveryRowOfTheVendorsTableResolves) {
  const absl::Time now = Utc(2019, 1, 1);
  const std::vector<TableRow> rows = {
      {"Enterprise SSL (SHA-256)", Utc(2018, 3, 1), "CrossTrustOVCA3.crt",
       "SecurityCommunicationRootCA2.crt"},
      {"Crypto SSL (SHA-256)", Utc(2018, 3, 1), "CrossTrustDVCA3.crt",
       "SecurityCommunicationRootCA2.crt"},
      {"Enterprise SSL (SHA-1)", Utc(2014, 3, 1), "CrossTrustOVCA1.crt",
       "SecurityCommunicationRootCA1.crt"},
      {"Crypto SSL (SHA-1)", Utc(2014, 3, 1), "CrossTrustDVCA1.crt",
       "SecurityCommunicationRootCA1.crt"},
      {"Enterprise SSL", Utc(2012, 3, 1), "UTNAddTrustServerCA.crt", "AddTrustExternalCARoot.crt"},
      {"Enterprise EV SSL", Utc(2010, 1, 15), "EVSGC.p7b", "AddTrustExternalCARoot.crt"},
      {"Enterprise EV SSL", Utc(2011, 1, 15), "COMODO_EV_SSL.p7b", "AddTrustExternalCARoot.crt"},
  };
  for (const TableRow& row : rows) {
    absl::StatusOr<ChainResolution> resolution =
        Builtin().Resolve(row.product, LeafStarting(row.issued), now);
    ASSERT_THAT(resolution, IsOk()) << row.product;
    EXPECT_EQ(resolution->product, row.product);
    EXPECT_THAT(resolution->intermediate_file_names, ElementsAre(row.intermediate)) << row.product;
    EXPECT_EQ(resolution->root_file_name, row.root) << row.product;
    EXPECT_THAT(resolution->warnings, IsEmpty()) << row.product;
    EXPECT_THAT(resolution->notes, IsEmpty()) << row.product;
  }
}

TEST(CaProductCatalogueTest, EvIntermediateDependsOnTheIssueDateOnBothSidesOfTheBoundary) {
  const absl::Time now = Utc(2011, 1, 1);
  absl::StatusOr<ChainResolution> last_old =
      Builtin().Resolve("Enterprise EV SSL", LeafStarting(Utc(2010, 5, 26, 23, 59, 59)), now);
  ASSERT_THAT(last_old, IsOk());
  EXPECT_THAT(last_old->intermediate_file_names, ElementsAre("EVSGC.p7b"));
  EXPECT_EQ(last_old->rule.description, "issued up to 2010-05-26");
  EXPECT_EQ(last_old->rule.basis, DateBasis::kIssueDate);
  // A second before the boundary: the operator is told the date may be local.
  EXPECT_THAT(last_old->notes, ElementsAre(HasSubstr("starts within a day of 2010-05-27")));

  absl::StatusOr<ChainResolution> first_new =
      Builtin().Resolve("Enterprise EV SSL", LeafStarting(Utc(2010, 5, 27)), now);
  ASSERT_THAT(first_new, IsOk());
  EXPECT_THAT(first_new->intermediate_file_names, ElementsAre("COMODO_EV_SSL.p7b"));
  EXPECT_EQ(first_new->rule.description, "issued from 2010-05-27");
  EXPECT_EQ(first_new->root_file_name, "AddTrustExternalCARoot.crt");
}

TEST(CaProductCatalogueTest, MobileRuleNamesItsPeriodAndAsksForTheFiles) {
  const absl::Time now = Utc(2011, 1, 1);
  EXPECT_THAT(
      Builtin().Resolve("Enterprise SSL for mobile", LeafStarting(Utc(2010, 7, 10)), now),
      StatusIs(absl::StatusCode::kFailedPrecondition,
               HasSubstr("falls under \"validity starts before 2010-07-11\" (notBefore "
                         "2010-07-10), whose intermediate and root files the vendor's table "
                         "does not name")));
  EXPECT_THAT(Builtin().Resolve("Enterprise SSL for mobile", LeafStarting(Utc(2010, 7, 11)), now),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("falls under \"validity starts on or after 2010-07-11\"")));
  absl::StatusOr<CaProduct> mobile = Builtin().Find("Enterprise SSL for mobile");
  ASSERT_THAT(mobile, IsOk());
  ASSERT_EQ(mobile->rules.size(), 2u);
  EXPECT_TRUE(mobile->rules[0].file_names_configurable);
  EXPECT_EQ(mobile->rules[0].basis, DateBasis::kValidityStart);
  EXPECT_EQ(mobile->rules[0].applies_until, Utc(2010, 7, 11));
  EXPECT_EQ(mobile->rules[1].applies_from, Utc(2010, 7, 11));
}

TEST(CaProductCatalogueTest, AnOperatorsCatalogueCanNameTheMobileFiles) {
  absl::StatusOr<CaProductCatalogue> catalogue = CaProductCatalogue::Parse(R"({
    "format": 1,
    "products": [{
      "name": "Enterprise SSL for mobile",
      "rules": [
        {"by": "validity_start", "until": "2010-07-11", "configurable": true,
         "intermediates": ["MobileOld.crt"], "root": "AddTrustExternalCARoot.crt"},
        {"by": "validity_start", "from": "2010-07-11", "configurable": true,
         "intermediates": ["MobileNew.crt"], "root": "AddTrustExternalCARoot.crt"}
      ]
    }]
  })",
                                                                           "operator.json");
  ASSERT_THAT(catalogue, IsOk());
  absl::StatusOr<ChainResolution> resolution = catalogue->Resolve(
      "enterprise ssl for MOBILE", LeafStarting(Utc(2010, 8, 1)), Utc(2011, 1, 1));
  ASSERT_THAT(resolution, IsOk());
  EXPECT_THAT(resolution->intermediate_file_names, ElementsAre("MobileNew.crt"));
  EXPECT_EQ(resolution->rule.description, "validity starts from 2010-07-11");
}

TEST(CaProductCatalogueTest, UnknownProductListsTheKnownOnes) {
  EXPECT_THAT(
      Builtin().Resolve("Platinum SSL", LeafStarting(Utc(2018, 1, 1)), Utc(2019, 1, 1)),
      StatusIs(absl::StatusCode::kNotFound, AllOf(HasSubstr("unknown CA product 'Platinum SSL'"),
                                                  HasSubstr("'Enterprise EV SSL'"))));
}

TEST(CaProductCatalogueTest, RootFactsOfTheTableAreKept) {
  std::optional<RootFacts> addtrust = Builtin().FindRoot("addtrustexternalcaroot.crt");
  ASSERT_TRUE(addtrust.has_value());
  EXPECT_EQ(addtrust->name, "AddTrust External CA Root");
  EXPECT_EQ(addtrust->valid_until, Utc(2020, 5, 30));
  std::optional<RootFacts> secom = Builtin().FindRoot("SecurityCommunicationRootCA2.crt");
  ASSERT_TRUE(secom.has_value());
  EXPECT_EQ(secom->valid_from, Utc(2009, 5, 29));
  EXPECT_EQ(secom->valid_until, Utc(2029, 5, 29));
  EXPECT_FALSE(Builtin().FindRoot("Nothing.crt").has_value());
}

TEST(CaProductCatalogueTest, ProductsChainingToAddTrustWarnThatItsRootExpired) {
  const crypto::Certificate leaf = LeafStarting(Utc(2019, 6, 1));
  absl::StatusOr<ChainResolution> before =
      Builtin().Resolve("Enterprise SSL", leaf, Utc(2020, 5, 29));
  ASSERT_THAT(before, IsOk());
  EXPECT_THAT(before->warnings, IsEmpty());

  absl::StatusOr<ChainResolution> after =
      Builtin().Resolve("Enterprise SSL", leaf, Utc(2020, 6, 1));
  ASSERT_THAT(after, IsOk());
  ASSERT_TRUE(after->root.has_value());
  EXPECT_EQ(after->root->name, "AddTrust External CA Root");
  EXPECT_THAT(after->warnings,
              ElementsAre(AllOf(Field(&ChainWarning::kind, ChainWarningKind::kRootExpired),
                                Field(&ChainWarning::message,
                                      HasSubstr("the chain ends in AddTrust External CA Root "
                                                "(AddTrustExternalCARoot.crt), which expired on "
                                                "2020-05-30")))));
}

// --- Catalogue files that are refused ------------------------------------------

TEST(CaProductCatalogueParseTest, RefusesBrokenJson) {
  EXPECT_THAT(CaProductCatalogue::Parse("{\"format\": 1,", "mine.json"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("mine.json: not valid JSON")));
}

TEST(CaProductCatalogueParseTest, RefusesUnknownKeys) {
  EXPECT_THAT(CaProductCatalogue::Parse(
                  R"({"format": 1, "products": [{"name": "A", "rules": [
                      {"intermediates": ["a.crt"], "root": "r.crt", "intermediate": "x"}]}]})",
                  "mine.json"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("mine.json: product 'A' rule 1: unknown key 'intermediate'")));
}

TEST(CaProductCatalogueParseTest, RefusesOverlappingRules) {
  EXPECT_THAT(CaProductCatalogue::Parse(R"({"format": 1, "products": [{"name": "A", "rules": [
                  {"by": "issue_date", "until": "2010-06-01", "intermediates": ["a.crt"],
                   "root": "r.crt"},
                  {"by": "issue_date", "from": "2010-05-27", "intermediates": ["b.crt"],
                   "root": "r.crt"}]}]})",
                                        "mine.json"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("mine.json: product 'A': rules 1 and 2 overlap")));
}

TEST(CaProductCatalogueParseTest, RefusesBadDatesMissingFilesAndDuplicates) {
  EXPECT_THAT(CaProductCatalogue::Parse(R"({"format": 1, "products": [{"name": "A", "rules": [
                  {"by": "issue_date", "from": "27/05/2010", "intermediates": ["a.crt"],
                   "root": "r.crt"}]}]})",
                                        "mine.json"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("'from' is '27/05/2010', not a date (YYYY-MM-DD)")));
  EXPECT_THAT(CaProductCatalogue::Parse(
                  R"({"format": 1, "products": [{"name": "A", "rules": [{"root": "r.crt"}]}]})",
                  "mine.json"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("'intermediates' and 'root' must name files, unless the rule is "
                                 "marked \"configurable\": true")));
  EXPECT_THAT(
      CaProductCatalogue::Parse(R"({"format": 1, "products": [
                  {"name": "A", "rules": [{"intermediates": ["a.crt"], "root": "r.crt"}]},
                  {"name": "a", "rules": [{"intermediates": ["a.crt"], "root": "r.crt"}]}]})",
                                "mine.json"),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("product 'a' is listed twice")));
  EXPECT_THAT(CaProductCatalogue::Parse(R"({"format": 2, "products": []})", "mine.json"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("'format' must be 1")));
}

TEST(CaProductCatalogueParseTest, LoadNamesAMissingFile) {
  EXPECT_THAT(CaProductCatalogue::Load("/nonexistent/ca_products.json"),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("/nonexistent/ca_products.json")));
}

// --- The configured bundle folder ------------------------------------------------

TEST(CertificateBundleTest, LoadsEveryFormatAndRemembersFileNames) {
  const TestPki& pki = TestPki::Shared();
  TemporaryDirectory folder;
  folder.WriteFile("CrossTrustOVCA3.crt", pki.intermediate.certificate.ToDer());
  folder.WriteFile("SecurityCommunicationRootCA2.crt", pki.root.certificate.ToPem());
  folder.WriteFile("EVSGC.p7b",
                   *crypto::ToPkcs7Der({pki.intermediate.certificate, pki.root.certificate}));
  folder.WriteFile("README.txt", "where these files come from");
  folder.WriteFile(".hidden", "editor state");

  absl::StatusOr<CertificateBundle> bundle = CertificateBundle::LoadFolder(folder.path());
  ASSERT_THAT(bundle, IsOk());
  EXPECT_EQ(bundle->entries().size(), 4u);
  EXPECT_EQ(bundle->Certificates().size(), 2u);
  EXPECT_THAT(bundle->CertificatesFromFile("crosstrustovca3.CRT"),
              ElementsAre(pki.intermediate.certificate));
  EXPECT_EQ(bundle->CertificatesFromFile("EVSGC.p7b").size(), 2u);
  EXPECT_FALSE(bundle->HasFile("COMODO_EV_SSL.p7b"));
  EXPECT_EQ(bundle->FileOf(pki.root.certificate), "EVSGC.p7b");

  absl::StatusOr<ChainResolution> resolution =
      Builtin().Resolve("Enterprise SSL (SHA-256)", pki.leaf.certificate, pki.now);
  ASSERT_THAT(resolution, IsOk());
  EXPECT_THAT(CertificatesNamedBy(*resolution, *bundle),
              ElementsAre(pki.intermediate.certificate, pki.root.certificate));
}

TEST(CertificateBundleTest, RefusesFilesThatAreNotCaCertificates) {
  const TestPki& pki = TestPki::Shared();
  TemporaryDirectory garbage;
  garbage.WriteFile("notes.crt", "hello");
  EXPECT_THAT(CertificateBundle::LoadFolder(garbage.path()),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("bundle file " + (garbage.path() / "notes.crt").string() +
                                 ": not a certificate")));
  TemporaryDirectory leaf;
  leaf.WriteFile("server.crt", pki.leaf.certificate.ToPem());
  EXPECT_THAT(CertificateBundle::LoadFolder(leaf.path()),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("holds 'CN=www.example.test,O=certfleet tests', a server "
                                 "certificate; the bundle folder holds intermediate and root "
                                 "certificates only")));
  EXPECT_THAT(CertificateBundle::LoadFolder(leaf.path() / "missing"),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("does not exist")));
  CertificateBundle bundle;
  EXPECT_THAT(bundle.Add(pki.leaf.certificate, "server.crt"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("not a CA certificate")));
}

// --- Chain completion -------------------------------------------------------------

CertificateBundle BundleOf(const std::vector<crypto::Certificate>& certificates) {
  CertificateBundle bundle;
  for (const crypto::Certificate& certificate : certificates) {
    EXPECT_THAT(bundle.Add(certificate, certificate.Subject().common_name + ".crt"), IsOk());
  }
  return bundle;
}

TEST(CompleteChainTest, BuildsTheChainFromTheBundle) {
  const TestPki& pki = TestPki::Shared();
  ChainCompletionOptions options;
  options.now = pki.now;
  const ChainCompletion completion = CompleteChain(
      pki.leaf.certificate, {},
      BundleOf({pki.root.certificate, pki.other_root.certificate, pki.intermediate.certificate}),
      options);
  EXPECT_TRUE(completion.complete);
  EXPECT_THAT(completion.chain, ElementsAre(pki.intermediate.certificate, pki.root.certificate));
  EXPECT_THAT(completion.warnings, IsEmpty());
}

TEST(CompleteChainTest, UsesWhatTheFileCarriedAndDropsWhatIsNotOnThePath) {
  const TestPki& pki = TestPki::Shared();
  ChainCompletionOptions options;
  options.now = pki.now;
  const ChainCompletion completion = CompleteChain(
      pki.leaf.certificate, {pki.other_root.certificate, pki.intermediate.certificate},
      BundleOf({pki.root.certificate}), options);
  EXPECT_TRUE(completion.complete);
  EXPECT_THAT(completion.chain, ElementsAre(pki.intermediate.certificate, pki.root.certificate));
}

TEST(CompleteChainTest, MissingIntermediateIsNamedWithTheCataloguesFile) {
  const TestPki& pki = TestPki::Shared();
  absl::StatusOr<ChainResolution> resolution =
      Builtin().Resolve("Enterprise SSL (SHA-256)", pki.leaf.certificate, pki.now);
  ASSERT_THAT(resolution, IsOk());
  ChainCompletionOptions options;
  options.now = pki.now;
  options.expected = &*resolution;
  CertificateBundle bundle;
  ASSERT_THAT(bundle.Add(pki.root.certificate, "SecurityCommunicationRootCA2.crt"), IsOk());

  const ChainCompletion completion = CompleteChain(pki.leaf.certificate, {}, bundle, options);
  EXPECT_FALSE(completion.complete);
  EXPECT_THAT(completion.chain, IsEmpty());
  ASSERT_EQ(completion.warnings.size(), 1u);
  EXPECT_EQ(completion.warnings[0].kind, ChainWarningKind::kIncomplete);
  EXPECT_THAT(completion.warnings[0].message,
              HasSubstr("the chain is incomplete: the issuer of 'CN=www.example.test,O=certfleet "
                        "tests' ('CN=certfleet Test Intermediate CA,O=certfleet tests', an "
                        "intermediate CA) is missing from the uploaded file and from the bundle "
                        "folder; CA product 'Enterprise SSL (SHA-256)' (every certificate of the "
                        "product) needs CrossTrustOVCA3.crt, not in the bundle folder"));
}

TEST(CompleteChainTest, MissingRootIsNamedByItsSubject) {
  const TestPki& pki = TestPki::Shared();
  ChainCompletionOptions options;
  options.now = pki.now;
  const ChainCompletion completion =
      CompleteChain(pki.leaf.certificate, {}, BundleOf({pki.intermediate.certificate}), options);
  EXPECT_FALSE(completion.complete);
  EXPECT_THAT(completion.chain, ElementsAre(pki.intermediate.certificate));
  EXPECT_THAT(completion.warnings,
              ElementsAre(Field(&ChainWarning::message,
                                HasSubstr("the issuer of 'CN=certfleet Test Intermediate "
                                          "CA,O=certfleet tests' ('CN=certfleet Test Root "
                                          "CA,O=certfleet tests', a CA) is missing"))));
}

// The AddTrust case of IIS6.md: a chain that ends in AddTrust External CA
// Root, which expired on 2020-05-30.
struct AddTrustHierarchy {
  Issued root;
  Issued intermediate;
  crypto::Certificate leaf;
};

AddTrustHierarchy MakeAddTrust() {
  crypto::DistinguishedName root_name;
  root_name.common_name = "AddTrust External CA Root";
  root_name.organizational_unit = "AddTrust External TTP Network";
  root_name.organization = "AddTrust AB";
  root_name.country = "SE";
  Issued root = MakeRoot(root_name, Utc(2000, 5, 30, 10, 48, 38), Utc(2020, 5, 30, 10, 48, 38));
  Issued intermediate =
      MakeIntermediate(root, Name("UTN-USERFirst-Hardware", "The USERTRUST Network"),
                       Utc(2005, 6, 7), Utc(2020, 5, 30, 10, 48, 38));
  crypto::Certificate leaf = MakeLeaf(intermediate, Utc(2019, 6, 1), Utc(2021, 6, 1));
  return {root, intermediate, leaf};
}

TEST(CompleteChainTest, WarnsWhenTheChainEndsInTheExpiredAddTrustRoot) {
  const AddTrustHierarchy addtrust = MakeAddTrust();
  ChainCompletionOptions options;
  options.now = Utc(2020, 7, 1);
  const ChainCompletion completion =
      CompleteChain(addtrust.leaf, {addtrust.intermediate.certificate},
                    BundleOf({addtrust.root.certificate}), options);
  EXPECT_TRUE(completion.complete);
  EXPECT_THAT(completion.chain,
              ElementsAre(addtrust.intermediate.certificate, addtrust.root.certificate));
  EXPECT_THAT(
      completion.warnings,
      Contains(AllOf(
          Field(&ChainWarning::kind, ChainWarningKind::kRootExpired),
          Field(&ChainWarning::message,
                HasSubstr("the chain ends in 'CN=AddTrust External CA Root,OU=AddTrust External "
                          "TTP Network,O=AddTrust AB,C=SE', which expired on 2020-05-30")),
          Field(&ChainWarning::thumbprint, addtrust.root.certificate.Thumbprint()))));
  EXPECT_THAT(completion.warnings,
              Contains(AllOf(Field(&ChainWarning::kind, ChainWarningKind::kIntermediateExpired),
                             Field(&ChainWarning::message,
                                   HasSubstr("the intermediate 'CN=UTN-USERFirst-Hardware,O=The "
                                             "USERTRUST Network' in the chain expired on "
                                             "2020-05-30")))));
}

TEST(CompleteChainTest, RootThatExpiresBeforeTheLeafIsWarnedAboutInAdvance) {
  const AddTrustHierarchy addtrust = MakeAddTrust();
  ChainCompletionOptions options;
  options.now = Utc(2019, 7, 1);
  const ChainCompletion completion = CompleteChain(
      addtrust.leaf, {}, BundleOf({addtrust.intermediate.certificate, addtrust.root.certificate}),
      options);
  EXPECT_THAT(completion.warnings,
              Contains(AllOf(
                  Field(&ChainWarning::kind, ChainWarningKind::kRootExpired),
                  Field(&ChainWarning::message, HasSubstr("which expires on 2020-05-30, before the "
                                                          "certificate it serves (2021-06-01)")))));
}

TEST(CompleteChainTest, PrefersAValidSelfSignedRootOverAnExpiredCrossSignature) {
  // The same CA key exists as a cross-certificate under AddTrust (expired)
  // and as its own self-signed root (valid): clients take the valid path.
  const AddTrustHierarchy addtrust = MakeAddTrust();
  const crypto::PrivateKey usertrust_key = NewKey();
  const crypto::DistinguishedName usertrust_name =
      Name("USERTrust RSA Certification Authority", "The USERTRUST Network");
  const Issued cross = MakeIntermediate(addtrust.root, usertrust_name, Utc(2000, 5, 30),
                                        Utc(2020, 5, 30, 10, 48, 38), usertrust_key);
  crypto::CertificateProfile profile;
  profile.subject = usertrust_name;
  profile.not_before = Utc(2010, 2, 1);
  profile.not_after = Utc(2038, 1, 18);
  profile.usage = crypto::CertificateUsage::kCertificateAuthority;
  const crypto::Certificate self_signed =
      *crypto::IssueCertificate(profile, usertrust_key.public_key(), std::nullopt, usertrust_key);
  const Issued issuing = MakeIntermediate(Issued{self_signed, usertrust_key},
                                          Name("Sectigo RSA Domain Validation Secure Server CA"),
                                          Utc(2018, 11, 2), Utc(2030, 12, 31));
  const crypto::Certificate leaf = MakeLeaf(issuing, Utc(2020, 6, 1), Utc(2021, 6, 1));

  ChainCompletionOptions options;
  options.now = Utc(2020, 7, 1);
  const ChainCompletion completion =
      CompleteChain(leaf, {issuing.certificate, cross.certificate},
                    BundleOf({addtrust.root.certificate, self_signed}), options);
  EXPECT_TRUE(completion.complete);
  EXPECT_THAT(completion.chain, ElementsAre(issuing.certificate, self_signed));
  EXPECT_THAT(completion.warnings, IsEmpty());
}

TEST(CompleteChainTest, WarnsAboutSha1Signatures) {
  const TestPki& pki = TestPki::Shared();
  const crypto::Certificate leaf = MakeLeaf(pki.intermediate, pki.now - Days(1), pki.now + Days(90),
                                            crypto::SignatureDigest::kSha1);
  ChainCompletionOptions options;
  options.now = pki.now;
  const ChainCompletion completion = CompleteChain(
      leaf, {}, BundleOf({pki.intermediate.certificate, pki.root.certificate}), options);
  EXPECT_THAT(completion.warnings,
              ElementsAre(AllOf(Field(&ChainWarning::kind, ChainWarningKind::kWeakSignature),
                                Field(&ChainWarning::message,
                                      HasSubstr("'CN=www.example.test,O=Example Ltd' is signed "
                                                "with ecdsa-with-SHA1")))));
}

}  // namespace
}  // namespace certfleet::controller
