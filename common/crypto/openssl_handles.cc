#include "common/crypto/openssl_handles.h"

#include <openssl/err.h>

namespace certfleet::crypto {

BioHandle MemoryBioFor(std::string_view bytes) {
  return BioHandle(BIO_new_mem_buf(bytes.data(), static_cast<int>(bytes.size())));
}

std::string ReadMemoryBio(BIO* bio) {
  char* data = nullptr;
  long length = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<size_t>(length));
}

std::string TakeOpenSslErrors() {
  std::string message;
  unsigned long code = 0;
  while ((code = ERR_get_error()) != 0) {
    char buffer[256];
    ERR_error_string_n(code, buffer, sizeof(buffer));
    if (!message.empty()) message += "; ";
    message += buffer;
  }
  return message.empty() ? "no detail from OpenSSL" : message;
}

void ClearOpenSslErrors() { ERR_clear_error(); }

}  // namespace certfleet::crypto
