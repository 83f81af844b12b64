// Maps the path of an HTTP request to a file inside a site's content folder,
// refusing every way out of that folder: ".." segments (also percent-encoded),
// backslashes, NUL bytes, and symbolic links that lead outside it.
//
// Windows file names are case-insensitive, and MetaBase.xml and URLs often
// spell them differently from the folders on disk; so each path component
// (of the content folder as well as of the request) that does not exist as
// written is matched case-insensitively (ASCII).
//
// Thread safety: free functions without shared state.

#ifndef CERTFLEET_TOOLS_IIS6_EMULATOR_CONTENT_RESOLVER_H_
#define CERTFLEET_TOOLS_IIS6_EMULATOR_CONTENT_RESOLVER_H_

#include <filesystem>
#include <string_view>

#include "absl/status/statusor.h"

namespace certfleet::iis6_emulator {

// Documents served for a folder, in the order they are tried: index.html,
// then IIS 6's defaults.
inline constexpr std::string_view kDefaultDocuments[] = {"index.html", "Default.htm", "index.htm",
                                                         "iisstart.htm"};

// Returns the canonical path of the regular file that `request_path` (the
// path part of a request target, starting with '/', still percent-encoded,
// without query) names under `content_root`; for a folder, its first default
// document. Returns:
//   - InvalidArgument when the path does not start with '/', has a bad
//     percent escape, or contains "..", a backslash or a NUL byte once
//     decoded;
//   - PermissionDenied when it resolves, through a symbolic link, to
//     something outside `content_root`;
//   - NotFound when nothing is there, it is not a regular file, a folder has
//     no default document, or `content_root` itself does not exist.
absl::StatusOr<std::filesystem::path> ResolveContentFile(const std::filesystem::path& content_root,
                                                         std::string_view request_path);

// Percent-decodes `text`. Returns InvalidArgument for a '%' not followed by
// two hex digits.
absl::StatusOr<std::string> PercentDecode(std::string_view text);

}  // namespace certfleet::iis6_emulator

#endif  // CERTFLEET_TOOLS_IIS6_EMULATOR_CONTENT_RESOLVER_H_
