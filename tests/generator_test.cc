// Tests of the data generator. The lines are checked with a small, strict
// reading of docs/spec.md §1 written here (not the engine's parser), so the generator
// can be trusted before and independently of that parser.
#include "tools/generator.h"

#include <algorithm>
#include <cstdint>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "engine/local_day.h"
#include "gtest/gtest.h"
#include "tests/reference_model.h"

namespace chatkpi {
namespace {

// ---- A minimal JSON object reader -----------------------------------------

struct JsonValue {
  enum Type { kString, kNumber, kBool, kNull, kNested } type = kNull;
  std::string text;  // decoded string, number literal, "true"/"false"
};

class JsonReader {
 public:
  explicit JsonReader(std::string_view s) : s_(s) {}

  // A whole line holding one object; nested values are checked and skipped.
  bool ReadObject(std::map<std::string, JsonValue>* fields) {
    SkipWs();
    if (!Eat('{')) return false;
    SkipWs();
    if (Eat('}')) return AtEnd();
    while (true) {
      SkipWs();
      std::string key;
      if (!ReadString(&key)) return false;
      SkipWs();
      if (!Eat(':')) return false;
      SkipWs();
      JsonValue v;
      if (!ReadValue(&v)) return false;
      if (!fields->emplace(key, v).second) return false;  // duplicate key
      SkipWs();
      if (Eat(',')) continue;
      if (Eat('}')) return AtEnd();
      return false;
    }
  }

 private:
  bool AtEnd() {
    SkipWs();
    return p_ == s_.size();
  }
  void SkipWs() {
    while (p_ < s_.size() && (s_[p_] == ' ' || s_[p_] == '\t' ||
                              s_[p_] == '\r' || s_[p_] == '\n')) {
      ++p_;
    }
  }
  bool Eat(char c) {
    if (p_ < s_.size() && s_[p_] == c) {
      ++p_;
      return true;
    }
    return false;
  }
  bool Hex4(uint32_t* out) {
    if (p_ + 4 > s_.size()) return false;
    *out = 0;
    for (int i = 0; i < 4; ++i) {
      const char c = s_[p_++];
      int d = c >= '0' && c <= '9'   ? c - '0'
              : c >= 'a' && c <= 'f' ? c - 'a' + 10
              : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                     : -1;
      if (d < 0) return false;
      *out = *out << 4 | d;
    }
    return true;
  }
  static void AppendUtf8(uint32_t cp, std::string* out) {
    if (cp < 0x80) {
      out->push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
      out->push_back(static_cast<char>(0xc0 | cp >> 6));
      out->push_back(static_cast<char>(0x80 | (cp & 0x3f)));
    } else if (cp < 0x10000) {
      out->push_back(static_cast<char>(0xe0 | cp >> 12));
      out->push_back(static_cast<char>(0x80 | (cp >> 6 & 0x3f)));
      out->push_back(static_cast<char>(0x80 | (cp & 0x3f)));
    } else {
      out->push_back(static_cast<char>(0xf0 | cp >> 18));
      out->push_back(static_cast<char>(0x80 | (cp >> 12 & 0x3f)));
      out->push_back(static_cast<char>(0x80 | (cp >> 6 & 0x3f)));
      out->push_back(static_cast<char>(0x80 | (cp & 0x3f)));
    }
  }
  bool ReadString(std::string* out) {
    if (!Eat('"')) return false;
    while (p_ < s_.size()) {
      const char c = s_[p_++];
      if (c == '"') return true;
      if (static_cast<unsigned char>(c) < 0x20) return false;
      if (c != '\\') {
        out->push_back(c);
        continue;
      }
      if (p_ >= s_.size()) return false;
      const char e = s_[p_++];
      switch (e) {
        case '"':
        case '\\':
        case '/':
          out->push_back(e);
          break;
        case 'b':
          out->push_back('\b');
          break;
        case 'f':
          out->push_back('\f');
          break;
        case 'n':
          out->push_back('\n');
          break;
        case 'r':
          out->push_back('\r');
          break;
        case 't':
          out->push_back('\t');
          break;
        case 'u': {
          uint32_t cp;
          if (!Hex4(&cp)) return false;
          if (cp >= 0xd800 && cp < 0xdc00) {
            uint32_t lo;
            if (!Eat('\\') || !Eat('u') || !Hex4(&lo) || lo < 0xdc00 ||
                lo >= 0xe000) {
              return false;
            }
            cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
          } else if (cp >= 0xdc00 && cp < 0xe000) {
            return false;
          }
          AppendUtf8(cp, out);
          break;
        }
        default:
          return false;
      }
    }
    return false;
  }
  bool ReadNumber(std::string* out) {
    const size_t start = p_;
    Eat('-');
    auto digits = [&] {
      const size_t b = p_;
      while (p_ < s_.size() && s_[p_] >= '0' && s_[p_] <= '9') ++p_;
      return p_ > b;
    };
    if (p_ < s_.size() && s_[p_] == '0') {
      ++p_;
    } else if (!digits()) {
      return false;
    }
    if (Eat('.') && !digits()) return false;
    if (Eat('e') || Eat('E')) {
      if (!Eat('+')) Eat('-');
      if (!digits()) return false;
    }
    *out = std::string(s_.substr(start, p_ - start));
    return true;
  }
  bool ReadValue(JsonValue* v) {
    if (p_ >= s_.size()) return false;
    const char c = s_[p_];
    if (c == '"') {
      v->type = JsonValue::kString;
      return ReadString(&v->text);
    }
    if (c == '{' || c == '[') {
      v->type = JsonValue::kNested;
      return SkipNested();
    }
    for (std::string_view word : {"true", "false", "null"}) {
      if (s_.substr(p_, word.size()) == word) {
        p_ += word.size();
        v->type = word == "null" ? JsonValue::kNull : JsonValue::kBool;
        v->text = std::string(word);
        return true;
      }
    }
    v->type = JsonValue::kNumber;
    return ReadNumber(&v->text);
  }
  bool SkipNested() {
    const char close = s_[p_] == '{' ? '}' : ']';
    ++p_;
    SkipWs();
    if (Eat(close)) return true;
    while (true) {
      SkipWs();
      if (close == '}') {
        std::string key;
        if (!ReadString(&key)) return false;
        SkipWs();
        if (!Eat(':')) return false;
        SkipWs();
      }
      JsonValue ignored;
      if (!ReadValue(&ignored)) return false;
      SkipWs();
      if (Eat(',')) continue;
      return Eat(close);
    }
  }

  std::string_view s_;
  size_t p_ = 0;
};

// ---- docs/spec.md §1 validation ---------------------------------------------------

struct Checked {
  std::string reason;  // empty when valid
  Event event;
};

Checked Fail(std::string reason) {
  Checked c;
  c.reason = std::move(reason);
  return c;
}

bool IsIntegerLiteral(const std::string& s) {
  return s.find_first_of(".eE") == std::string::npos;
}

Checked Validate(std::string_view line) {
  Checked c;
  std::map<std::string, JsonValue> f;
  if (!JsonReader(line).ReadObject(&f)) return Fail("not json");
  auto str = [&](const char* key, bool required, size_t max, std::string* out,
                 std::string* reason) {
    auto it = f.find(key);
    if (it == f.end()) {
      if (required) *reason = "missing field";
      return;
    }
    if (it->second.type != JsonValue::kString) {
      *reason = "wrong type";
      return;
    }
    if (it->second.text.size() > max) {
      *reason = "string too long";
      return;
    }
    *out = it->second.text;
  };
  std::string& reason = c.reason;
  Event& e = c.event;
  std::string type;
  str("type", true, 4096, &type, &reason);
  if (!reason.empty()) return c;
  str("id", true, 128, &e.id, &reason);
  if (!reason.empty()) return c;
  if (e.id.empty()) return Fail("string too long");  // 1..128 bytes
  auto ts = f.find("ts");
  if (ts == f.end()) return Fail("missing field");
  if (ts->second.type != JsonValue::kNumber ||
      !IsIntegerLiteral(ts->second.text) ||
      !absl::SimpleAtoi(ts->second.text, &e.ts_ms)) {
    return Fail("wrong type");
  }
  if (e.ts_ms < 946684800000 || e.ts_ms > 4102444800000) {
    return Fail("ts out of range");
  }
  if (type == "chat") {
    e.type = EventType::kChat;
    std::string dir;
    str("buyer", true, 4096, &e.buyer, &reason);
    if (reason.empty()) str("agent", true, 4096, &e.agent, &reason);
    if (reason.empty()) str("dir", true, 4096, &dir, &reason);
    if (reason.empty()) str("text", false, 65536, &e.text, &reason);
    if (!reason.empty()) return c;
    if (dir != "in" && dir != "out") return Fail("unknown dir");
    e.inbound = dir == "in";
    if (auto a = f.find("auto"); a != f.end()) {
      if (a->second.type != JsonValue::kBool) return Fail("wrong type");
      e.auto_reply = a->second.text == "true";
    }
  } else if (type == "order") {
    e.type = EventType::kOrder;
    std::string status;
    str("order", true, 4096, &e.order, &reason);
    if (reason.empty()) str("buyer", true, 4096, &e.buyer, &reason);
    if (reason.empty()) str("status", true, 4096, &status, &reason);
    if (!reason.empty()) return c;
    static const std::map<std::string, OrderStatus> kStatuses = {
        {"created", OrderStatus::kCreated},
        {"paid", OrderStatus::kPaid},
        {"refunded", OrderStatus::kRefunded},
        {"closed", OrderStatus::kClosed}};
    auto st = kStatuses.find(status);
    if (st == kStatuses.end()) return Fail("unknown status");
    e.status = st->second;
    auto amount = f.find("amount");
    auto items = f.find("items");
    if (amount == f.end() || items == f.end()) return Fail("missing field");
    if (amount->second.type != JsonValue::kNumber ||
        items->second.type != JsonValue::kNumber) {
      return Fail("wrong type");
    }
    const std::string& a = amount->second.text;
    if (a[0] == '-') return Fail("negative amount");
    if (a.find_first_of("eE") != std::string::npos) {
      return Fail("wrong type");
    }
    const size_t dot = a.find('.');
    const std::string whole = a.substr(0, dot);
    std::string frac = dot == std::string::npos ? "" : a.substr(dot + 1);
    if (frac.size() > 2) return Fail("too many decimals");
    frac.resize(2, '0');
    int64_t yuan = 0, cents = 0;
    if (!absl::SimpleAtoi(whole, &yuan) || !absl::SimpleAtoi(frac, &cents)) {
      return Fail("wrong type");
    }
    e.amount_fen = yuan * 100 + cents;
    if (!IsIntegerLiteral(items->second.text) ||
        !absl::SimpleAtoi(items->second.text, &e.items)) {
      return Fail("wrong type");
    }
    if (e.items < 1) return Fail("items < 1");
  } else if (type == "assessment") {
    e.type = EventType::kAssessment;
    str("agent", true, 4096, &e.agent, &reason);
    if (reason.empty()) str("period", true, 4096, &e.period, &reason);
    if (reason.empty()) str("metric", true, 4096, &e.metric, &reason);
    if (!reason.empty()) return c;
    absl::CivilMonth m;
    if (e.period.size() != 7 || !absl::ParseCivilTime(e.period, &m)) {
      return Fail("bad period");
    }
    auto v = f.find("value");
    if (v == f.end()) return Fail("missing field");
    if (v->second.type != JsonValue::kNumber) return Fail("wrong type");
    e.value_text = v->second.text;
    if (!absl::SimpleAtod(e.value_text, &e.value)) return Fail("wrong type");
  } else {
    return Fail("unknown type");
  }
  return c;
}

void ExpectSameEvent(const Event& a, const Event& b) {
  EXPECT_EQ(a.type, b.type);
  EXPECT_EQ(a.id, b.id);
  EXPECT_EQ(a.ts_ms, b.ts_ms) << a.id;
  EXPECT_EQ(a.buyer, b.buyer) << a.id;
  EXPECT_EQ(a.agent, b.agent) << a.id;
  EXPECT_EQ(a.inbound, b.inbound) << a.id;
  EXPECT_EQ(a.auto_reply, b.auto_reply) << a.id;
  EXPECT_EQ(a.text, b.text) << a.id;
  EXPECT_EQ(a.order, b.order) << a.id;
  EXPECT_EQ(a.status, b.status) << a.id;
  EXPECT_EQ(a.amount_fen, b.amount_fen) << a.id;
  EXPECT_EQ(a.items, b.items) << a.id;
  EXPECT_EQ(a.period, b.period) << a.id;
  EXPECT_EQ(a.metric, b.metric) << a.id;
  EXPECT_EQ(a.value_text, b.value_text) << a.id;
  EXPECT_EQ(a.value, b.value) << a.id;
}

const absl::TimeZone kShanghai = absl::FixedTimeZone(8 * 3600);

int64_t MonthStartMs(absl::CivilMonth m) {
  return absl::ToUnixMillis(absl::FromCivil(absl::CivilDay(m), kShanghai));
}

int32_t DayOf(int64_t ts_ms) {
  return DayNumber(absl::ToCivilDay(absl::FromUnixMillis(ts_ms), kShanghai));
}

std::vector<std::string> Lines(const GeneratorOptions& o) {
  absl::StatusOr<std::vector<std::string>> lines = GenerateJsonl(o);
  EXPECT_TRUE(lines.ok()) << lines.status();
  return lines.ok() ? *lines : std::vector<std::string>{};
}

std::vector<GeneratedLine> Labelled(const GeneratorOptions& o) {
  absl::StatusOr<std::vector<GeneratedLine>> lines = GenerateLines(o);
  EXPECT_TRUE(lines.ok()) << lines.status();
  return lines.ok() ? *lines : std::vector<GeneratedLine>{};
}

std::vector<Event> Events(const GeneratorOptions& o) {
  absl::StatusOr<std::vector<Event>> events = GenerateEvents(o);
  EXPECT_TRUE(events.ok()) << events.status();
  return events.ok() ? *events : std::vector<Event>{};
}

// ---- Tests
// -------------------------------------------------------------------

TEST(GeneratorTest, SameSeedSameBytes) {
  GeneratorOptions o;
  o.duplicate_rate = 0.02;
  o.malformed_rate = 0.02;
  o.shuffle = true;
  o.assessments = true;
  const std::vector<std::string> a = Lines(o);
  EXPECT_EQ(a, Lines(o));
  ASSERT_GT(a.size(), 1000u);

  std::ostringstream written;
  absl::StatusOr<int64_t> n = WriteJsonl(o, written);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, static_cast<int64_t>(a.size()));
  std::string joined;
  for (const std::string& line : a) joined += line + "\n";
  EXPECT_EQ(written.str(), joined);

  const std::vector<GeneratedLine> labelled = Labelled(o);
  ASSERT_EQ(labelled.size(), a.size());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(labelled[i].json, a[i]);

  o.seed = 2;
  EXPECT_NE(a, Lines(o));
}

TEST(GeneratorTest, ValidLinesReadAsTheGeneratedEvents) {
  GeneratorOptions o;
  o.assessments = true;
  const std::vector<GeneratedLine> lines = Labelled(o);
  const std::vector<Event> events = Events(o);
  ASSERT_EQ(lines.size(), events.size());
  std::set<std::string> ids;
  for (size_t i = 0; i < lines.size(); ++i) {
    EXPECT_EQ(lines[i].kind, LineKind::kEvent);
    const Checked c = Validate(lines[i].json);
    ASSERT_EQ(c.reason, "") << lines[i].json;
    ExpectSameEvent(c.event, events[i]);
    EXPECT_TRUE(ids.insert(events[i].id).second) << events[i].id;
  }
}

TEST(GeneratorTest, EventsFallInTheMonth) {
  for (const char* month : {"2026-11", "2027-02", "2028-12"}) {
    GeneratorOptions o;
    o.month = month;
    o.assessments = true;
    o.buyers = 300;
    absl::CivilMonth m;
    ASSERT_TRUE(absl::ParseCivilTime(month, &m));
    const int64_t start = MonthStartMs(m), end = MonthStartMs(m + 1);
    int64_t min_ts = end, max_ts = start;
    for (const Event& e : Events(o)) {
      EXPECT_GE(e.ts_ms, start) << e.id;
      EXPECT_LT(e.ts_ms, end) << e.id;
      min_ts = std::min(min_ts, e.ts_ms);
      max_ts = std::max(max_ts, e.ts_ms);
      if (e.type == EventType::kAssessment) {
        EXPECT_EQ(e.period, month);
      }
    }
    // The whole month is used, not a corner of it.
    EXPECT_LT(min_ts, start + 2 * 86400000LL) << month;
    EXPECT_GT(max_ts, end - 2 * 86400000LL) << month;
  }
}

TEST(GeneratorTest, OutputOrderAndOrderDelay) {
  GeneratorOptions o;
  std::vector<Event> events = Events(o);
  for (size_t i = 1; i < events.size(); ++i) {
    ASSERT_LE(events[i - 1].ts_ms, events[i].ts_ms) << events[i].id;
  }

  o.delay_orders_ms = 10 * 60 * 1000;
  events = Events(o);
  auto key = [&](const Event& e) {
    return e.ts_ms + (e.type == EventType::kOrder ? o.delay_orders_ms : 0);
  };
  bool out_of_ts_order = false;
  for (size_t i = 1; i < events.size(); ++i) {
    ASSERT_LE(key(events[i - 1]), key(events[i])) << events[i].id;
    if (events[i - 1].ts_ms > events[i].ts_ms) out_of_ts_order = true;
  }
  EXPECT_TRUE(out_of_ts_order);
}

TEST(GeneratorTest, ShuffleKeepsTheLines) {
  GeneratorOptions o;
  o.duplicate_rate = 0.03;
  o.malformed_rate = 0.03;
  std::vector<std::string> ordered = Lines(o);
  o.shuffle = true;
  std::vector<std::string> shuffled = Lines(o);
  EXPECT_NE(ordered, shuffled);
  std::sort(ordered.begin(), ordered.end());
  std::sort(shuffled.begin(), shuffled.end());
  EXPECT_EQ(ordered, shuffled);

  // Labels follow the stream: the first copy of an id is the event.
  std::set<std::string> seen;
  for (const GeneratedLine& line : Labelled(o)) {
    if (line.kind == LineKind::kMalformed) continue;
    const Checked c = Validate(line.json);
    ASSERT_EQ(c.reason, "");
    const bool first = seen.insert(c.event.id).second;
    EXPECT_EQ(line.kind, first ? LineKind::kEvent : LineKind::kDuplicate);
  }
}

TEST(GeneratorTest, DuplicatesAreCopiesOfEarlierLines) {
  GeneratorOptions o;
  o.duplicate_rate = 0.05;
  const std::vector<GeneratedLine> lines = Labelled(o);
  std::set<std::string> earlier;
  int64_t events = 0, duplicates = 0;
  for (const GeneratedLine& line : lines) {
    if (line.kind == LineKind::kDuplicate) {
      ++duplicates;
      EXPECT_EQ(earlier.count(line.json), 1u) << line.json;
    } else {
      ASSERT_EQ(line.kind, LineKind::kEvent);
      ++events;
      EXPECT_TRUE(earlier.insert(line.json).second);
    }
  }
  EXPECT_GT(duplicates, events * 3 / 100);
  EXPECT_LT(duplicates, events * 7 / 100);

  // Turning redeliveries on leaves the events themselves alone.
  GeneratorOptions plain;
  const std::vector<std::string> base = Lines(plain);
  std::vector<std::string> firsts;
  for (const GeneratedLine& line : lines) {
    if (line.kind == LineKind::kEvent) firsts.push_back(line.json);
  }
  EXPECT_EQ(firsts, base);
}

TEST(GeneratorTest, MalformedLinesCoverEveryReason) {
  GeneratorOptions o;
  o.malformed_rate = 0.05;
  const std::vector<GeneratedLine> lines = Labelled(o);
  std::map<std::string, int> reasons;
  std::set<std::string> malformed_ids_seen;
  int64_t events = 0, malformed = 0;
  for (const GeneratedLine& line : lines) {
    const Checked c = Validate(line.json);
    if (line.kind == LineKind::kMalformed) {
      ++malformed;
      EXPECT_NE(c.reason, "") << line.json;
      ++reasons[c.reason];
    } else {
      ++events;
      EXPECT_EQ(c.reason, "") << line.json;
    }
  }
  EXPECT_GT(malformed, events * 3 / 100);
  EXPECT_LT(malformed, events * 7 / 100);
  for (const char* reason :
       {"not json", "missing field", "wrong type", "negative amount",
        "too many decimals", "items < 1", "unknown type", "unknown dir",
        "unknown status", "ts out of range", "string too long"}) {
    EXPECT_GT(reasons[reason], 0) << reason;
  }
  // Both length limits: a 4 KiB+1 field and a 64 KiB+1 text.
  bool long_text = false, long_field = false;
  for (const GeneratedLine& line : lines) {
    if (line.kind != LineKind::kMalformed) continue;
    if (line.json.size() > 65536) long_text = true;
    if (line.json.size() > 4096 && line.json.size() < 8192) long_field = true;
  }
  EXPECT_TRUE(long_text);
  EXPECT_TRUE(long_field);
}

TEST(GeneratorTest, TargetEventsSetsTheSize) {
  for (int64_t target : {1000, 100000}) {
    GeneratorOptions o;
    o.target_events = target;
    o.duplicate_rate = 0.01;
    o.malformed_rate = 0.01;
    const int64_t n = static_cast<int64_t>(Lines(o).size());
    EXPECT_GT(n, target * 90 / 100) << target;
    EXPECT_LT(n, target * 110 / 100) << target;
  }
}

TEST(GeneratorTest, RejectsBadOptions) {
  for (const char* month : {"2026-13", "2026/11", "2026-1", "1999-01", ""}) {
    GeneratorOptions o;
    o.month = month;
    EXPECT_FALSE(ValidateGeneratorOptions(o).ok()) << month;
    EXPECT_FALSE(GenerateJsonl(o).ok()) << month;
  }
  GeneratorOptions o;
  o.agents = 0;
  EXPECT_FALSE(ValidateGeneratorOptions(o).ok());
  o = GeneratorOptions();
  o.duplicate_rate = 1.5;
  EXPECT_FALSE(ValidateGeneratorOptions(o).ok());
  o = GeneratorOptions();
  o.delay_orders_ms = -1;
  EXPECT_FALSE(ValidateGeneratorOptions(o).ok());
  EXPECT_TRUE(ValidateGeneratorOptions(GeneratorOptions()).ok());
}

TEST(GeneratorTest, AssessmentsOnlyWhenAsked) {
  GeneratorOptions o;
  for (const Event& e : Events(o)) {
    EXPECT_NE(e.type, EventType::kAssessment);
  }
  o.assessments = true;
  std::vector<Event> in_stream;
  for (const Event& e : Events(o)) {
    if (e.type == EventType::kAssessment) in_stream.push_back(e);
  }
  absl::StatusOr<std::vector<Event>> alone = GenerateAssessments(o);
  ASSERT_TRUE(alone.ok());
  ASSERT_EQ(alone->size(), in_stream.size());
  for (size_t i = 0; i < in_stream.size(); ++i) {
    ExpectSameEvent((*alone)[i], in_stream[i]);
  }
  std::set<std::pair<std::string, std::string>> pairs;
  int corrections = 0;
  for (const Event& e : in_stream) {
    if (!pairs.insert({e.agent, e.metric}).second) ++corrections;
  }
  EXPECT_EQ(pairs.size(), 8u * 10u);  // every metric of every agent
  EXPECT_GT(corrections, 0);
}

// The hard shapes the generator promises, found in its default output.
TEST(GeneratorTest, CoversTheHardCases) {
  GeneratorOptions o;
  const std::vector<Event> events = Events(o);
  Rules rules;
  rules.timezone = kShanghai;

  // Through the reference model: every kind of counter occurs.
  const RefDays days = ReferenceDays(events, rules);
  Counters agents, unattributed;
  for (const auto& [key, c] : days)
    EXPECT_TRUE((key.first.empty() ? unattributed : agents).Add(c).ok());
  for (int i = 0; i < kNumCounters; ++i) {
    EXPECT_GT(agents[i], 0) << kCounterNames[i];
  }
  EXPECT_LT(agents[kReplied], agents[kConsultations]);
  EXPECT_LT(agents[kFirstResponses], agents[kConsultations]);
  EXPECT_GT(unattributed[kOrders], 0);
  EXPECT_GT(unattributed[kPaidOrders], 0);
  EXPECT_LT(agents[kRefundedItems], agents[kPaidItems]);
  EXPECT_LT(agents[kRefundFen], agents[kSalesFen]);

  // Directly on the events.
  std::map<std::string, std::vector<const Event*>> by_order, by_buyer;
  std::map<std::pair<std::string, std::string>, std::vector<const Event*>>
      threads;
  bool auto_reply = false, chinese_nick = false, burst = false;
  for (const Event& e : events) {
    if (e.type == EventType::kChat) {
      threads[{e.agent, e.buyer}].push_back(&e);
      by_buyer[e.buyer].push_back(&e);
      auto_reply |= e.auto_reply;
    } else if (e.type == EventType::kOrder) {
      by_order[e.order].push_back(&e);
    }
    chinese_nick |= absl::StartsWith(e.buyer, "买家_");
  }
  EXPECT_TRUE(auto_reply);
  EXPECT_TRUE(chinese_nick);

  bool across_midnight = false;
  for (const auto& [key, thread] : threads) {
    // Already in (ts) order: the output is time-ordered.
    const Event* open = nullptr;
    for (size_t i = 0; i < thread.size(); ++i) {
      const Event* e = thread[i];
      if (e->inbound) {
        if (open) burst = true;
        if (!open) open = e;
      } else if (!e->auto_reply && open) {
        if (DayOf(open->ts_ms) != DayOf(e->ts_ms)) across_midnight = true;
        open = nullptr;
      }
    }
  }
  EXPECT_TRUE(burst);
  EXPECT_TRUE(across_midnight);

  // A hand-over: one buyer writes to two agents within ten minutes.
  bool hand_over = false;
  for (const auto& [buyer, chats] : by_buyer) {
    for (size_t i = 1; i < chats.size() && !hand_over; ++i) {
      hand_over = chats[i]->inbound && chats[i - 1]->agent != chats[i]->agent &&
                  chats[i]->ts_ms - chats[i - 1]->ts_ms < 10 * 60 * 1000;
    }
  }
  EXPECT_TRUE(hand_over);

  int double_paid = 0, two_refunds = 0, no_created = 0, closed = 0,
      after_window = 0;
  std::set<int> decimals;
  for (const auto& [order, evs] : by_order) {
    int paid = 0, refunds = 0, created = 0;
    for (const Event* e : evs) {
      paid += e->status == OrderStatus::kPaid;
      refunds += e->status == OrderStatus::kRefunded;
      created += e->status == OrderStatus::kCreated;
      closed += e->status == OrderStatus::kClosed;
      decimals.insert(e->amount_fen % 100 == 0  ? 0
                      : e->amount_fen % 10 == 0 ? 1
                                                : 2);
    }
    double_paid += paid >= 2;
    two_refunds += refunds >= 2;
    no_created += created == 0;
    // Chats before the order, but none inside its 24 h window.
    if (created == 1) {
      const int64_t at = evs.front()->ts_ms;
      bool before = false, inside = false;
      for (const Event* c : by_buyer[evs.front()->buyer]) {
        if (!c->inbound || c->ts_ms > at) continue;
        before = true;
        inside |= c->ts_ms >= at - 86400 * 1000LL;
      }
      after_window += before && !inside;
    }
  }
  EXPECT_GT(double_paid, 0);
  EXPECT_GT(two_refunds, 0);
  EXPECT_GT(no_created, 0);
  EXPECT_GT(closed, 0);
  EXPECT_GT(after_window, 0);
  EXPECT_EQ(decimals, (std::set<int>{0, 1, 2}));

  // The amounts are written with 0, 1 and 2 decimals, and some as "x.00".
  bool int_amount = false, one_decimal = false, two_decimals = false,
       padded = false;
  for (const std::string& line : Lines(o)) {
    const size_t at = line.find("\"amount\":");
    if (at == std::string::npos) continue;
    const std::string num =
        line.substr(at + 9, line.find_first_of(",}", at) - at - 9);
    const size_t dot = num.find('.');
    if (dot == std::string::npos) {
      int_amount = true;
    } else if (num.size() - dot - 1 == 1) {
      one_decimal = true;
    } else {
      two_decimals = true;
      padded |= absl::EndsWith(num, "0");
    }
  }
  EXPECT_TRUE(int_amount && one_decimal && two_decimals && padded);
}

}  // namespace
}  // namespace chatkpi
