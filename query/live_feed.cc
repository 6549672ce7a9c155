#include "query/live_feed.h"

#include <chrono>

namespace chatkpi {

void LiveFeed::Notify() {
  {
    std::lock_guard<std::mutex> l(mu_);
    ++version_;
  }
  cv_.notify_all();
}

uint64_t LiveFeed::version() const {
  std::lock_guard<std::mutex> l(mu_);
  return version_;
}

uint64_t LiveFeed::WaitForChange(uint64_t seen, absl::Duration timeout) {
  std::unique_lock<std::mutex> l(mu_);
  const uint64_t wakes = wakes_;
  cv_.wait_for(l, absl::ToChronoMicroseconds(timeout),
               [&] { return version_ != seen || closed_ || wakes_ != wakes; });
  return version_;
}

void LiveFeed::Wake() {
  {
    std::lock_guard<std::mutex> l(mu_);
    ++wakes_;
  }
  cv_.notify_all();
}

void LiveFeed::Close() {
  {
    std::lock_guard<std::mutex> l(mu_);
    closed_ = true;
  }
  cv_.notify_all();
}

bool LiveFeed::closed() const {
  std::lock_guard<std::mutex> l(mu_);
  return closed_;
}

}  // namespace chatkpi
