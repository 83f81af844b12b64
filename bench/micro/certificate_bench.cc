// Micro-benchmarks of the certificate toolkit (common/crypto/) on the calls
// the agent and the controller make for every certificate they handle:
// reading a PEM or DER certificate (a job's leaf, a file of the host's MY
// store), reading a chain bundle (PEM and PKCS#7, sized with Arg), the
// thumbprint and fingerprints, every fact an inventory report carries (as
// agent/session/inventory_report.cc's ToCertificateInfo extracts them),
// parsing and checking a CSR, and verifying a chain to a trusted root.
//
// Certificates are made at start-up with the toolkit itself: an RSA-2048
// root, an intermediate under it and an RSA-2048 server leaf with two DNS
// names, plus the leaf key's CSR. Nothing is read from disk or the network.
//
//   build/bin/certificate_bench [benchmark flags]
//   build/bin/certificate_bench --benchmark_filter=Chain --benchmark_min_time=0.01
//
// Exits non-zero when the fixture cannot be made or a benchmark fails.
//
// Thread safety: single-threaded program.

#include <benchmark/benchmark.h>

#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "bench/micro/micro_bench_support.h"
#include "common/crypto/certificate.h"
#include "common/crypto/certificate_builder.h"
#include "common/crypto/certificate_reader.h"
#include "common/crypto/certificate_request.h"
#include "common/crypto/chain_verifier.h"
#include "common/crypto/private_key.h"

namespace {

namespace crypto = certfleet::crypto;
using certfleet::bench::Fail;

// What the benchmarks read, made once in main().
struct Fixture {
  crypto::Certificate root;
  crypto::Certificate intermediate;
  crypto::Certificate leaf;
  std::string leaf_pem;
  std::string leaf_der;
  // Leaf, intermediate, root as one PEM file (what a CA's download holds).
  std::string chain_pem;
  std::string request_pem;
  absl::Time now;
};

std::optional<Fixture> fixture;

absl::StatusOr<crypto::Certificate> IssueAuthority(const crypto::DistinguishedName& subject,
                                                   const crypto::PrivateKey& key,
                                                   const std::optional<crypto::Certificate>& issuer,
                                                   const crypto::PrivateKey& issuer_key,
                                                   absl::Time now) {
  crypto::CertificateProfile profile;
  profile.subject = subject;
  profile.not_before = now - absl::Hours(24);
  profile.not_after = now + absl::Hours(24 * 365 * 10);
  profile.usage = crypto::CertificateUsage::kCertificateAuthority;
  return crypto::IssueCertificate(profile, key.public_key(), issuer, issuer_key);
}

absl::StatusOr<Fixture> MakeFixture() {
  const crypto::KeySpec rsa{crypto::KeyAlgorithm::kRsa, 2048};
  absl::StatusOr<crypto::PrivateKey> root_key = crypto::PrivateKey::Generate(rsa);
  if (!root_key.ok()) return root_key.status();
  absl::StatusOr<crypto::PrivateKey> intermediate_key = crypto::PrivateKey::Generate(rsa);
  if (!intermediate_key.ok()) return intermediate_key.status();
  absl::StatusOr<crypto::PrivateKey> leaf_key = crypto::PrivateKey::Generate(rsa);
  if (!leaf_key.ok()) return leaf_key.status();

  const absl::Time now = absl::Now();
  crypto::DistinguishedName root_name;
  root_name.common_name = "certfleet Bench Root CA";
  root_name.organization = "certfleet bench";
  root_name.country = "JP";
  crypto::DistinguishedName intermediate_name = root_name;
  intermediate_name.common_name = "certfleet Bench Issuing CA";
  absl::StatusOr<crypto::Certificate> root =
      IssueAuthority(root_name, *root_key, std::nullopt, *root_key, now);
  if (!root.ok()) return root.status();
  absl::StatusOr<crypto::Certificate> intermediate =
      IssueAuthority(intermediate_name, *intermediate_key, *root, *root_key, now);
  if (!intermediate.ok()) return intermediate.status();

  crypto::DistinguishedName leaf_name;
  leaf_name.common_name = "shop.example.com";
  leaf_name.organization = "Example Ltd";
  leaf_name.locality = "Chiyoda-ku";
  leaf_name.state = "Tokyo";
  leaf_name.country = "JP";
  const std::vector<std::string> dns_names = {"shop.example.com", "www.shop.example.com"};
  crypto::CertificateProfile leaf_profile;
  leaf_profile.subject = leaf_name;
  leaf_profile.alternative_names = {"DNS:shop.example.com", "DNS:www.shop.example.com"};
  leaf_profile.not_before = now - absl::Hours(24);
  leaf_profile.not_after = now + absl::Hours(24 * 397);
  absl::StatusOr<crypto::Certificate> leaf = crypto::IssueCertificate(
      leaf_profile, leaf_key->public_key(), *intermediate, *intermediate_key);
  if (!leaf.ok()) return leaf.status();
  absl::StatusOr<crypto::CertificateRequest> request =
      crypto::CertificateRequest::Create(*leaf_key, leaf_name, dns_names);
  if (!request.ok()) return request.status();

  return Fixture{.root = *root,
                 .intermediate = *intermediate,
                 .leaf = *leaf,
                 .leaf_pem = leaf->ToPem(),
                 .leaf_der = leaf->ToDer(),
                 .chain_pem = crypto::ToPemBundle({*leaf, *intermediate, *root}),
                 .request_pem = request->ToPem(),
                 .now = now};
}

// A bundle of `count` certificates cycling through leaf, intermediate, root.
std::vector<crypto::Certificate> Bundle(int count) {
  const std::vector<crypto::Certificate> chain = {fixture->leaf, fixture->intermediate,
                                                  fixture->root};
  std::vector<crypto::Certificate> bundle;
  for (int index = 0; index < count; ++index) bundle.push_back(chain[index % chain.size()]);
  return bundle;
}

// ReadSingleCertificate on a PEM leaf: a job's certificate, a MY store file,
// an agent's client certificate on every RPC.
void BM_ReadSingleCertificatePem(benchmark::State& state) {
  for (auto _ : state) {
    absl::StatusOr<crypto::Certificate> certificate =
        crypto::ReadSingleCertificate(fixture->leaf_pem);
    if (!certificate.ok()) return Fail(state, "ReadSingleCertificate", certificate.status());
    benchmark::DoNotOptimize(certificate);
  }
  state.SetBytesProcessed(state.iterations() * fixture->leaf_pem.size());
}
BENCHMARK(BM_ReadSingleCertificatePem);

// Certificate::FromDer: the agent's renewal executor reads its journal's DER.
void BM_CertificateFromDer(benchmark::State& state) {
  for (auto _ : state) {
    absl::StatusOr<crypto::Certificate> certificate =
        crypto::Certificate::FromDer(fixture->leaf_der);
    if (!certificate.ok()) return Fail(state, "Certificate::FromDer", certificate.status());
    benchmark::DoNotOptimize(certificate);
  }
  state.SetBytesProcessed(state.iterations() * fixture->leaf_der.size());
}
BENCHMARK(BM_CertificateFromDer);

// ReadCertificates on a PEM bundle of Arg certificates (an order's chain,
// an upload); items are certificates.
void BM_ReadCertificatesPemBundle(benchmark::State& state) {
  const std::string bundle = crypto::ToPemBundle(Bundle(static_cast<int>(state.range(0))));
  for (auto _ : state) {
    absl::StatusOr<crypto::CertificateFile> file = crypto::ReadCertificates(bundle);
    if (!file.ok()) return Fail(state, "ReadCertificates (PEM)", file.status());
    benchmark::DoNotOptimize(file);
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_ReadCertificatesPemBundle)->Arg(1)->Arg(3)->Arg(10)->Arg(100);

// ReadCertificates on a DER PKCS#7 bundle (.p7b) of Arg certificates.
void BM_ReadCertificatesPkcs7Bundle(benchmark::State& state) {
  absl::StatusOr<std::string> bundle = crypto::ToPkcs7Der(Bundle(static_cast<int>(state.range(0))));
  if (!bundle.ok()) return Fail(state, "ToPkcs7Der", bundle.status());
  for (auto _ : state) {
    absl::StatusOr<crypto::CertificateFile> file = crypto::ReadCertificates(*bundle);
    if (!file.ok()) return Fail(state, "ReadCertificates (PKCS#7)", file.status());
    benchmark::DoNotOptimize(file);
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_ReadCertificatesPkcs7Bundle)->Arg(3)->Arg(100);

// The SHA-1 thumbprint IIS binds by, on a parsed certificate.
void BM_Thumbprint(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(fixture->leaf.Thumbprint());
}
BENCHMARK(BM_Thumbprint);

// The SHA-256 fingerprint, on a parsed certificate.
void BM_Sha256Fingerprint(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(fixture->leaf.Sha256Fingerprint());
}
BENCHMARK(BM_Sha256Fingerprint);

// PEM to thumbprint: what the agent does for each file of a store it scans.
void BM_ReadPemAndThumbprint(benchmark::State& state) {
  for (auto _ : state) {
    absl::StatusOr<crypto::Certificate> certificate =
        crypto::ReadSingleCertificate(fixture->leaf_pem);
    if (!certificate.ok()) return Fail(state, "ReadSingleCertificate", certificate.status());
    benchmark::DoNotOptimize(certificate->Thumbprint());
  }
}
BENCHMARK(BM_ReadPemAndThumbprint);

// Every fact an inventory report carries about one certificate, the calls
// ToCertificateInfo makes (without building the protobuf).
void BM_InventoryFactsOfCertificate(benchmark::State& state) {
  const crypto::Certificate& certificate = fixture->leaf;
  for (auto _ : state) {
    benchmark::DoNotOptimize(certificate.Thumbprint());
    benchmark::DoNotOptimize(certificate.Sha256Fingerprint());
    benchmark::DoNotOptimize(certificate.SubjectText());
    benchmark::DoNotOptimize(certificate.Subject());
    benchmark::DoNotOptimize(certificate.IssuerText());
    benchmark::DoNotOptimize(certificate.Issuer());
    benchmark::DoNotOptimize(certificate.SerialHex());
    benchmark::DoNotOptimize(certificate.NotBefore());
    benchmark::DoNotOptimize(certificate.NotAfter());
    benchmark::DoNotOptimize(certificate.SubjectAlternativeNames());
    const crypto::PublicKey key = certificate.public_key();
    benchmark::DoNotOptimize(key.bits());
    benchmark::DoNotOptimize(certificate.SignatureAlgorithm());
    benchmark::DoNotOptimize(certificate.IsCertificateAuthority());
    benchmark::DoNotOptimize(certificate.PathLength());
    benchmark::DoNotOptimize(certificate.IsSelfIssued());
    benchmark::DoNotOptimize(key.Sha256Fingerprint());
    benchmark::DoNotOptimize(certificate.ToDer());
  }
}
BENCHMARK(BM_InventoryFactsOfCertificate);

// CertificateRequest::Parse on a PEM CSR (the controller, for every prepare
// job's result and every issuance).
void BM_ParseCertificateRequest(benchmark::State& state) {
  for (auto _ : state) {
    absl::StatusOr<crypto::CertificateRequest> request =
        crypto::CertificateRequest::Parse(fixture->request_pem);
    if (!request.ok()) return Fail(state, "CertificateRequest::Parse", request.status());
    benchmark::DoNotOptimize(request);
  }
}
BENCHMARK(BM_ParseCertificateRequest);

// Parse, check the signature and fingerprint the key of a CSR: the
// controller's whole check of a prepare job's CSR.
void BM_ParseAndVerifyCertificateRequest(benchmark::State& state) {
  for (auto _ : state) {
    absl::StatusOr<crypto::CertificateRequest> request =
        crypto::CertificateRequest::Parse(fixture->request_pem);
    if (!request.ok()) return Fail(state, "CertificateRequest::Parse", request.status());
    if (absl::Status status = request->VerifySignature(); !status.ok()) {
      return Fail(state, "VerifySignature", status);
    }
    benchmark::DoNotOptimize(request->public_key().Sha256Fingerprint());
  }
}
BENCHMARK(BM_ParseAndVerifyCertificateRequest);

// VerifyChain of the parsed leaf through the intermediate to the root (the
// agent's verify step after reading what the server sent).
void BM_VerifyChain(benchmark::State& state) {
  crypto::ChainVerificationOptions options;
  options.at = fixture->now;
  options.hostname = "shop.example.com";
  for (auto _ : state) {
    crypto::ChainVerification verification =
        crypto::VerifyChain(fixture->leaf, {fixture->intermediate}, {fixture->root}, options);
    if (!verification.ok()) return Fail(state, verification.reason);
    benchmark::DoNotOptimize(verification);
  }
}
BENCHMARK(BM_VerifyChain);

// From the PEM chain file to a verified chain: read, split, verify.
void BM_ReadAndVerifyChainPem(benchmark::State& state) {
  crypto::ChainVerificationOptions options;
  options.at = fixture->now;
  for (auto _ : state) {
    absl::StatusOr<crypto::CertificateFile> file = crypto::ReadCertificates(fixture->chain_pem);
    if (!file.ok()) return Fail(state, "ReadCertificates", file.status());
    const std::vector<crypto::Certificate>& certificates = file->certificates;
    crypto::ChainVerification verification =
        crypto::VerifyChain(certificates[0], {certificates[1]}, {certificates[2]}, options);
    if (!verification.ok()) return Fail(state, verification.reason);
    benchmark::DoNotOptimize(verification);
  }
}
BENCHMARK(BM_ReadAndVerifyChainPem);

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 2;
  absl::StatusOr<Fixture> made = MakeFixture();
  if (!made.ok()) {
    certfleet::bench::FailSetup(made.status().ToString());
    return 1;
  }
  fixture = *std::move(made);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return certfleet::bench::RunFailed() ? 1 : 0;
}
