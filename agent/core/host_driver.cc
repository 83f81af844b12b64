#include "agent/core/host_driver.h"

namespace certfleet::agent {

std::string_view StoreName(CertificateStore store) {
  switch (store) {
    case CertificateStore::kPersonal:
      return "MY";
    case CertificateStore::kIntermediate:
      return "CA";
    case CertificateStore::kRoot:
      return "ROOT";
    case CertificateStore::kRequest:
      return "REQUEST";
  }
  return "UNKNOWN";
}

}  // namespace certfleet::agent
