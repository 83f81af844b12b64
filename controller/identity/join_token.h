// Join tokens: the one-time secrets with which an agent first enrolls. Only
// a hash of each secret is stored, so a copy of the database does not let
// anyone enroll a host.
//
// Thread safety: free functions without shared state.

#ifndef CERTFLEET_CONTROLLER_IDENTITY_JOIN_TOKEN_H_
#define CERTFLEET_CONTROLLER_IDENTITY_JOIN_TOKEN_H_

#include <string>
#include <string_view>

namespace certfleet::controller {

// A fresh secret: "cfjoin_" followed by 43 URL-safe base64 characters (256
// random bits), easy to paste into a config file or a command line.
std::string GenerateJoinTokenSecret();

// The stored form of a secret: SHA-256 as 64 lower-case hex digits.
std::string HashJoinTokenSecret(std::string_view secret);

// True when `text` has the shape of a secret made by GenerateJoinTokenSecret
// (used to give a clear error before any lookup).
bool LooksLikeJoinTokenSecret(std::string_view text);

}  // namespace certfleet::controller

#endif  // CERTFLEET_CONTROLLER_IDENTITY_JOIN_TOKEN_H_
