#include "controller/agents/status_conversion.h"

#include <string>

namespace certfleet::controller::agents {

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  // absl::StatusCode and grpc::StatusCode both number the canonical codes
  // identically (0 OK ... 16 UNAUTHENTICATED).
  return grpc::Status(static_cast<grpc::StatusCode>(static_cast<int>(status.code())),
                      std::string(status.message()));
}

}  // namespace certfleet::controller::agents
