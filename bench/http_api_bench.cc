// Measures the HTTP API with 100,000 certificates in the inventory (DESIGN.md
// targets: the dashboard's data in under 1 s, "expiring within 30 days" in
// under 50 ms). It seeds a SQLite store in a temporary folder with 1,000
// hosts of 100 certificates each (10 of them bound to sites, 10,000 bound in
// all; notAfter spread over a year, some expired), starts the HTTP server
// on 127.0.0.1 port 0 and times real HTTP requests over one keep-alive
// connection:
//
//   http_api_bench [--hosts N] [--certificates-per-host N] [benchmark flags]
//
// Thread safety: single-threaded program.

#include <benchmark/benchmark.h>
#include <httplib.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "controller/http/http_server.h"
#include "controller/store/ids.h"
#include "controller/store/sqlite/sqlite_store.h"

namespace {

namespace store = certfleet::controller::store;
namespace http = certfleet::controller::http;

int hosts = 1000;
int certificates_per_host = 100;
constexpr int kBoundPerHost = 10;
std::unique_ptr<store::SqliteStore> seeded_store;
std::unique_ptr<http::HttpServer> server;

store::CertificateRecord Certificate(int number, absl::Time now) {
  store::CertificateRecord certificate;
  certificate.thumbprint_sha1 = absl::StrFormat("%040X", number);
  certificate.fingerprint_sha256 = absl::StrFormat("%064X", number);
  certificate.subject = absl::StrCat("CN=www", number, ".example.com,O=Example Ltd,C=JP");
  certificate.subject_name.common_name = absl::StrCat("www", number, ".example.com");
  certificate.issuer = number % 3 == 0 ? "CN=CrossTrust OV CA3,O=CrossTrust,C=JP"
                                       : "CN=Example Issuing CA,O=Example Ltd,C=JP";
  certificate.serial_number = absl::StrFormat("%08X", number);
  // Spread over -30 .. +365 days with a prime stride, so every host has a mix.
  certificate.not_after =
      now + absl::Hours(24) * (static_cast<double>((number * 7919) % 395) - 30.5);
  certificate.not_before = certificate.not_after - absl::Hours(24 * 397);
  certificate.subject_alternative_names = {absl::StrCat("DNS:www", number, ".example.com"),
                                           absl::StrCat("DNS:alt", number, ".example.com")};
  certificate.key_algorithm = "RSA";
  certificate.key_bits = 2048;
  certificate.signature_algorithm = "sha256WithRSAEncryption";
  certificate.signature_hash = "SHA256";
  certificate.kind = "LEAF";
  certificate.public_key_sha256 = absl::StrFormat("%064X", number + 10000000);
  certificate.has_private_key = true;
  certificate.der = std::string(1200, 'd');
  return certificate;
}

bool Seed(const std::filesystem::path& folder) {
  absl::StatusOr<std::unique_ptr<store::SqliteStore>> opened =
      store::SqliteStore::Open({.path = (folder / "controller.db").string()});
  if (!opened.ok()) {
    std::cerr << opened.status() << "\n";
    return false;
  }
  seeded_store = *std::move(opened);
  const absl::Time now = absl::Now();
  const absl::Time start = absl::Now();
  int number = 0;
  for (int host = 0; host < hosts; ++host) {
    const std::string secret = absl::StrFormat("%064x", host);
    store::NewJoinToken token;
    token.secret_sha256 = secret;
    token.created_at = now - absl::Hours(1);
    token.expires_at = now + absl::Hours(1);
    if (!seeded_store->join_tokens().CreateJoinToken(token).ok()) return false;
    store::HostEnrollment enrollment;
    enrollment.host_id = store::GenerateId(store::IdKind::kHost);
    enrollment.hostname = absl::StrFormat("web-%04d.example.com", host);
    enrollment.join_token_secret_sha256 = secret;
    enrollment.enrolled_at = now - absl::Minutes(30);
    absl::StatusOr<store::HostRecord> enrolled = seeded_store->hosts().EnrollHost(enrollment);
    if (!enrolled.ok()) {
      std::cerr << enrolled.status() << "\n";
      return false;
    }
    store::InventoryReport report;
    report.host_id = enrolled->host_id;
    report.scanned_at = now;
    report.content_hash = absl::StrCat("hash-", host);
    for (int index = 0; index < certificates_per_host; ++index) {
      report.certificates.push_back(Certificate(++number, now));
      if (index < kBoundPerHost) {
        store::SiteRecord site;
        site.site_id = absl::StrCat(index + 1);
        site.name = absl::StrCat("Site ", index + 1);
        site.state = "started";
        report.sites.push_back(site);
        store::BindingRecord binding;
        binding.binding_id = site.site_id;
        binding.site_id = site.site_id;
        binding.secure_endpoints = {{"", 443, ""}};
        binding.certificate_thumbprint = report.certificates.back().thumbprint_sha1;
        report.bindings.push_back(binding);
      }
    }
    absl::StatusOr<store::InventoryIngestResult> ingested =
        seeded_store->inventory().IngestInventory(report, now);
    if (!ingested.ok()) {
      std::cerr << ingested.status() << "\n";
      return false;
    }
    for (int index = 0; index < kBoundPerHost; index += 3) {
      store::BindingProbeRecord probe;
      probe.host_id = enrolled->host_id;
      probe.binding_id = absl::StrCat(index + 1);
      probe.endpoint = "10.0.0.5:443";
      probe.probed_at = now;
      probe.status = index == 9 ? store::ServedStatus::kMismatch : store::ServedStatus::kMatches;
      if (!seeded_store->inventory().RecordBindingProbe(probe).ok()) return false;
    }
  }
  std::cerr << "seeded " << hosts << " hosts, " << number << " certificates ("
            << hosts * kBoundPerHost << " bound) in " << absl::FormatDuration(absl::Now() - start)
            << "\n";
  http::HttpServerOptions options;
  options.listen_address = "127.0.0.1:0";
  absl::StatusOr<std::unique_ptr<http::HttpServer>> started =
      http::HttpServer::Start(options, seeded_store.get());
  if (!started.ok()) {
    std::cerr << started.status() << "\n";
    return false;
  }
  server = *std::move(started);
  return true;
}

void Get(benchmark::State& state, const std::string& path) {
  httplib::Client client("127.0.0.1", server->port());
  client.set_keep_alive(true);
  client.set_tcp_nodelay(true);
  client.set_read_timeout(60, 0);
  size_t bytes = 0;
  for (auto _ : state) {
    httplib::Result result = client.Get(path);
    if (!result || result->status != 200) {
      state.SkipWithError(absl::StrCat("GET ", path, " failed").c_str());
      return;
    }
    bytes = result->body.size();
    benchmark::DoNotOptimize(result->body.data());
  }
  state.counters["response_bytes"] = static_cast<double>(bytes);
}

void BM_Summary(benchmark::State& state) { Get(state, "/api/v1/summary"); }
void BM_CertificatesExpiringWithin30Days(benchmark::State& state) {
  Get(state, "/api/v1/certificates?expiring_within=30d");
}
void BM_CertificatesExpiringWithin30DaysWithoutTotal(benchmark::State& state) {
  Get(state, "/api/v1/certificates?expiring_within=30d&total_size=false");
}
void BM_CertificatesExpiringWithin30DaysAllStores(benchmark::State& state) {
  Get(state, "/api/v1/certificates?expiring_within=30d&scope=all");
}
void BM_DashboardInventoryPage(benchmark::State& state) {
  Get(state, "/api/v1/certificates?scope=bound&sort=not_after&order=asc&page_size=50");
}
void BM_OpenOrdersAndFailures(benchmark::State& state) {
  Get(state, "/api/v1/orders?open=true&page_size=50");
}
void BM_Metrics(benchmark::State& state) { Get(state, "/metrics"); }

// The store alone, to tell its share from HTTP and JSON.
void StoreExpiring(benchmark::State& state, bool count_total_size, bool include_bindings) {
  store::CertificateQuery query;
  query.not_after_before = absl::Now() + absl::Hours(24 * 30);
  query.scope = store::CertificateScope::kBound;
  query.count_total_size = count_total_size;
  query.include_bindings = include_bindings;
  for (auto _ : state) {
    absl::StatusOr<store::Page<store::CertificateRecord>> page =
        seeded_store->inventory().ListCertificates(query);
    if (!page.ok()) {
      state.SkipWithError("ListCertificates failed");
      return;
    }
    benchmark::DoNotOptimize(page->items.data());
  }
}
void BM_StoreExpiringWithin30Days(benchmark::State& state) { StoreExpiring(state, true, true); }
void BM_StoreExpiringWithin30DaysWithoutCount(benchmark::State& state) {
  StoreExpiring(state, false, true);
}
void BM_StoreExpiringWithin30DaysWithoutBindings(benchmark::State& state) {
  StoreExpiring(state, true, false);
}
void BM_StoreCountFleet(benchmark::State& state) {
  for (auto _ : state) {
    benchmark::DoNotOptimize(seeded_store->inventory().CountFleet(absl::Now()).ok());
  }
}

BENCHMARK(BM_StoreExpiringWithin30Days)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_StoreExpiringWithin30DaysWithoutCount)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_StoreExpiringWithin30DaysWithoutBindings)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_StoreCountFleet)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Summary)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_CertificatesExpiringWithin30Days)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_CertificatesExpiringWithin30DaysWithoutTotal)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_CertificatesExpiringWithin30DaysAllStores)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_DashboardInventoryPage)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_OpenOrdersAndFailures)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Metrics)->Unit(benchmark::kMillisecond)->Iterations(3);

}  // namespace

int main(int argc, char** argv) {
  // Our own flags first; the rest go to Google Benchmark.
  int kept = 1;
  for (int index = 1; index < argc; ++index) {
    const std::string argument = argv[index];
    if ((argument == "--hosts" || argument == "--certificates-per-host") && index + 1 < argc) {
      int value = 0;
      if (!absl::SimpleAtoi(argv[index + 1], &value) || value < 1) {
        std::cerr << argument << " takes a positive number\n";
        return 2;
      }
      (argument == "--hosts" ? hosts : certificates_per_host) = value;
      ++index;
    } else {
      argv[kept++] = argv[index];
    }
  }
  argc = kept;
  benchmark::Initialize(&argc, argv);
  char folder_template[] = "/tmp/certfleet-http-bench-XXXXXX";
  const char* folder = mkdtemp(folder_template);
  if (folder == nullptr) {
    std::cerr << "cannot create a temporary folder\n";
    return 1;
  }
  const bool seeded = Seed(folder);
  if (seeded) benchmark::RunSpecifiedBenchmarks();
  server.reset();
  seeded_store.reset();
  std::filesystem::remove_all(folder);
  benchmark::Shutdown();
  return seeded ? 0 : 1;
}
