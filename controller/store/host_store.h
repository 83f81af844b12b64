// Hosts of the fleet and their agents: enrollment, identity, presence
// (online/offline, last seen), labels, decommissioning.
//
// Thread safety: implementations are thread-safe.

#ifndef CERTFLEET_CONTROLLER_STORE_HOST_STORE_H_
#define CERTFLEET_CONTROLLER_STORE_HOST_STORE_H_

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "controller/store/records.h"

namespace certfleet::controller::store {

class HostStore {
 public:
  virtual ~HostStore() = default;

  // Enrolls a host, atomically: consumes the join token whose secret hashes
  // to enrollment.join_token_secret_sha256 and creates the host with the
  // token's labels merged over the agent's. When the host name belongs to a
  // decommissioned host, that host is enrolled again with its history (its
  // id must then be enrollment.host_id). If anything fails the token stays
  // unused. Errors: the token errors of JoinTokenStore::ConsumeJoinToken;
  // AlreadyExists when an active host has the name; FailedPrecondition when
  // the name belongs to a decommissioned host with another id (naming it);
  // InvalidArgument for an empty name or a malformed host id.
  virtual absl::StatusOr<HostRecord> EnrollHost(const HostEnrollment& enrollment) = 0;

  // The host with `host_id`, decommissioned or not. NotFound otherwise.
  virtual absl::StatusOr<HostRecord> GetHost(std::string_view host_id) = 0;

  // The host named `hostname` (case-insensitive). NotFound otherwise.
  virtual absl::StatusOr<HostRecord> GetHostByName(std::string_view hostname) = 0;

  // Hosts matching `query`, by host name. InvalidArgument for a bad page
  // token.
  virtual absl::StatusOr<Page<HostRecord>> ListHosts(const HostQuery& query) = 0;

  // Records that the host's agent was heard from at `seen_at`: marks it
  // online and moves last_seen_at forward (never back). NotFound for an
  // unknown host, FailedPrecondition for a decommissioned one.
  virtual absl::Status RecordHeartbeat(std::string_view host_id, absl::Time seen_at) = 0;

  // RecordHeartbeat for many hosts in one transaction (a heartbeat flush).
  // Unknown and decommissioned hosts are skipped. Returns how many hosts
  // were updated.
  virtual absl::StatusOr<int64_t> RecordHeartbeats(
      const std::vector<HostHeartbeat>& heartbeats) = 0;

  // Marks the host online (its stream opened; last_seen_at moves to `at`) or
  // offline (its stream closed; last_seen_at is kept). NotFound for an
  // unknown host.
  virtual absl::Status SetPresence(std::string_view host_id, Presence presence, absl::Time at) = 0;

  // Marks offline every online host last seen before `cutoff` and returns
  // their ids. With absl::InfiniteFuture() it marks every host offline (at
  // controller start, when no agent is connected yet).
  virtual absl::StatusOr<std::vector<std::string>> MarkOfflineSeenBefore(absl::Time cutoff) = 0;

  // Stores what the agent said about itself in a Hello and marks it seen at
  // `seen_at`. NotFound for an unknown host.
  virtual absl::StatusOr<HostRecord> UpdateAgentDescription(std::string_view host_id,
                                                            const AgentDescription& description,
                                                            absl::Time seen_at) = 0;

  // Replaces the agent identity after a renewal. NotFound for an unknown
  // host, FailedPrecondition for a decommissioned one.
  virtual absl::StatusOr<HostRecord> UpdateIdentity(std::string_view host_id,
                                                    const AgentIdentityRecord& identity) = 0;

  // Replaces the host's labels. NotFound for an unknown host.
  virtual absl::StatusOr<HostRecord> SetLabels(
      std::string_view host_id, const std::map<std::string, std::string>& labels) = 0;

  // Decommissions the host, atomically with its work: it goes offline, its
  // queued jobs are cancelled, its running jobs get a cancellation request
  // and its open orders are cancelled (history entry with `reason`). Its
  // inventory and history are kept. Decommissioning again returns the host
  // unchanged. NotFound for an unknown host.
  virtual absl::StatusOr<HostRecord> DecommissionHost(std::string_view host_id,
                                                      std::string_view reason, absl::Time at) = 0;
};

}  // namespace certfleet::controller::store

#endif  // CERTFLEET_CONTROLLER_STORE_HOST_STORE_H_
