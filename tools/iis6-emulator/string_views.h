// Conversions between std::string_view and Debian's absl::string_view.
//
// Debian builds abseil with its own absl::string_view (docs/development.md),
// so absl's string functions do not take std::string_view. The emulator's
// interfaces use std::string_view; its implementation files convert at the
// call into absl with these, without copying.
//
// Thread safety: pure functions.

#ifndef CERTFLEET_TOOLS_IIS6_EMULATOR_STRING_VIEWS_H_
#define CERTFLEET_TOOLS_IIS6_EMULATOR_STRING_VIEWS_H_

#include <string_view>

#include "absl/strings/string_view.h"

namespace certfleet::iis6_emulator {

// Returns an absl::string_view over the same characters.
inline absl::string_view ToAbsl(std::string_view text) {
  return absl::string_view(text.data(), text.size());
}

// Returns a std::string_view over the same characters.
inline std::string_view ToStd(absl::string_view text) {
  return std::string_view(text.data(), text.size());
}

}  // namespace certfleet::iis6_emulator

#endif  // CERTFLEET_TOOLS_IIS6_EMULATOR_STRING_VIEWS_H_
