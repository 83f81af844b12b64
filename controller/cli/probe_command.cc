#include "controller/cli/probe_command.h"

#include <charconv>
#include <ostream>

#include "absl/strings/str_cat.h"
#include "common/crypto/certificate_reader.h"
#include "common/io/file.h"
#include "common/tls/tls_probe.h"

namespace certfleet::cli {
namespace {

struct Target {
  std::string host;
  uint16_t port = 443;
};

absl::StatusOr<Target> ParseTarget(const std::string& text) {
  Target target;
  std::string port_text;
  if (text.starts_with("[")) {
    const size_t close = text.find(']');
    if (close == std::string::npos) {
      return absl::InvalidArgumentError(absl::StrCat("'", text, "' has no closing ']'"));
    }
    target.host = text.substr(1, close - 1);
    if (close + 1 < text.size()) {
      if (text[close + 1] != ':') {
        return absl::InvalidArgumentError(absl::StrCat("'", text, "': expected ':' after ']'"));
      }
      port_text = text.substr(close + 2);
    }
  } else if (const size_t colon = text.rfind(':'); colon != std::string::npos) {
    target.host = text.substr(0, colon);
    port_text = text.substr(colon + 1);
  } else {
    target.host = text;
  }
  if (!port_text.empty()) {
    unsigned int port = 0;
    const auto [end, error] =
        std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (error != std::errc() || end != port_text.data() + port_text.size() || port == 0 ||
        port > 65535) {
      return absl::InvalidArgumentError(
          absl::StrCat("'", port_text, "' is not a port number (1 to 65535)"));
    }
    target.port = static_cast<uint16_t>(port);
  }
  if (target.host.empty()) return absl::InvalidArgumentError("the target names no host");
  return target;
}

std::string Utc(absl::Time time) {
  return absl::FormatTime("%Y-%m-%d %H:%M UTC", time, absl::UTCTimeZone());
}

}  // namespace

int RunProbe(const ProbeCommandOptions& options, std::ostream& out, std::ostream& error) {
  absl::StatusOr<Target> target = ParseTarget(options.target);
  if (!target.ok()) {
    error << "certfleetctl: cannot probe: " << target.status().message() << "\n";
    return 1;
  }
  tls::ProbeOptions probe;
  probe.host = target->host;
  probe.port = target->port;
  probe.server_name = options.server_name;
  probe.timeout = options.timeout;
  probe.expected_hostname = options.expected_hostname;
  if (options.roots_file.has_value()) {
    absl::StatusOr<std::string> bytes = io::ReadFile(*options.roots_file, crypto::kMaxInputBytes);
    absl::StatusOr<crypto::CertificateFile> roots =
        bytes.ok() ? crypto::ReadCertificates(*bytes)
                   : absl::StatusOr<crypto::CertificateFile>(bytes.status());
    if (!roots.ok()) {
      error << "certfleetctl: cannot read the roots in " << *options.roots_file << ": "
            << roots.status().message() << "\n";
      return 1;
    }
    probe.trusted_roots = roots->certificates;
  }
  absl::StatusOr<tls::ProbeResult> result = tls::ProbeTls(probe);
  if (!result.ok()) {
    error << "certfleetctl: cannot probe " << options.target << ": " << result.status().message()
          << "\n";
    return 1;
  }
  const bool judged = !probe.trusted_roots.empty();
  const bool verified = judged && result->verification.ok();
  if (options.output == OutputFormat::kJson) {
    nlohmann::json json{{"target", options.target},
                        {"protocol", result->protocol},
                        {"cipher", result->cipher},
                        {"served_chain", nlohmann::json::array()},
                        {"verified", verified},
                        {"problem", judged ? crypto::ChainProblemName(result->verification.problem)
                                           : "no_roots_given"},
                        {"reason", result->verification.reason}};
    for (const crypto::Certificate& certificate : result->served_chain) {
      json["served_chain"].push_back({{"subject", certificate.SubjectText()},
                                      {"issuer", certificate.IssuerText()},
                                      {"thumbprint_sha1", certificate.Thumbprint()},
                                      {"not_after", Utc(certificate.NotAfter())}});
    }
    out << json.dump(2) << "\n";
  } else {
    out << "Target:   " << options.target << "\n"
        << "Protocol: " << result->protocol << " (" << result->cipher << ")\n"
        << "Served:   " << result->served_chain.size() << " certificate(s)\n";
    for (size_t i = 0; i < result->served_chain.size(); ++i) {
      const crypto::Certificate& certificate = result->served_chain[i];
      out << "  " << i << ". " << certificate.SubjectText() << "\n"
          << "     issuer " << certificate.IssuerText() << "\n"
          << "     thumbprint " << certificate.Thumbprint() << ", valid until "
          << Utc(certificate.NotAfter()) << "\n";
    }
    if (!judged) {
      out << "Verified: not judged (give --roots FILE to check the chain)\n";
    } else if (verified) {
      out << "Verified: yes, the served chain leads to a trusted root\n";
    } else {
      out << "Verified: NO (" << crypto::ChainProblemName(result->verification.problem)
          << "): " << result->verification.reason << "\n";
    }
  }
  return judged && !verified ? 1 : 0;
}

void RegisterProbeCommand(CLI::App& cert, int& exit_code) {
  auto options = std::make_shared<ProbeCommandOptions>();
  auto json_output = std::make_shared<bool>(false);
  auto server_name = std::make_shared<std::string>();
  auto roots_file = std::make_shared<std::string>();
  auto hostname = std::make_shared<std::string>();
  auto timeout_seconds = std::make_shared<double>(10);
  CLI::App* probe = cert.add_subcommand(
      "probe",
      "Complete a real TLS handshake with HOST:PORT and show the chain it serves; with --roots, "
      "say whether it verifies (the 'check from another machine').");
  probe->add_option("target", options->target, "HOST:PORT, [IPv6]:PORT, or HOST (port 443)")
      ->required();
  probe->add_option("--roots", *roots_file, "File of trusted roots (PEM, DER or PKCS#7)");
  probe->add_option("--sni", *server_name,
                    "Server name to send (none by default, like IIS 6 clients)");
  probe->add_option("--expect-name", *hostname, "Name the served certificate must be valid for");
  probe->add_option("--timeout", *timeout_seconds, "Seconds for the whole probe (default 10)")
      ->check(CLI::PositiveNumber);
  probe->add_flag("--json", *json_output, "Print JSON instead of a table");
  probe->callback([=, &exit_code] {
    options->output = *json_output ? OutputFormat::kJson : OutputFormat::kTable;
    if (!server_name->empty()) options->server_name = *server_name;
    if (!roots_file->empty()) options->roots_file = *roots_file;
    if (!hostname->empty()) options->expected_hostname = *hostname;
    options->timeout = absl::Seconds(*timeout_seconds);
    exit_code = RunProbe(*options, std::cout, std::cerr);
  });
}

}  // namespace certfleet::cli
