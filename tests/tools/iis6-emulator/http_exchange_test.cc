#include "tools/iis6-emulator/http_exchange.h"

#include <filesystem>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/status_matchers.h"
#include "tests/support/temporary_directory.h"

namespace certfleet::iis6_emulator {
namespace {

using ::certfleet::testing::StatusIs;
using ::certfleet::testing::TemporaryDirectory;
using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::Pair;
using ::testing::StartsWith;

TEST(FindRequestHeadEndTest, FindsTheBlankLineWithCrlfOrLf) {
  EXPECT_EQ(FindRequestHeadEnd("GET / HTTP/1.0\r\n\r\nbody"), 18u);
  EXPECT_EQ(FindRequestHeadEnd("GET / HTTP/1.0\n\n"), 16u);
  EXPECT_EQ(FindRequestHeadEnd("GET / HTTP/1.1\r\nHost: a\r\n"), std::nullopt);
}

TEST(ParseRequestHeadTest, ReadsMethodPathVersionAndHost) {
  CERTFLEET_ASSERT_OK_AND_ASSIGN(
      const HttpRequest request,
      ParseRequestHead("GET /shop/index.html?item=3 HTTP/1.1\r\nhost: WWW.Example.Test:8080\r\n"
                       "Accept: */*\r\n\r\n"));
  EXPECT_EQ(request.method, "GET");
  EXPECT_EQ(request.path, "/shop/index.html");
  EXPECT_EQ(request.version, "HTTP/1.1");
  EXPECT_EQ(request.host, "www.example.test");
}

TEST(ParseRequestHeadTest, TakesTheHostOfAnAbsoluteTarget) {
  CERTFLEET_ASSERT_OK_AND_ASSIGN(
      const HttpRequest request,
      ParseRequestHead("GET http://shop.example.test/a.html HTTP/1.0\r\n\r\n"));
  EXPECT_EQ(request.host, "shop.example.test");
  EXPECT_EQ(request.path, "/a.html");
}

TEST(ParseRequestHeadTest, RefusesMalformedRequests) {
  EXPECT_THAT(ParseRequestHead("GET /\r\n\r\n"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("malformed request line")));
  EXPECT_THAT(ParseRequestHead("GET / HTTP/1.1\r\n\r\n"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("without a Host header")));
  EXPECT_THAT(ParseRequestHead("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("several Host headers")));
  EXPECT_THAT(ParseRequestHead("GET / HTTP/1.0\r\nno colon here\r\n\r\n"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("malformed header line")));
  EXPECT_THAT(ParseRequestHead("GET * HTTP/1.0\r\n\r\n"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("is not a path")));
  EXPECT_THAT(ParseRequestHead("GET / HTTP/2.0\r\n\r\n"),
              StatusIs(absl::StatusCode::kUnimplemented, HasSubstr("HTTP/2.0")));
}

class AnswerRequestTest : public ::testing::Test {
 protected:
  AnswerRequestTest() {
    temporary_.WriteFile("default/index.html", "default site");
    temporary_.WriteFile("default/style.css", "body {}");
    temporary_.WriteFile("shop/index.html", "shop site");
    sites_ = {
        SiteContent{.site_id = "1",
                    .site_name = "Default Web Site",
                    .host_header = "",
                    .content_root = temporary_.path() / "default"},
        SiteContent{.site_id = "2",
                    .site_name = "Shop",
                    .host_header = "shop.example.test",
                    .content_root = temporary_.path() / "shop"},
    };
  }

  TemporaryDirectory temporary_;
  std::vector<SiteContent> sites_;
};

TEST_F(AnswerRequestTest, ServesTheFileWithItsTypeAndLength) {
  const HttpResponse response =
      AnswerRequest("GET /style.css HTTP/1.1\r\nHost: www.example.test\r\n\r\n", sites_);
  EXPECT_EQ(response.status_code, 200);
  EXPECT_EQ(response.content_type, "text/css");
  EXPECT_EQ(response.body, "body {}");
  const std::string wire = response.Serialize();
  EXPECT_THAT(wire, StartsWith("HTTP/1.1 200 OK\r\n"));
  EXPECT_THAT(wire, HasSubstr("\r\nContent-Length: 7\r\n"));
  EXPECT_THAT(wire, HasSubstr("\r\nConnection: close\r\n"));
  EXPECT_THAT(wire, HasSubstr("\r\n\r\nbody {}"));
}

TEST_F(AnswerRequestTest, RoutesByHostHeaderWithTheUnnamedSiteAsFallback) {
  EXPECT_EQ(AnswerRequest("GET / HTTP/1.1\r\nHost: shop.example.test\r\n\r\n", sites_).body,
            "shop site");
  EXPECT_EQ(AnswerRequest("GET / HTTP/1.1\r\nHost: other.example.test\r\n\r\n", sites_).body,
            "default site");
  EXPECT_EQ(AnswerRequest("GET / HTTP/1.0\r\n\r\n", sites_).body, "default site");
}

TEST_F(AnswerRequestTest, AnswersInvalidHostnameWhenNoSiteTakesTheHost) {
  const std::vector<SiteContent> shop_only = {sites_[1]};
  const HttpResponse response =
      AnswerRequest("GET / HTTP/1.1\r\nHost: www.example.test\r\n\r\n", shop_only);
  EXPECT_EQ(response.status_code, 400);
  EXPECT_THAT(response.detail, HasSubstr("no site answers to host \"www.example.test\""));
}

TEST_F(AnswerRequestTest, RefusesTraversalAndReportsMissingFiles) {
  EXPECT_EQ(AnswerRequest("GET /../shop/index.html HTTP/1.0\r\n\r\n", sites_).status_code, 400);
  const HttpResponse missing = AnswerRequest("GET /nothing.html HTTP/1.0\r\n\r\n", sites_);
  EXPECT_EQ(missing.status_code, 404);
  EXPECT_THAT(missing.detail, HasSubstr("site 'Default Web Site' (1)"));
}

TEST_F(AnswerRequestTest, AnswersOnlyGet) {
  const HttpResponse response = AnswerRequest("POST / HTTP/1.0\r\n\r\n", sites_);
  EXPECT_EQ(response.status_code, 405);
  EXPECT_THAT(response.extra_headers, Contains(Pair("Allow", "GET")));
  EXPECT_EQ(AnswerRequest("HEAD / HTTP/1.0\r\n\r\n", sites_).status_code, 405);
}

TEST_F(AnswerRequestTest, AnswersUnsupportedVersionsAndGarbage) {
  EXPECT_EQ(AnswerRequest("GET / HTTP/2.0\r\n\r\n", sites_).status_code, 505);
  EXPECT_EQ(AnswerRequest("\x16\x03\x01 binary\r\n\r\n", sites_).status_code, 400);
}

TEST_F(AnswerRequestTest, ASiteWithoutContentFolderAnswers404) {
  const std::vector<SiteContent> no_content = {SiteContent{
      .site_id = "3", .site_name = "Empty", .host_header = "", .content_root = std::nullopt}};
  const HttpResponse response = AnswerRequest("GET / HTTP/1.0\r\n\r\n", no_content);
  EXPECT_EQ(response.status_code, 404);
  EXPECT_THAT(response.detail, HasSubstr("has no content folder"));
}

TEST(ContentTypeForTest, KnowsTheCommonTypes) {
  EXPECT_EQ(ContentTypeFor("index.HTM"), "text/html");
  EXPECT_EQ(ContentTypeFor("logo.png"), "image/png");
  EXPECT_EQ(ContentTypeFor("archive.zip"), "application/octet-stream");
}

}  // namespace
}  // namespace certfleet::iis6_emulator
