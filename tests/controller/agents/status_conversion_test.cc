#include "controller/agents/status_conversion.h"

#include <gtest/gtest.h>

namespace certfleet::controller::agents {
namespace {

TEST(ToGrpcStatusTest, OkStaysOk) { EXPECT_TRUE(ToGrpcStatus(absl::OkStatus()).ok()); }

TEST(ToGrpcStatusTest, KeepsCodeAndMessage) {
  const struct {
    absl::Status status;
    grpc::StatusCode code;
  } cases[] = {
      {absl::UnauthenticatedError("no client certificate"), grpc::StatusCode::UNAUTHENTICATED},
      {absl::PermissionDeniedError("other host"), grpc::StatusCode::PERMISSION_DENIED},
      {absl::FailedPreconditionError("stale attempt 1, current is 2"),
       grpc::StatusCode::FAILED_PRECONDITION},
      {absl::InvalidArgumentError("csr_pem: empty"), grpc::StatusCode::INVALID_ARGUMENT},
      {absl::NotFoundError("job"), grpc::StatusCode::NOT_FOUND},
      {absl::UnavailableError("shutting down"), grpc::StatusCode::UNAVAILABLE},
      {absl::ResourceExhaustedError("too large"), grpc::StatusCode::RESOURCE_EXHAUSTED},
  };
  for (const auto& test_case : cases) {
    grpc::Status converted = ToGrpcStatus(test_case.status);
    EXPECT_EQ(converted.error_code(), test_case.code) << test_case.status;
    EXPECT_EQ(converted.error_message(), std::string(test_case.status.message()));
  }
}

}  // namespace
}  // namespace certfleet::controller::agents
