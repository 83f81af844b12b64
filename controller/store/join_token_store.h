// One-time join tokens with which agents enroll. Only the SHA-256 of each
// secret is stored. Consuming a token is atomic: two enrollments racing with
// the same token cannot both succeed.
//
// Thread safety: implementations are thread-safe.

#ifndef CERTFLEET_CONTROLLER_STORE_JOIN_TOKEN_STORE_H_
#define CERTFLEET_CONTROLLER_STORE_JOIN_TOKEN_STORE_H_

#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "controller/store/records.h"

namespace certfleet::controller::store {

class JoinTokenStore {
 public:
  virtual ~JoinTokenStore() = default;

  // Stores a new token and returns it with its generated id. AlreadyExists
  // when a token with the same secret hash exists; InvalidArgument when the
  // hash is not 64 hex digits or expires_at is not after created_at.
  virtual absl::StatusOr<JoinTokenRecord> CreateJoinToken(const NewJoinToken& token) = 0;

  // The token with `token_id`. NotFound otherwise.
  virtual absl::StatusOr<JoinTokenRecord> GetJoinToken(std::string_view token_id) = 0;

  // Checks, without consuming it, that the token whose secret hashes to
  // `secret_sha256` could enroll `hostname` at `now`, and returns it. Errors
  // as ConsumeJoinToken.
  virtual absl::StatusOr<JoinTokenRecord> ValidateJoinToken(std::string_view secret_sha256,
                                                            std::string_view hostname,
                                                            absl::Time now) = 0;

  // Marks the token used by `hostname` (and `host_id`, which may be empty)
  // at `now`, in one transaction, and returns it. Errors: NotFound when no
  // token has this secret; FailedPrecondition when it was "already used"
  // (naming when and by which host), was "revoked", has "expired" (naming
  // when), or is "bound to host X" and `hostname` is another.
  virtual absl::StatusOr<JoinTokenRecord> ConsumeJoinToken(std::string_view secret_sha256,
                                                           std::string_view hostname,
                                                           std::string_view host_id,
                                                           absl::Time now) = 0;

  // Tokens matching `query`, newest first. InvalidArgument for a bad page
  // token.
  virtual absl::StatusOr<Page<JoinTokenRecord>> ListJoinTokens(const JoinTokenQuery& query) = 0;

  // Revokes an unused token. Revoking a revoked token returns it unchanged.
  // NotFound for an unknown id; FailedPrecondition when it was already used.
  virtual absl::StatusOr<JoinTokenRecord> RevokeJoinToken(std::string_view token_id,
                                                          absl::Time at) = 0;
};

}  // namespace certfleet::controller::store

#endif  // CERTFLEET_CONTROLLER_STORE_JOIN_TOKEN_STORE_H_
