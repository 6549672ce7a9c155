// MessageId (engine/message_id.h): an id of up to 15 bytes is held inline,
// a longer one on the heap; copies, moves and assignments keep the bytes
// (and free what they replace); ids order as their bytes do, as the
// std::string they replace did, so a buyer's messages keep their (ts, id)
// order; a Message takes 32 bytes.
#include "engine/message_id.h"

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "engine/state.h"
#include "engine/state_bytes.h"
#include "gtest/gtest.h"

namespace chatkpi {
namespace {

TEST(MessageId, ShortIdsInlineLongOnTheHeap) {
  const MessageId empty;
  EXPECT_TRUE(empty.empty());
  EXPECT_FALSE(empty.on_heap());
  const MessageId fifteen(std::string(15, 'a'));
  EXPECT_EQ(fifteen.size(), 15u);
  EXPECT_FALSE(fifteen.on_heap());
  EXPECT_EQ(fifteen.view(), std::string(15, 'a'));
  const MessageId sixteen(std::string(16, 'b'));
  EXPECT_EQ(sixteen.size(), 16u);
  EXPECT_TRUE(sixteen.on_heap());
  EXPECT_EQ(sixteen.view(), std::string(16, 'b'));
  // Bytes a C string would stop at stay.
  const std::string with_nul("c-\0-1", 5);
  EXPECT_EQ(MessageId(with_nul).view(), with_nul);
  EXPECT_EQ(sizeof(MessageId), 16u);
  EXPECT_EQ(sizeof(Message), 32u);
}

TEST(MessageId, CopiesMovesAndAssignmentsKeepTheBytes) {
  const std::string long_id(40, 'x');
  for (const std::string& id : {std::string("c-208850"), long_id}) {
    MessageId a(id);
    MessageId copy = a;
    EXPECT_EQ(copy, a);
    EXPECT_EQ(copy.view(), id);
    MessageId moved = std::move(copy);
    EXPECT_EQ(moved.view(), id);
    EXPECT_TRUE(copy.empty());  // NOLINT: a moved-from id is empty
    MessageId assigned("short");
    assigned = moved;  // replaces an inline id
    EXPECT_EQ(assigned.view(), id);
    assigned = std::string(20, 'y');  // replaces it again
    EXPECT_EQ(assigned.view(), std::string(20, 'y'));
    assigned = std::move(moved);
    EXPECT_EQ(assigned.view(), id);
    assigned = assigned;  // NOLINT: self-assignment keeps the id
    EXPECT_EQ(assigned.view(), id);
    assigned.assign(assigned.view().substr(1));  // from its own bytes
    EXPECT_EQ(assigned.view(), id.substr(1));
    assigned.assign("z");
    EXPECT_EQ(assigned, "z");
    EXPECT_EQ(a.view(), id);  // the original is untouched
  }
}

// A buyer's messages are sorted by (ts, id) with ids compared as bytes: the
// same order std::string gave, whatever the ids' lengths and forms.
TEST(MessageId, OrdersAsTheBytesDo) {
  const std::vector<std::string> ids = {"",
                                        "a",
                                        "ab",
                                        "b",
                                        "c-10",
                                        "c-9",
                                        std::string(15, 'z'),
                                        std::string(16, 'z'),
                                        std::string(15, 'z') + "a",
                                        std::string(40, 'm'),
                                        "\xff\x01",
                                        "\x01\xff"};
  for (const std::string& x : ids) {
    for (const std::string& y : ids) {
      const MessageId a(x), b(y);
      EXPECT_EQ(a < b, x < y) << x << " " << y;
      EXPECT_EQ(a == b, x == y) << x << " " << y;
      EXPECT_EQ(a == y, x == y) << x << " " << y;
      EXPECT_EQ(a < y, x < y) << x << " " << y;
    }
  }
  std::vector<Message> messages;
  for (size_t i = 0; i < ids.size(); ++i) {
    Message m;
    m.ts = 5;
    m.id = ids[ids.size() - 1 - i];
    messages.push_back(m);
  }
  std::sort(messages.begin(), messages.end(), MessageBefore);
  std::vector<std::string> sorted = ids;
  std::sort(sorted.begin(), sorted.end());
  for (size_t i = 0; i < sorted.size(); ++i) {
    EXPECT_EQ(messages[i].id.view(), sorted[i]) << i;
  }
}

// The budget counts an id's heap block, its bytes and malloc's 16; an
// inline id nothing beyond its Message.
TEST(MessageId, StateBytesCountTheHeapBlock) {
  BuyerState b;
  b.messages.reserve(2);
  const size_t empty = StateBytes("buyer", b);
  Message m;
  m.id = std::string(15, 'i');
  b.messages.push_back(m);
  EXPECT_EQ(StateBytes("buyer", b), empty);
  m.id = std::string(40, 'h');
  b.messages.push_back(m);
  EXPECT_EQ(StateBytes("buyer", b), empty + 40 + 16);
}

}  // namespace
}  // namespace chatkpi
