#include "query/rate_limiter.h"

#include <algorithm>
#include <chrono>
#include <utility>

namespace chatkpi {
namespace {

absl::Time SteadyNow() {
  return absl::UnixEpoch() +
         absl::FromChrono(std::chrono::steady_clock::now().time_since_epoch());
}

}  // namespace

RateLimiter::RateLimiter(RateLimiterOptions options)
    : options_(std::move(options)),
      enabled_(options_.rate > 0),
      interval_(enabled_ ? absl::Seconds(1) / options_.rate
                         : absl::ZeroDuration()),
      tolerance_(interval_ * (std::max(1, options_.burst) - 1)),
      idle_(interval_ * std::max(1, options_.burst)) {}

absl::Time RateLimiter::Now() const {
  return options_.clock ? options_.clock() : SteadyNow();
}

void RateLimiter::DropIdle(absl::Time now) {
  // The list is ordered by last_seen, newest first, so the idle clients
  // are its tail. A client's tat is at most last_seen + idle_ (an allowed
  // request leaves tat <= now + tolerance_ + interval_), so these are full.
  while (!lru_.empty() && now - lru_.back().last_seen >= idle_) {
    index_.erase(lru_.back().key);
    lru_.pop_back();
  }
}

RateLimiter::Decision RateLimiter::Acquire(std::string_view client) {
  if (!enabled_) return {};
  absl::MutexLock l(&mu_);
  absl::Time now = Now();
  // A clock that steps back (only a test's can) must not refuse forever.
  if (!lru_.empty()) now = std::max(now, lru_.front().last_seen);
  DropIdle(now);

  List::iterator it;
  if (auto found = index_.find(client); found != index_.end()) {
    it = found->second;
    lru_.splice(lru_.begin(), lru_, it);  // iterators stay valid
  } else {
    const size_t cap = std::max<size_t>(1, options_.max_clients);
    while (lru_.size() >= cap) {
      index_.erase(lru_.back().key);
      lru_.pop_back();
    }
    lru_.push_front(Client{std::string(client), now, now});
    it = lru_.begin();
    index_.emplace(it->key, it);
  }
  Client& c = *it;
  c.last_seen = now;
  const absl::Time tat = std::max(c.tat, now);
  if (tat - now > tolerance_) {
    Decision d;
    d.allowed = false;
    d.retry_after = tat - now - tolerance_;
    return d;
  }
  c.tat = tat + interval_;
  return {};
}

size_t RateLimiter::clients() const {
  absl::MutexLock l(&mu_);
  return lru_.size();
}

int64_t RetryAfterSeconds(absl::Duration d) {
  return std::max<int64_t>(
      1, absl::ToInt64Seconds(absl::Ceil(d, absl::Seconds(1))));
}

}  // namespace chatkpi
