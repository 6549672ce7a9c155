#include "query/live_feed.h"

namespace chatkpi {

void LiveFeed::Notify() {
  absl::MutexLock l(&mu_);
  ++version_;
  cv_.SignalAll();
}

uint64_t LiveFeed::version() const {
  absl::MutexLock l(&mu_);
  return version_;
}

uint64_t LiveFeed::WaitForChange(uint64_t seen, absl::Duration timeout) {
  absl::MutexLock l(&mu_);
  const uint64_t wakes = wakes_;
  const absl::Time deadline = absl::Now() + timeout;
  while (version_ == seen && !closed_ && wakes_ == wakes) {
    if (cv_.WaitWithDeadline(&mu_, deadline)) break;  // timed out
  }
  return version_;
}

void LiveFeed::Wake() {
  absl::MutexLock l(&mu_);
  ++wakes_;
  cv_.SignalAll();
}

void LiveFeed::Close() {
  absl::MutexLock l(&mu_);
  closed_ = true;
  cv_.SignalAll();
}

bool LiveFeed::closed() const {
  absl::MutexLock l(&mu_);
  return closed_;
}

}  // namespace chatkpi
