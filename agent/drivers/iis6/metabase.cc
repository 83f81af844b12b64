#include "agent/drivers/iis6/metabase.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <random>
#include <system_error>
#include <type_traits>
#include <unordered_map>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_join.h"
#include "pugixml.hpp"

namespace certfleet::iis6 {
namespace {

namespace fs = std::filesystem;

// Entity references and whitespace in attribute values are left exactly as
// written (no parse_escapes, parse_eol or parse_wconv_attribute), so that a
// value this class does not edit is written back byte for byte. Values it
// reads go through DecodeAttributeValue instead.
constexpr unsigned int kParseOptions = pugi::parse_cdata | pugi::parse_comments | pugi::parse_pi |
                                       pugi::parse_declaration | pugi::parse_doctype;

constexpr std::string_view kRootElementName = "configuration";
constexpr std::string_view kNamespacePrefix = "urn:microsoft-catalog:XML_Metabase_V";
constexpr std::string_view kPropertyElementName = "MBProperty";
constexpr std::string_view kLocationAttribute = "Location";
constexpr std::string_view kComputerLocation = "/lm";
constexpr std::string_view kWebServiceLocation = "/lm/w3svc";
constexpr std::string_view kSiteLocationPrefix = "/lm/w3svc/";
constexpr std::string_view kWebServerElementName = "IIsWebServer";
constexpr std::string_view kVirtualDirectoryElementName = "IIsWebVirtualDir";

// IIS separates the values of a multi-valued (MULTISZ) property with a line
// break and three tabs, so each value sits on its own line below the
// attribute name.
constexpr std::string_view kMultipleValueIndent = "\t\t\t";

// Generated ids look like the ones IIS 6 makes (1962875481): ten digits, and
// below 2^31 because scripts commonly read site ids as signed 32-bit numbers.
constexpr std::uint32_t kMinimumGeneratedSiteId = 1'000'000'000;
constexpr std::uint32_t kMaximumGeneratedSiteId = 2'147'483'647;
constexpr int kSiteIdAttempts = 100;

constexpr std::string_view kHistoryPrefix = "MetaBase_";
constexpr std::string_view kHistorySuffix = ".xml";
constexpr std::size_t kHistoryDigits = 10;
constexpr std::uint64_t kMaximumHistoryVersion = 9'999'999'999;

// Debian's abseil is built with its own absl::string_view
// (ABSL_OPTION_USE_STD_STRING_VIEW is 0), which absl::StrCat and friends do
// not accept from a std::string_view. This file works in std::string_view, as
// the interface does, and concatenates with these instead.
void AppendPart(std::string& out, std::string_view text) { out.append(text); }

template <typename Number>
requires std::is_arithmetic_v<Number>
void AppendPart(std::string& out, Number number) { out += std::to_string(number); }

template <typename... Parts>
void Append(std::string& out, const Parts&... parts) {
  (AppendPart(out, parts), ...);
}

template <typename... Parts>
std::string Cat(const Parts&... parts) {
  std::string out;
  Append(out, parts...);
  return out;
}

// absl::Status::message() is an absl::string_view; see Cat.
std::string_view Message(const absl::Status& status) {
  return std::string_view(status.message().data(), status.message().size());
}

std::vector<std::string_view> Split(std::string_view text, char separator) {
  std::vector<std::string_view> parts;
  while (true) {
    std::size_t position = text.find(separator);
    parts.push_back(text.substr(0, position));
    if (position == std::string_view::npos) {
      return parts;
    }
    text.remove_prefix(position + 1);
  }
}

bool EqualsIgnoringCase(std::string_view left, std::string_view right) {
  return left.size() == right.size() &&
         std::equal(left.begin(), left.end(), right.begin(), [](char a, char b) {
           return absl::ascii_tolower(a) == absl::ascii_tolower(b);
         });
}

// Parses a non-empty string of at most 19 decimal digits (no sign, no
// spaces), which cannot overflow.
std::optional<std::uint64_t> ParseDecimal(std::string_view digits) {
  if (digits.empty() || digits.size() > 19) {
    return std::nullopt;
  }
  std::uint64_t value = 0;
  for (char digit : digits) {
    if (!absl::ascii_isdigit(digit)) {
      return std::nullopt;
    }
    value = value * 10 + static_cast<std::uint64_t>(digit - '0');
  }
  return value;
}

// History file names carry ten-digit, zero-padded version numbers.
std::string ZeroPadded(std::uint64_t number) {
  std::string digits = std::to_string(number);
  return std::string(kHistoryDigits - std::min(kHistoryDigits, digits.size()), '0') + digits;
}

// Keys are the element children of <MBProperty>; IIS compares their
// Locations case-insensitively and writes them without a trailing slash.
std::string NormalizeLocation(std::string_view location) {
  std::string normalized = absl::AsciiStrToLower(std::string(location));
  if (normalized.size() > 1 && normalized.back() == '/') {
    normalized.pop_back();
  }
  return normalized;
}

bool IsXmlWhitespace(char character) {
  return character == ' ' || character == '\t' || character == '\r' || character == '\n';
}

// Returns the 1-based line and column of a byte offset, for error messages.
std::pair<int, int> LineAndColumn(std::string_view contents, std::ptrdiff_t offset) {
  if (offset < 0) {
    return {0, 0};
  }
  std::size_t end = std::min(static_cast<std::size_t>(offset), contents.size());
  int line = 1;
  std::size_t line_start = 0;
  for (std::size_t index = 0; index < end; ++index) {
    if (contents[index] == '\n') {
      ++line;
      line_start = index + 1;
    }
  }
  return {line, static_cast<int>(end - line_start) + 1};
}

// Counts lines from the start of the file, so call it only to report an
// error: once per key it made Parse quadratic in the number of keys.
int LineOf(std::string_view contents, const pugi::xml_node& node) {
  return LineAndColumn(contents, node.offset_debug()).first;
}

void AppendUtf8(std::uint32_t code_point, std::string& out) {
  if (code_point < 0x80) {
    out.push_back(static_cast<char>(code_point));
  } else if (code_point < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (code_point >> 6)));
    out.push_back(static_cast<char>(0x80 | (code_point & 0x3F)));
  } else if (code_point < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (code_point >> 12)));
    out.push_back(static_cast<char>(0x80 | ((code_point >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (code_point & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (code_point >> 18)));
    out.push_back(static_cast<char>(0x80 | ((code_point >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((code_point >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (code_point & 0x3F)));
  }
}

// Parses the part of a character reference after "&#": decimal digits, or
// "x" and hex digits, naming a character XML allows.
absl::StatusOr<std::uint32_t> ParseCharacterReference(std::string_view digits) {
  int base = 10;
  if (digits.starts_with("x")) {
    base = 16;
    digits.remove_prefix(1);
  }
  if (digits.empty() || digits.size() > 8) {
    return absl::InvalidArgumentError("bad reference");
  }
  std::uint32_t code_point = 0;
  for (char digit : digits) {
    int value = -1;
    if (absl::ascii_isdigit(digit)) {
      value = digit - '0';
    } else if (base == 16 && absl::ascii_isxdigit(digit)) {
      value = absl::ascii_tolower(digit) - 'a' + 10;
    }
    if (value < 0) {
      return absl::InvalidArgumentError("bad reference");
    }
    code_point = code_point * static_cast<std::uint32_t>(base) + static_cast<std::uint32_t>(value);
  }
  if (code_point == 0 || code_point > 0x10FFFF || (code_point >= 0xD800 && code_point <= 0xDFFF)) {
    return absl::InvalidArgumentError("bad reference");
  }
  return code_point;
}

// Turns an attribute value as written in the file into its text, as an XML
// processor does: literal line breaks and tabs become spaces (a CR LF pair
// one space), and entity and character references are expanded.
absl::StatusOr<std::string> DecodeAttributeValue(std::string_view raw) {
  std::string text;
  text.reserve(raw.size());
  for (std::size_t index = 0; index < raw.size(); ++index) {
    char character = raw[index];
    if (character == '\r') {
      if (index + 1 < raw.size() && raw[index + 1] == '\n') {
        ++index;
      }
      text.push_back(' ');
      continue;
    }
    if (character == '\n' || character == '\t') {
      text.push_back(' ');
      continue;
    }
    if (character != '&') {
      text.push_back(character);
      continue;
    }
    std::size_t semicolon = raw.find(';', index);
    if (semicolon == std::string_view::npos || semicolon - index > 12) {
      return absl::InvalidArgumentError(Cat("unterminated entity reference in \"", raw, "\""));
    }
    std::string_view entity = raw.substr(index + 1, semicolon - index - 1);
    if (entity == "amp") {
      text.push_back('&');
    } else if (entity == "lt") {
      text.push_back('<');
    } else if (entity == "gt") {
      text.push_back('>');
    } else if (entity == "quot") {
      text.push_back('"');
    } else if (entity == "apos") {
      text.push_back('\'');
    } else if (entity.starts_with("#")) {
      absl::StatusOr<std::uint32_t> code_point = ParseCharacterReference(entity.substr(1));
      if (!code_point.ok()) {
        return absl::InvalidArgumentError(
            Cat("invalid character reference &", entity, "; in \"", raw, "\""));
      }
      AppendUtf8(*code_point, text);
    } else {
      return absl::InvalidArgumentError(Cat("unknown entity &", entity, "; in \"", raw, "\""));
    }
    index = semicolon;
  }
  return text;
}

// The inverse of DecodeAttributeValue for values this class writes. Line
// breaks and tabs become character references so they survive a reader's
// whitespace normalization.
std::string EncodeAttributeValue(std::string_view text) {
  std::string raw;
  raw.reserve(text.size());
  for (char character : text) {
    switch (character) {
      case '&':
        raw += "&amp;";
        break;
      case '<':
        raw += "&lt;";
        break;
      case '>':
        raw += "&gt;";
        break;
      case '"':
        raw += "&quot;";
        break;
      case '\t':
        raw += "&#x9;";
        break;
      case '\n':
        raw += "&#xA;";
        break;
      case '\r':
        raw += "&#xD;";
        break;
      default:
        raw.push_back(character);
    }
  }
  return raw;
}

std::string KeyLocation(const pugi::xml_node& key) {
  absl::StatusOr<std::string> location =
      DecodeAttributeValue(key.attribute(kLocationAttribute.data()).value());
  // Parse refuses keys whose Location does not decode, so the fallback only
  // matters for keys no valid document can hold.
  return NormalizeLocation(location.ok() ? *location
                                         : key.attribute(kLocationAttribute.data()).value());
}

bool IsSiteId(std::string_view text) {
  if (text.size() > 10 || text.starts_with("0")) {
    return false;
  }
  std::optional<std::uint64_t> value = ParseDecimal(text);
  return value.has_value() && *value <= 0xFFFFFFFFu;
}

absl::Status CheckSiteId(std::string_view site_id) {
  if (IsSiteId(site_id)) {
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError(
      Cat("\"", site_id, "\" is not a site id (a number from 1 to 4294967295)"));
}

std::string SiteLocation(std::string_view site_id) { return Cat(kSiteLocationPrefix, site_id); }

// True for the site's own key and every key below it, but not for another
// site whose id merely starts with the same digits.
bool IsAtOrUnder(std::string_view location, std::string_view ancestor) {
  return location == ancestor ||
         (location.starts_with(ancestor) && location.size() > ancestor.size() &&
          location[ancestor.size()] == '/');
}

bool IsThumbprint(std::string_view text) {
  return text.size() == 40 && std::all_of(text.begin(), text.end(), absl::ascii_isxdigit);
}

absl::StatusOr<bool> ParseBoolean(std::string_view name, std::string_view text) {
  if (EqualsIgnoringCase(text, "TRUE") || text == "1") {
    return true;
  }
  if (EqualsIgnoringCase(text, "FALSE") || text == "0") {
    return false;
  }
  return absl::InvalidArgumentError(Cat(name, " is \"", text, "\", expected TRUE, FALSE, 1 or 0"));
}

bool IsValidBindingPart(std::string_view part) {
  return std::none_of(part.begin(), part.end(), [](char character) {
    return character == ':' || IsXmlWhitespace(character) || absl::ascii_iscntrl(character);
  });
}

absl::StatusOr<Binding> ParseBinding(std::string_view entry) {
  std::vector<std::string_view> parts = Split(entry, ':');
  std::optional<std::uint64_t> port =
      parts.size() == 3 && parts[1].size() <= 5 ? ParseDecimal(parts[1]) : std::nullopt;
  if (!port.has_value() || *port == 0 || *port > 65535) {
    return absl::InvalidArgumentError(
        Cat("binding \"", entry, "\" is not ip:port:hostheader with a port from 1 to 65535"));
  }
  return Binding{std::string(parts[0]), static_cast<std::uint16_t>(*port), std::string(parts[2])};
}

// IIS separates bindings with line breaks; hand-edited files use spaces.
// Both arrive here as spaces after DecodeAttributeValue.
absl::StatusOr<std::vector<Binding>> ParseBindings(std::string_view name, std::string_view text) {
  std::vector<Binding> bindings;
  for (std::string_view entry : Split(text, ' ')) {
    if (entry.empty()) {
      continue;
    }
    absl::StatusOr<Binding> binding = ParseBinding(entry);
    if (!binding.ok()) {
      return absl::InvalidArgumentError(Cat(name, ": ", Message(binding.status())));
    }
    bindings.push_back(*std::move(binding));
  }
  return bindings;
}

absl::Status ValidateBinding(std::string_view name, const Binding& binding) {
  if (binding.port == 0) {
    return absl::InvalidArgumentError(
        Cat(name, " binding \"", binding.ToString(), "\" has port 0"));
  }
  if (!IsValidBindingPart(binding.ip) || !IsValidBindingPart(binding.host_header)) {
    return absl::InvalidArgumentError(
        Cat(name, " binding \"", binding.ToString(),
            "\" has ':', whitespace or a control character in its address or host"));
  }
  return absl::OkStatus();
}

// Returns the attribute's decoded text, or nullopt when the key does not
// have the attribute.
absl::StatusOr<std::optional<std::string>> ReadAttribute(const pugi::xml_node& key,
                                                         std::string_view name) {
  pugi::xml_attribute attribute = key.attribute(std::string(name).c_str());
  if (attribute.empty()) {
    return std::nullopt;
  }
  absl::StatusOr<std::string> text = DecodeAttributeValue(attribute.value());
  if (!text.ok()) {
    return absl::InvalidArgumentError(Cat(name, ": ", Message(text.status())));
  }
  return *std::move(text);
}

// Sets an attribute to an already encoded value. A new attribute goes before
// the first attribute whose name sorts after it, because IIS writes a key's
// properties sorted by name (ordinal, so "SSLCertHash" precedes
// "SecureBindings"); Location always stays first.
void SetRawAttribute(pugi::xml_node key, std::string_view name, std::string_view raw) {
  std::string name_string(name);
  std::string raw_string(raw);
  pugi::xml_attribute attribute = key.attribute(name_string.c_str());
  if (attribute.empty()) {
    pugi::xml_attribute successor;
    for (pugi::xml_attribute candidate : key.attributes()) {
      std::string_view candidate_name = candidate.name();
      if (candidate_name == kLocationAttribute) {
        continue;
      }
      if (candidate_name > name) {
        successor = candidate;
        break;
      }
    }
    attribute = successor.empty() ? key.append_attribute(name_string.c_str())
                                  : key.insert_attribute_before(name_string.c_str(), successor);
  }
  attribute.set_value(raw_string.c_str());
}

std::string EncodeBindings(const std::vector<Binding>& bindings, std::string_view line_ending) {
  std::vector<std::string> entries;
  entries.reserve(bindings.size());
  for (const Binding& binding : bindings) {
    entries.push_back(EncodeAttributeValue(binding.ToString()));
  }
  return absl::StrJoin(entries, Cat(line_ending, kMultipleValueIndent));
}

std::string Tabs(int count) {
  return std::string(static_cast<std::size_t>(std::max(count, 0)), '\t');
}

// Writes an attribute value exactly as stored. Values read from the file keep
// their original quoting need: one that holds a raw '"' came from a
// single-quoted attribute and goes back into single quotes.
void AppendAttribute(const pugi::xml_attribute& attribute, std::string_view separator,
                     std::string& out) {
  std::string_view value = attribute.value();
  char quote = value.find('"') == std::string_view::npos ? '"' : '\'';
  Append(out, attribute.name(), separator, std::string_view(&quote, 1), value,
         std::string_view(&quote, 1));
}

absl::Status ErrnoError(int error_number, std::string_view what) {
  return absl::ErrnoToStatus(error_number, std::string(what));
}

absl::Status WriteAll(int descriptor, std::string_view bytes, const fs::path& path) {
  while (!bytes.empty()) {
    ssize_t written = ::write(descriptor, bytes.data(), bytes.size());
    if (written < 0) {
      if (errno == EINTR) {
        continue;
      }
      return ErrnoError(errno, Cat("writing ", path.string()));
    }
    bytes.remove_prefix(static_cast<std::size_t>(written));
  }
  return absl::OkStatus();
}

// Writes `bytes` to a new temporary file in `folder` and makes them durable.
// Returns the temporary file's path; on error nothing is left behind.
absl::StatusOr<fs::path> WriteTemporaryFile(const fs::path& folder, std::string_view base_name,
                                            std::string_view bytes, mode_t mode) {
  std::string name = (folder / Cat(".", base_name, ".tmp-XXXXXX")).string();
  int descriptor = ::mkostemp(name.data(), O_CLOEXEC);
  if (descriptor < 0) {
    return ErrnoError(errno, Cat("creating a temporary file in ", folder.string()));
  }
  fs::path path(name);
  absl::Status status;
  if (::fchmod(descriptor, mode) != 0) {
    status = ErrnoError(errno, Cat("setting the mode of ", name));
  }
  if (status.ok()) {
    status = WriteAll(descriptor, bytes, path);
  }
  if (status.ok() && ::fsync(descriptor) != 0) {
    status = ErrnoError(errno, Cat("flushing ", name));
  }
  if (::close(descriptor) != 0 && status.ok()) {
    status = ErrnoError(errno, Cat("closing ", name));
  }
  if (!status.ok()) {
    ::unlink(name.c_str());
    return status;
  }
  return path;
}

// A rename is only durable once the folder holding the new name is synced.
absl::Status SyncFolder(const fs::path& folder) {
  int descriptor = ::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (descriptor < 0) {
    return ErrnoError(errno, Cat("opening folder ", folder.string()));
  }
  absl::Status status;
  if (::fsync(descriptor) != 0) {
    status = ErrnoError(errno, Cat("flushing folder ", folder.string()));
  }
  ::close(descriptor);
  return status;
}

// Returns the major version of a history file name such as
// "MetaBase_0000000041_0000000000.xml", or nothing for other names.
std::optional<std::uint64_t> HistoryMajorVersion(std::string_view file_name) {
  constexpr std::size_t kLength =
      kHistoryPrefix.size() + kHistoryDigits + 1 + kHistoryDigits + kHistorySuffix.size();
  if (file_name.size() != kLength ||
      !EqualsIgnoringCase(file_name.substr(0, kHistoryPrefix.size()), kHistoryPrefix) ||
      !EqualsIgnoringCase(file_name.substr(kLength - kHistorySuffix.size()), kHistorySuffix) ||
      file_name[kHistoryPrefix.size() + kHistoryDigits] != '_') {
    return std::nullopt;
  }
  std::string_view major = file_name.substr(kHistoryPrefix.size(), kHistoryDigits);
  std::string_view minor =
      file_name.substr(kHistoryPrefix.size() + kHistoryDigits + 1, kHistoryDigits);
  if (!ParseDecimal(minor).has_value()) {
    return std::nullopt;
  }
  return ParseDecimal(major);
}

absl::StatusOr<std::uint64_t> HighestHistoryMajorVersion(const fs::path& history_folder) {
  std::error_code error;
  fs::directory_iterator iterator(history_folder, error);
  if (error) {
    return ErrnoError(error.value(), Cat("listing history folder ", history_folder.string()));
  }
  std::uint64_t highest = 0;
  for (; iterator != fs::directory_iterator(); iterator.increment(error)) {
    std::optional<std::uint64_t> major = HistoryMajorVersion(iterator->path().filename().string());
    if (major.has_value()) {
      highest = std::max(highest, *major);
    }
  }
  if (error) {
    return ErrnoError(error.value(), Cat("listing history folder ", history_folder.string()));
  }
  return highest;
}

absl::Status EnsureHistoryFolder(const fs::path& history_folder) {
  // 0700 because the metabase holds (encrypted) account passwords and the
  // session key; readers of the history are administrators.
  if (::mkdir(history_folder.c_str(), 0700) == 0) {
    return absl::OkStatus();
  }
  int error_number = errno;
  struct stat status;
  if (error_number == EEXIST && ::stat(history_folder.c_str(), &status) == 0) {
    if (S_ISDIR(status.st_mode)) {
      return absl::OkStatus();
    }
    return absl::FailedPreconditionError(
        Cat("history folder ", history_folder.string(), " exists but is not a folder"));
  }
  return ErrnoError(error_number, Cat("creating history folder ", history_folder.string()));
}

// Returns the byte range of the root element, from its '<' to just after its
// end tag, so the bytes around it can be kept verbatim. pugixml reports where
// a node's name or value starts; the root ends at the last '>' before the
// first node that follows it (or before trailing whitespace).
std::pair<std::size_t, std::size_t> RootExtent(std::string_view contents,
                                               const pugi::xml_node& root) {
  std::size_t start = contents.rfind('<', static_cast<std::size_t>(root.offset_debug()));
  std::size_t end = contents.size();
  if (pugi::xml_node after = root.next_sibling(); !after.empty()) {
    std::ptrdiff_t offset = after.offset_debug();
    if (offset >= 0) {
      end = contents.rfind('<', static_cast<std::size_t>(offset));
    } else {
      // Only a node without position information gets here; fall back to
      // the root's own end tag.
      std::size_t end_tag = contents.rfind(Cat("</", root.name()));
      std::size_t closing = contents.find('>', end_tag == std::string_view::npos ? 0 : end_tag);
      end = closing == std::string_view::npos ? contents.size() : closing + 1;
    }
  }
  while (end > start && IsXmlWhitespace(contents[end - 1])) {
    --end;
  }
  return {start, end};
}

}  // namespace

std::string Binding::ToString() const { return Cat(ip, ":", port, ":", host_header); }

struct MetaBase::Document {
  pugi::xml_document xml;
  pugi::xml_node configuration;
  pugi::xml_node property;
  // Everything before "<configuration" (the declaration, with IIS's
  // "version =" spacing, and anything else there), kept verbatim.
  std::string prolog;
  // Everything after "</configuration>", kept verbatim.
  std::string epilog;
  // "\r\n" for files IIS wrote; "\n" for files made on Linux.
  std::string line_ending;

  // Every key by its normalized Location (see NormalizeLocation), so that a
  // lookup does not walk the keys: with a lookup per site, as Parse and
  // Sites() make for each site's ROOT key, a walk made them quadratic in the
  // number of sites. Parse fills it; AddSiteWithId and DeleteSite keep it in
  // step with the keys.
  std::unordered_map<std::string, pugi::xml_node> key_by_location;

  pugi::xml_node FindKey(std::string_view normalized_location) const {
    auto found = key_by_location.find(std::string(normalized_location));
    return found == key_by_location.end() ? pugi::xml_node() : found->second;
  }

  pugi::xml_node FindSiteKey(std::string_view site_id) const {
    pugi::xml_node key = FindKey(SiteLocation(site_id));
    return std::string_view(key.name()) == kWebServerElementName ? key : pugi::xml_node();
  }

  absl::StatusOr<pugi::xml_node> RequireSiteKey(std::string_view site_id) const {
    if (absl::Status status = CheckSiteId(site_id); !status.ok()) {
      return status;
    }
    pugi::xml_node key = FindSiteKey(site_id);
    if (key.empty()) {
      return absl::NotFoundError(
          Cat("there is no site ", site_id, " (no IIsWebServer at /LM/W3SVC/", site_id, ")"));
    }
    return key;
  }

  absl::StatusOr<Site> ReadSite(const pugi::xml_node& server) const {
    std::string location = KeyLocation(server);
    Site site;
    site.id = location.substr(kSiteLocationPrefix.size());
    auto site_error = [&site](const absl::Status& status) {
      return absl::InvalidArgumentError(Cat("site ", site.id, ": ", Message(status)));
    };
    absl::StatusOr<std::optional<std::string>> name = ReadAttribute(server, "ServerComment");
    if (!name.ok()) {
      return site_error(name.status());
    }
    site.name = name->value_or("");

    for (auto [attribute, bindings] : {std::pair{"ServerBindings", &site.server_bindings},
                                       std::pair{"SecureBindings", &site.secure_bindings}}) {
      absl::StatusOr<std::optional<std::string>> text = ReadAttribute(server, attribute);
      if (!text.ok()) {
        return site_error(text.status());
      }
      absl::StatusOr<std::vector<Binding>> parsed = ParseBindings(attribute, text->value_or(""));
      if (!parsed.ok()) {
        return site_error(parsed.status());
      }
      *bindings = *std::move(parsed);
    }

    absl::StatusOr<std::optional<std::string>> auto_start =
        ReadAttribute(server, "ServerAutoStart");
    if (!auto_start.ok()) {
      return site_error(auto_start.status());
    }
    if (auto_start->has_value()) {
      absl::StatusOr<bool> value = ParseBoolean("ServerAutoStart", **auto_start);
      if (!value.ok()) {
        return site_error(value.status());
      }
      site.auto_start = *value;
    }

    absl::StatusOr<std::optional<std::string>> hash = ReadAttribute(server, "SSLCertHash");
    if (!hash.ok()) {
      return site_error(hash.status());
    }
    if (hash->has_value() && !IsThumbprint(**hash)) {
      return site_error(
          absl::InvalidArgumentError(Cat("SSLCertHash \"", **hash, "\" is not 40 hex digits")));
    }
    site.ssl_cert_hash = absl::AsciiStrToUpper(hash->value_or(""));

    absl::StatusOr<std::optional<std::string>> store = ReadAttribute(server, "SSLStoreName");
    if (!store.ok()) {
      return site_error(store.status());
    }
    site.ssl_store_name = store->value_or("");

    pugi::xml_node root = FindKey(Cat(location, "/root"));
    absl::StatusOr<std::optional<std::string>> path = ReadAttribute(root, "Path");
    if (!path.ok()) {
      return site_error(path.status());
    }
    site.root_path = path->value_or("");
    return site;
  }

  // Reads a site of a document Parse accepted, which cannot fail.
  Site ReadValidatedSite(const pugi::xml_node& server) const {
    absl::StatusOr<Site> site = ReadSite(server);
    if (!site.ok()) {
      std::fprintf(stderr, "MetaBase invariant broken: an accepted site no longer reads: %s\n",
                   std::string(Message(site.status())).c_str());
      std::abort();
    }
    return *std::move(site);
  }

  absl::StatusOr<bool> ReadComputerFlag(std::string_view name) const {
    absl::StatusOr<std::optional<std::string>> text =
        ReadAttribute(FindKey(kComputerLocation), name);
    if (!text.ok()) {
      return text.status();
    }
    if (!text->has_value()) {
      return false;
    }
    return ParseBoolean(name, **text);
  }

  void AppendNode(const pugi::xml_node& node, int depth, std::string& out) const;
  void AppendElement(const pugi::xml_node& element, int depth, std::string& out) const;
};

// The layout IIS's metabase writer produces. <configuration> and
// <MBProperty> sit on one line each at column 0; keys (depth 2) start at
// column 0 with the Location on the tag line after a tab, written
// `Location ="..."`, then one attribute per line indented by two tabs, then
// "\t>" on its own line, their children, and the end tag at column 0.
// Children such as <Custom> start one tab in, put their attributes two tabs
// in and close with "\t/>". Comments go at the indentation of the element
// that follows them.
void MetaBase::Document::AppendElement(const pugi::xml_node& element, int depth,
                                       std::string& out) const {
  std::string_view name = element.name();
  if (depth <= 1) {
    Append(out, "<", name);
    for (pugi::xml_attribute attribute : element.attributes()) {
      out.push_back(' ');
      AppendAttribute(attribute, "=", out);
    }
    Append(out, ">", line_ending);
    for (pugi::xml_node child : element.children()) {
      AppendNode(child, depth + 1, out);
    }
    Append(out, "</", name, ">", line_ending);
    return;
  }
  std::string indent = Tabs(depth - 2);
  std::string attribute_indent = Tabs(std::max(2, depth - 1));
  std::string close_indent = Tabs(std::max(1, depth - 2));
  Append(out, indent, "<", name);
  pugi::xml_attribute attribute = element.first_attribute();
  if (!attribute.empty() && std::string_view(attribute.name()) == kLocationAttribute) {
    out.push_back('\t');
    AppendAttribute(attribute, " =", out);
    attribute = attribute.next_attribute();
  }
  out += line_ending;
  for (; !attribute.empty(); attribute = attribute.next_attribute()) {
    out += attribute_indent;
    AppendAttribute(attribute, "=", out);
    out += line_ending;
  }
  // Keys always get an end tag, even without children, as IIS writes them.
  if (depth == 2 || !element.first_child().empty()) {
    Append(out, close_indent, ">", line_ending);
    for (pugi::xml_node child : element.children()) {
      AppendNode(child, depth + 1, out);
    }
    Append(out, indent, "</", name, ">", line_ending);
  } else {
    Append(out, close_indent, "/>", line_ending);
  }
}

void MetaBase::Document::AppendNode(const pugi::xml_node& node, int depth, std::string& out) const {
  std::string indent = Tabs(depth - 2);
  switch (node.type()) {
    case pugi::node_element:
      AppendElement(node, depth, out);
      break;
    case pugi::node_comment:
      Append(out, indent, "<!--", node.value(), "-->", line_ending);
      break;
    case pugi::node_pi: {
      std::string_view value = node.value();
      Append(out, indent, "<?", node.name(), value.empty() ? "" : " ", value, "?>", line_ending);
      break;
    }
    case pugi::node_cdata:
      Append(out, indent, "<![CDATA[", node.value(), "]]>", line_ending);
      break;
    case pugi::node_pcdata:
      // IIS never writes text inside elements; keep any verbatim.
      Append(out, indent, node.value(), line_ending);
      break;
    default:
      break;
  }
}

MetaBase::MetaBase(std::unique_ptr<Document> document) : document_(std::move(document)) {}
MetaBase::MetaBase(MetaBase&& other) noexcept = default;
MetaBase& MetaBase::operator=(MetaBase&& other) noexcept = default;
MetaBase::~MetaBase() = default;

absl::StatusOr<MetaBase> MetaBase::Parse(std::string_view contents) {
  auto line_error = [contents](const pugi::xml_node& node, std::string_view message) {
    return absl::InvalidArgumentError(
        Cat("MetaBase.xml line ", LineOf(contents, node), ": ", message));
  };
  if (contents.starts_with("\xFF\xFE") || contents.starts_with("\xFE\xFF")) {
    return absl::InvalidArgumentError(
        "MetaBase.xml is UTF-16; IIS writes it as UTF-8, so this file was converted by another "
        "tool");
  }
  auto document = std::make_unique<Document>();
  pugi::xml_parse_result result = document->xml.load_buffer(contents.data(), contents.size(),
                                                            kParseOptions, pugi::encoding_utf8);
  if (!result) {
    auto [line, column] = LineAndColumn(contents, result.offset);
    return absl::InvalidArgumentError(
        Cat("MetaBase.xml is not well-formed XML: ", result.description(), " at offset ",
            result.offset, " (line ", line, ", column ", column, ")"));
  }

  pugi::xml_node root = document->xml.document_element();
  if (std::string_view(root.name()) != kRootElementName) {
    return line_error(root,
                      Cat("the root element is <", root.name(), ">, expected <configuration>"));
  }
  pugi::xml_attribute xml_namespace = root.attribute("xmlns");
  if (xml_namespace.empty()) {
    return line_error(
        root, Cat("<configuration> has no xmlns; expected ", kNamespacePrefix, "<version>"));
  }
  std::string_view namespace_name = xml_namespace.value();
  if (!namespace_name.starts_with(kNamespacePrefix) ||
      namespace_name.size() == kNamespacePrefix.size()) {
    return line_error(root, Cat("the namespace is \"", namespace_name, "\", expected ",
                                kNamespacePrefix, "<version>"));
  }
  document->configuration = root;

  for (pugi::xml_node child : root.children(kPropertyElementName.data())) {
    if (!document->property.empty()) {
      return line_error(child, "a second <MBProperty> element; a metabase has exactly one");
    }
    document->property = child;
  }
  if (document->property.empty()) {
    return line_error(root, "<configuration> has no <MBProperty> element holding the keys");
  }

  std::vector<pugi::xml_node> servers;
  for (pugi::xml_node key : document->property.children()) {
    if (key.type() == pugi::node_pcdata || key.type() == pugi::node_cdata) {
      std::string text = key.value();
      absl::StripAsciiWhitespace(&text);
      if (text.size() > 40) {
        text = Cat(text.substr(0, 40), "...");
      }
      return line_error(key, Cat("unexpected text \"", text, "\" inside <MBProperty>"));
    }
    if (key.type() != pugi::node_element) {
      continue;
    }
    pugi::xml_attribute location_attribute = key.attribute(kLocationAttribute.data());
    if (location_attribute.empty()) {
      return line_error(key, Cat("key <", key.name(), "> has no Location attribute"));
    }
    absl::StatusOr<std::string> location = DecodeAttributeValue(location_attribute.value());
    if (!location.ok()) {
      return line_error(key, Cat("Location: ", Message(location.status())));
    }
    auto [existing, inserted] =
        document->key_by_location.emplace(NormalizeLocation(*location), key);
    if (!inserted) {
      return line_error(key, Cat("Location \"", *location, "\" appears twice (first on line ",
                                 LineOf(contents, existing->second), ")"));
    }
    if (std::string_view(key.name()) == kWebServerElementName) {
      std::string normalized = NormalizeLocation(*location);
      if (!normalized.starts_with(kSiteLocationPrefix) ||
          !IsSiteId(normalized.substr(kSiteLocationPrefix.size()))) {
        return line_error(
            key, Cat("IIsWebServer Location \"", *location, "\" is not /LM/W3SVC/<number>"));
      }
      servers.push_back(key);
    }
  }

  for (auto [location, element_name] : {std::pair{kComputerLocation, "IIsComputer"},
                                        std::pair{kWebServiceLocation, "IIsWebService"}}) {
    pugi::xml_node key = document->FindKey(location);
    std::string display_location = absl::AsciiStrToUpper(std::string(location));
    if (key.empty()) {
      return absl::InvalidArgumentError(
          Cat("MetaBase.xml has no ", element_name, " key at Location \"", display_location, "\""));
    }
    if (std::string_view(key.name()) != element_name) {
      return line_error(key, Cat("the key at ", display_location, " is <", key.name(),
                                 ">, expected <", element_name, ">"));
    }
  }
  pugi::xml_node computer = document->FindKey(kComputerLocation);
  for (std::string_view flag : {"EnableEditWhileRunning", "EnableHistory"}) {
    absl::StatusOr<bool> value = document->ReadComputerFlag(flag);
    if (!value.ok()) {
      return line_error(computer, Cat("/LM: ", Message(value.status())));
    }
  }
  for (const pugi::xml_node& server : servers) {
    absl::StatusOr<Site> site = document->ReadSite(server);
    if (!site.ok()) {
      return line_error(server, Message(site.status()));
    }
  }

  auto [root_start, root_end] = RootExtent(contents, root);
  document->prolog = std::string(contents.substr(0, root_start));
  document->epilog = std::string(contents.substr(root_end));

  std::size_t first_line_end = contents.find('\n');
  document->line_ending = first_line_end == std::string_view::npos ||
                                  (first_line_end > 0 && contents[first_line_end - 1] == '\r')
                              ? "\r\n"
                              : "\n";
  return MetaBase(std::move(document));
}

absl::StatusOr<MetaBase> MetaBase::Load(const fs::path& path, std::size_t maximum_size) {
  std::error_code error;
  fs::file_status status = fs::status(path, error);
  if (status.type() == fs::file_type::not_found) {
    return absl::NotFoundError(Cat(path.string(), ": no such file"));
  }
  if (error) {
    return ErrnoError(error.value(), path.string());
  }
  if (status.type() == fs::file_type::directory) {
    return absl::FailedPreconditionError(
        Cat(path.string(), " is a directory, not a MetaBase.xml file"));
  }
  if (status.type() != fs::file_type::regular) {
    return absl::FailedPreconditionError(Cat(path.string(), " is not a regular file"));
  }
  int descriptor = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (descriptor < 0) {
    return ErrnoError(errno, Cat("opening ", path.string()));
  }
  auto too_large = [&](std::uint64_t size) {
    return absl::FailedPreconditionError(Cat(path.string(), " is ", size, " bytes, more than the ",
                                             maximum_size, "-byte limit for a MetaBase.xml"));
  };
  struct stat file_status;
  if (::fstat(descriptor, &file_status) == 0 &&
      static_cast<std::uint64_t>(file_status.st_size) > maximum_size) {
    ::close(descriptor);
    return too_large(static_cast<std::uint64_t>(file_status.st_size));
  }
  // Read at most one byte past the limit, so a file that grew since fstat is
  // still refused without reading all of it.
  std::string contents;
  char buffer[65536];
  while (true) {
    ssize_t count = ::read(descriptor, buffer, sizeof(buffer));
    if (count < 0) {
      if (errno == EINTR) {
        continue;
      }
      int error_number = errno;
      ::close(descriptor);
      return ErrnoError(error_number, Cat("reading ", path.string()));
    }
    if (count == 0) {
      break;
    }
    contents.append(buffer, static_cast<std::size_t>(count));
    if (contents.size() > maximum_size) {
      ::close(descriptor);
      return too_large(contents.size());
    }
  }
  ::close(descriptor);
  absl::StatusOr<MetaBase> metabase = Parse(contents);
  if (!metabase.ok()) {
    return absl::Status(metabase.status().code(),
                        Cat(path.string(), ": ", Message(metabase.status())));
  }
  return metabase;
}

std::string MetaBase::Serialize() const {
  std::string out = document_->prolog;
  document_->AppendElement(document_->configuration, 0, out);
  // The root's end tag is followed by the original epilog, line ending included.
  out.resize(out.size() - document_->line_ending.size());
  out += document_->epilog;
  return out;
}

absl::StatusOr<fs::path> MetaBase::Save(const fs::path& path) const {
  return Save(path, path.parent_path() / "History");
}

absl::StatusOr<fs::path> MetaBase::Save(const fs::path& path,
                                        const fs::path& history_folder) const {
  mode_t mode = 0600;
  struct stat target_status;
  if (::stat(path.c_str(), &target_status) == 0) {
    if (S_ISDIR(target_status.st_mode)) {
      return absl::FailedPreconditionError(
          Cat("cannot save the metabase to ", path.string(), ": it is a directory"));
    }
    if (!S_ISREG(target_status.st_mode)) {
      return absl::FailedPreconditionError(
          Cat("cannot save the metabase to ", path.string(), ": not a regular file"));
    }
    mode = target_status.st_mode & 07777;
  } else if (errno != ENOENT) {
    return ErrnoError(errno, Cat("inspecting ", path.string()));
  }
  fs::path folder = path.parent_path().empty() ? fs::path(".") : path.parent_path();

  if (absl::Status status = EnsureHistoryFolder(history_folder); !status.ok()) {
    return status;
  }
  absl::StatusOr<std::uint64_t> highest = HighestHistoryMajorVersion(history_folder);
  if (!highest.ok()) {
    return highest.status();
  }
  if (*highest >= kMaximumHistoryVersion) {
    return absl::FailedPreconditionError(Cat("history folder ", history_folder.string(),
                                             " already holds major version ", *highest,
                                             ", the largest that fits in ten digits"));
  }
  std::string history_name =
      Cat(kHistoryPrefix, ZeroPadded(*highest + 1), "_", ZeroPadded(0), kHistorySuffix);
  fs::path history_path = history_folder / history_name;

  // Both copies are written and flushed before either is renamed into place,
  // so a failure up to the first rename leaves the metabase as it was.
  std::string bytes = Serialize();
  absl::StatusOr<fs::path> temporary =
      WriteTemporaryFile(folder, path.filename().string(), bytes, mode);
  if (!temporary.ok()) {
    return temporary.status();
  }
  absl::StatusOr<fs::path> history_temporary =
      WriteTemporaryFile(history_folder, history_name, bytes, mode);
  if (!history_temporary.ok()) {
    ::unlink(temporary->c_str());
    return history_temporary.status();
  }
  if (::rename(temporary->c_str(), path.c_str()) != 0) {
    absl::Status status =
        ErrnoError(errno, Cat("renaming ", temporary->string(), " to ", path.string()));
    ::unlink(temporary->c_str());
    ::unlink(history_temporary->c_str());
    return status;
  }
  if (absl::Status status = SyncFolder(folder); !status.ok()) {
    ::unlink(history_temporary->c_str());
    return absl::Status(status.code(), Cat("the metabase was renamed into place at ", path.string(),
                                           " but may not survive a crash: ", Message(status)));
  }
  absl::Status status;
  if (::rename(history_temporary->c_str(), history_path.c_str()) != 0) {
    status = ErrnoError(
        errno, Cat("renaming ", history_temporary->string(), " to ", history_path.string()));
    ::unlink(history_temporary->c_str());
  } else {
    status = SyncFolder(history_folder);
  }
  if (!status.ok()) {
    return absl::Status(status.code(), Cat("the metabase was saved to ", path.string(),
                                           " but its history copy was not: ", Message(status)));
  }
  return history_path;
}

std::vector<Site> MetaBase::Sites() const {
  std::vector<Site> sites;
  for (pugi::xml_node key : document_->property.children(kWebServerElementName.data())) {
    sites.push_back(document_->ReadValidatedSite(key));
  }
  return sites;
}

absl::StatusOr<Site> MetaBase::FindSite(std::string_view site_id) const {
  absl::StatusOr<pugi::xml_node> key = document_->RequireSiteKey(site_id);
  if (!key.ok()) {
    return key.status();
  }
  return document_->ReadValidatedSite(*key);
}

bool MetaBase::EditWhileRunningEnabled() const {
  return document_->ReadComputerFlag("EnableEditWhileRunning").value_or(false);
}

bool MetaBase::HistoryEnabled() const {
  return document_->ReadComputerFlag("EnableHistory").value_or(false);
}

absl::Status MetaBase::SetCertificate(std::string_view site_id, std::string_view thumbprint,
                                      std::string_view store_name) {
  absl::StatusOr<pugi::xml_node> key = document_->RequireSiteKey(site_id);
  if (!key.ok()) {
    return key.status();
  }
  if (!IsThumbprint(thumbprint)) {
    return absl::InvalidArgumentError(Cat("certificate thumbprint \"", thumbprint,
                                          "\" is not 40 hex digits (a SHA-1 thumbprint)"));
  }
  if (store_name.empty() || std::any_of(store_name.begin(), store_name.end(), [](char character) {
        return absl::ascii_iscntrl(character);
      })) {
    return absl::InvalidArgumentError(
        Cat("certificate store name \"", store_name, "\" is empty or has control characters"));
  }
  SetRawAttribute(*key, "SSLCertHash", absl::AsciiStrToUpper(std::string(thumbprint)));
  SetRawAttribute(*key, "SSLStoreName", EncodeAttributeValue(store_name));
  return absl::OkStatus();
}

absl::Status MetaBase::ClearCertificate(std::string_view site_id) {
  absl::StatusOr<pugi::xml_node> key = document_->RequireSiteKey(site_id);
  if (!key.ok()) {
    return key.status();
  }
  key->remove_attribute("SSLCertHash");
  key->remove_attribute("SSLStoreName");
  return absl::OkStatus();
}

absl::Status MetaBase::AddSiteWithId(std::string_view site_id, const NewSite& site) {
  if (absl::Status status = CheckSiteId(site_id); !status.ok()) {
    return status;
  }
  if (site.name.empty()) {
    return absl::InvalidArgumentError("a new site needs a name (ServerComment)");
  }
  if (site.root_path.empty()) {
    return absl::InvalidArgumentError("a new site needs a content folder (its ROOT Path)");
  }
  if (site.server_bindings.empty()) {
    return absl::InvalidArgumentError("a new site needs at least one ServerBindings entry");
  }
  for (const Binding& binding : site.server_bindings) {
    if (absl::Status status = ValidateBinding("ServerBindings", binding); !status.ok()) {
      return status;
    }
  }
  for (const Binding& binding : site.secure_bindings) {
    if (absl::Status status = ValidateBinding("SecureBindings", binding); !status.ok()) {
      return status;
    }
  }
  std::string location = SiteLocation(site_id);
  pugi::xml_node last_web_key;
  for (pugi::xml_node key : document_->property.children()) {
    if (key.type() != pugi::node_element) {
      continue;
    }
    std::string key_location = KeyLocation(key);
    if (IsAtOrUnder(key_location, location)) {
      return absl::AlreadyExistsError(Cat("site id ", site_id, " is in use (key ",
                                          key.attribute(kLocationAttribute.data()).value(), ")"));
    }
    if (IsAtOrUnder(key_location, kWebServiceLocation)) {
      last_web_key = key;
    }
  }

  const std::string& line_ending = document_->line_ending;
  std::string display_location = Cat("/LM/W3SVC/", site_id);
  pugi::xml_node server =
      document_->property.insert_child_after(kWebServerElementName.data(), last_web_key);
  server.append_attribute(kLocationAttribute.data()).set_value(display_location.c_str());
  // Attributes in IIS's sorted order; see SetRawAttribute.
  if (!site.secure_bindings.empty()) {
    SetRawAttribute(server, "SecureBindings", EncodeBindings(site.secure_bindings, line_ending));
  }
  SetRawAttribute(server, "ServerAutoStart", site.auto_start ? "TRUE" : "FALSE");
  SetRawAttribute(server, "ServerBindings", EncodeBindings(site.server_bindings, line_ending));
  SetRawAttribute(server, "ServerComment", EncodeAttributeValue(site.name));

  // What IIS Manager's new-site wizard writes for the ROOT virtual directory:
  // read and script access, pooled application in the inherited pool.
  pugi::xml_node root =
      document_->property.insert_child_after(kVirtualDirectoryElementName.data(), server);
  root.append_attribute(kLocationAttribute.data())
      .set_value(Cat(display_location, "/ROOT").c_str());
  SetRawAttribute(root, "AccessFlags", "AccessRead | AccessScript");
  SetRawAttribute(root, "AppFriendlyName", "Default Application");
  SetRawAttribute(root, "AppIsolated", "2");
  SetRawAttribute(root, "AppRoot", EncodeAttributeValue(Cat(display_location, "/Root")));
  SetRawAttribute(root, "Path", EncodeAttributeValue(site.root_path));
  document_->key_by_location.emplace(location, server);
  document_->key_by_location.emplace(Cat(location, "/root"), root);
  return absl::OkStatus();
}

absl::StatusOr<std::string> MetaBase::AddSite(const NewSite& site,
                                              const std::function<std::uint32_t()>& random_number) {
  constexpr std::uint64_t kRange =
      std::uint64_t{kMaximumGeneratedSiteId} - kMinimumGeneratedSiteId + 1;
  for (int attempt = 0; attempt < kSiteIdAttempts; ++attempt) {
    std::string site_id = Cat(kMinimumGeneratedSiteId + random_number() % kRange);
    absl::Status status = AddSiteWithId(site_id, site);
    if (status.ok()) {
      return site_id;
    }
    if (!absl::IsAlreadyExists(status)) {
      return status;
    }
  }
  return absl::ResourceExhaustedError(
      Cat("no unused site id found in ", kSiteIdAttempts, " attempts"));
}

absl::StatusOr<std::string> MetaBase::AddSite(const NewSite& site) {
  std::random_device device;
  return AddSite(site, [&device] { return static_cast<std::uint32_t>(device()); });
}

absl::Status MetaBase::DeleteSite(std::string_view site_id) {
  absl::StatusOr<pugi::xml_node> server = document_->RequireSiteKey(site_id);
  if (!server.ok()) {
    return server.status();
  }
  std::string location = SiteLocation(site_id);
  std::vector<pugi::xml_node> doomed;
  for (pugi::xml_node key : document_->property.children()) {
    if (key.type() != pugi::node_element) {
      continue;
    }
    std::string key_location = KeyLocation(key);
    if (!IsAtOrUnder(key_location, location)) {
      continue;
    }
    document_->key_by_location.erase(key_location);
    for (pugi::xml_node previous = key.previous_sibling();
         !previous.empty() && previous.type() == pugi::node_comment;
         previous = previous.previous_sibling()) {
      doomed.push_back(previous);
    }
    doomed.push_back(key);
  }
  for (const pugi::xml_node& node : doomed) {
    document_->property.remove_child(node);
  }
  return absl::OkStatus();
}

}  // namespace certfleet::iis6
