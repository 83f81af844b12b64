#include "common/crypto/distinguished_name.h"

#include <array>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace certfleet::crypto {
namespace {

struct Attribute {
  const char* short_name;
  int nid;
  std::string DistinguishedName::*field;
};

// Most specific first, the order people read names in.
constexpr std::array<Attribute, 6> kAttributes = {{
    {"CN", NID_commonName, &DistinguishedName::common_name},
    {"OU", NID_organizationalUnitName, &DistinguishedName::organizational_unit},
    {"O", NID_organizationName, &DistinguishedName::organization},
    {"L", NID_localityName, &DistinguishedName::locality},
    {"ST", NID_stateOrProvinceName, &DistinguishedName::state},
    {"C", NID_countryName, &DistinguishedName::country},
}};

std::string EntryText(const X509_NAME* name, int nid) {
  const int index = X509_NAME_get_index_by_NID(name, nid, -1);
  if (index < 0) return "";
  const ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, index));
  unsigned char* utf8 = nullptr;
  const int length = ASN1_STRING_to_UTF8(&utf8, data);
  if (length < 0) return "";
  std::string text(reinterpret_cast<char*>(utf8), static_cast<size_t>(length));
  OPENSSL_free(utf8);
  return text;
}

}  // namespace

absl::StatusOr<DistinguishedName> DistinguishedName::Parse(std::string_view text) {
  DistinguishedName name;
  const std::string whole(text);
  const char separator = absl::StartsWith(absl::StripLeadingAsciiWhitespace(whole), "/") ? '/' : ',';
  for (absl::string_view part : absl::StrSplit(whole, separator, absl::SkipWhitespace())) {
    const size_t equals = part.find('=');
    if (equals == std::string_view::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat("'", part, "' in subject '", whole, "' is not of the form KEY=value"));
    }
    const std::string key = absl::AsciiStrToUpper(absl::StripAsciiWhitespace(part.substr(0, equals)));
    const std::string value(absl::StripAsciiWhitespace(part.substr(equals + 1)));
    bool known = false;
    for (const Attribute& attribute : kAttributes) {
      if (key == attribute.short_name) {
        name.*attribute.field = value;
        known = true;
      }
    }
    if (!known) {
      return absl::InvalidArgumentError(absl::StrCat("unknown subject attribute '", key,
                                                     "': use CN, O, OU, L, ST or C"));
    }
  }
  if (!name.country.empty() &&
      (name.country.size() != 2 || !absl::ascii_isalpha(name.country[0]) ||
       !absl::ascii_isalpha(name.country[1]))) {
    return absl::InvalidArgumentError(
        absl::StrCat("country must be a two-letter code such as JP or US, not '", name.country, "'"));
  }
  return name;
}

DistinguishedName DistinguishedName::FromNative(const X509_NAME* native) {
  DistinguishedName name;
  for (const Attribute& attribute : kAttributes) {
    name.*attribute.field = EntryText(native, attribute.nid);
  }
  return name;
}

absl::StatusOr<X509NameHandle> DistinguishedName::ToNative() const {
  X509NameHandle native(X509_NAME_new());
  // X.509 names are written from the most general attribute to the most
  // specific one, the reverse of kAttributes.
  for (auto attribute = kAttributes.rbegin(); attribute != kAttributes.rend(); ++attribute) {
    const std::string& value = this->*(attribute->field);
    if (value.empty()) continue;
    if (X509_NAME_add_entry_by_NID(native.get(), attribute->nid, MBSTRING_UTF8,
                                   reinterpret_cast<const unsigned char*>(value.data()),
                                   static_cast<int>(value.size()), -1, 0) != 1) {
      return absl::InvalidArgumentError(absl::StrCat("subject attribute ", attribute->short_name,
                                                     "='", value,
                                                     "' was refused: ", TakeOpenSslErrors()));
    }
  }
  return native;
}

std::string DistinguishedName::ToString() const {
  std::vector<std::string> parts;
  for (const Attribute& attribute : kAttributes) {
    const std::string& value = this->*(attribute.field);
    if (!value.empty()) parts.push_back(absl::StrCat(attribute.short_name, "=", value));
  }
  return absl::StrJoin(parts, ", ");
}

bool DistinguishedName::empty() const {
  for (const Attribute& attribute : kAttributes) {
    if (!(this->*(attribute.field)).empty()) return false;
  }
  return true;
}

std::string FormatName(const X509_NAME* name) {
  BioHandle bio(BIO_new(BIO_s_mem()));
  X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
  return ReadMemoryBio(bio.get());
}

}  // namespace certfleet::crypto
