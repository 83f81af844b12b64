// What every certfleetctl fleet command shares: readable tables, times and
// enum names as people read them, durations as people write them, the call
// deadline, JSON output, and FleetCommand, which connects to the admin API
// and turns failures into one line and exit status 1.
//
// Thread safety: certfleetctl's single thread.

#ifndef CERTFLEET_CONTROLLER_CLI_COMMAND_SUPPORT_H_
#define CERTFLEET_CONTROLLER_CLI_COMMAND_SUPPORT_H_

#include <google/protobuf/duration.pb.h>
#include <google/protobuf/message.h>
#include <google/protobuf/timestamp.pb.h>
#include <grpcpp/client_context.h>

#include <functional>
#include <iostream>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "controller/cli/admin_connection.h"

namespace certfleet::cli {

// Columns padded to their widest cell.
class Table {
 public:
  explicit Table(std::vector<std::string> header) { rows_.push_back(std::move(header)); }
  void Add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  void Print(std::ostream& out) const {
    std::vector<size_t> widths;
    for (const auto& row : rows_) {
      widths.resize(std::max(widths.size(), row.size()));
      for (size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
    }
    for (const auto& row : rows_) {
      std::string line;
      for (size_t i = 0; i < row.size(); ++i) {
        line += row[i];
        if (i + 1 < row.size()) line += std::string(widths[i] - row[i].size() + 2, ' ');
      }
      out << line << "\n";
    }
  }

 private:
  std::vector<std::vector<std::string>> rows_;
};

// "2026-11-29 04:33:26Z", or "-" for an unset timestamp.
std::string Time(const google::protobuf::Timestamp& timestamp);

// "ORDER_STATE_AWAITING_ISSUANCE" with prefix "ORDER_STATE_" ->
// "awaiting_issuance".
std::string Short(const std::string& enum_name, std::string_view prefix);

// `value`, or `fallback` when it is empty.
std::string Or(const std::string& value, const std::string& fallback = "-");

// "30d", "12h", "90m", "1h30m".
bool ParseHumanDuration(const std::string& text, absl::Duration* duration);

void SetDurationProto(absl::Duration duration, google::protobuf::Duration* proto);

// A client context with the commands' 30 s deadline.
std::unique_ptr<grpc::ClientContext> CallContext();

// `message` as indented JSON with the proto field names.
void PrintJson(const google::protobuf::Message& message, std::ostream& out);

// Shared by every command: connects, runs `call` and turns failures into
// one line on stderr and exit status 1.
class FleetCommand {
 public:
  FleetCommand(CLI::App& command, int& exit_code) : exit_code_(exit_code) {
    AddAdminConnectionOptions(command, connection_);
  }

  const AdminConnectionOptions& connection() const { return connection_; }

  void Run(const std::string& what,
           const std::function<grpc::Status(v1::AdminService::Stub&, std::ostream&)>& call) {
    absl::StatusOr<std::unique_ptr<v1::AdminService::Stub>> stub = ConnectToAdminApi(connection_);
    if (!stub.ok()) {
      std::cerr << "certfleetctl: " << stub.status().message() << "\n";
      exit_code_ = 1;
      return;
    }
    grpc::Status status = call(**stub, std::cout);
    if (!status.ok()) {
      std::cerr << DescribeCallError(status, connection_, what) << "\n";
      exit_code_ = 1;
    }
  }

  void Fail(const std::string& message) {
    std::cerr << "certfleetctl: " << message << "\n";
    exit_code_ = 1;
  }

  // A host id, or the id of the host with this name (ListHosts by name).
  grpc::Status ResolveHost(v1::AdminService::Stub& stub, const std::string& host,
                           std::string* host_id) {
    if (absl::StartsWith(host, "host-")) {
      *host_id = host;
      return grpc::Status::OK;
    }
    v1::ListHostsRequest request;
    request.mutable_hosts()->set_hostname_pattern(host);
    request.set_include_decommissioned(true);
    v1::ListHostsResponse response;
    grpc::Status status = stub.ListHosts(CallContext().get(), request, &response);
    if (!status.ok()) return status;
    for (const v1::Host& candidate : response.hosts()) {
      if (absl::EqualsIgnoreCase(candidate.hostname(), host)) {
        *host_id = candidate.host_id();
        return grpc::Status::OK;
      }
    }
    return grpc::Status(grpc::StatusCode::NOT_FOUND,
                        absl::StrCat("no host named ", host, "; see certfleetctl hosts list"));
  }

  void set_exit_code(int code) { exit_code_ = code; }

 private:
  AdminConnectionOptions connection_;
  int& exit_code_;
};

}  // namespace certfleet::cli

#endif  // CERTFLEET_CONTROLLER_CLI_COMMAND_SUPPORT_H_
