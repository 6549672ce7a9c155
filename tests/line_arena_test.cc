#include "engine/line_arena.h"

#include <string>
#include <string_view>
#include <vector>

#include "gtest/gtest.h"

namespace chatkpi {
namespace {

// Views handed to another thread must keep their text when later lines are
// appended: a growing buffer would move it at its first reallocation (and
// free what the views point to).
TEST(LineArena, ViewsStayPutWhileLinesAreAppended) {
  LineArena arena;
  const std::string first = "{\"type\":\"chat\",\"id\":\"c1\"}";
  const std::string_view kept = arena.Append(first);
  // 3 MiB of 1000-byte lines: three blocks of 1 MiB and then some.
  std::vector<std::string_view> views;
  for (int i = 0; i < 3 * 1049; ++i) {
    views.push_back(
        arena.Append(std::string(1000, static_cast<char>('a' + i % 26))));
  }
  EXPECT_EQ(kept, first);
  for (int i = 0; i < static_cast<int>(views.size()); ++i) {
    ASSERT_EQ(views[i], std::string(1000, static_cast<char>('a' + i % 26)))
        << "line " << i;
  }
  // 25 bytes + 3,147 lines of 1,000 bytes.
  EXPECT_EQ(arena.bytes(), 25u + 3147000u);
}

// A line longer than a block gets a block of its own; an empty line is
// empty.
TEST(LineArena, LongAndEmptyLines) {
  LineArena arena;
  const std::string small = "x";
  const std::string big(3 * LineArena::kBlockBytes + 7, 'b');
  const std::string_view a = arena.Append(small);
  const std::string_view b = arena.Append(big);
  const std::string_view c = arena.Append("");
  const std::string_view d = arena.Append(small);
  EXPECT_EQ(a, "x");
  EXPECT_EQ(b, big);
  EXPECT_TRUE(c.empty());
  EXPECT_EQ(d, "x");
  EXPECT_EQ(arena.bytes(), 2 + big.size());
}

// Retired text stays readable until Recycle (the batch in flight reads
// it); after Recycle the same memory is used again instead of fresh pages.
TEST(LineArena, RetiredTextStaysUntilRecycledThenItsMemoryIsReused) {
  LineArena arena;
  const std::string_view old = arena.Append("old line");
  arena.Retire();
  EXPECT_EQ(arena.bytes(), 0u);
  const std::string_view next = arena.Append("next line");
  EXPECT_EQ(old, "old line");  // retired, not yet recycled
  EXPECT_NE(next.data(), old.data());
  EXPECT_EQ(next, "next line");
  arena.Recycle();
  arena.Retire();  // "next line" retired; "old line"'s block is free
  arena.Recycle();
  // Both blocks are free now; the next line reuses one of them.
  const std::string_view again = arena.Append("again");
  EXPECT_TRUE(again.data() == old.data() || again.data() == next.data());
  EXPECT_EQ(again, "again");
  arena.Reset();
  EXPECT_EQ(arena.bytes(), 0u);
}

// Text retired for several batches in flight, each with its batch's number:
// Recycle(reached) reuses the blocks of the batches done (up to `reached`)
// and no other, so the next line never overwrites a batch still applied.
TEST(LineArena, TextRetiredForABatchStaysUntilThatBatchIsDone) {
  LineArena arena;
  const std::string_view one = arena.Append("batch one");
  arena.Retire(1);
  const std::string_view two = arena.Append("batch two");
  arena.Retire(2);
  const std::string_view three = arena.Append("batch three");
  arena.Retire(3);
  arena.Recycle(1);  // batch 1 done: its block (only) is free
  const std::string_view four = arena.Append("batch four");
  EXPECT_EQ(four.data(), one.data());
  EXPECT_EQ(two, "batch two");
  EXPECT_EQ(three, "batch three");
  arena.Retire(4);
  arena.Recycle(3);  // batches 2 and 3 done; 4 still applied
  const std::string_view five = arena.Append("batch five");
  EXPECT_TRUE(five.data() == two.data() || five.data() == three.data());
  EXPECT_EQ(four, "batch four");
  arena.Retire(5);
  arena.Recycle();  // everything done
  const std::string_view six = arena.Append("six");
  EXPECT_NE(six.data(), nullptr);
  EXPECT_EQ(four, "batch four");  // its block is free, not yet written
}

}  // namespace
}  // namespace chatkpi
