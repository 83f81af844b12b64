// GoogleTest matchers for absl::Status and absl::StatusOr<T>, so that tests
// assert the specific error (code and message), never only "not ok".
//
//   EXPECT_THAT(ReadCertificates(""), StatusIs(absl::StatusCode::kInvalidArgument,
//                                              HasSubstr("empty")));
//   EXPECT_THAT(status, IsOk());

#ifndef CERTFLEET_TESTS_SUPPORT_STATUS_MATCHERS_H_
#define CERTFLEET_TESTS_SUPPORT_STATUS_MATCHERS_H_

#include <gmock/gmock.h>

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace certfleet::testing {

inline const absl::Status& GetStatus(const absl::Status& status) { return status; }

template <typename T>
const absl::Status& GetStatus(const absl::StatusOr<T>& status_or) {
  return status_or.status();
}

MATCHER(IsOk, "is OK") {
  const absl::Status& status = GetStatus(arg);
  if (!status.ok()) *result_listener << "which is " << status.ToString();
  return status.ok();
}

MATCHER_P(StatusIs, code, "has status code " + absl::StatusCodeToString(code)) {
  const absl::Status& status = GetStatus(arg);
  *result_listener << "which is " << status.ToString();
  return status.code() == code;
}

MATCHER_P2(StatusIs, code, message_matcher,
           "has status code " + absl::StatusCodeToString(code) + " and a message that " +
               ::testing::DescribeMatcher<std::string>(message_matcher)) {
  const absl::Status& status = GetStatus(arg);
  *result_listener << "which is " << status.ToString();
  return status.code() == code &&
         ::testing::Matches(message_matcher)(std::string(status.message()));
}

}  // namespace certfleet::testing

#define CERTFLEET_ASSERT_OK_AND_ASSIGN(lhs, expression)           \
  auto CERTFLEET_CONCAT(status_or_, __LINE__) = (expression);     \
  ASSERT_TRUE(CERTFLEET_CONCAT(status_or_, __LINE__).ok())        \
      << CERTFLEET_CONCAT(status_or_, __LINE__).status().ToString(); \
  lhs = *std::move(CERTFLEET_CONCAT(status_or_, __LINE__))

#define CERTFLEET_CONCAT_INNER(a, b) a##b
#define CERTFLEET_CONCAT(a, b) CERTFLEET_CONCAT_INNER(a, b)

#endif  // CERTFLEET_TESTS_SUPPORT_STATUS_MATCHERS_H_
