#include "ingest/event_parser.h"

#include <algorithm>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "gtest/gtest.h"

namespace chatkpi {
namespace {

// An event as an ordered list of (key, raw JSON value), so that each test
// can drop, replace or add one field of an otherwise valid event.
using Fields = std::vector<std::pair<std::string, std::string>>;

std::string Quote(const std::string& s) { return "\"" + s + "\""; }

Fields Chat() {
  return {{"type", Quote("chat")},           {"id", Quote("c-1")},
          {"ts", "1762000000123"},           {"buyer", Quote("tb_buyer")},
          {"agent", Quote("shop:xiaowang")}, {"dir", Quote("out")},
          {"text", Quote("hello")},          {"auto", "true"}};
}

Fields Order() {
  return {{"type", Quote("order")},     {"id", Quote("o-1")},
          {"ts", "1762000000000"},      {"order", Quote("T1001")},
          {"buyer", Quote("tb_buyer")}, {"status", Quote("paid")},
          {"amount", "129.90"},         {"items", "3"}};
}

Fields Assessment() {
  return {{"type", Quote("assessment")}, {"id", Quote("a-1")},
          {"ts", "1762000000000"},       {"agent", Quote("shop:xiaowang")},
          {"period", Quote("2026-11")},  {"metric", Quote("sales_target")},
          {"value", "12000.50"}};
}

std::string Json(const Fields& fields) {
  std::string out = "{";
  for (const auto& [k, v] : fields) {
    if (out.size() > 1) out += ",";
    out += Quote(k) + ":" + v;
  }
  return out + "}";
}

Fields Without(Fields f, const std::string& key) {
  std::erase_if(f, [&](const auto& kv) { return kv.first == key; });
  return f;
}

Fields With(Fields f, const std::string& key, const std::string& raw) {
  for (auto& kv : f) {
    if (kv.first == key) {
      kv.second = raw;
      return f;
    }
  }
  f.emplace_back(key, raw);
  return f;
}

class EventParserTest : public ::testing::Test {
 protected:
  // Returns "" on success, else the reason.
  std::string Reason(const std::string& json) {
    absl::Status s = parser_.Parse(json, &event_);
    return s.ok() ? "" : std::string(s.message());
  }
  std::string Reason(const Fields& f) { return Reason(Json(f)); }

  void ExpectOk(const std::string& json) {
    absl::Status s = parser_.Parse(json, &event_);
    ASSERT_TRUE(s.ok()) << s << " for " << json;
  }

  EventParser parser_;
  Event event_;
};

TEST_F(EventParserTest, ParsesChat) {
  ExpectOk(Json(Chat()));
  EXPECT_EQ(event_.type, EventType::kChat);
  EXPECT_EQ(event_.id, "c-1");
  EXPECT_EQ(event_.ts_ms, 1762000000123);
  EXPECT_EQ(event_.buyer, "tb_buyer");
  EXPECT_EQ(event_.agent, "shop:xiaowang");
  EXPECT_FALSE(event_.inbound);
  EXPECT_TRUE(event_.auto_reply);
  EXPECT_EQ(event_.text, "hello");
  EXPECT_EQ(event_.order, "");
  EXPECT_EQ(event_.amount_fen, 0);
}

TEST_F(EventParserTest, ChatOptionalFieldsDefault) {
  ExpectOk(
      Json(With(Without(Without(Chat(), "text"), "auto"), "dir", Quote("in"))));
  EXPECT_TRUE(event_.inbound);
  EXPECT_FALSE(event_.auto_reply);
  EXPECT_EQ(event_.text, "");
  // null on an optional field means absent.
  ExpectOk(Json(With(With(Chat(), "text", "null"), "auto", "null")));
  EXPECT_EQ(event_.text, "");
  EXPECT_FALSE(event_.auto_reply);
}

TEST_F(EventParserTest, ParsesOrder) {
  ExpectOk(Json(Order()));
  EXPECT_EQ(event_.type, EventType::kOrder);
  EXPECT_EQ(event_.id, "o-1");
  EXPECT_EQ(event_.ts_ms, 1762000000000);
  EXPECT_EQ(event_.order, "T1001");
  EXPECT_EQ(event_.buyer, "tb_buyer");
  EXPECT_EQ(event_.status, OrderStatus::kPaid);
  EXPECT_EQ(event_.amount_fen, 12990);
  EXPECT_EQ(event_.items, 3);
  EXPECT_EQ(event_.agent, "");
}

TEST_F(EventParserTest, ParsesEveryOrderStatus) {
  const std::pair<const char*, OrderStatus> kCases[] = {
      {"created", OrderStatus::kCreated},
      {"paid", OrderStatus::kPaid},
      {"refunded", OrderStatus::kRefunded},
      {"closed", OrderStatus::kClosed}};
  for (const auto& [name, status] : kCases) {
    ExpectOk(Json(With(Order(), "status", Quote(name))));
    EXPECT_EQ(event_.status, status) << name;
  }
}

TEST_F(EventParserTest, ClosedOrderMayOmitAmountAndItems) {
  Fields closed = With(Order(), "status", Quote("closed"));
  ExpectOk(Json(Without(Without(closed, "amount"), "items")));
  EXPECT_EQ(event_.status, OrderStatus::kClosed);
  EXPECT_EQ(event_.amount_fen, 0);
  EXPECT_EQ(event_.items, 0);
  // When present they are still checked.
  EXPECT_EQ(Reason(With(closed, "amount", "-1")), "out of range 'amount'");
  EXPECT_EQ(Reason(With(closed, "items", "0")), "out of range 'items'");
  // Other statuses require them.
  for (const char* status : {"created", "paid", "refunded"}) {
    Fields f = With(Order(), "status", Quote(status));
    EXPECT_EQ(Reason(Without(f, "amount")), "missing field 'amount'");
    EXPECT_EQ(Reason(Without(f, "items")), "missing field 'items'");
  }
}

TEST_F(EventParserTest, ParsesAssessment) {
  ExpectOk(Json(Assessment()));
  EXPECT_EQ(event_.type, EventType::kAssessment);
  EXPECT_EQ(event_.id, "a-1");
  EXPECT_EQ(event_.agent, "shop:xiaowang");
  EXPECT_EQ(event_.period, "2026-11");
  EXPECT_EQ(event_.metric, "sales_target");
  EXPECT_EQ(event_.value_text, "12000.50");
  EXPECT_DOUBLE_EQ(event_.value, 12000.5);
  EXPECT_EQ(event_.buyer, "");

  ExpectOk(Json(With(Assessment(), "value", "-2.5e1")));
  EXPECT_EQ(event_.value_text, "-2.5e1");
  EXPECT_DOUBLE_EQ(event_.value, -25);
  // Whitespace around the number is not part of its text.
  ExpectOk(R"({"type":"assessment","id":"a","ts":1762000000000,)"
           R"("agent":"x","period":"2026-01","metric":"self","value" : 7 })");
  EXPECT_EQ(event_.value_text, "7");
  EXPECT_DOUBLE_EQ(event_.value, 7);
}

TEST_F(EventParserTest, OverwritesPreviousEvent) {
  ExpectOk(Json(Order()));
  ExpectOk(Json(Chat()));
  EXPECT_EQ(event_.order, "");
  EXPECT_EQ(event_.amount_fen, 0);
  EXPECT_EQ(event_.items, 0);
  ExpectOk(Json(Assessment()));
  EXPECT_EQ(event_.buyer, "");
  EXPECT_EQ(event_.text, "");
  EXPECT_FALSE(event_.auto_reply);
}

TEST_F(EventParserTest, Money) {
  const std::pair<const char*, int64_t> kGood[] = {
      {"0.29", 29},      {"12", 1200},
      {"12.5", 1250},    {"0", 0},
      {"0.0", 0},        {"0.01", 1},
      {"129.90", 12990}, {"1.230", 123},
      {"100.00", 10000}, {"92233720368547758.07", INT64_MAX}};
  for (const auto& [text, fen] : kGood) {
    int64_t got = -1;
    EXPECT_TRUE(ParseYuanToFen(text, &got).ok()) << text;
    EXPECT_EQ(got, fen) << text;
    if (fen > kMaxAmountFen) continue;  // exact, but no event's amount
    ExpectOk(Json(With(Order(), "amount", text)));
    EXPECT_EQ(event_.amount_fen, fen) << text;
  }
  const char* kBad[] = {
      "1e2",  "-1",    "1.234", "00.5",   "-0",
      "1.",   ".5",    "",      "abc",    "+1",
      "0x10", "1.2.3", "1E2",   "1.5e-1", "92233720368547758.08",
      " 1"};
  for (const char* text : kBad) {
    int64_t got = -1;
    EXPECT_FALSE(ParseYuanToFen(text, &got).ok()) << text;
    EXPECT_EQ(got, -1) << text;
  }
  EXPECT_EQ(Reason(With(Order(), "amount", "1e2")),
            "exponent not allowed 'amount'");
  EXPECT_EQ(Reason(With(Order(), "amount", "-1")), "out of range 'amount'");
  EXPECT_EQ(Reason(With(Order(), "amount", "-0.5")), "out of range 'amount'");
  EXPECT_EQ(Reason(With(Order(), "amount", "1.234")),
            "too many decimals 'amount'");
  EXPECT_EQ(Reason(With(Order(), "amount", "0.001")),
            "too many decimals 'amount'");
  EXPECT_EQ(Reason(With(Order(), "amount", "99999999999999999999")),
            "out of range 'amount'");
  // JSON forbids leading zeros.
  EXPECT_EQ(Reason(With(Order(), "amount", "00.5")), "invalid json");
  EXPECT_EQ(Reason(With(Order(), "amount", "1.")), "invalid json");
  EXPECT_EQ(Reason(With(Order(), "amount", Quote("12.5"))),
            "wrong type for 'amount'");
}

TEST_F(EventParserTest, NotJson) {
  const std::string kCases[] = {
      "",
      "   ",
      "not json",
      "{",
      "}",
      "{\"type\":\"chat\",",
      Json(Chat()).substr(0, 40),
      Json(Chat()) + "}",
      Json(Chat()) + " x",
      Json(Chat()) + Json(Chat()),
      Json(Chat()) + " " + Json(Chat()),
      "{\"type\" \"chat\"}",
      "{\"a\":1,}",
      "{'type':'chat'}",
      std::string("{\"type\":\"chat\"}\0", 16),
      std::string("\0", 1),
      "[1,2",
      Json(With(Chat(), "x", "[1 2]")),
      Json(With(Chat(), "x", "tru")),
      Json(With(Chat(), "x", "nul")),
      Json(With(Chat(), "x", "truex")),
      Json(With(Chat(), "x", "01")),
      Json(With(Chat(), "x", "-")),
      Json(With(Chat(), "x", "NaN")),
      Json(With(Chat(), "x", "{\"a\" 1}")),
      Json(With(Chat(), "x", "\"\\q\"")),
      Json(With(Chat(), "x", "\"\\ud800\"")),
      Json(With(Chat(), "x", "\"\x01\"")),
      Json(With(Chat(), "ts", "1762000000123x")),
      Json(With(Chat(), "\\q", "1")),  // bad escape in an unknown key
      "{\"a\":{\"\\x\":1}}",
  };
  for (const std::string& json : kCases) {
    EXPECT_EQ(Reason(json), "invalid json") << json;
  }
}

// Bytes that are not UTF-8 have their own reason, wherever they are and
// whatever else is wrong with the line (docs/spec.md §1: events are UTF-8).
TEST_F(EventParserTest, InvalidUtf8HasItsOwnReason) {
  const std::string kCases[] = {
      Json(With(Chat(), "x", "\"\xff\"")),
      Json(With(Chat(), "x", "\"\xc3\"")),                 // cut sequence
      Json(With(Chat(), "buyer", "\"\xed\xa0\x80\"")),     // UTF-8 surrogate
      Json(With(Chat(), "text", "\"\xc4\xe3\xba\xc3\"")),  // GBK 你好
      "\xff\xfe{",
      "not json \x80",
  };
  for (const std::string& json : kCases) {
    EXPECT_EQ(Reason(json), "invalid utf-8") << json;
  }
  // Valid UTF-8 in a line that is not JSON keeps its reason.
  EXPECT_EQ(Reason("\xe4\xbd\xa0\xe5\xa5\xbd"), "invalid json");
}

TEST_F(EventParserTest, NotAnObject) {
  for (const char* json : {"[]", "[1,2]", "1", "\"chat\"", "null", "true"}) {
    EXPECT_EQ(Reason(json), "not an object") << json;
  }
}

TEST_F(EventParserTest, TooDeep) {
  std::string deep(100, '[');
  deep += std::string(100, ']');
  EXPECT_EQ(Reason(With(Chat(), "x", deep)), "nesting too deep");
  // Too deep and broken later on is plain garbage.
  EXPECT_EQ(Reason(Json(With(Chat(), "x", deep)) + "x"), "invalid json");
  std::string shallow = "[[{\"a\":[1,{\"b\":null}]}]]";
  ExpectOk(Json(With(Chat(), "x", shallow)));
  // Never crashes, however deep.
  std::string very_deep(100000, '[');
  EXPECT_NE(Reason(very_deep), "");
  EXPECT_NE(Reason("{\"x\":" + very_deep), "");
  very_deep += std::string(100000, ']');
  EXPECT_EQ(Reason(very_deep), "not an object");
  EXPECT_EQ(Reason(With(Chat(), "x", very_deep)), "nesting too deep");
}

TEST_F(EventParserTest, MissingFields) {
  struct Case {
    Fields base;
    std::vector<std::string> required;
  };
  const Case kCases[] = {
      {Chat(), {"type", "id", "ts", "buyer", "agent", "dir"}},
      {Order(),
       {"type", "id", "ts", "order", "buyer", "status", "amount", "items"}},
      {Assessment(),
       {"type", "id", "ts", "agent", "period", "metric", "value"}},
  };
  for (const Case& c : kCases) {
    for (const std::string& key : c.required) {
      EXPECT_EQ(Reason(Without(c.base, key)), "missing field '" + key + "'")
          << Json(c.base);
    }
  }
  EXPECT_EQ(Reason("{}"), "missing field 'type'");
}

TEST_F(EventParserTest, WrongTypes) {
  struct Case {
    Fields base;
    const char* key;
    const char* raw;
  };
  const Case kCases[] = {
      {Chat(), "type", "1"},
      {Chat(), "type", "null"},
      {Chat(), "id", "17"},
      {Chat(), "id", "[\"c-1\"]"},
      {Chat(), "ts", "\"1762000000123\""},
      {Chat(), "ts", "1762000000123.0"},
      {Chat(), "ts", "1.762e12"},
      {Chat(), "ts", "null"},
      {Chat(), "buyer", "42"},
      {Chat(), "buyer", "null"},
      {Chat(), "agent", "{}"},
      {Chat(), "dir", "true"},
      {Chat(), "text", "5"},
      {Chat(), "auto", "\"true\""},
      {Chat(), "auto", "1"},
      {Order(), "order", "1001"},
      {Order(), "status", "1"},
      {Order(), "amount", "\"1.00\""},
      {Order(), "amount", "null"},
      {Order(), "items", "\"3\""},
      {Order(), "items", "3.0"},
      {Order(), "items", "3e0"},
      {Assessment(), "agent", "false"},
      {Assessment(), "period", "202611"},
      {Assessment(), "metric", "[]"},
      {Assessment(), "value", "\"12000.50\""},
  };
  for (const Case& c : kCases) {
    EXPECT_EQ(Reason(With(c.base, c.key, c.raw)),
              std::string("wrong type for '") + c.key + "'")
        << c.key << "=" << c.raw;
  }
}

TEST_F(EventParserTest, UnknownEnumValues) {
  EXPECT_EQ(Reason(With(Chat(), "type", Quote("refund"))), "unknown type");
  EXPECT_EQ(Reason(With(Chat(), "type", Quote("Chat"))), "unknown type");
  EXPECT_EQ(Reason(With(Chat(), "type", Quote(""))), "unknown type");
  EXPECT_EQ(Reason(With(Chat(), "dir", Quote("inbound"))), "unknown dir");
  EXPECT_EQ(Reason(With(Chat(), "dir", Quote("IN"))), "unknown dir");
  EXPECT_EQ(Reason(With(Order(), "status", Quote("shipped"))),
            "unknown status");
}

TEST_F(EventParserTest, OutOfRange) {
  // 2000-01-01T00:00:00Z is the first valid instant, 2100-01-01 the first
  // invalid one.
  ExpectOk(Json(With(Chat(), "ts", "946684800000")));
  EXPECT_EQ(event_.ts_ms, 946684800000);
  ExpectOk(Json(With(Chat(), "ts", "4102444799999")));
  EXPECT_EQ(Reason(With(Chat(), "ts", "946684799999")), "out of range 'ts'");
  EXPECT_EQ(Reason(With(Chat(), "ts", "4102444800000")), "out of range 'ts'");
  EXPECT_EQ(Reason(With(Chat(), "ts", "0")), "out of range 'ts'");
  EXPECT_EQ(Reason(With(Chat(), "ts", "-1762000000000")), "out of range 'ts'");
  EXPECT_EQ(Reason(With(Chat(), "ts", "1762000000")), "out of range 'ts'");
  EXPECT_EQ(Reason(With(Chat(), "ts", "99999999999999999999999999")),
            "out of range 'ts'");
  // 2^64 plus a valid time, and 2^64 + 1: a parse that wrapped around
  // would take them.
  EXPECT_EQ(Reason(With(Chat(), "ts", "18446745835709551616")),
            "out of range 'ts'");
  EXPECT_EQ(Reason(With(Order(), "items", "18446744073709551617")),
            "out of range 'items'");
  EXPECT_EQ(Reason(With(Order(), "items", "0")), "out of range 'items'");
  EXPECT_EQ(Reason(With(Order(), "items", "-3")), "out of range 'items'");
  EXPECT_EQ(Reason(With(Order(), "items", "99999999999999999999")),
            "out of range 'items'");
  ExpectOk(Json(With(Order(), "items", "1")));
  EXPECT_EQ(event_.items, 1);
  EXPECT_EQ(Reason(With(Assessment(), "value", "1e400")),
            "out of range 'value'");
}

// docs/limits.md: an event's amount, items and assessment value have upper
// bounds, so that sums of them stay far from int64's end. At the bound the
// event is taken; one step past it is a dead letter naming the field.
TEST_F(EventParserTest, NumbersAtTheirBoundsAndOnePast) {
  // 10,000,000.00 yuan = 1,000,000,000 fen is the largest amount.
  ExpectOk(Json(With(Order(), "amount", "10000000.00")));
  EXPECT_EQ(event_.amount_fen, 1'000'000'000);
  ExpectOk(Json(With(Order(), "amount", "10000000")));
  EXPECT_EQ(event_.amount_fen, 1'000'000'000);
  // One fen more, and what used to be taken up to INT64_MAX fen.
  EXPECT_EQ(Reason(With(Order(), "amount", "10000000.01")),
            "out of range 'amount'");
  EXPECT_EQ(Reason(With(Order(), "amount", "92233720368547758.07")),
            "out of range 'amount'");
  // Every status, closed included (its amount is optional, not unbounded).
  for (const char* status : {"created", "paid", "refunded", "closed"}) {
    EXPECT_EQ(Reason(With(With(Order(), "status", Quote(status)), "amount",
                          "10000000.01")),
              "out of range 'amount'")
        << status;
    EXPECT_EQ(Reason(With(With(Order(), "status", Quote(status)), "items",
                          "1000001")),
              "out of range 'items'")
        << status;
  }

  // 1,000,000 sub-orders is the largest `items`.
  ExpectOk(Json(With(Order(), "items", "1000000")));
  EXPECT_EQ(event_.items, 1'000'000);
  EXPECT_EQ(Reason(With(Order(), "items", "1000001")), "out of range 'items'");
  EXPECT_EQ(Reason(With(Order(), "items", "9223372036854775807")),
            "out of range 'items'");

  // An assessment's value: |value| <= 1e9, written any way JSON allows.
  for (const char* v : {"1000000000", "1e9", "-1000000000", "999999999.99"}) {
    ExpectOk(Json(With(Assessment(), "value", v)));
    EXPECT_EQ(event_.value_text, v);
  }
  for (const char* v : {"1000000000.01", "1.0000000001e9", "-1000000000.01",
                        "1e10", "9223372036854775807", "1e300"}) {
    EXPECT_EQ(Reason(With(Assessment(), "value", v)), "out of range 'value'")
        << v;
  }

  // The constants are what the docs promise.
  EXPECT_EQ(kMaxAmountFen, 1'000'000'000);
  EXPECT_EQ(kMaxItems, 1'000'000);
  EXPECT_EQ(kMaxAssessmentValue, 1e9);
  // 10^9 events at the bound sum to 10^18, inside int64.
  EXPECT_LT(kMaxAmountFen * 1'000'000'000, INT64_MAX);
}

TEST_F(EventParserTest, Period) {
  for (const char* p : {"2026-01", "2026-12", "1999-09"}) {
    ExpectOk(Json(With(Assessment(), "period", Quote(p))));
    EXPECT_EQ(event_.period, p);
  }
  for (const char* p : {"2026-00", "2026-13", "2026-1", "2026/11", "26-11",
                        "2026-11-01", "", "abcd-ef", "2026-1x"}) {
    EXPECT_EQ(Reason(With(Assessment(), "period", Quote(p))),
              "bad format 'period'")
        << p;
  }
}

TEST_F(EventParserTest, IdLength) {
  EXPECT_EQ(Reason(With(Chat(), "id", Quote(""))), "id length");
  EXPECT_EQ(Reason(With(Chat(), "id", Quote(std::string(129, 'x')))),
            "id length");
  ExpectOk(Json(With(Chat(), "id", Quote(std::string(128, 'x')))));
  EXPECT_EQ(event_.id, std::string(128, 'x'));
  ExpectOk(Json(With(Chat(), "id", Quote("x"))));
}

TEST_F(EventParserTest, StringLimits) {
  const std::string k4 = std::string(4096, 'b');
  const std::string k4_plus = std::string(4097, 'b');
  ExpectOk(Json(With(Chat(), "buyer", Quote(k4))));
  EXPECT_EQ(event_.buyer, k4);
  struct Case {
    Fields base;
    const char* key;
  };
  const Case kCases[] = {{Chat(), "buyer"},       {Chat(), "agent"},
                         {Order(), "order"},      {Order(), "buyer"},
                         {Assessment(), "agent"}, {Assessment(), "metric"}};
  for (const Case& c : kCases) {
    EXPECT_EQ(Reason(With(c.base, c.key, Quote(k4_plus))),
              std::string("string too long '") + c.key + "'");
  }
  // The limit is on the decoded bytes: an escape counts as what it means.
  std::string escaped;
  for (int i = 0; i < 4096; ++i) escaped += "\\u0041";
  ExpectOk(Json(With(Chat(), "buyer", Quote(escaped))));
  EXPECT_EQ(event_.buyer, std::string(4096, 'A'));

  const std::string k64 = std::string(64 << 10, 't');
  ExpectOk(Json(With(Chat(), "text", Quote(k64))));
  EXPECT_EQ(event_.text, k64);
  EXPECT_EQ(Reason(With(Chat(), "text", Quote(k64 + "t"))),
            "string too long 'text'");
  // Unknown fields are not limited.
  ExpectOk(Json(With(Chat(), "note", Quote(k64 + k64))));
}

TEST_F(EventParserTest, EmptyIdentifiers) {
  EXPECT_EQ(Reason(With(Chat(), "buyer", Quote(""))), "empty field 'buyer'");
  EXPECT_EQ(Reason(With(Chat(), "agent", Quote(""))), "empty field 'agent'");
  EXPECT_EQ(Reason(With(Order(), "order", Quote(""))), "empty field 'order'");
  EXPECT_EQ(Reason(With(Assessment(), "metric", Quote(""))),
            "empty field 'metric'");
}

TEST_F(EventParserTest, UnknownFieldsIgnored) {
  Fields f = Chat();
  f.emplace_back("shop", Quote("tmall"));
  f.emplace_back("meta", R"({"a":[1,2.5,-3e2,true,false,null,"x"],"b":{}})");
  f.emplace_back("TYPE", Quote("nonsense"));
  // Fields of other event types are unknown to a chat.
  f.emplace_back("status", Quote("bogus"));
  f.emplace_back("amount", Quote("bogus"));
  f.emplace_back("period", "7");
  ExpectOk(Json(f));
  EXPECT_EQ(event_.type, EventType::kChat);
  EXPECT_EQ(event_.amount_fen, 0);
  EXPECT_EQ(event_.status, OrderStatus::kCreated);
}

TEST_F(EventParserTest, DuplicateFields) {
  Fields f = Chat();
  f.emplace_back("dir", Quote("in"));
  EXPECT_EQ(Reason(f), "duplicate field 'dir'");
  f = Chat();
  f.emplace_back("type", Quote("chat"));
  EXPECT_EQ(Reason(f), "duplicate field 'type'");
  // A duplicate the event's type does not use is as ignored as the field.
  f = Chat();
  f.emplace_back("status", Quote("paid"));
  f.emplace_back("status", Quote("closed"));
  ExpectOk(Json(f));
  f = Chat();
  f.emplace_back("extra", "1");
  f.emplace_back("extra", "2");
  ExpectOk(Json(f));
}

TEST_F(EventParserTest, FieldOrderAndWhitespaceDoNotMatter) {
  Fields f = Order();
  std::reverse(f.begin(), f.end());
  ExpectOk(Json(f));
  EXPECT_EQ(event_.amount_fen, 12990);
  ExpectOk(
      " \t{ \"type\" : \"order\" ,\n\"id\":\"o\", \"ts\" :1762000000000 ,"
      "\"order\":\"T\",\"buyer\":\"b\",\"status\":\"paid\",\"amount\" : "
      "12.50 ,\"items\":\r\n2 }\r\n ");
  EXPECT_EQ(event_.amount_fen, 1250);
  EXPECT_EQ(event_.items, 2);
  // Unknown keys may hold escaped quotes and backslashes.
  ExpectOk(Json(With(With(Chat(), "x\\\"y", "1"), "\\\\", "2")));
  // Keys may be escaped.
  ExpectOk(R"({"\u0074ype":"chat","id":"c","ts":1762000000000,)"
           R"("buyer":"b","agent":"a","d\u0069r":"in"})");
  EXPECT_TRUE(event_.inbound);
}

TEST_F(EventParserTest, ReasonIsIndependentOfKeyOrder) {
  // Missing `buyer` and wrong-typed `ts`: `ts` is checked first either way.
  Fields f = With(Without(Chat(), "buyer"), "ts", Quote("x"));
  EXPECT_EQ(Reason(f), "wrong type for 'ts'");
  std::reverse(f.begin(), f.end());
  EXPECT_EQ(Reason(f), "wrong type for 'ts'");
}

TEST_F(EventParserTest, Utf8Preserved) {
  const std::string text = "亲，您好！这款有货 😀";
  ExpectOk(Json(
      With(With(Chat(), "text", Quote(text)), "buyer", Quote("买家小明"))));
  EXPECT_EQ(event_.text, text);
  EXPECT_EQ(event_.buyer, "买家小明");
  // Escapes decode to UTF-8.
  ExpectOk(Json(With(Chat(), "text", Quote("\\u4eb2\\n\\ud83d\\ude00\\\""))));
  EXPECT_EQ(event_.text, "亲\n😀\"");
}

TEST_F(EventParserTest, NeverCrashesOnJunk) {
  // Every prefix of a valid event, and each byte flipped, must come back
  // with an answer (and prefixes are all invalid).
  const std::string good = Json(Order());
  for (size_t n = 0; n < good.size(); ++n) {
    EXPECT_NE(Reason(good.substr(0, n)), "") << n;
  }
  for (size_t i = 0; i < good.size(); ++i) {
    for (int b : {0, 0x7f, 0x80, 0xff, int{'"'}, int{'\\'}, int{'{'}, int{'}'},
                  int{','}}) {
      std::string s = good;
      s[i] = static_cast<char>(b);
      (void)Reason(s);
    }
  }
  // Reusing the parser after junk still works.
  ExpectOk(good);
}

TEST_F(EventParserTest, ReusesBufferAcrossSizes) {
  const std::string big =
      Json(With(Chat(), "text", Quote(std::string(60000, 'x'))));
  ExpectOk(big);
  // A short document after a long one must not see the old bytes.
  EXPECT_EQ(Reason(big.substr(0, 10)), "invalid json");
  ExpectOk(Json(Chat()));
  EXPECT_EQ(event_.text, "hello");
}

}  // namespace
}  // namespace chatkpi
