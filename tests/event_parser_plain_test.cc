// The event parser's plain scan (ingest/event_parser.cc, ScanPlainObject)
// reads the common form of a line without simdjson. It must decide
// nothing: every line, valid or not, gives what the simdjson scan alone
// gives, the same event or the same reason. Checked here on lines that
// producers write and on random corruptions of them, byte by byte.
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "ingest/event.h"
#include "ingest/event_parser.h"

namespace chatkpi {
namespace {

const std::vector<std::string>& Lines() {
  static const std::vector<std::string> lines = {
      R"({"type":"chat","id":"c-956808","ts":1793462589291,"buyer":"buyer53597","agent":"shop:agent28","dir":"in","text":"谢谢"})",
      R"({"type":"chat","id":"c-9","ts":1793462597076,"buyer":"买家_周一诺37189","agent":"shop:agent28","dir":"out","text":"亲，这个我也不知道呢","auto":false})",
      R"({"type":"chat","id":"c-10","ts":1793462597076,"buyer":"b","agent":"a","dir":"out","text":"","auto":true})",
      R"({"type":"order","id":"o-664835","ts":1793462466045,"order":"202611-037803","buyer":"买家_周一诺37189","status":"created","amount":403.2,"items":1})",
      R"({"type":"order","id":"o-1","ts":1793462466045,"order":"T1","buyer":"b","status":"refunded","amount":0.29,"items":2})",
      R"({"type":"order","id":"o-2","ts":1793462466045,"order":"T1","buyer":"b","status":"closed"})",
      R"({"type":"assessment","id":"a-1","ts":1793462466045,"agent":"shop:agent1","period":"2026-11","metric":"sales_target","value":12000.50})",
      R"({"type":"assessment","id":"a-2","ts":1793462466045,"agent":"shop:agent1","period":"2026-11","metric":"score","value":-3e2})",
      // Escapes, as exports write them (\uXXXX for every non-ASCII
      // character in some), and spaces between tokens.
      R"({"type":"chat","id":"c-405833","ts":1793462719175,"buyer":"buyer22701","agent":"shop:agent49","dir":"in","text":"地址写错了\n能改一下吗 \"急\" \\ \/ \t\b\f\r"})",
      R"({"type":"chat","id":"c-405834","ts":1793462720005,"buyer":"buyer22701","agent":"shop:agent49","dir":"out","text":"\u4eb2\uff0c\u73b0\u5728\u0041\u00e9\u0000","auto":true})",
      R"({"type":"chat","id":"c-330249","ts":1793462923045,"buyer":"\u4e70\u5bb6_1","agent":"shop:agent29","dir":"in","text":"\ud83d\ude0a"})",
      R"({"text": "稍等，我查一下", "dir": "out", "agent": "shop:agent49", "buyer": "buyer22701", "ts": 1793462741500, "id": "c-405835", "type": "chat"})",
      "{ \"type\" :\t\"order\" ,\r\"id\":\"o-3\",\"ts\":1793462466045 , "
      "\"order\":\"T1\",\"buyer\":\"b\",\"status\":\"paid\",\"amount\": 1.5 "
      ",\"items\":1 }",
  };
  return lines;
}

// What a corruption inserts or writes over: JSON's structure, whitespace,
// escapes, control bytes, bytes past ASCII (valid UTF-8 or not), number
// syntax, literals.
const std::vector<std::string>& Pieces() {
  static const std::vector<std::string> pieces = {"\"",
                                                  "\\",
                                                  "\\\"",
                                                  "\\u00e9",
                                                  "\\n",
                                                  ",",
                                                  ":",
                                                  "{",
                                                  "}",
                                                  "[",
                                                  "]",
                                                  " ",
                                                  "\t",
                                                  "\r",
                                                  "\n",
                                                  std::string(1, '\0'),
                                                  "\x01",
                                                  "\x1f",
                                                  "\x7f",
                                                  "\xc3",
                                                  "\xa9",
                                                  "\xc3\xa9",
                                                  "\xe4\xb9\xb0",
                                                  "\xed\xa0\x80",
                                                  "\xff",
                                                  "\xf4\x90",
                                                  "0",
                                                  "9",
                                                  "-",
                                                  "+",
                                                  ".",
                                                  "e",
                                                  "E",
                                                  "00",
                                                  "1.",
                                                  ".5",
                                                  "true",
                                                  "false",
                                                  "null",
                                                  "tru",
                                                  "nul",
                                                  "\"id\":\"x\"",
                                                  "\"ts\":1",
                                                  "\"extra\":1",
                                                  "\"type\":\"chat\"",
                                                  "\"dir\":\"in\"",
                                                  "\"amount\":1.234",
                                                  "1e3",
                                                  "99999999999999999999",
                                                  "\"status\":\"paid\"",
                                                  "\"auto\":null",
                                                  "\"text\":[]",
                                                  "\"buyer\":{}",
                                                  "\"period\":\"2026-13\"",
                                                  "\\u",
                                                  "\\ud83d",
                                                  "\\ude0a",
                                                  "\\u0000",
                                                  "\\uZZ",
                                                  "\\x",
                                                  "\\U00e9",
                                                  "\\/"};
  return pieces;
}

std::string Corrupt(std::string line, std::mt19937_64& rng) {
  const int edits = 1 + static_cast<int>(rng() % 3);
  for (int i = 0; i < edits; ++i) {
    const size_t at = line.empty() ? 0 : rng() % (line.size() + 1);
    const std::string& piece = Pieces()[rng() % Pieces().size()];
    switch (rng() % 5) {
      case 0:  // insert
        line.insert(at, piece);
        break;
      case 1:  // overwrite
        line.replace(at, piece.size(), piece);
        break;
      case 2:  // delete a few bytes
        line.erase(at, 1 + rng() % 4);
        break;
      case 3:  // cut short
        line.resize(at);
        break;
      default: {  // one byte anything
        if (at < line.size()) line[at] = static_cast<char>(rng() % 256);
        break;
      }
    }
  }
  return line;
}

// Both parsers give the same status and, on success, the same event.
void ExpectSame(const std::string& line) {
  static EventParser plain(/*scan_plain=*/true);
  static EventParser json(/*scan_plain=*/false);
  Event a, b;
  const absl::Status sa = plain.Parse(line, &a);
  const absl::Status sb = json.Parse(line, &b);
  ASSERT_EQ(sa.code(), sb.code()) << line;
  ASSERT_EQ(sa.message(), sb.message()) << line;
  if (!sa.ok()) return;
  EXPECT_EQ(a.type, b.type) << line;
  EXPECT_EQ(a.id, b.id) << line;
  EXPECT_EQ(a.ts_ms, b.ts_ms) << line;
  EXPECT_EQ(a.buyer, b.buyer) << line;
  EXPECT_EQ(a.agent, b.agent) << line;
  EXPECT_EQ(a.inbound, b.inbound) << line;
  EXPECT_EQ(a.auto_reply, b.auto_reply) << line;
  EXPECT_EQ(a.text, b.text) << line;
  EXPECT_EQ(a.order, b.order) << line;
  EXPECT_EQ(a.status, b.status) << line;
  EXPECT_EQ(a.amount_fen, b.amount_fen) << line;
  EXPECT_EQ(a.items, b.items) << line;
  EXPECT_EQ(a.period, b.period) << line;
  EXPECT_EQ(a.metric, b.metric) << line;
  EXPECT_EQ(a.value_text, b.value_text) << line;
  EXPECT_EQ(a.value, b.value) << line;
}

TEST(EventParserPlainScan, ProducersLinesReadAsSimdjsonReadsThem) {
  for (const std::string& line : Lines()) {
    Event e;
    ASSERT_TRUE(EventParser().Parse(line, &e).ok()) << line;
    ExpectSame(line);
  }
}

// Texts at and past their 64 KiB limit, with the bytes that end a plain run
// at every offset of an eight-byte step, and a line ending in CR (a CRLF
// file): the same verdict and event either way.
TEST(EventParserPlainScan, LongTextsAndEveryOffsetOfAStep) {
  auto chat = [](const std::string& text) {
    return R"({"type":"chat","id":"c-1","ts":1793462589291,"buyer":"b",)"
           R"("agent":"a","dir":"in","text":")" +
           text + "\"}";
  };
  for (size_t n : {size_t{65535}, size_t{65536}, size_t{65537}}) {
    ExpectSame(chat(std::string(n, 'x')));
    ExpectSame(chat(std::string(n - 3, 'x') + "\xe4\xb9\xb0"));
  }
  Event e;
  ASSERT_TRUE(EventParser().Parse(chat(std::string(65536, 'x')), &e).ok());
  EXPECT_EQ(e.text.size(), 65536u);
  ASSERT_FALSE(EventParser().Parse(chat(std::string(65537, 'x')), &e).ok());
  for (const std::string& end :
       {std::string("\\\""), std::string("\\n"), std::string("\x01"),
        std::string("\""), std::string("\xc3"), std::string("\xc3\xa9")}) {
    for (size_t at = 0; at < 24; ++at) {
      ExpectSame(chat(std::string(at, 'y') + end + std::string(17, 'z')));
    }
  }
  ExpectSame(Lines()[0] + "\r");
  ExpectSame(" " + Lines()[0]);
}

// Corruptions near the common form: the plain scan must hand every line it
// cannot vouch for to simdjson, and read the rest exactly as simdjson does.
TEST(EventParserPlainScan, CorruptedLinesGiveTheSameEventOrReason) {
  std::mt19937_64 rng(20261207);
  int valid = 0;
  for (int i = 0; i < 200000; ++i) {
    const std::string line = Corrupt(Lines()[rng() % Lines().size()], rng);
    ExpectSame(line);
    if (::testing::Test::HasFatalFailure()) return;
    Event e;
    valid += EventParser().Parse(line, &e).ok();
  }
  // Not only rejections: many corruptions leave a valid event (a digit in
  // a number, a byte in a text), and those must come out the same too.
  EXPECT_GT(valid, 5000);
}

}  // namespace
}  // namespace chatkpi
