// Owning handles for OpenSSL objects, and the one place that turns OpenSSL's
// error queue into a readable message.
//
// These are for code inside common/ only: the public classes of the toolkit
// (Certificate, PrivateKey, CertificateRequest, ...) hold these handles and
// never hand a raw OpenSSL pointer to callers outside common/.
//
// Thread safety: a handle is an ordinary unique_ptr; OpenSSL objects that are
// only read may be shared between threads once built.

#ifndef CERTFLEET_COMMON_CRYPTO_OPENSSL_HANDLES_H_
#define CERTFLEET_COMMON_CRYPTO_OPENSSL_HANDLES_H_

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pkcs12.h>
#include <openssl/pkcs7.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>
#include <string>
#include <string_view>

namespace certfleet::crypto {

template <auto FreeFunction>
struct OpenSslDeleter {
  template <typename T>
  void operator()(T* object) const {
    FreeFunction(object);
  }
};

using BioHandle = std::unique_ptr<BIO, OpenSslDeleter<BIO_free_all>>;
using X509Handle = std::unique_ptr<X509, OpenSslDeleter<X509_free>>;
using X509RequestHandle = std::unique_ptr<X509_REQ, OpenSslDeleter<X509_REQ_free>>;
using X509NameHandle = std::unique_ptr<X509_NAME, OpenSslDeleter<X509_NAME_free>>;
using X509StoreHandle = std::unique_ptr<X509_STORE, OpenSslDeleter<X509_STORE_free>>;
using X509StoreContextHandle =
    std::unique_ptr<X509_STORE_CTX, OpenSslDeleter<X509_STORE_CTX_free>>;
using X509ExtensionHandle = std::unique_ptr<X509_EXTENSION, OpenSslDeleter<X509_EXTENSION_free>>;
using EvpPkeyHandle = std::unique_ptr<EVP_PKEY, OpenSslDeleter<EVP_PKEY_free>>;
using EvpPkeyContextHandle = std::unique_ptr<EVP_PKEY_CTX, OpenSslDeleter<EVP_PKEY_CTX_free>>;
using EvpMdContextHandle = std::unique_ptr<EVP_MD_CTX, OpenSslDeleter<EVP_MD_CTX_free>>;
using Pkcs7Handle = std::unique_ptr<PKCS7, OpenSslDeleter<PKCS7_free>>;
using Pkcs12Handle = std::unique_ptr<PKCS12, OpenSslDeleter<PKCS12_free>>;
using GeneralNamesHandle = std::unique_ptr<GENERAL_NAMES, OpenSslDeleter<GENERAL_NAMES_free>>;
using Asn1IntegerHandle = std::unique_ptr<ASN1_INTEGER, OpenSslDeleter<ASN1_INTEGER_free>>;
using BignumHandle = std::unique_ptr<BIGNUM, OpenSslDeleter<BN_free>>;
using SslContextHandle = std::unique_ptr<SSL_CTX, OpenSslDeleter<SSL_CTX_free>>;
using SslHandle = std::unique_ptr<SSL, OpenSslDeleter<SSL_free>>;

struct X509StackDeleter {
  void operator()(STACK_OF(X509) * stack) const { sk_X509_pop_free(stack, X509_free); }
};
using X509StackHandle = std::unique_ptr<STACK_OF(X509), X509StackDeleter>;

// Returns a read-only memory BIO over `bytes`; the bytes must outlive it.
BioHandle MemoryBioFor(std::string_view bytes);

// Returns everything written into a memory BIO so far.
std::string ReadMemoryBio(BIO* bio);

// Drains OpenSSL's thread-local error queue and returns its entries joined by
// "; ", or "no detail from OpenSSL" when it is empty. Call it right after the
// failing OpenSSL call so that the message belongs to that failure.
std::string TakeOpenSslErrors();

// Clears OpenSSL's thread-local error queue (before a call whose failure is
// expected and handled, so that stale entries do not leak into later errors).
void ClearOpenSslErrors();

}  // namespace certfleet::crypto

#endif  // CERTFLEET_COMMON_CRYPTO_OPENSSL_HANDLES_H_
