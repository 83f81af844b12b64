// The one place where absl::Status (what every certfleet module returns)
// becomes grpc::Status (what the gRPC services answer). The codes are the
// same canonical codes, so the conversion keeps the code and the message.
//
// Thread safety: free functions without shared state.

#ifndef CERTFLEET_CONTROLLER_AGENTS_STATUS_CONVERSION_H_
#define CERTFLEET_CONTROLLER_AGENTS_STATUS_CONVERSION_H_

#include <grpcpp/support/status.h>

#include "absl/status/status.h"

namespace certfleet::controller::agents {

// Returns the gRPC status with the same code and message as `status`.
grpc::Status ToGrpcStatus(const absl::Status& status);

}  // namespace certfleet::controller::agents

#endif  // CERTFLEET_CONTROLLER_AGENTS_STATUS_CONVERSION_H_
