#include "engine/response_histogram.h"

#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "gtest/gtest.h"

namespace chatkpi {
namespace {

using Bins = std::vector<std::pair<int64_t, int64_t>>;

// The histogram as a plain map without zero counts: what every way of
// adding must give.
Bins Model(const std::map<int64_t, int64_t>& m) {
  Bins out;
  for (const auto& [second, count] : m) {
    if (count != 0) out.emplace_back(second, count);
  }
  return out;
}

TEST(ResponseHistogram, AddFindsDenseAndSparseSeconds) {
  ResponseHistogram h;
  // 1..5 dense, then 9 and 40: a second's place is found by its offset
  // from the first where the seconds before it are all there.
  for (int64_t s : {3, 1, 5, 2, 4, 40, 9}) h.Add(s, 1);
  h.Add(4, 2);    // dense region: 1 + 2 = 3
  h.Add(40, -1);  // 1 - 1 = 0: the bin goes
  h.Add(7, 5);    // between 5 and 9: inserted
  h.Add(0, 1);    // before the first
  EXPECT_EQ(
      h.bins(),
      (Bins{{0, 1}, {1, 1}, {2, 1}, {3, 1}, {4, 3}, {5, 1}, {7, 5}, {9, 1}}));
  h.Add(6, 1);  // now 0..7 are dense; 9 sits at offset 8
  h.Add(9, -1);
  EXPECT_EQ(
      h.bins(),
      (Bins{{0, 1}, {1, 1}, {2, 1}, {3, 1}, {4, 3}, {5, 1}, {6, 1}, {7, 5}}));
  EXPECT_EQ(h.Total(), 14);  // 1+1+1+1+3+1+1+5
}

// Small deltas are added bin by bin, large ones merged: both must agree
// with the model, and subtracting what was added must give back the
// histogram exactly (the engine undoes a day's row that way when its
// month's row cannot take a delta).
TEST(ResponseHistogram, RandomAddsAndMergesMatchAMap) {
  std::mt19937_64 rng(7);
  for (int round = 0; round < 200; ++round) {
    ResponseHistogram h;
    std::map<int64_t, int64_t> model;
    const int64_t range = 1 + static_cast<int64_t>(rng() % 400);
    for (int step = 0; step < 60; ++step) {
      ResponseHistogram delta;
      std::map<int64_t, int64_t> d;
      // Mostly 1..3 bins (an event's delta), sometimes many (a merge).
      const int bins = rng() % 5 == 0 ? 1 + rng() % 40 : 1 + rng() % 3;
      for (int i = 0; i < bins; ++i) {
        const int64_t second = static_cast<int64_t>(rng() % range);
        const int64_t count = static_cast<int64_t>(rng() % 5) - 2;
        delta.Add(second, count);
        d[second] += count;
      }
      ASSERT_EQ(delta.bins(), Model(d));
      const ResponseHistogram before = h;
      if (rng() % 2 == 0) {
        h += delta;
        for (const auto& [s, c] : d) model[s] += c;
      } else {
        h -= delta;
        for (const auto& [s, c] : d) model[s] -= c;
      }
      ASSERT_EQ(h.bins(), Model(model)) << "round " << round;
      ResponseHistogram undone = h;
      undone -= delta;
      undone += delta;
      ASSERT_EQ(undone, h);
      ResponseHistogram back = before;
      back += delta;
      back -= delta;
      ASSERT_EQ(back, before);
    }
  }
}

// A busy month's row switches to a dense layout (a count per second) once
// its bins are many and close together, and back when a far second would
// make that layout large. Whatever the layout, the bins, the figures read
// from them, equality and the stored bytes are those of the plain map.
TEST(ResponseHistogram, DenseAndSparseLayoutsAgreeWithAMap) {
  std::mt19937_64 rng(11);
  for (int round = 0; round < 100; ++round) {
    ResponseHistogram h;
    std::map<int64_t, int64_t> model;
    // Rows of up to 3,600 seconds, most answers short, and retractions;
    // in odd rounds now and then a second far outside (which leaves the
    // dense layout until it is taken back).
    const bool far = round % 2 == 1;
    for (int step = 0; step < 3000; ++step) {
      int64_t second;
      const int kind = static_cast<int>(rng() % 100);
      if (kind < 60) {
        second = 3 + static_cast<int64_t>(rng() % 38);
      } else if (kind < 98 || !far) {
        second = 41 + static_cast<int64_t>(rng() % 3560);
      } else {
        second = static_cast<int64_t>(rng() % 2'000'000) - 1000;
      }
      const int64_t count = rng() % 4 == 0 ? -1 : 1;
      h.Add(second, count);
      model[second] += count;
      if (step % 499 == 0) {
        // Mid-way, read back through the stored form.
        std::string bytes;
        h.AppendTo(&bytes);
        std::string_view in(bytes);
        ResponseHistogram decoded;
        ASSERT_TRUE(decoded.DecodeFrom(&in)) << "round " << round;
        ASSERT_EQ(decoded.bins(), Model(model)) << "round " << round;
        ASSERT_EQ(decoded, h);
      }
      if (step % 97 == 0) {
        // Merging a large histogram into this one, and out again.
        ResponseHistogram big;
        std::map<int64_t, int64_t> b;
        for (int i = 0; i < 100; ++i) {
          const int64_t s = static_cast<int64_t>(rng() % 200);
          big.Add(s, 1);
          b[s] += 1;
        }
        h += big;
        for (const auto& [s, c] : b) model[s] += c;
        ASSERT_EQ(h.bins(), Model(model)) << "round " << round;
        h -= big;
        for (const auto& [s, c] : b) model[s] -= c;
      }
    }
    const Bins expected = Model(model);
    ASSERT_EQ(h.bins(), expected) << "round " << round;
    // The same bins added one by one in order of second: equal, and
    // stored in the same bytes.
    ResponseHistogram same;
    int64_t total = 0, within_40 = 0;
    for (const auto& [s, c] : expected) {
      same.Add(s, c);
      total += c;
      if (s <= 40) within_40 += c;
    }
    EXPECT_EQ(h, same);
    EXPECT_EQ(h.Total(), total);
    EXPECT_EQ(h.CountAtMost(40), within_40);
    EXPECT_EQ(h.empty(), expected.empty());
    std::string a, b;
    h.AppendTo(&a);
    same.AppendTo(&b);
    EXPECT_EQ(a, b);
    std::string_view in(a);
    ResponseHistogram decoded;
    ASSERT_TRUE(decoded.DecodeFrom(&in));
    EXPECT_TRUE(in.empty());
    EXPECT_EQ(decoded.bins(), expected);
  }
}

// Seconds 1..100 once each: dense after the 64th; the median and p90 are
// read the same way in either layout. Taking every count back leaves an
// empty histogram equal to a new one.
TEST(ResponseHistogram, DenseRowEmptiesAndReadsPercentiles) {
  ResponseHistogram h;
  for (int64_t s = 1; s <= 100; ++s) h.Add(s, 1);
  std::string bytes;
  h.AppendTo(&bytes);
  std::string_view in(bytes);
  ResponseHistogram decoded;
  ASSERT_TRUE(decoded.DecodeFrom(&in));
  EXPECT_TRUE(in.empty());
  EXPECT_EQ(decoded.Total(), 100);
  EXPECT_EQ(decoded, h);
  // rank ceil(100 * 1/2) = 50 -> second 50; ceil(100 * 9/10) = 90 -> 90.
  EXPECT_EQ(h.Percentile(1, 2), 50);
  EXPECT_EQ(h.Percentile(9, 10), 90);
  h.Add(1000, 1);  // span 1000 > 8 x 101 bins: sparse again
  EXPECT_EQ(h.Total(), 101);
  EXPECT_EQ(h.Percentile(1, 1), 1000);
  h.Add(1000, -1);
  for (int64_t s = 1; s <= 100; ++s) h.Add(s, -1);
  EXPECT_TRUE(h.empty());
  EXPECT_EQ(h, ResponseHistogram());
  EXPECT_EQ(h.Percentile(1, 2), std::nullopt);
}

}  // namespace
}  // namespace chatkpi
