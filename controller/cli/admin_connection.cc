#include "controller/cli/admin_connection.h"

#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace certfleet::cli {
namespace {

std::string Environment(const char* name) {
  const char* value = std::getenv(name);
  return value == nullptr ? std::string() : std::string(value);
}

absl::StatusOr<std::string> ReadFile(const std::string& path, const std::string& role) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::InvalidArgumentError(absl::StrCat(
        "cannot read the admin ", role, " ", path,
        ": pass the controller's data dir (--data-dir or CERTFLEET_DATA_DIR) or --ca-cert, "
        "--cert and --key"));
  }
  std::stringstream content;
  content << in.rdbuf();
  return content.str();
}

}  // namespace

void AddAdminConnectionOptions(CLI::App& command, AdminConnectionOptions& options) {
  options.controller = Environment("CERTFLEET_CONTROLLER");
  options.data_dir = Environment("CERTFLEET_DATA_DIR");
  command.add_option("--controller", options.controller,
                     "Controller address ADDR:PORT (default: $CERTFLEET_CONTROLLER)");
  command.add_option("--data-dir", options.data_dir,
                     "Controller data dir holding admin/ca.crt, admin/admin.crt, admin/admin.key "
                     "(default: $CERTFLEET_DATA_DIR)");
  command.add_option("--ca-cert", options.ca_certificate_file, "Fleet CA certificate (PEM)");
  command.add_option("--cert", options.certificate_file, "Admin client certificate (PEM)");
  command.add_option("--key", options.key_file, "Admin client key (PEM)");
  command.add_flag("--json", options.json, "Print JSON instead of a table");
}

absl::StatusOr<std::unique_ptr<v1::AdminService::Stub>> ConnectToAdminApi(
    const AdminConnectionOptions& options) {
  if (options.controller.empty()) {
    return absl::InvalidArgumentError(
        "no controller address: pass --controller ADDR:PORT or set CERTFLEET_CONTROLLER");
  }
  const std::filesystem::path admin = std::filesystem::path(options.data_dir) / "admin";
  auto choose = [&](const std::string& explicit_file, const char* name) -> std::string {
    if (!explicit_file.empty()) return explicit_file;
    if (options.data_dir.empty()) return "";
    return (admin / name).string();
  };
  const std::string ca_file = choose(options.ca_certificate_file, "ca.crt");
  const std::string certificate_file = choose(options.certificate_file, "admin.crt");
  const std::string key_file = choose(options.key_file, "admin.key");
  if (ca_file.empty() || certificate_file.empty() || key_file.empty()) {
    return absl::InvalidArgumentError(
        "no admin credential: pass the controller's data dir (--data-dir or CERTFLEET_DATA_DIR) "
        "or --ca-cert, --cert and --key");
  }
  absl::StatusOr<std::string> ca = ReadFile(ca_file, "CA certificate");
  if (!ca.ok()) return ca.status();
  absl::StatusOr<std::string> certificate = ReadFile(certificate_file, "certificate");
  if (!certificate.ok()) return certificate.status();
  absl::StatusOr<std::string> key = ReadFile(key_file, "key");
  if (!key.ok()) return key.status();
  grpc::SslCredentialsOptions tls;
  tls.pem_root_certs = *ca;
  tls.pem_cert_chain = *certificate;
  tls.pem_private_key = *key;
  grpc::ChannelArguments arguments;
  // The controller's certificate always names localhost; other names are
  // added with certfleet-controller --server-name.
  const std::string host = options.controller.substr(0, options.controller.rfind(':'));
  if (host == "127.0.0.1" || host == "[::1]" || host == "::1") {
    arguments.SetSslTargetNameOverride("localhost");
  }
  return v1::AdminService::NewStub(
      grpc::CreateCustomChannel(options.controller, grpc::SslCredentials(tls), arguments));
}

std::string DescribeCallError(const grpc::Status& status, const AdminConnectionOptions& options,
                              const std::string& what) {
  switch (status.error_code()) {
    case grpc::StatusCode::UNAVAILABLE:
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return absl::StrCat("certfleetctl: controller unreachable at ", options.controller,
                          ": is certfleet-controller running? (", status.error_message(), ")");
    case grpc::StatusCode::UNAUTHENTICATED:
    case grpc::StatusCode::PERMISSION_DENIED:
      return absl::StrCat("certfleetctl: ", what, " refused: ", status.error_message(),
                          "; use the admin credential from the controller's data dir");
    default:
      return absl::StrCat("certfleetctl: ", what, ": ", status.error_message());
  }
}

}  // namespace certfleet::cli
