#include "bench/fleet_sim/task_scheduler.h"

#include <algorithm>
#include <utility>

namespace certfleet::bench {

TaskScheduler::TaskScheduler(int threads) {
  for (int i = 0; i < std::max(1, threads); ++i) {
    workers_.emplace_back([this] { WorkerLoop(); });
  }
}

TaskScheduler::~TaskScheduler() { Stop(); }

void TaskScheduler::Stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wakeup_.notify_all();
  for (std::thread& worker : workers_) {
    if (worker.joinable() && worker.get_id() != std::this_thread::get_id()) worker.join();
  }
}

void TaskScheduler::RunAt(absl::Time when, std::function<void()> task) {
  bool earliest = false;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_) return;
    earliest = entries_.empty() || when < entries_.top().when;
    entries_.push(Entry{when, next_sequence_++, std::move(task)});
  }
  if (earliest) {
    wakeup_.notify_all();
  } else {
    wakeup_.notify_one();
  }
}

void TaskScheduler::WorkerLoop() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (!stopping_) {
    if (entries_.empty()) {
      wakeup_.wait(lock);
      continue;
    }
    const absl::Time due = entries_.top().when;
    const absl::Time now = absl::Now();
    if (due > now) {
      wakeup_.wait_for(lock, absl::ToChronoNanoseconds(due - now));
      continue;
    }
    std::function<void()> task = std::move(const_cast<Entry&>(entries_.top()).task);
    entries_.pop();
    lock.unlock();
    task();
    lock.lock();
  }
}

}  // namespace certfleet::bench
