// The emulator's event log: one line per event (a listener opened, a
// handshake, a request, a reload and its outcome), each stamped with the UTC
// time and the process id, written to standard error, a file, or a function
// that tests supply.
//
// Thread safety: Write may be called from several threads at once; each line
// is written whole, never interleaved with another.

#ifndef CERTFLEET_TOOLS_IIS6_EMULATOR_EVENT_LOG_H_
#define CERTFLEET_TOOLS_IIS6_EMULATOR_EVENT_LOG_H_

#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace certfleet::iis6_emulator {

class EventLog {
 public:
  // Receives each finished line, without its trailing newline.
  using Sink = std::function<void(std::string_view line)>;

  // Returns a log that writes to standard error.
  static std::unique_ptr<EventLog> ToStandardError();

  // Returns a log that appends to `path`, creating it with mode 0644. Returns
  // the errno-derived status naming the path when it cannot be opened.
  static absl::StatusOr<std::unique_ptr<EventLog>> ToFile(const std::filesystem::path& path);

  // Returns a log that hands every line to `sink` (tests collect them).
  static std::unique_ptr<EventLog> ToSink(Sink sink);

  EventLog(const EventLog&) = delete;
  EventLog& operator=(const EventLog&) = delete;

  // Writes `event` as one line: "<UTC time> iis6-emulator[<pid>] <event>".
  // Line breaks inside `event` become spaces so that one event stays one line.
  // A failed write is dropped: logging never stops the server.
  void Write(std::string_view event);

 private:
  explicit EventLog(Sink sink) : sink_(std::move(sink)) {}

  std::mutex mutex_;
  Sink sink_;  // Guarded by mutex_.
};

}  // namespace certfleet::iis6_emulator

#endif  // CERTFLEET_TOOLS_IIS6_EMULATOR_EVENT_LOG_H_
