#include "tools/iis6-emulator/content_resolver.h"

#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace certfleet::iis6_emulator {
namespace {

int HexValue(char character) {
  if (character >= '0' && character <= '9') return character - '0';
  if (character >= 'a' && character <= 'f') return character - 'a' + 10;
  if (character >= 'A' && character <= 'F') return character - 'A' + 10;
  return -1;
}

// Returns `folder`/`name` when it exists (even as a dangling link), else the
// entry of `folder` whose name equals `name` ignoring ASCII case, else
// nullopt.
std::optional<std::filesystem::path> FindEntry(const std::filesystem::path& folder,
                                               std::string_view name) {
  std::error_code error;
  std::filesystem::path exact = folder / std::string(name);
  if (std::filesystem::symlink_status(exact, error).type() !=
      std::filesystem::file_type::not_found) {
    if (!error) return exact;
  }
  for (std::filesystem::directory_iterator entry(folder, error), end; !error && entry != end;
       entry.increment(error)) {
    if (absl::EqualsIgnoreCase(entry->path().filename().string(), std::string(name))) {
      return entry->path();
    }
  }
  return std::nullopt;
}

// Returns `path` with each component that does not exist as written replaced
// by an entry of its folder that matches it ignoring ASCII case, or nullopt
// when some component matches nothing. MetaBase.xml often spells the content
// folder differently from the disk ("c:\inetpub\wwwroot" for
// fs/C/Inetpub/wwwroot), which Windows never notices.
std::optional<std::filesystem::path> FindCaseInsensitively(const std::filesystem::path& path) {
  std::error_code error;
  if (std::filesystem::exists(path, error)) return path;
  if (!path.has_relative_path() || path.filename().empty()) return std::nullopt;
  std::optional<std::filesystem::path> parent = FindCaseInsensitively(path.parent_path());
  if (!parent.has_value()) return std::nullopt;
  return FindEntry(*parent, path.filename().string());
}

// True when `path` is `root` or lies below it; both are canonical.
bool IsWithin(const std::filesystem::path& path, const std::filesystem::path& root) {
  auto path_component = path.begin();
  for (auto root_component = root.begin(); root_component != root.end(); ++root_component) {
    if (path_component == path.end() || *path_component != *root_component) return false;
    ++path_component;
  }
  return true;
}

// Resolves `candidate` through every symbolic link and checks that it stays
// within `root`.
absl::StatusOr<std::filesystem::path> CanonicalWithin(const std::filesystem::path& candidate,
                                                      const std::filesystem::path& root,
                                                      std::string_view request_path) {
  std::error_code error;
  std::filesystem::path canonical = std::filesystem::canonical(candidate, error);
  if (error) {
    return absl::NotFoundError(absl::StrCat(std::string(request_path),
                                            " names nothing that exists (", error.message(), ")"));
  }
  if (!IsWithin(canonical, root)) {
    return absl::PermissionDeniedError(
        absl::StrCat(std::string(request_path), " leads through a symbolic link to ",
                     canonical.string(), ", outside the site's content folder"));
  }
  return canonical;
}

}  // namespace

absl::StatusOr<std::string> PercentDecode(std::string_view text) {
  std::string decoded;
  decoded.reserve(text.size());
  for (size_t index = 0; index < text.size(); ++index) {
    if (text[index] != '%') {
      decoded.push_back(text[index]);
      continue;
    }
    if (index + 2 >= text.size()) {
      return absl::InvalidArgumentError(
          absl::StrCat("\"", std::string(text), "\" ends inside a percent escape"));
    }
    const int high = HexValue(text[index + 1]);
    const int low = HexValue(text[index + 2]);
    if (high < 0 || low < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("\"", std::string(text), "\" has a '%' not followed by two hex digits"));
    }
    decoded.push_back(static_cast<char>(high * 16 + low));
    index += 2;
  }
  return decoded;
}

absl::StatusOr<std::filesystem::path> ResolveContentFile(const std::filesystem::path& content_root,
                                                         std::string_view request_path) {
  if (!request_path.starts_with('/')) {
    return absl::InvalidArgumentError(absl::StrCat("the request path \"", std::string(request_path),
                                                   "\" does not start with '/'"));
  }
  absl::StatusOr<std::string> decoded = PercentDecode(request_path);
  if (!decoded.ok()) return decoded.status();
  if (decoded->find('\0') != std::string::npos || decoded->find('\\') != std::string::npos) {
    return absl::InvalidArgumentError(absl::StrCat("the request path \"", std::string(request_path),
                                                   "\" contains a NUL byte or a backslash"));
  }
  std::vector<std::string> segments;
  for (absl::string_view segment : absl::StrSplit(*decoded, '/', absl::SkipEmpty())) {
    if (segment == ".") continue;
    if (segment == "..") {
      return absl::InvalidArgumentError(absl::StrCat("the request path \"",
                                                     std::string(request_path),
                                                     "\" contains \"..\", which could leave "
                                                     "the site's content folder"));
    }
    segments.emplace_back(segment);
  }

  std::error_code error;
  const std::optional<std::filesystem::path> found_root =
      FindCaseInsensitively(content_root.lexically_normal());
  const std::filesystem::path root =
      std::filesystem::canonical(found_root.value_or(content_root), error);
  if (error) {
    return absl::NotFoundError(
        absl::StrCat("the site's content folder ", content_root.string(), " does not exist"));
  }
  std::filesystem::path current = root;
  for (const std::string& segment : segments) {
    std::optional<std::filesystem::path> entry = FindEntry(current, segment);
    if (!entry.has_value()) {
      return absl::NotFoundError(
          absl::StrCat(std::string(request_path), " names nothing that exists"));
    }
    // Resolving at each step keeps a link out of the folder from being
    // followed any further, even to look.
    absl::StatusOr<std::filesystem::path> resolved = CanonicalWithin(*entry, root, request_path);
    if (!resolved.ok()) return resolved.status();
    current = *std::move(resolved);
  }

  if (std::filesystem::is_directory(current, error)) {
    for (std::string_view document : kDefaultDocuments) {
      std::optional<std::filesystem::path> entry = FindEntry(current, document);
      if (!entry.has_value()) continue;
      absl::StatusOr<std::filesystem::path> resolved = CanonicalWithin(*entry, root, request_path);
      if (!resolved.ok()) return resolved.status();
      if (std::filesystem::is_regular_file(*resolved, error)) return resolved;
    }
    return absl::NotFoundError(
        absl::StrCat(std::string(request_path), " is a folder without a default document"));
  }
  if (!std::filesystem::is_regular_file(current, error)) {
    return absl::NotFoundError(absl::StrCat(std::string(request_path), " is not a regular file"));
  }
  return current;
}

}  // namespace certfleet::iis6_emulator
