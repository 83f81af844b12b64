#include "common/crypto/chain_verifier.h"

#include <arpa/inet.h>
#include <openssl/x509_vfy.h>

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"

namespace certfleet::crypto {
namespace {

std::string FormatUtc(absl::Time time) {
  return absl::FormatTime("%Y-%m-%d %H:%M:%S UTC", time, absl::UTCTimeZone());
}

// Names a certificate the way every reason sentence does: its subject in
// quotes, so that an operator can find it among the files they hold.
std::string Quoted(const Certificate& certificate) {
  return absl::StrCat("'", certificate.SubjectText(), "'");
}

std::string QuotedIssuer(const Certificate& certificate) {
  return absl::StrCat("'", certificate.IssuerText(), "'");
}

bool IsIpAddress(const std::string& text) {
  unsigned char address[sizeof(struct in6_addr)];
  return inet_pton(AF_INET, text.c_str(), address) == 1 ||
         inet_pton(AF_INET6, text.c_str(), address) == 1;
}

// OpenSSL marks a certificate EXFLAG_SS when it names itself as issuer and its
// key identifiers agree (the signature is checked later, in verification):
// enough to tell a root from a certificate whose issuer is missing.
bool IsSelfSigned(const Certificate& certificate) {
  return (X509_get_extension_flags(certificate.native_handle()) & EXFLAG_SS) != 0;
}

// Owns X509 references in an OpenSSL stack built from Certificate values.
X509StackHandle StackOf(const std::vector<Certificate>& certificates) {
  X509StackHandle stack(sk_X509_new_null());
  for (const Certificate& certificate : certificates) {
    X509_up_ref(certificate.native_handle());
    sk_X509_push(stack.get(), certificate.native_handle());
  }
  return stack;
}

std::vector<Certificate> ChainFrom(X509_STORE_CTX* context, const Certificate& leaf) {
  std::vector<Certificate> chain;
  X509StackHandle built(X509_STORE_CTX_get1_chain(context));
  if (built != nullptr) {
    for (int i = 0; i < sk_X509_num(built.get()); ++i) {
      chain.push_back(Certificate::FromNative(sk_X509_value(built.get(), i)));
    }
  }
  // OpenSSL always puts the leaf first; an empty chain only happens when the
  // verification could not even start, and the leaf is then all there is.
  if (chain.empty()) chain.push_back(leaf);
  return chain;
}

// When OpenSSL finds no issuer, it may be because the certificate that has the
// issuer's name is there but holds another key (a re-keyed or impostor CA):
// that is a wrong issuer, not a missing one, and deserves its own answer.
std::optional<Certificate> SameNameAsIssuer(const Certificate& certificate,
                                            const std::vector<Certificate>& intermediates,
                                            const std::vector<Certificate>& trusted_roots) {
  const std::string issuer = certificate.IssuerText();
  for (const std::vector<Certificate>* candidates : {&intermediates, &trusted_roots}) {
    for (const Certificate& candidate : *candidates) {
      if (candidate.SubjectText() == issuer && !(candidate == certificate)) return candidate;
    }
  }
  return std::nullopt;
}

std::string NamesOf(const Certificate& certificate) {
  std::vector<std::string> names = certificate.SubjectAlternativeNames();
  if (names.empty()) return "it has no subject alternative name";
  return absl::StrCat("it names ", absl::StrJoin(names, ", "));
}

struct Diagnosis {
  ChainProblem problem;
  std::string reason;
};

Diagnosis Diagnose(int error, const Certificate& concerned, const std::vector<Certificate>& chain,
                   const std::vector<Certificate>& intermediates,
                   const std::vector<Certificate>& trusted_roots,
                   const ChainVerificationOptions& options) {
  switch (error) {
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE: {
      if (IsSelfSigned(chain.back())) {
        return {ChainProblem::kUntrustedRoot,
                absl::StrCat("the chain ends in ", Quoted(chain.back()),
                             ", a root that is not among the trusted roots")};
      }
      if (std::optional<Certificate> impostor =
              SameNameAsIssuer(concerned, intermediates, trusted_roots)) {
        return {ChainProblem::kWrongIssuer,
                absl::StrCat(Quoted(concerned), " names ", QuotedIssuer(concerned),
                             " as its issuer, but the certificate of that name that was "
                             "provided (SHA-256 ",
                             impostor->Sha256Fingerprint(),
                             ") did not sign it: it was issued by another key of that CA or by "
                             "another CA")};
      }
      if (trusted_roots.empty()) {
        return {ChainProblem::kUntrustedRoot,
                absl::StrCat("no trusted roots were given, so the chain of ", Quoted(chain.front()),
                             " stops at ", Quoted(concerned), " whose issuer ",
                             QuotedIssuer(concerned), " is not trusted")};
      }
      return {ChainProblem::kMissingIntermediate,
              absl::StrCat("the issuer of ", Quoted(concerned), " (", QuotedIssuer(concerned),
                           ") was not provided: the chain is missing an intermediate")};
    }
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
      return {
          ChainProblem::kUntrustedRoot,
          absl::StrCat(Quoted(concerned), " is self-signed and is not among the trusted roots")};
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_CERT_UNTRUSTED:
    case X509_V_ERR_CERT_REJECTED:
      return {ChainProblem::kUntrustedRoot,
              absl::StrCat("the chain ends in ", Quoted(chain.back()),
                           ", a root that is not among the trusted roots")};
    case X509_V_ERR_CERT_HAS_EXPIRED:
      return {ChainProblem::kExpired,
              absl::StrCat(Quoted(concerned), " expired on ", FormatUtc(concerned.NotAfter()),
                           " (checked at ", FormatUtc(options.at), ")")};
    case X509_V_ERR_CERT_NOT_YET_VALID:
      return {
          ChainProblem::kNotYetValid,
          absl::StrCat(Quoted(concerned), " is not valid before ", FormatUtc(concerned.NotBefore()),
                       " (checked at ", FormatUtc(options.at), ")")};
    case X509_V_ERR_CERT_SIGNATURE_FAILURE:
    case X509_V_ERR_UNABLE_TO_DECRYPT_CERT_SIGNATURE:
    case X509_V_ERR_UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY:
    case X509_V_ERR_NO_ISSUER_PUBLIC_KEY:
    case X509_V_ERR_SUBJECT_ISSUER_MISMATCH:
    case X509_V_ERR_AKID_SKID_MISMATCH:
    case X509_V_ERR_AKID_ISSUER_SERIAL_MISMATCH:
    case X509_V_ERR_SIGNATURE_ALGORITHM_MISMATCH:
      return {ChainProblem::kWrongIssuer,
              absl::StrCat("the signature on ", Quoted(concerned), " does not verify with ",
                           QuotedIssuer(concerned), " in the chain: it was issued by another CA (",
                           X509_verify_cert_error_string(error), ")")};
    case X509_V_ERR_INVALID_CA:
    case X509_V_ERR_INVALID_NON_CA:
    case X509_V_ERR_PATH_LENGTH_EXCEEDED:
    case X509_V_ERR_INVALID_PURPOSE:
    case X509_V_ERR_KEYUSAGE_NO_CERTSIGN:
      return {ChainProblem::kInvalidCa,
              absl::StrCat(Quoted(concerned), " cannot act as a CA at its place in the chain (",
                           X509_verify_cert_error_string(error), ")")};
    case X509_V_ERR_HOSTNAME_MISMATCH:
    case X509_V_ERR_IP_ADDRESS_MISMATCH:
      return {ChainProblem::kHostnameMismatch,
              absl::StrCat(Quoted(chain.front()), " is not valid for '",
                           options.hostname.value_or(""), "' (", NamesOf(chain.front()), ")")};
    default:
      return {ChainProblem::kOther, absl::StrCat(Quoted(concerned), " could not be verified: ",
                                                 X509_verify_cert_error_string(error))};
  }
}

ChainVerification Failure(ChainProblem problem, std::string reason, const Certificate& leaf) {
  ChainVerification verification;
  verification.problem = problem;
  verification.reason = std::move(reason);
  verification.chain.push_back(leaf);
  return verification;
}

}  // namespace

std::string ChainProblemName(ChainProblem problem) {
  switch (problem) {
    case ChainProblem::kNone:
      return "none";
    case ChainProblem::kMissingIntermediate:
      return "missing_intermediate";
    case ChainProblem::kExpired:
      return "expired";
    case ChainProblem::kNotYetValid:
      return "not_yet_valid";
    case ChainProblem::kUntrustedRoot:
      return "untrusted_root";
    case ChainProblem::kWrongIssuer:
      return "wrong_issuer";
    case ChainProblem::kInvalidCa:
      return "invalid_ca";
    case ChainProblem::kHostnameMismatch:
      return "hostname_mismatch";
    case ChainProblem::kOther:
      return "other";
  }
  return "other";
}

ChainVerification VerifyChain(const Certificate& leaf,
                              const std::vector<Certificate>& intermediates,
                              const std::vector<Certificate>& trusted_roots,
                              const ChainVerificationOptions& options) {
  // The store holds the given roots and nothing else: no default paths, so
  // the answer never depends on the machine's trust store.
  X509StoreHandle store(X509_STORE_new());
  for (const Certificate& root : trusted_roots) {
    if (X509_STORE_add_cert(store.get(), root.native_handle()) != 1) {
      return Failure(
          ChainProblem::kOther,
          absl::StrCat("the trusted root ", Quoted(root), " was refused: ", TakeOpenSslErrors()),
          leaf);
    }
  }
  X509StackHandle untrusted = StackOf(intermediates);
  X509StoreContextHandle context(X509_STORE_CTX_new());
  if (context == nullptr ||
      X509_STORE_CTX_init(context.get(), store.get(), leaf.native_handle(), untrusted.get()) != 1) {
    return Failure(ChainProblem::kOther,
                   absl::StrCat("cannot start verifying: ", TakeOpenSslErrors()), leaf);
  }

  X509_VERIFY_PARAM* parameters = X509_STORE_CTX_get0_param(context.get());
  // set_time also turns on X509_V_FLAG_USE_CHECK_TIME.
  X509_VERIFY_PARAM_set_time(parameters, absl::ToTimeT(options.at));
  if (options.hostname.has_value()) {
    const std::string& hostname = *options.hostname;
    const int set = IsIpAddress(hostname)
                        ? X509_VERIFY_PARAM_set1_ip_asc(parameters, hostname.c_str())
                        : X509_VERIFY_PARAM_set1_host(parameters, hostname.data(), hostname.size());
    if (set != 1) {
      return Failure(ChainProblem::kOther,
                     absl::StrCat("'", hostname,
                                  "' is not a usable host name or address: ", TakeOpenSslErrors()),
                     leaf);
    }
  }

  ClearOpenSslErrors();
  const int verified = X509_verify_cert(context.get());
  ChainVerification verification;
  verification.chain = ChainFrom(context.get(), leaf);
  if (verified == 1) return verification;

  const int error = X509_STORE_CTX_get_error(context.get());
  if (error == X509_V_OK) {
    // A negative result without a verification error is an internal failure
    // (memory, a broken store), not a property of the chain.
    verification.problem = ChainProblem::kOther;
    verification.reason =
        absl::StrCat("verification of ", Quoted(leaf), " could not run: ", TakeOpenSslErrors());
    return verification;
  }
  X509* current = X509_STORE_CTX_get_current_cert(context.get());
  const Certificate concerned = current != nullptr ? Certificate::FromNative(current) : leaf;
  Diagnosis diagnosis =
      Diagnose(error, concerned, verification.chain, intermediates, trusted_roots, options);
  ClearOpenSslErrors();
  verification.problem = diagnosis.problem;
  verification.reason = std::move(diagnosis.reason);
  return verification;
}

}  // namespace certfleet::crypto
