#include "common/crypto/distinguished_name.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/support/status_matchers.h"

namespace certfleet::crypto {
namespace {

using ::certfleet::testing::IsOk;
using ::certfleet::testing::StatusIs;
using ::testing::HasSubstr;

TEST(DistinguishedNameTest, ParsesCommaSeparatedForm) {
  absl::StatusOr<DistinguishedName> name =
      DistinguishedName::Parse("CN=www.example.com, O=Example Ltd, OU=Web, L=Tokyo, ST=Tokyo, C=JP");
  ASSERT_THAT(name, IsOk());
  EXPECT_EQ(name->common_name, "www.example.com");
  EXPECT_EQ(name->organization, "Example Ltd");
  EXPECT_EQ(name->organizational_unit, "Web");
  EXPECT_EQ(name->locality, "Tokyo");
  EXPECT_EQ(name->state, "Tokyo");
  EXPECT_EQ(name->country, "JP");
  EXPECT_EQ(name->ToString(), "CN=www.example.com, OU=Web, O=Example Ltd, L=Tokyo, ST=Tokyo, C=JP");
}

TEST(DistinguishedNameTest, ParsesOpenSslSlashForm) {
  absl::StatusOr<DistinguishedName> name = DistinguishedName::Parse("/C=US/O=Acme/CN=shop.acme.test");
  ASSERT_THAT(name, IsOk());
  EXPECT_EQ(name->common_name, "shop.acme.test");
  EXPECT_EQ(name->organization, "Acme");
  EXPECT_EQ(name->country, "US");
}

TEST(DistinguishedNameTest, RefusesBadInputWithItsReason) {
  EXPECT_THAT(DistinguishedName::Parse("CN=a, EMAIL=x@y"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("unknown subject attribute 'EMAIL'")));
  EXPECT_THAT(DistinguishedName::Parse("CN=a, Example"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("KEY=value")));
  EXPECT_THAT(DistinguishedName::Parse("CN=a, C=Japan"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("two-letter")));
}

TEST(DistinguishedNameTest, NativeRoundTripKeepsUtf8) {
  DistinguishedName name;
  name.common_name = "boutique.example.ch";
  name.organization = "Boutique Zürich AG";
  name.country = "CH";
  absl::StatusOr<X509NameHandle> native = name.ToNative();
  ASSERT_THAT(native, IsOk());
  EXPECT_EQ(DistinguishedName::FromNative(native->get()), name);
  EXPECT_EQ(FormatName(native->get()), "CN=boutique.example.ch,O=Boutique Zürich AG,C=CH");
}

TEST(DistinguishedNameTest, EmptyMeansNoAttribute) {
  EXPECT_TRUE(DistinguishedName{}.empty());
  DistinguishedName name;
  name.locality = "Osaka";
  EXPECT_FALSE(name.empty());
}

}  // namespace
}  // namespace certfleet::crypto
