// A small pool of threads that runs functions at given times: the only
// threads fleet-sim owns besides gRPC's own. Every timed thing a simulated
// agent does (the delay of a job step, heartbeats, reconnect backoff,
// periodic reports) is one entry here, so that ten thousand agents need no
// thread each.
//
// Functions run on one of the pool's threads, in deadline order; they must
// not block for long (a blocking call delays every agent behind it).
//
// Thread safety: thread-safe; RunAt / RunAfter may be called from any
// thread, including from a function the scheduler is running.

#ifndef CERTFLEET_BENCH_FLEET_SIM_TASK_SCHEDULER_H_
#define CERTFLEET_BENCH_FLEET_SIM_TASK_SCHEDULER_H_

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <queue>
#include <thread>
#include <vector>

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace certfleet::bench {

class TaskScheduler {
 public:
  // Starts `threads` worker threads (at least one).
  explicit TaskScheduler(int threads);

  // Stops the workers; functions not yet due are dropped.
  ~TaskScheduler();

  TaskScheduler(const TaskScheduler&) = delete;
  TaskScheduler& operator=(const TaskScheduler&) = delete;

  // Runs `task` at `when` (now if it has passed).
  void RunAt(absl::Time when, std::function<void()> task);

  // Runs `task` after `delay`.
  void RunAfter(absl::Duration delay, std::function<void()> task) {
    RunAt(absl::Now() + delay, std::move(task));
  }

  // Stops the workers after the functions running now; idempotent.
  void Stop();

 private:
  struct Entry {
    absl::Time when;
    uint64_t sequence;
    std::function<void()> task;
    // A min-heap on (when, sequence): earliest first, then in order given.
    bool operator<(const Entry& other) const {
      if (when != other.when) return when > other.when;
      return sequence > other.sequence;
    }
  };

  void WorkerLoop();

  std::mutex mutex_;
  std::condition_variable wakeup_;
  std::priority_queue<Entry> entries_;
  uint64_t next_sequence_ = 0;
  bool stopping_ = false;
  std::vector<std::thread> workers_;
};

}  // namespace certfleet::bench

#endif  // CERTFLEET_BENCH_FLEET_SIM_TASK_SCHEDULER_H_
