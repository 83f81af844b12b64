#include "tools/iis6-emulator/host_layout.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/status_matchers.h"

namespace certfleet::iis6_emulator {
namespace {

using ::certfleet::testing::StatusIs;
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

const HostLayout kLayout("/hosts/web01");

TEST(HostLayoutTest, NamesTheFilesOfTheLayoutContract) {
  EXPECT_EQ(kLayout.MetaBaseFile(), "/hosts/web01/inetsrv/MetaBase.xml");
  EXPECT_EQ(kLayout.StoreFolder("CA"), "/hosts/web01/stores/CA");
  EXPECT_EQ(kLayout.PidFile(), "/hosts/web01/run/iis6-emulator.pid");
  EXPECT_EQ(kLayout.ReloadGenerationFile(), "/hosts/web01/run/reload-generation");
  EXPECT_EQ(kLayout.EmulationConfigFile(), "/hosts/web01/emulation.conf");
}

TEST(HostLayoutTest, MapsAWindowsPathUnderFsWithAnUpperCaseDrive) {
  EXPECT_THAT(kLayout.MapWindowsPath("c:\\inetpub\\wwwroot"),
              IsOkAndEquals(std::filesystem::path("/hosts/web01/fs/C/inetpub/wwwroot")));
  EXPECT_EQ(*kLayout.MapWindowsPath("D:/Sites//Shop\\"), "/hosts/web01/fs/D/Sites/Shop");
  EXPECT_EQ(*kLayout.MapWindowsPath("C:\\"), "/hosts/web01/fs/C");
  EXPECT_EQ(*kLayout.MapWindowsPath("C:\\Inetpub\\.\\wwwroot"),
            "/hosts/web01/fs/C/Inetpub/wwwroot");
}

TEST(HostLayoutTest, ExpandsTheSystemDriveAndRootVariables) {
  EXPECT_EQ(*kLayout.MapWindowsPath("%SystemDrive%\\inetpub\\wwwroot"),
            "/hosts/web01/fs/C/inetpub/wwwroot");
  EXPECT_EQ(*kLayout.MapWindowsPath("%SYSTEMROOT%\\web\\printers"),
            "/hosts/web01/fs/C/WINDOWS/web/printers");
}

TEST(HostLayoutTest, RefusesPathsThatCannotBeMappedSafely) {
  EXPECT_THAT(kLayout.MapWindowsPath(""),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("empty")));
  EXPECT_THAT(kLayout.MapWindowsPath("C:\\Inetpub\\..\\..\\etc"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("\"..\"")));
  EXPECT_THAT(kLayout.MapWindowsPath("\\\\fileserver\\share"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("UNC")));
  EXPECT_THAT(
      kLayout.MapWindowsPath("inetpub\\wwwroot"),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("not an absolute Windows path")));
  EXPECT_THAT(
      kLayout.MapWindowsPath("C:inetpub"),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("not an absolute Windows path")));
  EXPECT_THAT(kLayout.MapWindowsPath("%WINDIR%\\web"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("environment variable")));
}

}  // namespace
}  // namespace certfleet::iis6_emulator
