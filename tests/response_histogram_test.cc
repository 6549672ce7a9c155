#include "engine/response_histogram.h"

#include <cstdint>
#include <map>
#include <random>
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

}  // namespace
}  // namespace chatkpi
