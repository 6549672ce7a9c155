// Per-client request rate limiting for the HTTP API (docs/limits.md): one
// token bucket per client key (the server uses a valid bearer token, else
// the remote address). A bucket holds up to `burst` requests and refills at
// `rate` a second; a request is allowed when the bucket holds one.
//
// Memory is bounded: a client idle for burst/rate seconds has a full bucket
// again, the same as a client never seen, so it is forgotten; and at most
// `max_clients` are kept, the least recently seen dropped first (a dropped
// client comes back with a full bucket). So a flood of distinct addresses
// costs at most max_clients entries, under 200 bytes each.
//
//   RateLimiterOptions o;  // 20/s, bursts of 40
//   RateLimiter limiter(o);
//   RateLimiter::Decision d = limiter.Acquire("addr:10.0.0.7");
//   if (!d.allowed) ... 429, Retry-After: RetryAfterSeconds(d.retry_after)
//
// Thread-safe. The clock is injectable so that tests need no sleeps.
#ifndef CHATKPI_QUERY_RATE_LIMITER_H_
#define CHATKPI_QUERY_RATE_LIMITER_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <list>
#include <string>
#include <string_view>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace chatkpi {

struct RateLimiterOptions {
  // Requests a second a client may make on average; <= 0: no limit.
  double rate = 20;
  // Requests a client may make at once after being idle; at least 1.
  int burst = 40;
  // Clients tracked at most; at least 1.
  size_t max_clients = 10000;
  // Monotonic time; null: std::chrono::steady_clock.
  std::function<absl::Time()> clock;
};

class RateLimiter {
 public:
  explicit RateLimiter(RateLimiterOptions options);
  RateLimiter(const RateLimiter&) = delete;
  RateLimiter& operator=(const RateLimiter&) = delete;

  struct Decision {
    bool allowed = true;
    // When refused: how long until the client's next request is allowed
    // (> 0). Zero when allowed.
    absl::Duration retry_after = absl::ZeroDuration();
  };

  // Takes one request from `client`'s bucket, if it holds one.
  Decision Acquire(std::string_view client);

  // Whether requests are limited at all (rate > 0).
  bool enabled() const { return enabled_; }
  // Clients tracked now (idle ones are dropped as other clients come).
  size_t clients() const;

 private:
  // Generic cell rate algorithm: a bucket is its "theoretical arrival
  // time" `tat`; it is full when tat <= now, and a request is allowed while
  // tat - now <= (burst - 1) / rate. Integer durations keep it exact.
  struct Client {
    std::string key;
    absl::Time tat;
    absl::Time last_seen;
  };
  using List = std::list<Client>;  // most recently seen first

  absl::Time Now() const;
  // Drops clients idle long enough to be full again (the tail of `lru_`).
  void DropIdle(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const RateLimiterOptions options_;
  const bool enabled_;
  const absl::Duration interval_;   // 1 / rate
  const absl::Duration tolerance_;  // (burst - 1) / rate
  const absl::Duration idle_;       // burst / rate: refilled from empty

  mutable absl::Mutex mu_;
  List lru_ ABSL_GUARDED_BY(mu_);
  // Keys are views of the list entries' `key`.
  absl::flat_hash_map<std::string_view, List::iterator> index_
      ABSL_GUARDED_BY(mu_);
};

// `d` rounded up to whole seconds, at least 1: the value of a Retry-After
// header (RFC 9110 10.2.3).
int64_t RetryAfterSeconds(absl::Duration d);

}  // namespace chatkpi

#endif  // CHATKPI_QUERY_RATE_LIMITER_H_
