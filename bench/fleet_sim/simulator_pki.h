// The simulator's own certificates: a root CA ("Sim Fleet Root CA") that
// signs the certificates the simulated IIS sites start with, and a pool of
// RSA-2048 keys that stands in for the keys a real host would generate (for
// those starting certificates and for every CSR a prepare job makes).
// Generating an RSA key takes tens of milliseconds; a pool of a few dozen,
// made once and cached, lets ten thousand hosts answer prepares without
// that cost, at the price of hosts sharing keys (see docs/fleet-sim.md).
//
// Kept in DIR/ca.crt, DIR/ca.key and DIR/key-pool/NNNN.key (mode 0600), so
// that a second run reuses them.
//
// Thread safety: immutable after LoadOrCreate; IssueLeaf may be called from
// any thread.

#ifndef CERTFLEET_BENCH_FLEET_SIM_SIMULATOR_PKI_H_
#define CERTFLEET_BENCH_FLEET_SIM_SIMULATOR_PKI_H_

#include <cstddef>
#include <filesystem>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/crypto/certificate.h"
#include "common/crypto/private_key.h"

namespace certfleet::bench {

class SimulatorPki {
 public:
  // The CA and `pool_size` keys from `directory`, making (and writing) what
  // is missing. Errors: the I/O error naming the file, or a damaged file.
  static absl::StatusOr<SimulatorPki> LoadOrCreate(const std::filesystem::path& directory,
                                                   int pool_size);

  const crypto::Certificate& ca_certificate() const { return ca_certificate_; }
  size_t pool_size() const { return key_pool_.size(); }

  // Key `index` modulo the pool size.
  const crypto::PrivateKey& PoolKey(size_t index) const {
    return key_pool_[index % key_pool_.size()];
  }

  // A TLS server certificate for `common_name` (also its DNS name), O=Sim
  // Fleet, SHA-256, for pool key `key_index`, signed by the CA.
  absl::StatusOr<crypto::Certificate> IssueLeaf(const std::string& common_name, size_t key_index,
                                                absl::Time not_before, absl::Time not_after) const;

 private:
  SimulatorPki(crypto::Certificate ca_certificate, crypto::PrivateKey ca_key,
               std::vector<crypto::PrivateKey> key_pool)
      : ca_certificate_(std::move(ca_certificate)),
        ca_key_(std::move(ca_key)),
        key_pool_(std::move(key_pool)) {}

  crypto::Certificate ca_certificate_;
  crypto::PrivateKey ca_key_;
  std::vector<crypto::PrivateKey> key_pool_;
};

}  // namespace certfleet::bench

#endif  // CERTFLEET_BENCH_FLEET_SIM_SIMULATOR_PKI_H_
