// The emulated IIS 6 host made by init-iis6-host: a MetaBase.xml IIS could
// have written, stores with the CA chain, one certificate expiring soon, and
// no CA key anywhere in the host root.

#include "agent/drivers/iis6/emulated_host_builder.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "agent/drivers/iis6/certificate_stores.h"
#include "agent/drivers/iis6/host_root.h"
#include "agent/drivers/iis6/metabase.h"
#include "common/crypto/chain_verifier.h"
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
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::SizeIs;

std::string ReadAll(const std::filesystem::path& path) {
  std::ifstream stream(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(stream), {});
}

class EmulatedHostBuilderTest : public ::testing::Test {
 protected:
  EmulatedHostOptions Options() {
    EmulatedHostOptions options;
    options.host_root = folder_.path() / "host";
    options.address = "127.0.0.7";
    options.http_port = 18080;
    options.https_port = 18443;
    options.issuer = testing::TestIssuer();
    options.now = now_;
    return options;
  }

  TemporaryDirectory folder_;
  const absl::Time now_ = absl::FromUnixSeconds(absl::ToUnixSeconds(absl::Now()));
};

TEST_F(EmulatedHostBuilderTest, MetaBaseLooksLikeOneIisWrote) {
  CERTFLEET_ASSERT_OK_AND_ASSIGN(EmulatedHost host, BuildEmulatedHost(Options()));
  const HostRoot root(host.host_root);
  const std::string text = ReadAll(root.MetaBaseFile());
  EXPECT_TRUE(
      text.starts_with("<?xml version =\"1.0\"?>\r\n<configuration "
                       "xmlns=\"urn:microsoft-catalog:XML_Metabase_V64_0\">\r\n"));
  EXPECT_THAT(text, AllOf(HasSubstr("<IIsComputer\tLocation =\"/LM\"\r\n"),
                          HasSubstr("\t\tEnableEditWhileRunning=\"1\"\r\n"),
                          HasSubstr("<IIsWebService\tLocation =\"/LM/W3SVC\""),
                          HasSubstr("ServerComment=\"Intranet &amp; Wiki\""),
                          HasSubstr("<Custom\r\n\t\tName=\"ProjectCode\"")));

  CERTFLEET_ASSERT_OK_AND_ASSIGN(MetaBase metabase, MetaBase::Load(root.MetaBaseFile()));
  // Serializing what was read gives the same bytes: the layout is IIS's own.
  EXPECT_EQ(metabase.Serialize(), text);
  EXPECT_TRUE(metabase.EditWhileRunningEnabled());
  const std::vector<Site> sites = metabase.Sites();
  ASSERT_THAT(sites, SizeIs(4));
  EXPECT_EQ(sites[0].id, "1");
  EXPECT_EQ(sites[0].name, "Default Web Site");
  EXPECT_EQ(sites[0].server_bindings, (std::vector<Binding>{{"", 18080, ""}}));
  EXPECT_EQ(sites[1].id, kBoutiqueSiteId);
  EXPECT_EQ(sites[1].name, "Boutique Zürich");
  EXPECT_EQ(sites[1].secure_bindings, (std::vector<Binding>{{"", 18443, ""}}));
  EXPECT_EQ(sites[1].root_path, "C:\\Inetpub\\Boutique Zürich");
  EXPECT_EQ(sites[2].secure_bindings, (std::vector<Binding>{{"", 18444, ""}}));
  EXPECT_FALSE(sites[3].auto_start);
  EXPECT_TRUE(std::filesystem::exists(root.HistoryFolder() / "MetaBase_0000000001_0000000000.xml"));

  for (const char* page : {"C/Inetpub/wwwroot/index.html", "C/Inetpub/Boutique Zürich/index.html",
                           "D/Sites/Shop/index.html", "E/Intranet/index.html"}) {
    EXPECT_TRUE(std::filesystem::exists(root.FileSystemRoot() / page)) << page;
  }
  CERTFLEET_ASSERT_OK_AND_ASSIGN(EmulationConfig config,
                                 ReadEmulationConfig(root.EmulationConfigFile()));
  EXPECT_EQ(config.address, "127.0.0.7");
}

TEST_F(EmulatedHostBuilderTest, SitesAreBoundToCertificatesInMyThatChainToTheIssuer) {
  CERTFLEET_ASSERT_OK_AND_ASSIGN(EmulatedHost host, BuildEmulatedHost(Options()));
  CertificateStores stores(HostRoot(host.host_root).StoresFolder());
  CERTFLEET_ASSERT_OK_AND_ASSIGN(MetaBase metabase,
                                 MetaBase::Load(HostRoot(host.host_root).MetaBaseFile()));
  const testing::TestPki& pki = testing::TestPki::Shared();

  const EmulatedSite& boutique = host.sites[1];
  const EmulatedSite& shop = host.sites[2];
  EXPECT_EQ(metabase.FindSite(kBoutiqueSiteId)->ssl_cert_hash, boutique.thumbprint);
  EXPECT_EQ(metabase.FindSite(kShopSiteId)->ssl_cert_hash, shop.thumbprint);
  // One expires soon, one later.
  EXPECT_LE(boutique.not_after - now_, kSoonExpiring);
  EXPECT_GT(shop.not_after - now_, absl::Hours(24 * 300));

  for (const EmulatedSite* site : {&boutique, &shop}) {
    CERTFLEET_ASSERT_OK_AND_ASSIGN(auto stored,
                                   stores.Find(CertificateStore::kPersonal, site->thumbprint));
    ASSERT_TRUE(stored.has_value());
    EXPECT_TRUE(stored->has_private_key);
    EXPECT_EQ(stored->certificate.public_key().algorithm(), crypto::KeyAlgorithm::kRsa);
    EXPECT_EQ(
        FileMode(HostRoot(host.host_root).StoresFolder() / "MY" / (site->thumbprint + ".key")),
        0600u);
    const crypto::ChainVerification verification =
        crypto::VerifyChain(stored->certificate, {pki.intermediate.certificate},
                            {pki.root.certificate}, {.at = now_, .hostname = site->host_name});
    EXPECT_TRUE(verification.ok()) << verification.reason;
  }
  CERTFLEET_ASSERT_OK_AND_ASSIGN(auto intermediates, stores.List(CertificateStore::kIntermediate));
  ASSERT_THAT(intermediates, SizeIs(1));
  EXPECT_EQ(intermediates[0].certificate, pki.intermediate.certificate);
  CERTFLEET_ASSERT_OK_AND_ASSIGN(auto roots, stores.List(CertificateStore::kRoot));
  ASSERT_THAT(roots, SizeIs(1));
  EXPECT_EQ(roots[0].certificate, pki.root.certificate);
  for (const char* store : {"MY", "CA", "ROOT", "REQUEST"}) {
    EXPECT_EQ(FileMode(HostRoot(host.host_root).StoresFolder() / store), 0700u) << store;
  }
  EXPECT_EQ(FileMode(HostRoot(host.host_root).RunFolder()), 0700u);
}

TEST_F(EmulatedHostBuilderTest, DemoCaGoesToItsOwnFolderAndItsKeysNeverIntoTheHost) {
  EmulatedHostOptions options = Options();
  options.issuer.reset();
  options.demo_ca_folder = folder_.path() / "demo-ca";
  CERTFLEET_ASSERT_OK_AND_ASSIGN(EmulatedHost host, BuildEmulatedHost(options));
  EXPECT_THAT(host.demo_ca_files, SizeIs(5));
  EXPECT_EQ(FileMode(options.demo_ca_folder / "root.key"), 0600u);
  EXPECT_EQ(FileMode(options.demo_ca_folder / "intermediate.key"), 0600u);
  EXPECT_EQ(FileMode(options.demo_ca_folder), 0700u);

  // The only private keys in the host root are the sites' own, in MY.
  const std::string root_key = ReadAll(options.demo_ca_folder / "root.key");
  const std::string intermediate_key = ReadAll(options.demo_ca_folder / "intermediate.key");
  for (const auto& entry : std::filesystem::recursive_directory_iterator(options.host_root)) {
    if (!entry.is_regular_file()) continue;
    const std::string content = ReadAll(entry.path());
    EXPECT_EQ(content.find(root_key), std::string::npos) << entry.path();
    EXPECT_EQ(content.find(intermediate_key), std::string::npos) << entry.path();
    if (content.find("PRIVATE KEY") != std::string::npos) {
      EXPECT_EQ(entry.path().parent_path().filename(), "MY") << entry.path();
    }
  }
  // A second build reuses nothing by accident: the demo CA is not overwritten.
  options.host_root = folder_.path() / "host2";
  EXPECT_THAT(BuildEmulatedHost(options),
              StatusIs(absl::StatusCode::kAlreadyExists, HasSubstr("already holds a demo CA")));
}

TEST_F(EmulatedHostBuilderTest, DemoCaInsideTheHostRootIsRefused) {
  EmulatedHostOptions options = Options();
  options.issuer.reset();
  options.demo_ca_folder = options.host_root / "ca";
  EXPECT_THAT(BuildEmulatedHost(options),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("must never be on the hosts whose certificates it signs")));
  EXPECT_FALSE(std::filesystem::exists(options.host_root));
  options.demo_ca_folder.clear();
  EXPECT_THAT(BuildEmulatedHost(options),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("no CA to issue")));
}

TEST_F(EmulatedHostBuilderTest, NonEmptyHostRootIsRefused) {
  folder_.WriteFile("host/notes.txt", "mine");
  EXPECT_THAT(BuildEmulatedHost(Options()),
              StatusIs(absl::StatusCode::kAlreadyExists, HasSubstr("is not empty")));
  EXPECT_EQ(ReadAll(folder_.path() / "host" / "notes.txt"), "mine");
}

TEST_F(EmulatedHostBuilderTest, PortsAreChecked) {
  EmulatedHostOptions options = Options();
  options.http_port = 18444;
  EXPECT_THAT(BuildEmulatedHost(options),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("the HTTP port 18444 collides with the HTTPS ports")));
  options = Options();
  options.https_port = 65535;
  EXPECT_THAT(BuildEmulatedHost(options),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("room for a second one")));
  options = Options();
  options.http_port = 0;
  EXPECT_THAT(BuildEmulatedHost(options),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("between 1 and 65535")));
}

}  // namespace
}  // namespace certfleet::iis6
