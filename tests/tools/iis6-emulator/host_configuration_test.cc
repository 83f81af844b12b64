#include "tools/iis6-emulator/host_configuration.h"

#include <filesystem>
#include <fstream>
#include <ostream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/status_matchers.h"
#include "tests/support/temporary_directory.h"
#include "tests/support/test_pki.h"
#include "tests/tools/iis6-emulator/emulated_host.h"

namespace certfleet::iis6_emulator {
namespace {

namespace fs = std::filesystem;

using ::certfleet::testing::EmulatedHost;
using ::certfleet::testing::SiteSpecification;
using ::certfleet::testing::StatusIs;
using ::certfleet::testing::TemporaryDirectory;
using ::certfleet::testing::TestPki;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;

class HostConfigurationTest : public ::testing::Test {
 protected:
  HostConfigurationTest() : host_(temporary_.path() / "host"), layout_(host_.root()) {
    host_.WriteEmulationConfig("127.0.0.2");
  }

  SiteSpecification Site(std::string id, std::string name, std::string secure_binding,
                         std::optional<std::string> hash) const {
    return SiteSpecification{.id = std::move(id),
                             .name = std::move(name),
                             .server_bindings = {":80:"},
                             .secure_bindings = {std::move(secure_binding)},
                             .certificate_hash = std::move(hash),
                             .auto_start = std::nullopt,
                             .root_path = "C:\\Inetpub\\wwwroot"};
  }

  absl::StatusOr<HostConfiguration> Load(LoadOptions options = {}) const {
    return LoadHostConfiguration(layout_, options);
  }

  // The endpoint at address:port, or nullptr.
  static const EndpointConfiguration* Find(const HostConfiguration& configuration,
                                           const std::string& address, std::uint16_t port) {
    for (const EndpointConfiguration& endpoint : configuration.endpoints) {
      if (endpoint.address == address && endpoint.port == port) return &endpoint;
    }
    return nullptr;
  }

  const TestPki& pki_ = TestPki::Shared();
  TemporaryDirectory temporary_;
  EmulatedHost host_;
  HostLayout layout_;
};

TEST_F(HostConfigurationTest, ASecureBindingServesTheBoundLeafAndItsChainFromCa) {
  const std::string thumbprint = host_.InstallPersonal(pki_.leaf);
  host_.InstallIntermediate(pki_.intermediate.certificate);
  host_.InstallIntermediate(pki_.other_root.certificate);  // Unrelated: not sent.
  host_.WriteMetaBase({Site("1", "Default Web Site", ":443:", thumbprint)});

  CERTFLEET_ASSERT_OK_AND_ASSIGN(const HostConfiguration configuration, Load());
  EXPECT_EQ(configuration.default_address, "127.0.0.2");
  EXPECT_THAT(configuration.problems, IsEmpty());
  const EndpointConfiguration* secure = Find(configuration, "127.0.0.2", 443);
  ASSERT_NE(secure, nullptr);
  EXPECT_EQ(secure->protocol, EndpointProtocol::kTls);
  ASSERT_TRUE(secure->identity.has_value());
  EXPECT_EQ(secure->identity->certificate, pki_.leaf.certificate);
  EXPECT_EQ(secure->identity->key.public_key(), pki_.leaf.key.public_key());
  EXPECT_THAT(secure->identity->chain, ElementsAre(pki_.intermediate.certificate));
  ASSERT_THAT(secure->sites, SizeIs(1));
  EXPECT_EQ(secure->sites[0].content_root, host_.root() / "fs/C/Inetpub/wwwroot");

  const EndpointConfiguration* plain = Find(configuration, "127.0.0.2", 80);
  ASSERT_NE(plain, nullptr);
  EXPECT_EQ(plain->protocol, EndpointProtocol::kHttp);
  EXPECT_FALSE(plain->identity.has_value());
}

TEST_F(HostConfigurationTest, ARootInTheCaStoreIsSentAfterTheIntermediate) {
  const std::string thumbprint = host_.InstallPersonal(pki_.leaf);
  host_.InstallIntermediate(pki_.intermediate.certificate);
  host_.InstallIntermediate(pki_.root.certificate);
  host_.WriteMetaBase({Site("1", "Default Web Site", ":443:", thumbprint)});

  CERTFLEET_ASSERT_OK_AND_ASSIGN(const HostConfiguration configuration, Load());
  const EndpointConfiguration* secure = Find(configuration, "127.0.0.2", 443);
  ASSERT_NE(secure, nullptr);
  EXPECT_THAT(secure->identity->chain,
              ElementsAre(pki_.intermediate.certificate, pki_.root.certificate));
}

TEST_F(HostConfigurationTest, AMissingIntermediateLeavesTheChainEmpty) {
  const std::string thumbprint = host_.InstallPersonal(pki_.leaf);
  host_.InstallIntermediate(pki_.root.certificate);  // Does not chain the leaf directly.
  host_.WriteMetaBase({Site("1", "Default Web Site", ":443:", thumbprint)});

  CERTFLEET_ASSERT_OK_AND_ASSIGN(const HostConfiguration configuration, Load());
  const EndpointConfiguration* secure = Find(configuration, "127.0.0.2", 443);
  ASSERT_NE(secure, nullptr);
  EXPECT_THAT(secure->identity->chain, IsEmpty());
}

TEST_F(HostConfigurationTest, TheAddressOverrideAndExplicitBindingAddressesWin) {
  const std::string thumbprint = host_.InstallPersonal(pki_.leaf);
  host_.WriteMetaBase({Site("1", "Default Web Site", "127.0.0.5:8443:", thumbprint)});

  CERTFLEET_ASSERT_OK_AND_ASSIGN(const HostConfiguration configuration,
                                 Load(LoadOptions{.address_override = "127.0.0.9"}));
  EXPECT_EQ(configuration.default_address, "127.0.0.9");
  EXPECT_NE(Find(configuration, "127.0.0.9", 80), nullptr);
  EXPECT_NE(Find(configuration, "127.0.0.5", 8443), nullptr);
}

TEST_F(HostConfigurationTest, WithoutEmulationConfTheAddressIsLocalhost) {
  fs::remove(host_.root() / "emulation.conf");
  host_.WriteMetaBase({Site("1", "Default Web Site", ":443:", std::nullopt)});

  CERTFLEET_ASSERT_OK_AND_ASSIGN(const HostConfiguration configuration, Load());
  EXPECT_EQ(configuration.default_address, "127.0.0.1");
}

TEST_F(HostConfigurationTest, AStoppedSiteIsNotServed) {
  SiteSpecification site = Site("7", "Stopped", ":443:", host_.InstallPersonal(pki_.leaf));
  site.auto_start = false;
  host_.WriteMetaBase({site});

  CERTFLEET_ASSERT_OK_AND_ASSIGN(const HostConfiguration configuration, Load());
  EXPECT_THAT(configuration.endpoints, IsEmpty());
  EXPECT_THAT(configuration.problems,
              ElementsAre(HasSubstr("site 'Stopped' (7) is stopped (ServerAutoStart FALSE)")));
}

TEST_F(HostConfigurationTest, SecureBindingsIIsCannotServeAreReportedAndLeftOut) {
  // A key that belongs to another certificate.
  const std::string mismatched = pki_.expired_leaf.certificate.Thumbprint();
  host_.InstallPersonal(pki_.expired_leaf, /*with_key=*/false);
  {
    std::ofstream key(host_.root() / "stores/MY" / (mismatched + ".key"));
    key << pki_.rsa_leaf.key.ToPem();
  }
  host_.WriteMetaBase({
      Site("1", "No hash", ":4431:", std::nullopt),
      Site("2", "Not in store", ":4432:", std::string(40, 'A')),
      Site("3", "No key", ":4433:", host_.InstallPersonal(pki_.leaf, /*with_key=*/false)),
      Site("4", "Wrong key", ":4434:", mismatched),
  });

  CERTFLEET_ASSERT_OK_AND_ASSIGN(const HostConfiguration configuration, Load());
  for (std::uint16_t port : {4431, 4432, 4433, 4434}) {
    EXPECT_EQ(Find(configuration, "127.0.0.2", port), nullptr) << port;
  }
  EXPECT_NE(Find(configuration, "127.0.0.2", 80), nullptr);
  EXPECT_THAT(configuration.problems,
              ElementsAre(HasSubstr("site 'No hash' (1) has SecureBindings but no SSLCertHash"),
                          HasSubstr("which is not in the MY store"),
                          HasSubstr("which has no private key in the MY store"),
                          HasSubstr("does not belong to certificate " + mismatched)));
  EXPECT_THAT(configuration.problems[0], HasSubstr("not listening on SecureBindings \":4431:\""));
}

TEST_F(HostConfigurationTest, OneCertificatePerEndpointTheFirstSiteWins) {
  host_.WriteMetaBase({Site("1", "First", ":443:", host_.InstallPersonal(pki_.leaf)),
                       Site("2", "Second", ":443:", host_.InstallPersonal(pki_.rsa_leaf))});

  CERTFLEET_ASSERT_OK_AND_ASSIGN(const HostConfiguration configuration, Load());
  const EndpointConfiguration* secure = Find(configuration, "127.0.0.2", 443);
  ASSERT_NE(secure, nullptr);
  EXPECT_EQ(secure->identity->certificate, pki_.leaf.certificate);
  EXPECT_THAT(configuration.problems,
              ElementsAre(AllOf(HasSubstr("site 'Second' (2)"), HasSubstr("IIS 6 has no SNI"))));
  // The plain bindings share port 80: both sites, first first.
  const EndpointConfiguration* plain = Find(configuration, "127.0.0.2", 80);
  ASSERT_NE(plain, nullptr);
  ASSERT_THAT(plain->sites, SizeIs(2));
  EXPECT_EQ(plain->sites[0].site_id, "1");
  EXPECT_EQ(plain->sites[1].site_id, "2");
}

TEST_F(HostConfigurationTest, PlainBindingsKeepTheirHostHeaders) {
  SiteSpecification shop{.id = "1962875481",
                         .name = "Shop",
                         .server_bindings = {":80:Shop.Example.Test", ":80:www.shop.test"},
                         .secure_bindings = {},
                         .certificate_hash = std::nullopt,
                         .auto_start = true,
                         .root_path = "D:\\Sites\\Shop"};
  host_.WriteMetaBase({shop});

  CERTFLEET_ASSERT_OK_AND_ASSIGN(const HostConfiguration configuration, Load());
  ASSERT_THAT(configuration.endpoints, SizeIs(1));
  const EndpointConfiguration& plain = configuration.endpoints[0];
  ASSERT_THAT(plain.sites, SizeIs(2));
  EXPECT_EQ(plain.sites[0].host_header, "shop.example.test");
  EXPECT_EQ(plain.sites[1].host_header, "www.shop.test");
  EXPECT_EQ(plain.sites[0].content_root, host_.root() / "fs/D/Sites/Shop");
}

TEST_F(HostConfigurationTest, PlainAndSecureOnTheSamePortConflict) {
  SiteSpecification site = Site("1", "Mixed", ":80:", host_.InstallPersonal(pki_.leaf));
  host_.WriteMetaBase({site});

  CERTFLEET_ASSERT_OK_AND_ASSIGN(const HostConfiguration configuration, Load());
  ASSERT_THAT(configuration.endpoints, SizeIs(1));
  EXPECT_EQ(configuration.endpoints[0].protocol, EndpointProtocol::kHttp);
  EXPECT_THAT(configuration.problems,
              ElementsAre(HasSubstr("which serves plain HTTP for another binding")));
}

TEST_F(HostConfigurationTest, AnUnreadableMetaBaseIsAnError) {
  EXPECT_THAT(Load(), StatusIs(absl::StatusCode::kNotFound, HasSubstr("MetaBase.xml")));
  host_.WriteRawMetaBase("<configuration");
  EXPECT_THAT(Load(), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("MetaBase.xml")));
}

TEST_F(HostConfigurationTest, AMalformedEmulationConfIsAnErrorNamingTheLine) {
  host_.WriteMetaBase({});
  std::ofstream(host_.root() / "emulation.conf") << "# settings\nadress 127.0.0.2\n";
  EXPECT_THAT(Load(), StatusIs(absl::StatusCode::kInvalidArgument,
                               AllOf(HasSubstr("emulation.conf line 2"), HasSubstr("key=value"))));
  std::ofstream(host_.root() / "emulation.conf") << "address = 127.0.0.300\n";
  EXPECT_THAT(Load(), StatusIs(absl::StatusCode::kInvalidArgument,
                               HasSubstr("\"127.0.0.300\" is not an IPv4 address")));
  std::ofstream(host_.root() / "emulation.conf") << "driver_setting=1\naddress = 127.0.0.4 # me\n";
  CERTFLEET_ASSERT_OK_AND_ASSIGN(const HostConfiguration configuration, Load());
  EXPECT_EQ(configuration.default_address, "127.0.0.4");
}

TEST_F(HostConfigurationTest, AnUnreadableCaFileIsReportedAndSkipped) {
  const std::string thumbprint = host_.InstallPersonal(pki_.leaf);
  host_.InstallIntermediate(pki_.intermediate.certificate);
  std::ofstream(host_.root() / "stores/CA/0000.cer") << "not a certificate";
  host_.WriteMetaBase({Site("1", "Default Web Site", ":443:", thumbprint)});

  CERTFLEET_ASSERT_OK_AND_ASSIGN(const HostConfiguration configuration, Load());
  EXPECT_THAT(configuration.problems, Contains(HasSubstr("0000.cer")));
  const EndpointConfiguration* secure = Find(configuration, "127.0.0.2", 443);
  ASSERT_NE(secure, nullptr);
  EXPECT_THAT(secure->identity->chain, ElementsAre(pki_.intermediate.certificate));
}

}  // namespace
}  // namespace certfleet::iis6_emulator
