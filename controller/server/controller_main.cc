// certfleet-controller: serves the fleet.
//
//   certfleet-controller --data-dir DIR --listen ADDR:PORT [--server-name NAME]...
//                        [--max-in-flight N] [--planning-interval 5m]
//                        [--leaf-validity 2160h] [--expiry-warning 720h]
//                        [--http-listen ADDR:PORT|off]
//                        [--http-token-file FILE] [--http-tls-cert FILE --http-tls-key FILE]
//   certfleet-controller token create --data-dir DIR [--ttl 1h] [--host NAME]
//
// The first form runs until SIGTERM or SIGINT; it prints the fleet CA
// fingerprint agents pin, the bound port (useful with port 0) and the
// dashboard's address ("dashboard: http://127.0.0.1:PORT/"). The
// second creates a join token in the data dir's store and prints its secret.

#include <signal.h>

#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "controller/server/controller_server.h"
#include "controller/store/sqlite/sqlite_store.h"

namespace {

namespace server = certfleet::controller::server;
using certfleet::controller::LocalCertificateAuthority;

constexpr char kUsage[] =
    "usage: certfleet-controller --data-dir DIR --listen ADDR:PORT [--server-name NAME]...\n"
    "                            [--max-in-flight N] [--planning-interval 5m]\n"
    "                            [--leaf-validity 2160h] [--expiry-warning 720h]\n"
    "                            [--http-listen ADDR:PORT|off] [--http-token-file FILE]\n"
    "                            [--http-tls-cert FILE --http-tls-key FILE]\n"
    "       certfleet-controller token create --data-dir DIR [--ttl 1h] [--host NAME]\n"
    "\n"
    "  --max-in-flight N        renewals in flight at once across the fleet (default 20)\n"
    "  --planning-interval D    how often every host's certificates are checked against\n"
    "                           the renewal policies (default 5m; inventory reports are\n"
    "                           checked at once)\n"
    "  --leaf-validity D        lifetime of certificates the local CA signs (default 2160h)\n"
    "  --expiry-warning D       a bound certificate this close to expiry with no renewal\n"
    "                           planned is sent to webhooks (default 720h, 30 days)\n"
    "  --http-listen A:P|off    the dashboard, JSON API and /metrics (default 127.0.0.1:8080;\n"
    "                           port 0 picks a free port; off: no HTTP listener)\n"
    "  --http-token-file FILE   bearer token the API and /metrics require (required when\n"
    "                           --http-listen is not a loopback address)\n"
    "  --http-tls-cert FILE     serve HTTPS with this PEM certificate (chain) ...\n"
    "  --http-tls-key FILE      ... and this PEM private key\n";

int Fail(const std::string& message) {
  std::cerr << "certfleet-controller: " << message << "\n";
  return 1;
}

// Reads "--flag value" pairs; returns false (after printing why) on an
// unknown flag or a missing value.
bool ParseFlags(const std::vector<std::string>& arguments, size_t first,
                const std::vector<std::string>& known,
                std::vector<std::pair<std::string, std::string>>* flags) {
  for (size_t index = first; index < arguments.size(); ++index) {
    const std::string& flag = arguments[index];
    bool is_known = false;
    for (const std::string& name : known) is_known = is_known || flag == name;
    if (!is_known) {
      std::cerr << "certfleet-controller: unknown argument " << flag << "\n" << kUsage;
      return false;
    }
    if (index + 1 >= arguments.size()) {
      std::cerr << "certfleet-controller: " << flag << " needs a value\n" << kUsage;
      return false;
    }
    flags->emplace_back(flag, arguments[index + 1]);
    ++index;
  }
  return true;
}

int RunTokenCreate(const std::vector<std::string>& arguments) {
  std::vector<std::pair<std::string, std::string>> flags;
  if (!ParseFlags(arguments, 3, {"--data-dir", "--ttl", "--host"}, &flags)) return 2;
  std::string data_dir;
  server::JoinTokenSpec spec;
  for (const auto& [flag, value] : flags) {
    if (flag == "--data-dir") {
      data_dir = value;
    } else if (flag == "--ttl") {
      if (!absl::ParseDuration(value, &spec.time_to_live)) {
        return Fail(absl::StrCat("--ttl: \"", value, "\" is not a duration such as 1h or 30m"));
      }
    } else if (flag == "--host") {
      spec.bound_hostname = value;
    }
  }
  if (data_dir.empty()) return Fail("--data-dir is required");
  auto store =
      certfleet::controller::store::SqliteStore::Open({.path = data_dir + "/controller.db"});
  if (!store.ok()) return Fail(std::string(store.status().message()));
  absl::StatusOr<std::string> secret = server::CreateJoinToken(**store, spec, absl::Now());
  if (!secret.ok()) return Fail(std::string(secret.status().message()));
  std::cout << *secret << std::endl;
  return 0;
}

int RunServer(const std::vector<std::string>& arguments) {
  std::vector<std::pair<std::string, std::string>> flags;
  if (!ParseFlags(arguments, 1,
                  {"--data-dir", "--listen", "--server-name", "--max-in-flight",
                   "--planning-interval", "--leaf-validity", "--expiry-warning", "--http-listen",
                   "--http-token-file", "--http-tls-cert", "--http-tls-key"},
                  &flags)) {
    return 2;
  }
  server::ControllerOptions options;
  options.listen_address.clear();
  certfleet::controller::http::HttpServerOptions http_options;
  http_options.listen_address = "127.0.0.1:8080";
  for (const auto& [flag, value] : flags) {
    if (flag == "--http-listen") {
      http_options.listen_address = value;
    } else if (flag == "--http-token-file") {
      http_options.token_file = value;
    } else if (flag == "--http-tls-cert") {
      http_options.tls_certificate_file = value;
    } else if (flag == "--http-tls-key") {
      http_options.tls_key_file = value;
    } else if (flag == "--data-dir") {
      options.data_dir = value;
    } else if (flag == "--listen") {
      options.listen_address = value;
    } else if (flag == "--server-name") {
      options.server_names.push_back(value);
    } else if (flag == "--max-in-flight") {
      if (!absl::SimpleAtoi(value, &options.renewal.maximum_in_flight) ||
          options.renewal.maximum_in_flight < 1) {
        return Fail(absl::StrCat("--max-in-flight: \"", value, "\" is not a positive number"));
      }
    } else if (flag == "--planning-interval" || flag == "--leaf-validity" ||
               flag == "--expiry-warning") {
      absl::Duration duration;
      if (!absl::ParseDuration(value, &duration) || duration <= absl::ZeroDuration()) {
        return Fail(
            absl::StrCat(flag, ": \"", value, "\" is not a positive duration such as 5m or 2160h"));
      }
      if (flag == "--planning-interval") {
        options.renewal.planning_interval = duration;
      } else if (flag == "--expiry-warning") {
        options.expiry_warning = duration;
      } else {
        options.local_ca.leaf_validity = duration;
      }
    }
  }
  if (options.data_dir.empty()) return Fail("--data-dir is required");
  if (options.listen_address.empty()) return Fail("--listen is required");
  if (http_options.listen_address != "off") options.http = http_options;

  // Block the shutdown signals in every thread (gRPC's included) and wait
  // for them here.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  absl::StatusOr<std::unique_ptr<server::ControllerServer>> controller =
      server::ControllerServer::Start(options);
  if (!controller.ok()) return Fail(std::string(controller.status().message()));
  std::cout << "fleet CA fingerprint (agents pin it): "
            << (*controller)->authority().CaFingerprint() << "\n"
            << "listening on port " << (*controller)->port() << "\n";
  if ((*controller)->http_server() != nullptr) {
    std::cout << "dashboard: " << (*controller)->http_server()->DashboardUrl() << "\n";
  }
  std::cout << "local CA root: "
            << (LocalCertificateAuthority::FolderIn(options.data_dir) / "root.crt").string()
            << " (SHA-1 " << (*controller)->local_ca().root_certificate().Thumbprint() << ")"
            << std::endl;

  int received = 0;
  sigwait(&signals, &received);
  std::cout << "received signal " << received << ", shutting down" << std::endl;
  (*controller)->Shutdown();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  // Debian's abseil checks every absl::Mutex acquisition (gRPC's included)
  // for lock-order cycles, a debugging aid that showed up in the
  // controller's profile under thousands of agents (docs/performance.md).
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  std::vector<std::string> arguments(argv, argv + argc);
  if (arguments.size() >= 2 && (arguments[1] == "--help" || arguments[1] == "-h")) {
    std::cout << kUsage;
    return 0;
  }
  if (arguments.size() >= 3 && arguments[1] == "token" && arguments[2] == "create") {
    return RunTokenCreate(arguments);
  }
  if (arguments.size() >= 2 && arguments[1] == "token") {
    return Fail("unknown token command (use: token create)");
  }
  return RunServer(arguments);
}
