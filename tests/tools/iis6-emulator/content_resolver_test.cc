#include "tools/iis6-emulator/content_resolver.h"

#include <filesystem>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/status_matchers.h"
#include "tests/support/temporary_directory.h"

namespace certfleet::iis6_emulator {
namespace {

namespace fs = std::filesystem;

using ::certfleet::testing::StatusIs;
using ::certfleet::testing::TemporaryDirectory;
using ::testing::HasSubstr;

// Holds when the StatusOr is OK and its value equals `expected`.
MATCHER_P(IsOkAndEquals, expected, "is OK and equals " + ::testing::PrintToString(expected)) {
  if (!arg.ok()) {
    *result_listener << "which is " << arg.status().ToString();
    return false;
  }
  *result_listener << "which holds " << ::testing::PrintToString(*arg);
  return *arg == expected;
}

class ContentResolverTest : public ::testing::Test {
 protected:
  ContentResolverTest() {
    temporary_.WriteFile("outside/secret.txt", "secret");
    temporary_.WriteFile("wwwroot/index.html", "index");
    temporary_.WriteFile("wwwroot/Images/Logo.PNG", "png");
    temporary_.WriteFile("wwwroot/docs/Default.htm", "docs");
    temporary_.WriteFile("wwwroot/empty/readme.txt", "no default document here");
    fs::create_symlink(temporary_.path() / "outside", root() / "escape");
    fs::create_symlink(temporary_.path() / "outside/secret.txt", root() / "secret.txt");
    fs::create_symlink(root() / "docs", root() / "manual");
    root_ = fs::canonical(root());
  }

  fs::path root() const { return temporary_.path() / "wwwroot"; }

  TemporaryDirectory temporary_;
  fs::path root_;
};

TEST_F(ContentResolverTest, ServesAFolderByItsDefaultDocument) {
  EXPECT_THAT(ResolveContentFile(root(), "/"), IsOkAndEquals(root_ / "index.html"));
  EXPECT_THAT(ResolveContentFile(root(), "/docs/"), IsOkAndEquals(root_ / "docs/Default.htm"));
  EXPECT_THAT(ResolveContentFile(root(), "/docs"), IsOkAndEquals(root_ / "docs/Default.htm"));
}

TEST_F(ContentResolverTest, MatchesNamesCaseInsensitivelyAsWindowsDoes) {
  EXPECT_THAT(ResolveContentFile(root(), "/images/logo.png"),
              IsOkAndEquals(root_ / "Images/Logo.PNG"));
  EXPECT_THAT(ResolveContentFile(root(), "/INDEX.HTML"), IsOkAndEquals(root_ / "index.html"));
}

TEST_F(ContentResolverTest, FindsTheContentFolderItselfIgnoringCase) {
  EXPECT_THAT(ResolveContentFile(temporary_.path() / "WWWROOT", "/index.html"),
              IsOkAndEquals(root_ / "index.html"));
  EXPECT_THAT(ResolveContentFile(temporary_.path() / "WwwRoot/IMAGES", "/logo.png"),
              IsOkAndEquals(root_ / "Images/Logo.PNG"));
}

TEST_F(ContentResolverTest, DecodesPercentEscapes) {
  EXPECT_THAT(ResolveContentFile(root(), "/%69ndex.html"), IsOkAndEquals(root_ / "index.html"));
}

TEST_F(ContentResolverTest, FollowsSymbolicLinksThatStayInside) {
  EXPECT_THAT(ResolveContentFile(root(), "/manual/Default.htm"),
              IsOkAndEquals(root_ / "docs/Default.htm"));
}

TEST_F(ContentResolverTest, RefusesDotDotInEveryEncoding) {
  for (const char* path : {"/../outside/secret.txt", "/docs/../../outside/secret.txt",
                           "/%2e%2e/outside/secret.txt", "/%2E%2E%2Foutside%2Fsecret.txt", "/.."}) {
    EXPECT_THAT(ResolveContentFile(root(), path),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("\"..\"")))
        << path;
  }
}

TEST_F(ContentResolverTest, RefusesBackslashesNulBytesAndBadEscapes) {
  EXPECT_THAT(ResolveContentFile(root(), "/..\\outside"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("backslash")));
  EXPECT_THAT(ResolveContentFile(root(), "/index.html%00.txt"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("NUL")));
  EXPECT_THAT(ResolveContentFile(root(), "/index%2"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("percent escape")));
  EXPECT_THAT(ResolveContentFile(root(), "/index%zz"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("two hex digits")));
  EXPECT_THAT(ResolveContentFile(root(), "index.html"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("does not start with '/'")));
}

TEST_F(ContentResolverTest, RefusesSymbolicLinksOutOfTheFolder) {
  EXPECT_THAT(ResolveContentFile(root(), "/secret.txt"),
              StatusIs(absl::StatusCode::kPermissionDenied, HasSubstr("outside")));
  EXPECT_THAT(ResolveContentFile(root(), "/escape/secret.txt"),
              StatusIs(absl::StatusCode::kPermissionDenied, HasSubstr("outside")));
}

TEST_F(ContentResolverTest, ReportsWhatIsNotThere) {
  EXPECT_THAT(ResolveContentFile(root(), "/missing.html"),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("/missing.html")));
  EXPECT_THAT(ResolveContentFile(root(), "/empty/"),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("without a default document")));
  EXPECT_THAT(ResolveContentFile(temporary_.path() / "no-such-folder", "/"),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("does not exist")));
}

}  // namespace
}  // namespace certfleet::iis6_emulator
