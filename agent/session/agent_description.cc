#include "agent/session/agent_description.h"

#include <sys/utsname.h>

namespace certfleet::agent::session {

namespace v1 = certfleet::v1;

v1::Platform DescribePlatform(const HostDriver& driver) {
  v1::Platform platform;
  platform.set_driver(driver.Platform());
  if (driver.Platform() == "iis6") platform.set_web_server("IIS 6.0 (emulated)");
  struct utsname name {};
  if (uname(&name) == 0) {
    platform.set_operating_system(name.sysname);
    platform.set_operating_system_version(name.release);
  }
  return platform;
}

v1::HostCapabilities DescribeCapabilities(const HostDriver& driver) {
  v1::HostCapabilities capabilities;
  capabilities.add_supported_key_specs(v1::KEY_SPEC_RSA_2048);
  capabilities.add_supported_key_specs(v1::KEY_SPEC_RSA_3072);
  capabilities.add_supported_key_specs(v1::KEY_SPEC_RSA_4096);
  capabilities.add_supported_signature_hashes(v1::SIGNATURE_HASH_SHA1);
  capabilities.add_supported_signature_hashes(v1::SIGNATURE_HASH_SHA256);
  if (driver.Platform() == "iis6") {
    capabilities.set_supports_server_name_indication(false);
    capabilities.set_maximum_tls_version("TLS1.0");
    capabilities.set_default_backup_encryption(v1::PFX_ENCRYPTION_LEGACY_3DES);
  }
  return capabilities;
}

}  // namespace certfleet::agent::session
