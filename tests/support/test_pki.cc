#include "tests/support/test_pki.h"

#include <stdexcept>

#include "common/crypto/certificate_builder.h"

namespace certfleet::testing {
namespace {

template <typename T>
T ValueOrDie(absl::StatusOr<T> value) {
  if (!value.ok()) throw std::runtime_error("test PKI: " + value.status().ToString());
  return *std::move(value);
}

crypto::PrivateKey NewKey(crypto::KeyAlgorithm algorithm) {
  crypto::KeySpec spec;
  spec.algorithm = algorithm;
  spec.bits = algorithm == crypto::KeyAlgorithm::kRsa ? 2048 : 256;
  return ValueOrDie(crypto::PrivateKey::Generate(spec));
}

Issued MakeRoot(const std::string& common_name, absl::Time now) {
  crypto::PrivateKey key = NewKey(crypto::KeyAlgorithm::kEcdsa);
  crypto::CertificateProfile profile;
  profile.subject.common_name = common_name;
  profile.subject.organization = "certfleet tests";
  profile.not_before = now - absl::Hours(24 * 365);
  profile.not_after = now + absl::Hours(24 * 3650);
  profile.usage = crypto::CertificateUsage::kCertificateAuthority;
  crypto::Certificate certificate =
      ValueOrDie(crypto::IssueCertificate(profile, key.public_key(), std::nullopt, key));
  return Issued{certificate, key};
}

Issued MakeChild(const Issued& issuer, const std::string& common_name, absl::Time not_before,
                 absl::Time not_after, crypto::CertificateUsage usage,
                 crypto::KeyAlgorithm algorithm = crypto::KeyAlgorithm::kEcdsa) {
  crypto::PrivateKey key = NewKey(algorithm);
  crypto::CertificateProfile profile;
  profile.subject.common_name = common_name;
  profile.subject.organization = "certfleet tests";
  profile.not_before = not_before;
  profile.not_after = not_after;
  profile.usage = usage;
  if (usage == crypto::CertificateUsage::kCertificateAuthority) {
    profile.path_length = 0;
  } else {
    profile.alternative_names = {"DNS:" + common_name};
  }
  crypto::Certificate certificate = ValueOrDie(
      crypto::IssueCertificate(profile, key.public_key(), issuer.certificate, issuer.key));
  return Issued{certificate, key};
}

absl::Duration Days(int days) { return absl::Hours(24 * days); }

}  // namespace

const TestPki& TestPki::Shared() {
  static const TestPki* pki = [] {
    const absl::Time now = absl::FromUnixSeconds(absl::ToUnixSeconds(absl::Now()));
    const auto kCa = crypto::CertificateUsage::kCertificateAuthority;
    const auto kServer = crypto::CertificateUsage::kTlsServer;
    Issued root = MakeRoot("certfleet Test Root CA", now);
    Issued intermediate = MakeChild(root, "certfleet Test Intermediate CA", now - Days(300),
                                    now + Days(3000), kCa);
    Issued other_root = MakeRoot("Unrelated Root CA", now);
    return new TestPki{
        .now = now,
        .root = root,
        .intermediate = intermediate,
        .leaf = MakeChild(intermediate, "www.example.test", now - Days(10), now + Days(80),
                          kServer),
        .rsa_leaf = MakeChild(intermediate, "shop.example.test", now - Days(10), now + Days(80),
                              kServer, crypto::KeyAlgorithm::kRsa),
        .expired_leaf = MakeChild(intermediate, "old.example.test", now - Days(400),
                                  now - Days(35), kServer),
        .future_leaf = MakeChild(intermediate, "future.example.test", now + Days(10),
                                 now + Days(100), kServer),
        .other_root = other_root,
        .other_leaf = MakeChild(other_root, "www.example.test", now - Days(1), now + Days(90),
                                kServer),
    };
  }();
  return *pki;
}

Issued TestPki::IssueLeaf(const std::string& common_name, int days) const {
  return MakeChild(intermediate, common_name, now - Days(1), now + Days(days),
                   crypto::CertificateUsage::kTlsServer);
}

}  // namespace certfleet::testing
