#include "tools/iis6-emulator/event_log.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace certfleet::iis6_emulator {
namespace {

// Writes all of `text` to `descriptor`, retrying after interruptions.
void WriteAll(int descriptor, std::string_view text) {
  while (!text.empty()) {
    const ssize_t written = ::write(descriptor, text.data(), text.size());
    if (written < 0) {
      if (errno == EINTR) continue;
      return;
    }
    text.remove_prefix(static_cast<size_t>(written));
  }
}

// Owns a descriptor for the lifetime of the sinks that share it.
class OwnedDescriptor {
 public:
  explicit OwnedDescriptor(int descriptor) : descriptor_(descriptor) {}
  ~OwnedDescriptor() { ::close(descriptor_); }
  OwnedDescriptor(const OwnedDescriptor&) = delete;
  OwnedDescriptor& operator=(const OwnedDescriptor&) = delete;

  int get() const { return descriptor_; }

 private:
  int descriptor_;
};

}  // namespace

std::unique_ptr<EventLog> EventLog::ToStandardError() {
  return ToSink([](std::string_view line) {
    WriteAll(STDERR_FILENO, absl::StrCat(std::string(line), "\n"));
  });
}

absl::StatusOr<std::unique_ptr<EventLog>> EventLog::ToFile(const std::filesystem::path& path) {
  const int descriptor = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (descriptor < 0) {
    const int error = errno;
    const std::string message =
        absl::StrCat("cannot open the log file ", path.string(), ": ", std::strerror(error));
    if (error == ENOENT) return absl::NotFoundError(message);
    if (error == EACCES || error == EPERM || error == EROFS) {
      return absl::PermissionDeniedError(message);
    }
    return absl::InternalError(message);
  }
  auto file = std::make_shared<OwnedDescriptor>(descriptor);
  return ToSink([file](std::string_view line) {
    // O_APPEND and one write per line keep lines whole even when several
    // processes share the file.
    WriteAll(file->get(), absl::StrCat(std::string(line), "\n"));
  });
}

std::unique_ptr<EventLog> EventLog::ToSink(Sink sink) {
  return std::unique_ptr<EventLog>(new EventLog(std::move(sink)));
}

void EventLog::Write(std::string_view event) {
  std::string line =
      absl::StrCat(absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(), absl::UTCTimeZone()),
                   " iis6-emulator[", ::getpid(), "] ", std::string(event));
  for (char& character : line) {
    if (character == '\n' || character == '\r') character = ' ';
  }
  std::lock_guard<std::mutex> lock(mutex_);
  sink_(line);
}

}  // namespace certfleet::iis6_emulator
