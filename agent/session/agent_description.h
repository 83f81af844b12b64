// What the agent tells the controller about itself and its host at
// enrollment and in every Hello: its version, the platform its driver runs,
// and the platform's limits (IIS 6: RSA keys only, no SNI, TLS 1.0, legacy
// 3DES PFX backups).
//
// Thread safety: functions without shared state.

#ifndef CERTFLEET_AGENT_SESSION_AGENT_DESCRIPTION_H_
#define CERTFLEET_AGENT_SESSION_AGENT_DESCRIPTION_H_

#include <string>

#include "agent/core/host_driver.h"
#include "certfleet/v1/common.pb.h"

namespace certfleet::agent::session {

// The agent's semantic version.
inline constexpr char kAgentVersion[] = "0.1.0";

// The platform `driver` manages: driver name, web server, and the operating
// system the agent runs on (uname).
certfleet::v1::Platform DescribePlatform(const HostDriver& driver);

// The limits of `driver`'s platform.
certfleet::v1::HostCapabilities DescribeCapabilities(const HostDriver& driver);

}  // namespace certfleet::agent::session

#endif  // CERTFLEET_AGENT_SESSION_AGENT_DESCRIPTION_H_
