// RateLimiter (query/rate_limiter.h) on a fake clock: no sleeps, every
// figure exact. The limiter over real sockets is in http_server_test.cc
// (HttpLimits.*).
#include "query/rate_limiter.h"

#include <functional>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace chatkpi {
namespace {

// A clock that moves only when told.
struct FakeClock {
  absl::Time now = absl::FromUnixSeconds(1'000'000);
  std::function<absl::Time()> Fn() {
    return [this] { return now; };
  }
};

RateLimiterOptions Options(FakeClock& clock, double rate = 20, int burst = 40,
                           size_t max_clients = 10000) {
  RateLimiterOptions o;
  o.rate = rate;
  o.burst = burst;
  o.max_clients = max_clients;
  o.clock = clock.Fn();
  return o;
}

// Requests `client` makes before the first refusal, at the clock's now.
int AllowedNow(RateLimiter& l, const std::string& client) {
  int n = 0;
  while (l.Acquire(client).allowed) ++n;
  return n;
}

TEST(HttpRateLimiter, BurstThenRefusedWithRetryAfter) {
  FakeClock clock;
  RateLimiter l(Options(clock));
  for (int i = 0; i < 40; ++i) {
    RateLimiter::Decision d = l.Acquire("token#0");
    ASSERT_TRUE(d.allowed) << i;
    EXPECT_EQ(d.retry_after, absl::ZeroDuration());
  }
  RateLimiter::Decision d = l.Acquire("token#0");
  EXPECT_FALSE(d.allowed);
  // One request refills in 1/20 s.
  EXPECT_EQ(d.retry_after, absl::Milliseconds(50));
  EXPECT_EQ(RetryAfterSeconds(d.retry_after), 1);
  // Refusals take nothing: the wait does not grow.
  EXPECT_EQ(l.Acquire("token#0").retry_after, absl::Milliseconds(50));
}

TEST(HttpRateLimiter, RefillsAtTheRate) {
  FakeClock clock;
  RateLimiter l(Options(clock));
  ASSERT_EQ(AllowedNow(l, "a"), 40);
  clock.now += absl::Milliseconds(49);
  RateLimiter::Decision d = l.Acquire("a");
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.retry_after, absl::Milliseconds(1));
  clock.now += absl::Milliseconds(1);
  EXPECT_EQ(AllowedNow(l, "a"), 1);
  // A second refills 20, never more than the burst.
  clock.now += absl::Seconds(1);
  EXPECT_EQ(AllowedNow(l, "a"), 20);
  clock.now += absl::Hours(1);
  EXPECT_EQ(AllowedNow(l, "a"), 40);
  // A steady 20 a second is always allowed.
  for (int i = 0; i < 1000; ++i) {
    clock.now += absl::Milliseconds(50);
    ASSERT_TRUE(l.Acquire("b").allowed) << i;
  }
}

TEST(HttpRateLimiter, ClientsHaveBucketsOfTheirOwn) {
  FakeClock clock;
  RateLimiter l(Options(clock));
  ASSERT_EQ(AllowedNow(l, "token#0"), 40);
  EXPECT_EQ(AllowedNow(l, "token#1"), 40);
  EXPECT_EQ(AllowedNow(l, "addr:10.0.0.1"), 40);
  EXPECT_EQ(l.clients(), 3u);
}

TEST(HttpRateLimiter, SlowRatesAndSmallBursts) {
  FakeClock clock;
  RateLimiter l(Options(clock, /*rate=*/0.5, /*burst=*/1));
  EXPECT_TRUE(l.Acquire("a").allowed);
  RateLimiter::Decision d = l.Acquire("a");
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.retry_after, absl::Seconds(2));
  EXPECT_EQ(RetryAfterSeconds(d.retry_after), 2);
  clock.now += absl::Milliseconds(1500);
  d = l.Acquire("a");
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.retry_after, absl::Milliseconds(500));
  EXPECT_EQ(RetryAfterSeconds(d.retry_after), 1);  // whole seconds, >= 1
  clock.now += absl::Milliseconds(500);
  EXPECT_TRUE(l.Acquire("a").allowed);
}

TEST(HttpRateLimiter, IdleClientsAreForgotten) {
  FakeClock clock;
  RateLimiter l(Options(clock));
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE(l.Acquire(absl::StrCat("addr:", i)).allowed);
  }
  ASSERT_EQ(AllowedNow(l, "addr:busy"), 40);
  EXPECT_EQ(l.clients(), 101u);
  // Not yet full again (burst / rate = 2 s): kept.
  clock.now += absl::Milliseconds(1999);
  EXPECT_TRUE(l.Acquire("addr:late").allowed);
  EXPECT_EQ(l.clients(), 102u);
  // Full again: the 101 seen 2 s ago are dropped by the next request of
  // anyone; the one seen 1 ms ago is kept.
  clock.now += absl::Milliseconds(1);
  EXPECT_TRUE(l.Acquire("addr:other").allowed);
  EXPECT_EQ(l.clients(), 2u);
  // A forgotten client starts with a full bucket, as it would have had.
  EXPECT_EQ(AllowedNow(l, "addr:busy"), 40);
  EXPECT_EQ(l.clients(), 3u);
}

TEST(HttpRateLimiter, TableIsBoundedUnderAFloodOfAddresses) {
  FakeClock clock;
  RateLimiter l(Options(clock, 20, 40, /*max_clients=*/100));
  ASSERT_EQ(AllowedNow(l, "token#0"), 40);
  // 200,000 distinct addresses within one instant: never more than 100
  // tracked (each new one starts with a full bucket, so each is allowed).
  for (int i = 0; i < 200'000; ++i) {
    ASSERT_TRUE(l.Acquire(absl::StrCat("addr:", i)).allowed) << i;
    ASSERT_LE(l.clients(), 100u);
  }
  EXPECT_EQ(l.clients(), 100u);
  // The least recently seen went first; the newest are still limited.
  EXPECT_EQ(AllowedNow(l, "addr:199999"), 39);
  // The exhausted token was pushed out, so it comes back with a full
  // bucket: the price of the bound, paid only when more than max_clients
  // clients are active within burst / rate.
  EXPECT_EQ(AllowedNow(l, "token#0"), 40);
  EXPECT_EQ(l.clients(), 100u);
}

TEST(HttpRateLimiter, ZeroRateMeansNoLimit) {
  FakeClock clock;
  RateLimiter l(Options(clock, /*rate=*/0));
  EXPECT_FALSE(l.enabled());
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(l.Acquire("a").allowed);
  EXPECT_EQ(l.clients(), 0u);
}

TEST(HttpRateLimiter, ClockSteppingBackDoesNotLockOut) {
  FakeClock clock;
  RateLimiter l(Options(clock, 20, 2));
  ASSERT_EQ(AllowedNow(l, "a"), 2);
  clock.now -= absl::Hours(1);
  RateLimiter::Decision d = l.Acquire("a");
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.retry_after, absl::Milliseconds(50));  // not an hour
  clock.now += absl::Hours(1) + absl::Milliseconds(50);
  EXPECT_TRUE(l.Acquire("a").allowed);
}

TEST(HttpRateLimiter, RetryAfterSecondsRoundsUp) {
  EXPECT_EQ(RetryAfterSeconds(absl::ZeroDuration()), 1);
  EXPECT_EQ(RetryAfterSeconds(absl::Nanoseconds(1)), 1);
  EXPECT_EQ(RetryAfterSeconds(absl::Seconds(1)), 1);
  EXPECT_EQ(RetryAfterSeconds(absl::Milliseconds(1001)), 2);
  EXPECT_EQ(RetryAfterSeconds(absl::Seconds(90)), 90);
}

}  // namespace
}  // namespace chatkpi
