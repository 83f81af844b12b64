#include "controller/issuance/ca_product_catalogue.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/io/file.h"
#include "controller/issuance/ca_products_data.h"

namespace certfleet::controller {
namespace {

using Json = nlohmann::json;

constexpr int kFormat = 1;
constexpr size_t kMaxCatalogueBytes = 1024 * 1024;
// Vendors state rule boundaries as calendar days, probably in their local
// time; a leaf this close to a boundary gets a note saying so.
const absl::Duration kBoundaryMargin = absl::Hours(24);
// How long a chain may be before the walk gives up (a loop of cross-signed
// CAs cannot be longer than the certificates at hand, but stay bounded).
constexpr int kMaxChainLength = 10;

std::string FormatDay(absl::Time time) {
  return absl::FormatTime("%Y-%m-%d", time, absl::UTCTimeZone());
}

std::string Quoted(std::string_view text) { return absl::StrCat("'", std::string(text), "'"); }

// Parsing context for messages: "ca_products.json: product 'X' rule 2".
class Where {
 public:
  explicit Where(std::string source) : text_(std::move(source)) {}
  Where Product(std::string_view name) const {
    return Where(absl::StrCat(text_, ": product ", Quoted(name)));
  }
  Where Rule(size_t index) const { return Where(absl::StrCat(text_, " rule ", index + 1)); }
  Where Entry(std::string_view what, size_t index) const {
    return Where(absl::StrCat(text_, ": ", std::string(what), " ", index + 1));
  }
  absl::Status Error(std::string_view message) const {
    return absl::InvalidArgumentError(absl::StrCat(text_, ": ", std::string(message)));
  }

 private:
  std::string text_;
};

absl::Status CheckKeys(const Json& object, const std::set<std::string>& allowed,
                       const Where& where) {
  if (!object.is_object()) return where.Error("expected a JSON object");
  for (const auto& [key, value] : object.items()) {
    if (allowed.count(key) == 0) {
      return where.Error(absl::StrCat("unknown key ", Quoted(key),
                                      " (allowed: ", absl::StrJoin(allowed, ", "), ")"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> OptionalString(const Json& object, const std::string& key,
                                           const Where& where) {
  if (!object.contains(key)) return std::string();
  const Json& value = object.at(key);
  if (!value.is_string()) return where.Error(absl::StrCat(Quoted(key), " must be a string"));
  return value.get<std::string>();
}

absl::StatusOr<std::string> RequiredString(const Json& object, const std::string& key,
                                           const Where& where) {
  if (!object.contains(key)) return where.Error(absl::StrCat(Quoted(key), " is missing"));
  return OptionalString(object, key, where);
}

absl::StatusOr<std::vector<std::string>> OptionalStrings(const Json& object, const std::string& key,
                                                         const Where& where) {
  std::vector<std::string> strings;
  if (!object.contains(key)) return strings;
  const Json& value = object.at(key);
  if (!value.is_array()) {
    return where.Error(absl::StrCat(Quoted(key), " must be an array of strings"));
  }
  for (const Json& item : value) {
    if (!item.is_string() || item.get<std::string>().empty()) {
      return where.Error(absl::StrCat(Quoted(key), " must hold non-empty strings only"));
    }
    strings.push_back(item.get<std::string>());
  }
  return strings;
}

// "2010-05-27" (midnight UTC) or an RFC 3339 time.
absl::StatusOr<std::optional<absl::Time>> OptionalTime(const Json& object, const std::string& key,
                                                       const Where& where) {
  absl::StatusOr<std::string> text = OptionalString(object, key, where);
  if (!text.ok()) return text.status();
  if (text->empty()) return std::optional<absl::Time>();
  absl::Time time;
  std::string error;
  if (absl::ParseTime("%Y-%m-%d", *text, absl::UTCTimeZone(), &time, &error) ||
      absl::ParseTime(absl::RFC3339_full, *text, absl::UTCTimeZone(), &time, &error)) {
    return std::optional<absl::Time>(time);
  }
  return where.Error(absl::StrCat(Quoted(key), " is ", Quoted(*text),
                                  ", not a date (YYYY-MM-DD) or an RFC 3339 time"));
}

absl::StatusOr<RootFacts> ParseRoot(const Json& object, const Where& where) {
  if (absl::Status status = CheckKeys(object, {"file", "name", "valid_from", "valid_until"}, where);
      !status.ok()) {
    return status;
  }
  RootFacts root;
  absl::StatusOr<std::string> file = RequiredString(object, "file", where);
  if (!file.ok()) return file.status();
  if (file->empty()) return where.Error("'file' must not be empty");
  root.file_name = *file;
  absl::StatusOr<std::string> name = OptionalString(object, "name", where);
  if (!name.ok()) return name.status();
  root.name = name->empty() ? root.file_name : *name;
  absl::StatusOr<std::optional<absl::Time>> from = OptionalTime(object, "valid_from", where);
  if (!from.ok()) return from.status();
  absl::StatusOr<std::optional<absl::Time>> until = OptionalTime(object, "valid_until", where);
  if (!until.ok()) return until.status();
  root.valid_from = *from;
  root.valid_until = *until;
  return root;
}

absl::StatusOr<DateBasis> ParseBasis(const std::string& text, const Where& where) {
  if (text.empty()) return DateBasis::kNone;
  if (text == "issue_date") return DateBasis::kIssueDate;
  if (text == "validity_start") return DateBasis::kValidityStart;
  return where.Error(
      absl::StrCat("'by' is ", Quoted(text), "; expected \"issue_date\" or \"validity_start\""));
}

std::string DescribePeriod(const ChainRule& rule) {
  const std::string verb = rule.basis == DateBasis::kValidityStart ? "validity starts" : "issued";
  if (rule.applies_from && rule.applies_until) {
    return absl::StrCat(verb, " from ", FormatDay(*rule.applies_from), " until before ",
                        FormatDay(*rule.applies_until));
  }
  if (rule.applies_from) return absl::StrCat(verb, " from ", FormatDay(*rule.applies_from));
  if (rule.applies_until) return absl::StrCat(verb, " before ", FormatDay(*rule.applies_until));
  return "every certificate of the product";
}

absl::StatusOr<ChainRule> ParseRule(const Json& object, const Where& where) {
  if (absl::Status status = CheckKeys(
          object, {"by", "from", "until", "description", "intermediates", "root", "configurable"},
          where);
      !status.ok()) {
    return status;
  }
  ChainRule rule;
  absl::StatusOr<std::string> basis_text = OptionalString(object, "by", where);
  if (!basis_text.ok()) return basis_text.status();
  absl::StatusOr<DateBasis> basis = ParseBasis(*basis_text, where);
  if (!basis.ok()) return basis.status();
  rule.basis = *basis;
  absl::StatusOr<std::optional<absl::Time>> from = OptionalTime(object, "from", where);
  if (!from.ok()) return from.status();
  absl::StatusOr<std::optional<absl::Time>> until = OptionalTime(object, "until", where);
  if (!until.ok()) return until.status();
  rule.applies_from = *from;
  rule.applies_until = *until;
  const bool dated = rule.applies_from.has_value() || rule.applies_until.has_value();
  if (dated && rule.basis == DateBasis::kNone) {
    return where.Error("a rule with 'from' or 'until' must say what they compare ('by')");
  }
  if (!dated && rule.basis != DateBasis::kNone) {
    return where.Error("a rule with 'by' needs 'from' or 'until'");
  }
  if (rule.applies_from && rule.applies_until && *rule.applies_from >= *rule.applies_until) {
    return where.Error("'from' must be before 'until'");
  }
  absl::StatusOr<std::string> description = OptionalString(object, "description", where);
  if (!description.ok()) return description.status();
  rule.description = description->empty() ? DescribePeriod(rule) : *description;
  absl::StatusOr<std::vector<std::string>> intermediates =
      OptionalStrings(object, "intermediates", where);
  if (!intermediates.ok()) return intermediates.status();
  rule.intermediate_file_names = *std::move(intermediates);
  absl::StatusOr<std::string> root = OptionalString(object, "root", where);
  if (!root.ok()) return root.status();
  rule.root_file_name = *root;
  if (object.contains("configurable")) {
    if (!object.at("configurable").is_boolean()) {
      return where.Error("'configurable' must be true or false");
    }
    rule.file_names_configurable = object.at("configurable").get<bool>();
  }
  if (!rule.file_names_configurable &&
      (rule.intermediate_file_names.empty() || rule.root_file_name.empty())) {
    return where.Error(
        "'intermediates' and 'root' must name files, unless the rule is marked "
        "\"configurable\": true");
  }
  return rule;
}

bool Overlap(const ChainRule& a, const ChainRule& b) {
  const absl::Time a_from = a.applies_from.value_or(absl::InfinitePast());
  const absl::Time a_until = a.applies_until.value_or(absl::InfiniteFuture());
  const absl::Time b_from = b.applies_from.value_or(absl::InfinitePast());
  const absl::Time b_until = b.applies_until.value_or(absl::InfiniteFuture());
  return a_from < b_until && b_from < a_until;
}

absl::StatusOr<CaProduct> ParseProduct(const Json& object, const Where& base, size_t index) {
  const Where entry = base.Entry("product", index);
  if (absl::Status status =
          CheckKeys(object, {"name", "vendor", "signature_hash", "rules", "notes"}, entry);
      !status.ok()) {
    return status;
  }
  CaProduct product;
  absl::StatusOr<std::string> name = RequiredString(object, "name", entry);
  if (!name.ok()) return name.status();
  if (name->empty()) return entry.Error("'name' must not be empty");
  product.name = *name;
  const Where where = base.Product(product.name);
  absl::StatusOr<std::string> vendor = OptionalString(object, "vendor", where);
  if (!vendor.ok()) return vendor.status();
  product.vendor = *vendor;
  absl::StatusOr<std::string> hash = OptionalString(object, "signature_hash", where);
  if (!hash.ok()) return hash.status();
  if (!hash->empty() && *hash != "sha1" && *hash != "sha256" && *hash != "sha384") {
    return where.Error(absl::StrCat("'signature_hash' is ", Quoted(*hash),
                                    "; expected \"sha1\", \"sha256\" or \"sha384\""));
  }
  product.signature_hash = *hash;
  absl::StatusOr<std::vector<std::string>> notes = OptionalStrings(object, "notes", where);
  if (!notes.ok()) return notes.status();
  product.notes = *std::move(notes);
  if (!object.contains("rules") || !object.at("rules").is_array() || object.at("rules").empty()) {
    return where.Error("'rules' must be a non-empty array");
  }
  const Json& rules = object.at("rules");
  for (size_t i = 0; i < rules.size(); ++i) {
    absl::StatusOr<ChainRule> rule = ParseRule(rules[i], where.Rule(i));
    if (!rule.ok()) return rule.status();
    for (size_t j = 0; j < product.rules.size(); ++j) {
      if (Overlap(product.rules[j], *rule)) {
        return where.Error(absl::StrCat("rules ", j + 1, " and ", i + 1,
                                        " overlap: exactly one rule must apply to a certificate"));
      }
    }
    product.rules.push_back(*std::move(rule));
  }
  return product;
}

absl::Status ParseDocument(const Json& document, const Where& where,
                           std::vector<CaProduct>& products, std::vector<RootFacts>& roots) {
  if (absl::Status status = CheckKeys(document, {"format", "source", "roots", "products"}, where);
      !status.ok()) {
    return status;
  }
  if (!document.contains("format") || !document.at("format").is_number_integer() ||
      document.at("format").get<int>() != kFormat) {
    return where.Error(absl::StrCat("'format' must be ", kFormat));
  }
  if (document.contains("roots")) {
    const Json& list = document.at("roots");
    if (!list.is_array()) return where.Error("'roots' must be an array");
    for (size_t i = 0; i < list.size(); ++i) {
      absl::StatusOr<RootFacts> root = ParseRoot(list[i], where.Entry("root", i));
      if (!root.ok()) return root.status();
      roots.push_back(*std::move(root));
    }
  }
  if (!document.contains("products") || !document.at("products").is_array()) {
    return where.Error("'products' must be an array");
  }
  const Json& list = document.at("products");
  std::set<std::string> names;
  for (size_t i = 0; i < list.size(); ++i) {
    absl::StatusOr<CaProduct> product = ParseProduct(list[i], where, i);
    if (!product.ok()) return product.status();
    if (!names.insert(absl::AsciiStrToLower(product->name)).second) {
      return where.Error(absl::StrCat("product ", Quoted(product->name), " is listed twice"));
    }
    products.push_back(*std::move(product));
  }
  return absl::OkStatus();
}

bool IsWeakSignature(const crypto::Certificate& certificate) {
  const std::string algorithm = absl::AsciiStrToLower(certificate.SignatureAlgorithm());
  return absl::StrContains(algorithm, "sha1") || absl::StrContains(algorithm, "md5") ||
         absl::StrContains(algorithm, "md2");
}

bool IsRoot(const crypto::Certificate& certificate) {
  return certificate.IsSelfIssued() && certificate.IsIssuedBy(certificate);
}

std::string RootWarningText(const RootFacts& root) {
  return absl::StrCat("the chain ends in ", root.name, " (", root.file_name, "), which expired on ",
                      FormatDay(*root.valid_until),
                      ": clients that find no other path reject it; use the CA's current chain");
}

}  // namespace

bool ChainRule::AppliesTo(absl::Time not_before) const {
  if (applies_from.has_value() && not_before < *applies_from) return false;
  if (applies_until.has_value() && not_before >= *applies_until) return false;
  return true;
}

absl::StatusOr<CaProductCatalogue> CaProductCatalogue::Builtin() {
  absl::StatusOr<CaProductCatalogue> catalogue =
      Parse(BuiltinCaProductsJson(), "the built-in ca_products.json");
  if (!catalogue.ok()) return absl::InternalError(std::string(catalogue.status().message()));
  return catalogue;
}

absl::StatusOr<CaProductCatalogue> CaProductCatalogue::Parse(std::string_view json,
                                                             std::string_view source) {
  const Where where{std::string(source)};
  const Json document = Json::parse(json.begin(), json.end(), nullptr, /*allow_exceptions=*/false);
  if (document.is_discarded()) return where.Error("not valid JSON");
  std::vector<CaProduct> products;
  std::vector<RootFacts> roots;
  try {
    if (absl::Status status = ParseDocument(document, where, products, roots); !status.ok()) {
      return status;
    }
  } catch (const Json::exception& exception) {
    // The checks above leave no type mismatch to throw; this is the edge
    // where a third-party exception would otherwise cross the module.
    return where.Error(exception.what());
  }
  return CaProductCatalogue(std::move(products), std::move(roots));
}

absl::StatusOr<CaProductCatalogue> CaProductCatalogue::Load(const std::filesystem::path& path) {
  absl::StatusOr<std::string> bytes = io::ReadFile(path, kMaxCatalogueBytes);
  if (!bytes.ok()) return bytes.status();
  return Parse(*bytes, path.string());
}

absl::StatusOr<CaProduct> CaProductCatalogue::Find(std::string_view name) const {
  for (const CaProduct& product : products_) {
    if (absl::EqualsIgnoreCase(product.name, std::string(name))) return product;
  }
  std::vector<std::string> known;
  for (const CaProduct& product : products_) known.push_back(Quoted(product.name));
  return absl::NotFoundError(absl::StrCat("unknown CA product ", Quoted(name),
                                          "; the catalogue has ", absl::StrJoin(known, ", ")));
}

std::optional<RootFacts> CaProductCatalogue::FindRoot(std::string_view file_name) const {
  for (const RootFacts& root : roots_) {
    if (absl::EqualsIgnoreCase(root.file_name, std::string(file_name))) return root;
  }
  return std::nullopt;
}

std::vector<ChainWarning> CaProductCatalogue::WarningsFor(const ChainRule& rule,
                                                          absl::Time now) const {
  std::vector<ChainWarning> warnings;
  if (rule.root_file_name.empty()) return warnings;
  std::optional<RootFacts> root = FindRoot(rule.root_file_name);
  if (root.has_value() && root->valid_until.has_value() && now >= *root->valid_until) {
    warnings.push_back(ChainWarning{ChainWarningKind::kRootExpired, RootWarningText(*root), ""});
  }
  return warnings;
}

absl::StatusOr<ChainResolution> CaProductCatalogue::Resolve(std::string_view product_name,
                                                            const crypto::Certificate& leaf,
                                                            absl::Time now) const {
  absl::StatusOr<CaProduct> product = Find(product_name);
  if (!product.ok()) return product.status();
  const absl::Time not_before = leaf.NotBefore();
  const auto rule =
      std::find_if(product->rules.begin(), product->rules.end(),
                   [&](const ChainRule& candidate) { return candidate.AppliesTo(not_before); });
  if (rule == product->rules.end()) {
    std::vector<std::string> periods;
    for (const ChainRule& candidate : product->rules) periods.push_back(candidate.description);
    return absl::FailedPreconditionError(absl::StrCat(
        "no rule of CA product ", Quoted(product->name), " covers ", Quoted(leaf.SubjectText()),
        " (notBefore ", FormatDay(not_before), "); its rules: ", absl::StrJoin(periods, "; ")));
  }
  if (rule->intermediate_file_names.empty() || rule->root_file_name.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "CA product ", Quoted(product->name), ": ", Quoted(leaf.SubjectText()), " falls under \"",
        rule->description, "\" (notBefore ", FormatDay(not_before),
        "), whose intermediate and root files the vendor's table does not name; set them in your "
        "catalogue file, or put the CA's certificates in the bundle folder so that the chain is "
        "completed from it"));
  }
  ChainResolution resolution;
  resolution.product = product->name;
  resolution.rule = *rule;
  resolution.intermediate_file_names = rule->intermediate_file_names;
  resolution.root_file_name = rule->root_file_name;
  resolution.root = FindRoot(rule->root_file_name);
  resolution.warnings = WarningsFor(*rule, now);
  for (const std::optional<absl::Time>& boundary : {rule->applies_from, rule->applies_until}) {
    if (boundary.has_value() && absl::AbsDuration(not_before - *boundary) < kBoundaryMargin) {
      resolution.notes.push_back(absl::StrCat(
          Quoted(leaf.SubjectText()), " starts within a day of ", FormatDay(*boundary),
          ", where the rules of ", Quoted(product->name),
          " change; vendors state such dates in their local time, so if the chain does not "
          "verify, use the other period's intermediate"));
    }
  }
  return resolution;
}

std::vector<crypto::Certificate> CertificatesNamedBy(const ChainResolution& resolution,
                                                     const CertificateBundle& bundle) {
  std::vector<crypto::Certificate> certificates;
  std::vector<std::string> files = resolution.intermediate_file_names;
  if (!resolution.root_file_name.empty()) files.push_back(resolution.root_file_name);
  for (const std::string& file : files) {
    for (const crypto::Certificate& certificate : bundle.CertificatesFromFile(file)) {
      if (std::find(certificates.begin(), certificates.end(), certificate) == certificates.end()) {
        certificates.push_back(certificate);
      }
    }
  }
  return certificates;
}

ChainCompletion CompleteChain(const crypto::Certificate& leaf,
                              const std::vector<crypto::Certificate>& provided_chain,
                              const CertificateBundle& bundle,
                              const ChainCompletionOptions& options) {
  struct Candidate {
    crypto::Certificate certificate;
    bool provided;
  };
  std::vector<Candidate> pool;
  for (const crypto::Certificate& certificate : provided_chain) {
    pool.push_back({certificate, true});
  }
  for (const crypto::Certificate& certificate : bundle.Certificates()) {
    pool.push_back({certificate, false});
  }

  ChainCompletion completion;
  crypto::Certificate current = leaf;
  for (int depth = 0; depth < kMaxChainLength && !IsRoot(current); ++depth) {
    const Candidate* best = nullptr;
    auto rank = [&](const Candidate& candidate) {
      return std::make_tuple(candidate.certificate.IsValidAt(options.now), candidate.provided,
                             IsRoot(candidate.certificate));
    };
    for (const Candidate& candidate : pool) {
      if (candidate.certificate == current || candidate.certificate == leaf) continue;
      if (std::find(completion.chain.begin(), completion.chain.end(), candidate.certificate) !=
          completion.chain.end()) {
        continue;
      }
      if (!current.IsIssuedBy(candidate.certificate)) continue;
      if (best == nullptr || rank(candidate) > rank(*best)) best = &candidate;
    }
    if (best == nullptr) break;
    completion.chain.push_back(best->certificate);
    current = best->certificate;
  }
  completion.complete = IsRoot(current);

  if (!completion.complete) {
    const bool from_leaf = current == leaf;
    std::string message =
        absl::StrCat("the chain is incomplete: the issuer of ", Quoted(current.SubjectText()), " (",
                     Quoted(current.IssuerText()), from_leaf ? ", an intermediate CA" : ", a CA",
                     ") is missing from the uploaded file and from the bundle folder");
    if (options.expected != nullptr) {
      std::vector<std::string> missing;
      for (const std::string& file : options.expected->intermediate_file_names) {
        if (!bundle.HasFile(file)) missing.push_back(file);
      }
      if (!options.expected->root_file_name.empty() &&
          !bundle.HasFile(options.expected->root_file_name)) {
        missing.push_back(options.expected->root_file_name);
      }
      if (!missing.empty()) {
        absl::StrAppend(&message, "; CA product ", Quoted(options.expected->product), " (",
                        options.expected->rule.description, ") needs ",
                        absl::StrJoin(missing, ", "), ", not in the bundle folder");
      }
    }
    absl::StrAppend(&message, "; add the CA's certificate to the bundle folder");
    completion.warnings.push_back(ChainWarning{ChainWarningKind::kIncomplete, message, ""});
  }

  for (size_t i = 0; i < completion.chain.size(); ++i) {
    const crypto::Certificate& certificate = completion.chain[i];
    const bool root = completion.complete && i + 1 == completion.chain.size();
    const std::string subject = Quoted(certificate.SubjectText());
    const std::string until = FormatDay(certificate.NotAfter());
    const ChainWarningKind kind =
        root ? ChainWarningKind::kRootExpired : ChainWarningKind::kIntermediateExpired;
    if (certificate.NotAfter() <= options.now) {
      completion.warnings.push_back(ChainWarning{
          kind,
          root ? absl::StrCat("the chain ends in ", subject, ", which expired on ", until,
                              ": clients that find no other path reject the chain; use the CA's "
                              "current chain")
               : absl::StrCat("the intermediate ", subject, " in the chain expired on ", until),
          certificate.Thumbprint()});
    } else if (certificate.NotAfter() < leaf.NotAfter()) {
      completion.warnings.push_back(ChainWarning{
          kind,
          absl::StrCat(root ? "the chain ends in " : "the intermediate ", subject,
                       root ? ", which" : " in the chain", " expires on ", until,
                       ", before the certificate it serves (", FormatDay(leaf.NotAfter()), ")"),
          certificate.Thumbprint()});
    }
  }

  // A root's own signature is never checked by clients; the others are.
  std::vector<crypto::Certificate> signed_certificates = {leaf};
  for (size_t i = 0; i < completion.chain.size(); ++i) {
    if (!(completion.complete && i + 1 == completion.chain.size())) {
      signed_certificates.push_back(completion.chain[i]);
    }
  }
  for (const crypto::Certificate& certificate : signed_certificates) {
    if (IsWeakSignature(certificate)) {
      completion.warnings.push_back(
          ChainWarning{ChainWarningKind::kWeakSignature,
                       absl::StrCat(Quoted(certificate.SubjectText()), " is signed with ",
                                    certificate.SignatureAlgorithm(),
                                    " (SHA-1 or weaker), which current clients distrust"),
                       certificate.Thumbprint()});
    }
  }
  return completion;
}

}  // namespace certfleet::controller
