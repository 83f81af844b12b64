// How certfleetctl reaches the controller's admin API: the connection options
// every fleet command shares (--controller, --data-dir or explicit
// --ca-cert/--cert/--key, --json; environment CERTFLEET_CONTROLLER and
// CERTFLEET_DATA_DIR), the mTLS channel built from them, and the one-line
// error messages shown when a call fails.
//
// Thread safety: plain functions; used from certfleetctl's single thread.

#ifndef CERTFLEET_CONTROLLER_CLI_ADMIN_CONNECTION_H_
#define CERTFLEET_CONTROLLER_CLI_ADMIN_CONNECTION_H_

#include <grpcpp/support/status.h>

#include <memory>
#include <string>

#include "CLI/CLI.hpp"
#include "absl/status/statusor.h"
#include "certfleet/v1/admin.grpc.pb.h"

namespace certfleet::cli {

struct AdminConnectionOptions {
  // "ADDRESS:PORT" of certfleet-controller.
  std::string controller;
  // The controller's data dir, holding admin/ca.crt, admin/admin.crt and
  // admin/admin.key.
  std::string data_dir;
  // Explicit files, each overriding the data dir's.
  std::string ca_certificate_file;
  std::string certificate_file;
  std::string key_file;
  // Print the answer as JSON instead of a table.
  bool json = false;
};

// Adds the connection options to `command`; defaults come from the
// environment variables CERTFLEET_CONTROLLER and CERTFLEET_DATA_DIR.
void AddAdminConnectionOptions(CLI::App& command, AdminConnectionOptions& options);

// A stub over mutual TLS with the admin credential. InvalidArgument naming
// what is missing (no controller address, no credential) or the file that
// cannot be read.
absl::StatusOr<std::unique_ptr<v1::AdminService::Stub>> ConnectToAdminApi(
    const AdminConnectionOptions& options);

// One line naming the problem and what to do, for a failed call of `what`.
std::string DescribeCallError(const grpc::Status& status, const AdminConnectionOptions& options,
                              const std::string& what);

}  // namespace certfleet::cli

#endif  // CERTFLEET_CONTROLLER_CLI_ADMIN_CONNECTION_H_
