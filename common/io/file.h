// Reading files with a size limit and writing them atomically.
//
// Every file certfleet writes that matters after a crash (keys, certificates,
// configuration, MetaBase.xml) goes through WriteFileAtomically: readers see
// the old content or the new, never a torn mix, and the new content is on
// disk before the call returns.
//
// Thread safety: free functions; concurrent writers of the same path each
// succeed and the last rename wins.

#ifndef CERTFLEET_COMMON_IO_FILE_H_
#define CERTFLEET_COMMON_IO_FILE_H_

#include <sys/types.h>

#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace certfleet::io {

// Reads the whole of a regular file. Returns NotFound when it does not exist,
// InvalidArgument when it is a directory or larger than `max_bytes`,
// PermissionDenied when it cannot be opened, each naming the path.
absl::StatusOr<std::string> ReadFile(const std::filesystem::path& path, size_t max_bytes);

// Writes `content` to a temporary file beside `path` with permissions
// `mode`, flushes it to disk, renames it over `path` and flushes the folder.
// On failure `path` is unchanged and the temporary file is removed. Returns
// the failing step and errno's text.
absl::Status WriteFileAtomically(const std::filesystem::path& path, std::string_view content,
                                 mode_t mode);

}  // namespace certfleet::io

#endif  // CERTFLEET_COMMON_IO_FILE_H_
