// The engine's state records survive encoding: what a commit writes is
// what a later load (after eviction or a restart) reads back, field by
// field, including the values the compact encodings treat specially.
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "engine/state.h"
#include "gtest/gtest.h"

namespace chatkpi {
namespace {

void ExpectSameMessages(const std::vector<Message>& got,
                        const std::vector<Message>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(got[i].ts, want[i].ts) << i;
    EXPECT_EQ(got[i].agent, want[i].agent) << i;
    EXPECT_EQ(got[i].flags, want[i].flags) << i;
    EXPECT_EQ(got[i].id, want[i].id) << i;
  }
}

TEST(StateCodec, BuyerStateRoundTrips) {
  BuyerState s;
  s.agents = {"shop:agent1", std::string(128, 'a'), ""};
  s.last_ts = 1793462597076;
  // Deltas of 0, of one byte, and of many bytes; an id of 128 bytes.
  s.messages = {
      {1793462466045, 0, Message::kIn, "c-1"},
      {1793462466045, 1, Message::kGood, "c-2"},
      {1793462466100, 2, Message::kGood | Message::kBad, std::string(128, 'x')},
      {1893462466100, 0, 0, ""},
  };
  s.orders = {{"202611-037803", 1793462466000}, {"", 0}};
  s.order_counts = {{kNoAgent, -3, 1, 0}, {2, 20000, -1, 7}};

  BuyerState back;
  ASSERT_TRUE(DecodeBuyerState(EncodeBuyerState(s), &back));
  EXPECT_EQ(back.agents, s.agents);
  EXPECT_EQ(back.last_ts, s.last_ts);
  ExpectSameMessages(back.messages, s.messages);
  ASSERT_EQ(back.orders.size(), 2u);
  EXPECT_EQ(back.orders[0].order, "202611-037803");
  EXPECT_EQ(back.orders[0].created_ts, 1793462466000);
  ASSERT_EQ(back.order_counts.size(), 2u);
  EXPECT_EQ(back.order_counts[0].agent, kNoAgent);
  EXPECT_EQ(back.order_counts[0].day, -3);
  EXPECT_EQ(back.order_counts[0].ordered, 1);
  EXPECT_EQ(back.order_counts[1].agent, 2u);
  EXPECT_EQ(back.order_counts[1].day, 20000);
  EXPECT_EQ(back.order_counts[1].ordered, -1);
  EXPECT_EQ(back.order_counts[1].paid, 7);

  BuyerState empty;
  ASSERT_TRUE(DecodeBuyerState(EncodeBuyerState(BuyerState()), &empty));
  EXPECT_TRUE(empty.messages.empty() && empty.agents.empty());
}

TEST(StateCodec, OrderStateRoundTrips) {
  OrderState s;
  s.last_ts = 1793462597076;
  s.events = {
      {1793462466045, "o-1", OrderStatus::kCreated, 40320, 1, "买家_周一诺"},
      {1793462466046, "o-2", OrderStatus::kPaid, 0, 0, "buyer2"},
      {1793462466047, std::string(128, 'o'), OrderStatus::kRefunded,
       -9223372036854775807, 1 << 30, ""},
  };
  OrderState back;
  ASSERT_TRUE(DecodeOrderState(EncodeOrderState(s), &back));
  EXPECT_EQ(back.last_ts, s.last_ts);
  ASSERT_EQ(back.events.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(back.events[i].ts, s.events[i].ts) << i;
    EXPECT_EQ(back.events[i].id, s.events[i].id) << i;
    EXPECT_EQ(back.events[i].status, s.events[i].status) << i;
    EXPECT_EQ(back.events[i].amount_fen, s.events[i].amount_fen) << i;
    EXPECT_EQ(back.events[i].items, s.events[i].items) << i;
    EXPECT_EQ(back.events[i].buyer, s.events[i].buyer) << i;
  }
  // A truncated record is refused, not read past its end.
  const std::string whole = EncodeOrderState(s);
  OrderState cut;
  EXPECT_FALSE(DecodeOrderState(whole.substr(0, whole.size() - 1), &cut));
}

// The records' bytes are the stored format: a small buyer and order,
// byte by byte (a signed varint is zigzag coded, 5 -> 10).
BuyerState SmallBuyer() {
  BuyerState s;
  s.agents = {"a1"};
  s.last_ts = 5;
  s.messages = {{3, 0, Message::kIn, "m"}};
  s.orders = {{"o", 2}};
  s.order_counts = {{0, 1, 1, 0}};
  return s;
}
constexpr std::string_view kSmallBuyer(
    "\x01\x0a"               // format, last_ts 5
    "\x01\x02"               // 1 agent: "a1"
    "a1"                     //
    "\x01\x06\x00\x01\x01m"  // 1 message: ts +3, agent 0, in, "m"
    "\x01\x01o\x04"          // 1 order: "o", created 2
    "\x01\x01\x02\x02\x00",  // 1 count: agent 0 (+1), day 1, 1, 0
    21);

OrderState SmallOrder() {
  OrderState s;
  s.last_ts = 7;
  s.events = {{6, "e", OrderStatus::kPaid, -2, 1, "b"}};
  return s;
}
constexpr std::string_view kSmallOrder(
    "\x01\x0e\x01"  // format, last_ts 7, 1 event:
    "\x0c\x01"
    "e"  // ts 6, id "e",
    "\x01\x03\x02\x01"
    "b",  // paid, -2 fen, 1 item, buyer "b"
    11);

TEST(StateCodec, RecordsKeepTheirStoredBytes) {
  ASSERT_EQ(static_cast<int>(OrderStatus::kPaid), 1);
  EXPECT_EQ(EncodeBuyerState(SmallBuyer()), kSmallBuyer);
  EXPECT_EQ(EncodeOrderState(SmallOrder()), kSmallOrder);
}

// A commit encodes every state into one buffer: a record written after a
// longer one is the same bytes as written alone, whatever the longer one
// left behind it in the buffer.
TEST(StateCodec, ReusedBufferGivesTheSameRecords) {
  BuyerState big = SmallBuyer();
  for (int i = 0; i < 200; ++i) {
    big.messages.push_back({4 + i, 0, Message::kGood, std::string(40, 'z')});
  }
  OrderState big_order = SmallOrder();
  big_order.events.push_back(
      {9, std::string(300, 'i'), OrderStatus::kCreated, 5, 2, "b"});
  std::string buffer;
  EXPECT_EQ(EncodeBuyerState(big, &buffer), EncodeBuyerState(big));
  EXPECT_EQ(EncodeBuyerState(SmallBuyer(), &buffer), kSmallBuyer);
  EXPECT_EQ(EncodeOrderState(big_order, &buffer), EncodeOrderState(big_order));
  EXPECT_EQ(EncodeOrderState(SmallOrder(), &buffer), kSmallOrder);
  EXPECT_EQ(EncodeBuyerState(big, &buffer), EncodeBuyerState(big));
  BuyerState back;
  ASSERT_TRUE(DecodeBuyerState(EncodeBuyerState(big, &buffer), &back));
  EXPECT_EQ(back.messages.size(), 201u);
}

// A commit appends to a stored buyer a record of its messages added since
// the last write (EncodeBuyerRecord), with the agents, orders and counts
// as they are now. The value then decodes as the state in memory: every
// record's messages in order, the last record's other fields.
TEST(StateCodec, AppendedRecordsDecodeAsTheStateInMemory) {
  BuyerState s;
  s.agents = {"a1"};
  s.last_ts = 300;
  s.messages = {{100, 0, Message::kIn, "x1"}, {300, 0, 0, "x3"}};
  std::string value = EncodeBuyerState(s);

  // A second agent, a message before, between and after the stored ones.
  s.agents.push_back("a2");
  s.messages.insert(s.messages.begin() + 1,
                    {200, 1, Message::kIn | Message::kUnwritten, "x2"});
  s.messages.push_back({400, 0, Message::kGood | Message::kUnwritten, "x4"});
  s.orders = {{"o1", 350}};
  s.order_counts = {{1, 5, 1, 0}};
  s.last_ts = 400;
  const std::string first_record = EncodeBuyerRecord(s);
  value += first_record;
  for (Message& m : s.messages) m.flags &= ~Message::kUnwritten;

  s.messages.insert(s.messages.begin(),
                    {50, 1, Message::kBad | Message::kUnwritten, "x0"});
  s.order_counts = {{1, 5, 1, 1}};
  value += EncodeBuyerRecord(s);
  for (Message& m : s.messages) m.flags &= ~Message::kUnwritten;

  BuyerState back;
  ASSERT_TRUE(DecodeBuyerState(value, &back));
  EXPECT_EQ(back.stored_records, 3);
  EXPECT_EQ(back.agents, s.agents);
  EXPECT_EQ(back.last_ts, 400);
  ExpectSameMessages(back.messages, s.messages);
  ASSERT_EQ(back.orders.size(), 1u);
  EXPECT_EQ(back.orders[0].order, "o1");
  ASSERT_EQ(back.order_counts.size(), 1u);
  EXPECT_EQ(back.order_counts[0].paid, 1);
  // The whole state written again is one record of the same state.
  BuyerState whole;
  ASSERT_TRUE(DecodeBuyerState(EncodeBuyerState(s), &whole));
  EXPECT_EQ(whole.stored_records, 1);
  EXPECT_EQ(EncodeBuyerState(whole), EncodeBuyerState(back));

  // A record alone (a buyer whose first write appended) is a state too.
  ASSERT_TRUE(DecodeBuyerState(first_record, &back));
  ASSERT_EQ(back.messages.size(), 2u);
  EXPECT_EQ(back.messages[0].id, "x2");
  EXPECT_EQ(back.messages[1].id, "x4");
}

// The record of a small buyer is the whole state's bytes with only its
// unwritten messages: none, or all.
TEST(StateCodec, RecordsHoldOnlyTheUnwrittenMessages) {
  BuyerState s = SmallBuyer();
  std::string none(kSmallBuyer.substr(0, 6));
  none += std::string(1, '\0');  // no message
  none += kSmallBuyer.substr(12);
  EXPECT_EQ(EncodeBuyerRecord(s), none);
  s.messages[0].flags |= Message::kUnwritten;
  EXPECT_EQ(EncodeBuyerRecord(s), kSmallBuyer);
  EXPECT_EQ(EncodeBuyerState(s), kSmallBuyer);  // the flag is never stored
  s.messages[0].flags |= Message::kApplying;    // nor this one
  EXPECT_EQ(EncodeBuyerState(s), kSmallBuyer);
}

// Records that contradict each other are corrupt, not folded into a state
// with wrong numbers.
TEST(StateCodec, RecordsThatContradictEachOtherDoNotDecode) {
  BuyerState base;
  base.agents = {"a1", "a2"};
  base.messages = {{100, 1, Message::kIn, "x1"}};
  const std::string stored = EncodeBuyerState(base);
  BuyerState back;

  BuyerState later = base;  // agents that do not extend the earlier ones
  later.agents = {"a2", "a1"};
  later.messages = {{200, 0, Message::kUnwritten, "x2"}};
  EXPECT_FALSE(DecodeBuyerState(stored + EncodeBuyerRecord(later), &back));
  later.agents = {"a1"};
  EXPECT_FALSE(DecodeBuyerState(stored + EncodeBuyerRecord(later), &back));
  later.agents = {"a1", "a2", "a3"};
  EXPECT_TRUE(DecodeBuyerState(stored + EncodeBuyerRecord(later), &back));

  later = base;  // a message in two records
  later.messages[0].flags |= Message::kUnwritten;
  EXPECT_FALSE(DecodeBuyerState(stored + EncodeBuyerRecord(later), &back));

  later = base;  // messages out of order within a record
  later.messages = {{300, 0, 0, "x3"}, {200, 0, 0, "x2"}};
  EXPECT_FALSE(DecodeBuyerState(EncodeBuyerState(later), &back));
  later.messages = {{300, 0, 0, "x3"}, {300, 0, 0, "x3"}};
  EXPECT_FALSE(DecodeBuyerState(EncodeBuyerState(later), &back));

  // A message time past int64: wrapped around, it would come after the
  // message before it. A stored flag the encoder never writes; a record cut
  // short.
  const int64_t min = std::numeric_limits<int64_t>::min();
  later.messages = {{min, 0, 0, "x"}, {min, 0, 0, "y"}};
  std::string overflow = EncodeBuyerState(later);
  EXPECT_TRUE(DecodeBuyerState(overflow, &back));
  // The second message's delta, then its agent, flags, id length and id.
  const size_t second_delta = overflow.find('y') - 4;
  ASSERT_EQ(overflow[second_delta], '\0');
  overflow[second_delta] = '\x01';  // zigzag -1: min - 1
  EXPECT_FALSE(DecodeBuyerState(overflow, &back));
  // Two records whose times are further apart than int64 holds: each
  // decodes, but the state would not encode whole.
  BuyerState early = base, late = base;
  early.messages = {{min + 6, 0, 0, "x"}};
  late.messages = {{63, 0, Message::kUnwritten, "y"}};
  EXPECT_TRUE(DecodeBuyerState(EncodeBuyerState(early), &back));
  EXPECT_FALSE(DecodeBuyerState(
      EncodeBuyerState(early) + EncodeBuyerRecord(late), &back));
  late.messages[0].ts = min + 70;
  EXPECT_TRUE(DecodeBuyerState(
      EncodeBuyerState(early) + EncodeBuyerRecord(late), &back));
  std::string flagged(kSmallBuyer);
  for (uint8_t flag : {uint8_t{Message::kUnwritten},
                       uint8_t{Message::kApplying}, uint8_t{0x80}}) {
    flagged[9] = static_cast<char>(Message::kIn | flag);
    EXPECT_FALSE(DecodeBuyerState(flagged, &back)) << int{flag};
  }
  flagged[9] = static_cast<char>(Message::kIn | Message::kGood | Message::kBad);
  EXPECT_TRUE(DecodeBuyerState(flagged, &back));
  EXPECT_FALSE(
      DecodeBuyerState(stored + std::string(kSmallBuyer.substr(0, 10)), &back));
}

}  // namespace
}  // namespace chatkpi
