#include "common/io/file.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>

#include "tests/support/status_matchers.h"
#include "tests/support/temporary_directory.h"

namespace certfleet::io {
namespace {

using ::certfleet::testing::IsOk;
using ::certfleet::testing::StatusIs;
using ::certfleet::testing::TemporaryDirectory;
using ::testing::HasSubstr;

mode_t ModeOf(const std::filesystem::path& path) {
  struct stat information {};
  stat(path.c_str(), &information);
  return information.st_mode & 07777;
}

TEST(ReadFileTest, ReadsAWholeFile) {
  TemporaryDirectory folder;
  const auto path = folder.WriteFile("a.txt", std::string("one\0two", 7));
  absl::StatusOr<std::string> content = ReadFile(path, 100);
  ASSERT_THAT(content, IsOk());
  EXPECT_EQ(*content, std::string("one\0two", 7));
}

TEST(ReadFileTest, NamesThePathWhenItCannotRead) {
  TemporaryDirectory folder;
  EXPECT_THAT(ReadFile(folder.path() / "missing.crt", 100),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("missing.crt")));
  EXPECT_THAT(ReadFile(folder.path(), 100),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("is a directory")));
  const auto big = folder.WriteFile("big.bin", std::string(101, 'x'));
  EXPECT_THAT(ReadFile(big, 100),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("over the 100-byte limit")));
}

TEST(WriteFileAtomicallyTest, WritesWithTheModeAndReplaces) {
  TemporaryDirectory folder;
  const auto path = folder.path() / "key.pem";
  ASSERT_THAT(WriteFileAtomically(path, "first", 0600), IsOk());
  EXPECT_EQ(ModeOf(path), 0600u);
  ASSERT_THAT(WriteFileAtomically(path, "second", 0640), IsOk());
  EXPECT_EQ(*ReadFile(path, 100), "second");
  EXPECT_EQ(ModeOf(path), 0640u);
  // Nothing but the target is left in the folder.
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(folder.path()),
                          std::filesystem::directory_iterator()),
            1);
}

TEST(WriteFileAtomicallyTest, FailureLeavesTheTargetAndNoTemporaryFile) {
  TemporaryDirectory folder;
  // A non-empty directory in the way makes the final rename fail.
  const auto target = folder.path() / "MetaBase.xml";
  std::filesystem::create_directories(target / "inside");
  EXPECT_THAT(WriteFileAtomically(target, "new", 0600),
              StatusIs(absl::StatusCode::kInternal, HasSubstr("cannot replace")));
  EXPECT_TRUE(std::filesystem::is_directory(target / "inside"));
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(folder.path()),
                          std::filesystem::directory_iterator()),
            1);
}

TEST(WriteFileAtomicallyTest, MissingFolderIsNotFound) {
  TemporaryDirectory folder;
  EXPECT_THAT(WriteFileAtomically(folder.path() / "no" / "such" / "file", "x", 0600),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("temporary file")));
}

}  // namespace
}  // namespace certfleet::io
