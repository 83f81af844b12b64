// The CA product catalogue of IIS6.md ("Operator inputs"): which intermediate
// and root files go with a certificate bought as a given product, with the
// date rules that choose between them, and the facts about roots worth
// showing (AddTrust External CA Root expired on 2020-05-30). The table is
// data, not code: controller/issuance/ca_products.json, compiled into the
// library (Builtin) and replaceable by an operator's own file (Load).
//
// Also here: completing a certificate's chain by issuer links from what the
// file carried plus the configured bundle (certificate_bundle.h), with
// warnings for an expired root, an expiring or expired intermediate, a
// missing intermediate and weak signatures.
//
// Thread safety: CaProductCatalogue is immutable after construction; const
// methods and CompleteChain may be called from several threads at once.

#ifndef CERTFLEET_CONTROLLER_ISSUANCE_CA_PRODUCT_CATALOGUE_H_
#define CERTFLEET_CONTROLLER_ISSUANCE_CA_PRODUCT_CATALOGUE_H_

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/crypto/certificate.h"
#include "controller/issuance/certificate_bundle.h"
#include "controller/issuance/chain_warning.h"

namespace certfleet::controller {

// What a rule's dates are compared with. Both read the leaf's notBefore,
// which X.509 uses for the issue date and the start of validity alike; the
// basis only changes how the rule is described.
enum class DateBasis {
  kNone,           // The rule applies to every certificate of the product.
  kIssueDate,      // "issued up to 2010-05-26" (Enterprise EV SSL).
  kValidityStart,  // "validity starts before 2010-07-11" (Enterprise SSL for mobile).
};

struct ChainRule {
  DateBasis basis = DateBasis::kNone;
  // The leaf's notBefore must be in [applies_from, applies_until); an unset
  // bound is open.
  std::optional<absl::Time> applies_from = {};
  std::optional<absl::Time> applies_until = {};
  // The rule in words, e.g. "issued from 2010-05-27".
  std::string description = {};
  // Intermediate files as the vendor publishes them, nearest to the leaf
  // first ("CrossTrustOVCA3.crt", "COMODO_EV_SSL.p7b").
  std::vector<std::string> intermediate_file_names = {};
  // The root file ("SecurityCommunicationRootCA2.crt").
  std::string root_file_name = {};
  // The vendor's table does not name this rule's files: an operator fills
  // them in their own catalogue file; until then Resolve refuses the rule
  // and chains come from the bundle alone.
  bool file_names_configurable = false;

  // True when a leaf whose notBefore is `not_before` falls under this rule.
  bool AppliesTo(absl::Time not_before) const;
};

// What is known about a root the catalogue names.
struct RootFacts {
  std::string file_name = {};
  // The root's name as people know it ("AddTrust External CA Root").
  std::string name = {};
  std::optional<absl::Time> valid_from = {};
  // A date-only value means the start of that day (UTC): warnings start on
  // the day itself.
  std::optional<absl::Time> valid_until = {};
};

struct CaProduct {
  // Unique, as the vendor sells it ("Enterprise SSL (SHA-256)").
  std::string name = {};
  // For display; empty when the table does not say.
  std::string vendor = {};
  // "sha1", "sha256", or empty when the table does not say.
  std::string signature_hash = {};
  // Exactly one applies to a given leaf (rules of a product never overlap).
  std::vector<ChainRule> rules = {};
  // Facts for users ("AddTrust External CA Root expired on 2020-05-30").
  std::vector<std::string> notes = {};
};

// The files a given leaf of a product chains through.
struct ChainResolution {
  std::string product = {};
  ChainRule rule = {};
  // Copies of rule's file names, for convenience.
  std::vector<std::string> intermediate_file_names = {};
  std::string root_file_name = {};
  // The catalogue's facts about the root, when it has any.
  std::optional<RootFacts> root = {};
  // From the catalogue's facts, as of the time given (an expired root).
  std::vector<ChainWarning> warnings = {};
  // Advice that is not a chain problem (a leaf issued within a day of a date
  // rule's boundary).
  std::vector<std::string> notes = {};
};

class CaProductCatalogue {
 public:
  // The catalogue compiled from controller/issuance/ca_products.json.
  // Returns Internal when the compiled data does not parse (a build defect).
  static absl::StatusOr<CaProductCatalogue> Builtin();

  // Parses catalogue JSON (format in docs/issuance.md). `source` names the
  // data in messages. Returns InvalidArgument naming the source, product and
  // rule for malformed JSON, unknown keys, missing fields, a date that is not
  // YYYY-MM-DD or RFC 3339, duplicate product names, overlapping rules, or a
  // rule without files that is not marked configurable.
  static absl::StatusOr<CaProductCatalogue> Parse(std::string_view json, std::string_view source);

  // Reads and parses an operator's catalogue file. NotFound / PermissionDenied
  // when it cannot be read; InvalidArgument as for Parse.
  static absl::StatusOr<CaProductCatalogue> Load(const std::filesystem::path& path);

  // Every product, in file order.
  const std::vector<CaProduct>& products() const { return products_; }
  const std::vector<RootFacts>& roots() const { return roots_; }

  // The product called `name` (case-insensitive). NotFound listing the known
  // products otherwise.
  absl::StatusOr<CaProduct> Find(std::string_view name) const;

  // The facts about the root file `file_name`, when the catalogue has any.
  std::optional<RootFacts> FindRoot(std::string_view file_name) const;

  // Warnings about `rule`'s files as of `now` (from the root facts: a root
  // past its valid_until). For listings.
  std::vector<ChainWarning> WarningsFor(const ChainRule& rule, absl::Time now) const;

  // Which intermediate and root files go with `leaf` bought as `product`,
  // with the rule that applied. Returns NotFound for an unknown product;
  // FailedPrecondition when no rule covers the leaf's notBefore, or when the
  // rule's file names are not configured (naming the rule's period and what
  // to configure).
  absl::StatusOr<ChainResolution> Resolve(std::string_view product, const crypto::Certificate& leaf,
                                          absl::Time now) const;

 private:
  CaProductCatalogue(std::vector<CaProduct> products, std::vector<RootFacts> roots)
      : products_(std::move(products)), roots_(std::move(roots)) {}

  std::vector<CaProduct> products_;
  std::vector<RootFacts> roots_;
};

// The certificates of `bundle` that the resolution names (its intermediates
// and root files), e.g. to tell an upload from another issuer apart.
std::vector<crypto::Certificate> CertificatesNamedBy(const ChainResolution& resolution,
                                                     const CertificateBundle& bundle);

struct ChainCompletionOptions {
  // Expiry warnings are judged at this time.
  absl::Time now = absl::Now();
  // What the catalogue expects, so that a missing certificate is named by its
  // file; nullptr when the order has no CA product.
  const ChainResolution* expected = nullptr;
};

struct ChainCompletion {
  // Nearest to the leaf first; the root last when one was found. The leaf
  // itself is not included. Certificates of the provided chain that are not
  // on the leaf's path are left out.
  std::vector<crypto::Certificate> chain = {};
  // The chain reaches a self-signed root.
  bool complete = false;
  std::vector<ChainWarning> warnings = {};
};

// Builds `leaf`'s chain by issuer links (subject name and signature), taking
// certificates from `provided_chain` (what came with the leaf) and `bundle`.
// When several certificates could issue a link (a cross-signed CA), prefers
// one valid at options.now, then one from provided_chain, then a
// self-signed root. Warns when the chain ends in an expired root (or one
// expiring before the leaf), an intermediate has expired (or expires before
// the leaf), an issuer is missing (naming it, and the catalogue's file when
// known), or a certificate other than the root is signed with SHA-1 or MD5.
ChainCompletion CompleteChain(const crypto::Certificate& leaf,
                              const std::vector<crypto::Certificate>& provided_chain,
                              const CertificateBundle& bundle,
                              const ChainCompletionOptions& options = {});

}  // namespace certfleet::controller

#endif  // CERTFLEET_CONTROLLER_ISSUANCE_CA_PRODUCT_CATALOGUE_H_
