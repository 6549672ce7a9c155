#include "tools/generator.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <iterator>
#include <memory>
#include <string_view>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"

namespace chatkpi {
namespace {

constexpr int64_t kSecond = 1000;
constexpr int64_t kMinute = 60 * kSecond;
constexpr int64_t kHour = 60 * kMinute;
constexpr int64_t kDay = 24 * kHour;

// SplitMix64: tiny, fast and fully specified here, so the output does not
// depend on the standard library's engines or distributions.
class Rng {
 public:
  explicit Rng(uint64_t seed) : s_(seed) {}
  uint64_t Next() {
    uint64_t z = (s_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  // Uniform in [0, n).
  uint64_t Below(uint64_t n) {
    return static_cast<uint64_t>((static_cast<unsigned __int128>(Next()) * n) >>
                                 64);
  }
  // Uniform in [lo, hi].
  int64_t Range(int64_t lo, int64_t hi) {
    return lo + static_cast<int64_t>(Below(static_cast<uint64_t>(hi - lo) + 1));
  }
  double Unit() { return static_cast<double>(Next() >> 11) * 0x1p-53; }
  bool Chance(double p) { return Unit() < p; }

 private:
  uint64_t s_;
};

uint64_t StreamSeed(uint64_t seed, uint64_t stream) {
  Rng r(seed ^ (stream * 0xd1b54a32d192ed03ULL));
  r.Next();
  return r.Next();
}

// Streams other than the per-buyer ones (which use the buyer index).
constexpr uint64_t kLinesStream = 0xffffffff00000001ULL;
constexpr uint64_t kAssessmentStream = 0xffffffff00000002ULL;

// Texts. Some carry quotes, a newline or an emoji so that parsers meet JSON
// escapes; agent phrases cover the good and bad keywords of docs/spec.md §2.
constexpr std::string_view kBuyerPhrases[] = {
    "在吗",
    "这个有货吗？",
    "什么时候发货",
    "能便宜点吗",
    "尺码怎么选",
    "好的",
    "发什么快递",
    "能开发票吗",
    "包邮吗",
    "质量怎么样",
    "我拍了，麻烦尽快发货",
    "亲，这个颜色还有吗",
    "衣服收到了，有点小，能换吗",
    "[图片]",
    "😊",
    "\"双11\"的优惠还有吗",
    "地址写错了\n能改一下吗",
    "谢谢",
};
constexpr std::string_view kGoodPhrases[] = {
    "亲，在的呢",
    "您好，有货的亲",
    "谢谢亲的支持",
    "亲，今天下单明天发货哦",
    "您好，默认中通快递",
    "亲，可以开发票的",
    "谢谢您的耐心等待",
    "亲，按平时尺码拍就可以 😊",
    "您好，\"双11\"活动满300减40",
};
constexpr std::string_view kNeutralPhrases[] = {
    "有的",         "中通",   "可以",   "稍等，我查一下",
    "按平时尺码拍", "已改好", "明天发", "[商品链接]",
};
constexpr std::string_view kBadPhrases[] = {
    "不知道",
    "自己看详情页",
    "滚",
    "详情页写了，自己看",
};
constexpr std::string_view kMixedPhrases[] = {
    "亲，这个我也不知道呢",
    "您好，尺码表自己看一下",
};
constexpr std::string_view kAutoPhrases[] = {
    "您好，欢迎光临本店，客服稍后为您服务",
    "亲，现在是咨询高峰，请稍等",
    "自动回复：不知道尺码请看详情页",
};
constexpr std::string_view kHandOverPhrases[] = {
    "亲，帮您转接售后同事哦",
    "这个问题我转给同事处理",
};
constexpr std::string_view kReminderPhrases[] = {
    "亲，您的订单还没付款哦，库存有限",
    "您好，看到您拍下了宝贝还没付款，有什么疑问吗",
};

enum PhraseSet : uint16_t {
  kBuyerSet = 0,
  kGoodSet,
  kNeutralSet,
  kBadSet,
  kMixedSet,
  kAutoSet,
  kHandOverSet,
  kReminderSet,
};

struct PhraseTable {
  const std::string_view* phrases;
  size_t size;
};
constexpr PhraseTable kPhraseSets[] = {
    {kBuyerPhrases, std::size(kBuyerPhrases)},
    {kGoodPhrases, std::size(kGoodPhrases)},
    {kNeutralPhrases, std::size(kNeutralPhrases)},
    {kBadPhrases, std::size(kBadPhrases)},
    {kMixedPhrases, std::size(kMixedPhrases)},
    {kAutoPhrases, std::size(kAutoPhrases)},
    {kHandOverPhrases, std::size(kHandOverPhrases)},
    {kReminderPhrases, std::size(kReminderPhrases)},
};

// A phrase is coded as set << 8 | index.
uint16_t PickPhrase(Rng& r, PhraseSet set) {
  return static_cast<uint16_t>(set << 8 | r.Below(kPhraseSets[set].size));
}
std::string_view Phrase(uint16_t code) {
  return kPhraseSets[code >> 8].phrases[code & 0xff];
}

constexpr std::string_view kSurnames[] = {
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周",
    "徐", "孙", "马", "朱", "胡", "郭", "何", "高", "林", "罗",
};
constexpr std::string_view kGivenNames[] = {
    "小明", "丽丽", "伟", "芳",   "娜", "秀英", "敏",   "静",   "强",   "磊",
    "军",   "洋",   "勇", "艳",   "杰", "娟",   "涛",   "明",   "超",   "秀兰",
    "霞",   "平",   "刚", "桂英", "晨", "欣怡", "子涵", "浩然", "梓萱", "一诺",
};

constexpr std::string_view kMetrics[] = {
    "sales_target",  "execution",   "followup",       "self",
    "supervisor",    "listings",    "listing_errors", "sets_sold",
    "seniority_pay", "absent_days",
};
constexpr int kSupervisorMetric = 4;

// Relative weights of the local hour a conversation starts in.
constexpr int kHourWeights[24] = {3, 2, 1,  1,  1, 1, 2, 3,  5,  8,  10, 10,
                                  9, 9, 10, 10, 9, 8, 8, 10, 12, 13, 12, 7};

enum class Kind : uint8_t {
  kIn,
  kOut,
  kAutoOut,
  kCreated,
  kPaid,
  kRefunded,
  kClosed,
  kAssessment,
};

bool IsOrder(Kind k) { return k >= Kind::kCreated && k <= Kind::kClosed; }
bool IsChat(Kind k) { return k <= Kind::kAutoOut; }

// Formatting variations a valid line may take; a parser must read all alike.
enum Style : uint8_t {
  kSpaced = 1,         // ", " and ": " between tokens
  kReordered = 2,      // fields in reverse order ("type" last)
  kExtraField = 4,     // an unknown field with a nested value
  kNoText = 8,         // `in` without the optional text
  kExplicitAuto = 16,  // "auto":false written out
  kTwoDecimals = 32,   // amounts always with 2 decimals ("129.00")
  kAsciiEscape = 64,   // non-ASCII written as \uXXXX
};

// One event, compactly: names and texts are indices, so that a million of
// them sort quickly and are formatted only when written.
struct Gen {
  int64_t ts = 0;
  int64_t key = 0;     // output position: ts, plus the delay of order events
  uint64_t seq = 0;    // unique; the id's number and the output tie-break
  int64_t amount = 0;  // fen; assessments: value × 100
  uint32_t buyer = 0;
  uint32_t order = 0;
  int32_t items = 0;  // assessments: 1, or 2 for a correction
  uint16_t agent = 0;
  uint16_t text = 0;  // phrase code; assessments: metric index
  Kind kind = Kind::kIn;
  uint8_t style = 0;
};

struct Record {
  uint32_t event;      // index into the sorted events
  uint32_t malformed;  // kMalformed: its number, which picks the defect
  LineKind kind;
};

std::string_view FormatInt(int64_t v, char* buf, size_t size) {
  auto res = std::to_chars(buf, buf + size, v);
  return std::string_view(buf, res.ptr - buf);
}

// Fen as a JSON number of yuan with as few decimals as the value needs
// (129, 58.5, 0.29), or always two.
std::string_view FormatYuan(int64_t fen, bool two_decimals, char* buf,
                            size_t size) {
  char* p = buf;
  if (fen < 0) {
    *p++ = '-';
    fen = -fen;
  }
  p = std::to_chars(p, buf + size, fen / 100).ptr;
  const int cents = static_cast<int>(fen % 100);
  if (cents != 0 || two_decimals) {
    *p++ = '.';
    *p++ = static_cast<char>('0' + cents / 10);
    if (cents % 10 != 0 || two_decimals) {
      *p++ = static_cast<char>('0' + cents % 10);
    }
  }
  return std::string_view(buf, p - buf);
}

void AppendUnicodeEscape(uint32_t unit, std::string* out) {
  static constexpr char kHex[] = "0123456789abcdef";
  char buf[6] = {'\\',
                 'u',
                 kHex[(unit >> 12) & 15],
                 kHex[(unit >> 8) & 15],
                 kHex[(unit >> 4) & 15],
                 kHex[unit & 15]};
  out->append(buf, 6);
}

// JSON string contents. The inputs are our own valid UTF-8.
void AppendEscaped(std::string_view s, bool ascii_only, std::string* out) {
  size_t i = 0;
  while (i < s.size()) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == '"' || c == '\\') {
      out->push_back('\\');
      out->push_back(static_cast<char>(c));
      ++i;
    } else if (c == '\n') {
      out->append("\\n");
      ++i;
    } else if (c < 0x20) {
      AppendUnicodeEscape(c, out);
      ++i;
    } else if (c >= 0x80 && ascii_only) {
      const int len = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
      uint32_t cp = c & (0x7f >> len);
      for (int k = 1; k < len; ++k) {
        cp = cp << 6 | (static_cast<unsigned char>(s[i + k]) & 0x3f);
      }
      if (cp >= 0x10000) {
        cp -= 0x10000;
        AppendUnicodeEscape(0xd800 + (cp >> 10), out);
        AppendUnicodeEscape(0xdc00 + (cp & 0x3ff), out);
      } else {
        AppendUnicodeEscape(cp, out);
      }
      i += len;
    } else {
      size_t j = i + 1;
      while (j < s.size()) {
        const unsigned char d = static_cast<unsigned char>(s[j]);
        if (d == '"' || d == '\\' || d < 0x20 || (d >= 0x80 && ascii_only)) {
          break;
        }
        ++j;
      }
      out->append(s.data() + i, j - i);
      i = j;
    }
  }
}

// Edits of our own canonical lines ({"k":v,"k":v}), to derive malformed
// lines from valid ones. Returns false when the key is absent.
bool FindValue(std::string_view line, std::string_view key, size_t* begin,
               size_t* end) {
  const std::string needle = absl::StrCat("\"", std::string(key), "\":");
  size_t at = 0;
  while ((at = line.find(needle, at)) != std::string_view::npos) {
    if (at > 0 && (line[at - 1] == '{' || line[at - 1] == ',')) break;
    ++at;
  }
  if (at == std::string_view::npos) return false;
  size_t p = at + needle.size();
  *begin = p;
  if (line[p] == '"') {
    ++p;
    while (line[p] != '"') p += line[p] == '\\' ? 2 : 1;
    ++p;
  } else {
    while (line[p] != ',' && line[p] != '}') ++p;
  }
  *end = p;
  return true;
}

void ReplaceValue(std::string* line, std::string_view key,
                  std::string_view raw) {
  size_t b, e;
  if (FindValue(*line, key, &b, &e)) line->replace(b, e - b, raw);
}

void RemoveField(std::string* line, std::string_view key) {
  size_t b, e;
  if (!FindValue(*line, key, &b, &e)) return;
  size_t start = b - key.size() - 3;  // the opening quote of the key
  if ((*line)[start - 1] == ',') {
    --start;
  } else if ((*line)[e] == ',') {
    ++e;
  }
  line->erase(start, e - start);
}

class Generator {
 public:
  Generator(const GeneratorOptions& options, absl::CivilMonth month)
      : options_(options) {
    const absl::TimeZone tz = absl::FixedTimeZone(8 * 3600);
    start_ = absl::ToUnixMillis(absl::FromCivil(absl::CivilDay(month), tz));
    end_ = absl::ToUnixMillis(absl::FromCivil(absl::CivilDay(month + 1), tz));
    days_ = (end_ - start_) / kDay;
    month_digits_ = absl::StrCat(month.year(), month.month() < 10 ? "0" : "",
                                 month.month());
    for (int a = 0; a < options.agents; ++a) {
      agent_names_.push_back(
          absl::StrCat(options.shop, ":agent", a + 1 < 10 ? "0" : "", a + 1));
    }
    hour_weight_sum_ = 0;
    for (int w : kHourWeights) hour_weight_sum_ += w;
  }

  void Build();
  void BuildAssessmentsOnly() {
    AddAssessments();
    std::sort(events_.begin(), events_.end(), OutputOrder);
  }

  const std::vector<Record>& records() const { return records_; }
  const std::vector<Gen>& events() const { return events_; }
  void AppendLine(const Record& rec, std::string* out) const {
    if (rec.kind == LineKind::kMalformed) {
      AppendMalformed(rec.malformed, events_[rec.event], out);
    } else {
      AppendJson(events_[rec.event], events_[rec.event].style, nullptr, out);
    }
  }
  Event ToEvent(const Gen& g) const;

  // Shuffled output reads events and names in random order; fetching a few
  // records ahead hides part of the cache misses.
  void Prefetch(size_t i) const {
    if (i + 16 < records_.size()) {
      __builtin_prefetch(&events_[records_[i + 16].event]);
    }
    if (i + 8 < records_.size()) {
      __builtin_prefetch(&buyer_names_[events_[records_[i + 8].event].buyer]);
    }
  }

 private:
  static bool OutputOrder(const Gen& a, const Gen& b) {
    return a.key != b.key ? a.key < b.key : a.seq < b.seq;
  }

  void GenerateBuyer(uint32_t b);
  void Session(Rng& r, uint32_t b, uint16_t agent);
  void MakeOrder(Rng& r, uint32_t b, int64_t created, int agent);
  void AddAssessments();
  int64_t SessionStart(Rng& r);
  int64_t UnitPrice(Rng& r);
  uint16_t OtherAgent(Rng& r, uint16_t agent) {
    return static_cast<uint16_t>((agent + 1 + r.Below(options_.agents - 1)) %
                                 options_.agents);
  }
  uint8_t RandomStyle(Rng& r);
  void EmitChat(Rng& r, Kind kind, int64_t ts, uint32_t b, uint16_t agent,
                uint16_t text);
  void EmitOrder(Rng& r, Kind kind, int64_t ts, uint32_t b, uint32_t order,
                 int64_t amount, int32_t items, uint8_t style);
  void Emit(Gen g);

  std::string_view FormatId(const Gen& g, char* buf, size_t size) const;
  std::string_view FormatOrderId(uint32_t order, char* buf) const;
  // `id` overrides the event's own id (for malformed lines).
  void AppendJson(const Gen& g, uint8_t style, const std::string* id,
                  std::string* out) const;
  void AppendMalformed(uint32_t n, const Gen& near, std::string* out) const;

  GeneratorOptions options_;
  int64_t start_ = 0;
  int64_t end_ = 0;
  int64_t days_ = 0;
  int hour_weight_sum_ = 0;
  std::string month_digits_;
  std::vector<std::string> agent_names_;
  std::vector<std::string> buyer_names_;
  uint64_t seq_ = 0;
  uint32_t orders_ = 0;
  std::vector<Gen> events_;
  std::vector<Record> records_;
};

void Generator::Build() {
  const double extra = options_.duplicate_rate + options_.malformed_rate;
  if (options_.target_events > 0) {
    const int64_t base = static_cast<int64_t>(
        static_cast<double>(options_.target_events) / (1.0 + extra));
    events_.reserve(static_cast<size_t>(base) + 64);
    uint32_t b = 0;
    do {
      GenerateBuyer(b++);
    } while (static_cast<int64_t>(events_.size()) < base);
  } else {
    for (int b = 0; b < options_.buyers; ++b) {
      GenerateBuyer(static_cast<uint32_t>(b));
    }
  }
  if (options_.assessments) AddAssessments();
  std::sort(events_.begin(), events_.end(), OutputOrder);

  // Redeliveries and bad lines come from their own stream, so turning them
  // on leaves the events themselves unchanged.
  Rng r(StreamSeed(options_.seed, kLinesStream));
  records_.reserve(static_cast<size_t>(events_.size() * (1.0 + extra)) + 16);
  uint32_t malformed = 0;
  for (uint32_t i = 0; i < events_.size(); ++i) {
    if (options_.malformed_rate > 0 && r.Chance(options_.malformed_rate)) {
      records_.push_back({i, malformed++, LineKind::kMalformed});
    }
    records_.push_back({i, 0, LineKind::kEvent});
    if (options_.duplicate_rate > 0 && r.Chance(options_.duplicate_rate)) {
      const uint32_t j =
          static_cast<uint32_t>(r.Range(i >= 5000 ? i - 5000 : 0, i));
      records_.push_back({j, 0, LineKind::kDuplicate});
    }
  }
  if (options_.shuffle) {
    for (size_t i = records_.size(); i > 1; --i) {
      std::swap(records_[i - 1], records_[r.Below(i)]);
    }
    // Whichever copy now comes first is the event; the rest redeliveries.
    std::vector<bool> seen(events_.size());
    for (Record& rec : records_) {
      if (rec.kind == LineKind::kMalformed) continue;
      rec.kind = seen[rec.event] ? LineKind::kDuplicate : LineKind::kEvent;
      seen[rec.event] = true;
    }
  }
}

void Generator::GenerateBuyer(uint32_t b) {
  Rng r(StreamSeed(options_.seed, b));
  const uint64_t nick = r.Next();
  if (nick % 10 == 0) {
    // Unique by construction: the index is appended once the combinations
    // of surname and given name run out.
    constexpr uint32_t kNs = std::size(kSurnames), kNg = std::size(kGivenNames);
    std::string name = "买家_";
    name.append(kSurnames[b % kNs]);
    name.append(kGivenNames[(b / kNs) % kNg]);
    if (b >= kNs * kNg) absl::StrAppend(&name, b);
    buyer_names_.push_back(std::move(name));
  } else {
    char buf[16];
    std::string name = "buyer";
    std::string_view digits = FormatInt(b + 1, buf, sizeof(buf));
    name.append(digits.size() < 4 ? 4 - digits.size() : 0, '0');
    name.append(digits);
    buyer_names_.push_back(std::move(name));
  }

  const uint16_t home = static_cast<uint16_t>(r.Below(options_.agents));
  const bool silent = r.Chance(0.08);
  int sessions = silent ? 0 : 1;
  while (!silent && sessions < 8 && r.Chance(0.55)) ++sessions;
  for (int s = 0; s < sessions; ++s) {
    uint16_t agent = home;
    if (options_.agents > 1 && r.Chance(0.15)) agent = OtherAgent(r, home);
    Session(r, b, agent);
  }
  // Silent orders: no chat leads to them (though a chatting buyer's one may
  // still fall inside the window of an unrelated chat).
  int silent_orders =
      silent ? 1 + static_cast<int>(r.Below(2)) : (r.Chance(0.2) ? 1 : 0);
  for (int i = 0; i < silent_orders; ++i) {
    MakeOrder(r, b, start_ + r.Range(0, end_ - start_ - 1), -1);
  }
}

int64_t Generator::SessionStart(Rng& r) {
  const int64_t day_start =
      start_ + static_cast<int64_t>(r.Below(days_)) * kDay;
  // Late-night sessions run past local midnight.
  if (r.Chance(0.05)) {
    return day_start + 23 * kHour + 40 * kMinute + r.Range(0, 20 * kMinute - 1);
  }
  int64_t pick = r.Range(0, hour_weight_sum_ - 1);
  int hour = 0;
  while (pick >= kHourWeights[hour]) pick -= kHourWeights[hour++];
  return day_start + hour * kHour + r.Range(0, kHour - 1);
}

void Generator::Session(Rng& r, uint32_t b, uint16_t agent) {
  int64_t t = SessionStart(r);
  int turns = 1 + static_cast<int>(r.Below(4));
  int hand_over_at = -1;
  if (options_.agents > 1 && r.Chance(0.12)) {
    hand_over_at = 1 + static_cast<int>(r.Below(turns));
    turns = std::max(turns, hand_over_at + 1);
  }
  int64_t last_in = t;
  for (int turn = 0; turn < turns; ++turn) {
    if (turn == hand_over_at) {
      EmitChat(r, Kind::kOut, t, b, agent, PickPhrase(r, kHandOverSet));
      t += r.Range(5 * kSecond, kMinute);
      agent = OtherAgent(r, agent);
    }
    // A turn: one or several `in` (a burst may share one ms), maybe an auto
    // reply, then a human answer after a delay drawn from five bands.
    const int64_t open = t;
    const int ins = r.Chance(0.35) ? 2 + static_cast<int>(r.Below(3)) : 1;
    int64_t last = t;
    for (int i = 0; i < ins; ++i) {
      if (i > 0 && !r.Chance(0.03)) last += r.Range(2 * kSecond, 25 * kSecond);
      EmitChat(r, Kind::kIn, last, b, agent, PickPhrase(r, kBuyerSet));
    }
    last_in = last;
    if (r.Chance(0.25)) {
      const int64_t at = r.Chance(0.3) ? open : open + r.Range(200, 2000);
      EmitChat(r, Kind::kAutoOut, at, b, agent, PickPhrase(r, kAutoSet));
    }
    const double band = r.Unit();
    int64_t delay = -1;
    if (band < 0.68) {
      delay = r.Range(3 * kSecond, 40 * kSecond);  // on time
    } else if (band < 0.83) {
      delay = r.Range(40 * kSecond + 1, 10 * kMinute);  // slow
    } else if (band < 0.90) {
      delay = r.Range(10 * kMinute + 1, kHour);  // very slow, in the window
    } else if (band < 0.95) {
      delay = r.Range(kHour + 1, 3 * kHour);  // too late: unanswered
    }
    if (delay < 0) {  // never answered
      t = last + r.Range(kMinute, 30 * kMinute);
      if (r.Chance(0.5)) break;
      continue;
    }
    int64_t at = open + delay;
    if (at <= last) {
      // Rarely at the very ms of the last `in`: then (ts, id) decides.
      at = r.Chance(0.05) ? last : last + r.Range(kSecond, 8 * kSecond);
    }
    const double tone = r.Unit();
    const PhraseSet set = tone < 0.55   ? kGoodSet
                          : tone < 0.93 ? kNeutralSet
                          : tone < 0.97 ? kBadSet
                                        : kMixedSet;
    EmitChat(r, Kind::kOut, at, b, agent, PickPhrase(r, set));
    if (r.Chance(0.2)) {
      at += r.Range(3 * kSecond, 30 * kSecond);
      EmitChat(r, Kind::kOut, at, b, agent,
               PickPhrase(r, r.Chance(0.5) ? kGoodSet : kNeutralSet));
    }
    t = at + r.Range(20 * kSecond, 10 * kMinute);
  }
  if (r.Chance(0.35)) {
    const double band = r.Unit();
    const int64_t delay = band < 0.6    ? r.Range(kMinute, 2 * kHour)
                          : band < 0.85 ? r.Range(2 * kHour, 23 * kHour)
                                        : r.Range(kDay + kMinute, 3 * kDay);
    MakeOrder(r, b, last_in + delay, agent);
  }
}

int64_t Generator::UnitPrice(Rng& r) {
  const double u = r.Unit();
  if (u < 0.01) return 0;  // a free gift
  if (u < 0.06) {
    int64_t cents = r.Range(1, 99);  // 0.29
    return cents % 10 == 0 ? cents + 1 : cents;
  }
  const int64_t yuan = r.Range(9, 599) * 100;
  if (u < 0.46) return yuan;                       // 129
  if (u < 0.76) return yuan + r.Range(1, 9) * 10;  // 58.5
  int64_t cents = r.Range(1, 99);                  // 19.99
  return yuan + (cents % 10 == 0 ? cents + 1 : cents);
}

void Generator::MakeOrder(Rng& r, uint32_t b, int64_t created, int agent) {
  const uint32_t order = ++orders_;
  const int32_t items =
      r.Chance(0.3) ? 2 + static_cast<int32_t>(r.Below(4)) : 1;
  const int64_t unit = UnitPrice(r);
  const int64_t amount = unit * items;
  const uint8_t style = r.Chance(0.05) ? kTwoDecimals : 0;
  // A lost `created` event: created time falls back to the first event.
  const bool has_created = !r.Chance(0.05);
  if (has_created) {
    EmitOrder(r, Kind::kCreated, created, b, order, amount, items, style);
  }
  if (r.Chance(0.75)) {
    const int64_t paid =
        has_created ? created + r.Range(10 * kSecond, 30 * kMinute) : created;
    EmitOrder(r, Kind::kPaid, paid, b, order, amount, items, style);
    if (r.Chance(0.03)) {  // a second payment notice; only the first counts
      EmitOrder(r, Kind::kPaid, paid + r.Range(kSecond, 10 * kMinute), b, order,
                amount, items, style);
    }
    if (r.Chance(0.15)) {
      // Partial refunds: fewer items than paid, or part of a single item.
      int64_t at = paid + r.Range(kHour, 7 * kDay);
      int32_t first_items = 1;
      int64_t first_fen = amount * r.Range(30, 90) / 100;
      if (items > 1) {
        first_items = 1 + static_cast<int32_t>(r.Below(items - 1));
        first_fen = unit * first_items;
      }
      EmitOrder(r, Kind::kRefunded, at, b, order, first_fen, first_items,
                style);
      if (items > first_items && r.Chance(0.35)) {
        const int32_t more =
            1 + static_cast<int32_t>(r.Below(items - first_items));
        at += r.Range(kHour, 3 * kDay);
        EmitOrder(r, Kind::kRefunded, at, b, order, unit * more, more, style);
      }
    }
  } else {
    if (!has_created || r.Chance(0.6)) {
      const int64_t at =
          has_created ? created + r.Range(30 * kMinute, 2 * kDay) : created;
      EmitOrder(r, Kind::kClosed, at, b, order, amount, items, style);
    }
    if (agent >= 0 && has_created && r.Chance(0.3)) {
      // A payment reminder: an `out` with no question open.
      EmitChat(r, Kind::kOut, created + r.Range(kHour, 3 * kHour), b,
               static_cast<uint16_t>(agent), PickPhrase(r, kReminderSet));
    }
  }
}

void Generator::AddAssessments() {
  Rng r(StreamSeed(options_.seed, kAssessmentStream));
  // On the month's last local day, from 18:00.
  const int64_t base = end_ - kDay + 18 * kHour;
  for (int a = 0; a < options_.agents; ++a) {
    for (int m = 0; m < static_cast<int>(std::size(kMetrics)); ++m) {
      int64_t value = 0;  // × 100
      switch (m) {
        case 0:  // sales_target, yuan
          value = r.Range(150, 300) * 10000 + (r.Chance(0.3) ? 50 : 0);
          break;
        case 1:  // execution, 0..10
          value = r.Range(12, 20) * 50;
          break;
        case 2:  // followup, 0..5
          value = r.Range(6, 10) * 50;
          break;
        case 3:  // self
          value = r.Range(6, 10) * 100;
          break;
        case 4:  // supervisor
          value = r.Range(60, 100) * 10;
          break;
        case 5:  // listings
          value = r.Range(80, 200) * 100;
          break;
        case 6:  // listing_errors
          value = r.Range(0, 6) * 100;
          break;
        case 7:  // sets_sold
          value = r.Range(0, 20) * 100;
          break;
        case 8:  // seniority_pay, yuan
          value = r.Range(0, 3) * 10000;
          break;
        default:  // absent_days
          value = (r.Chance(0.85) ? 0 : r.Range(1, 5)) * 100;
          break;
      }
      Gen g;
      g.kind = Kind::kAssessment;
      g.ts = base + a * kMinute + m * kSecond;
      g.agent = static_cast<uint16_t>(a);
      g.text = static_cast<uint16_t>(m);
      g.amount = value;
      g.items = 1;
      Emit(g);
      if (m == kSupervisorMetric && r.Chance(0.25)) {
        // A corrected mark: the later (ts, id) wins.
        g.ts += 2 * kHour;
        g.amount = r.Range(60, 100) * 10;
        g.items = 2;
        Emit(g);
      }
    }
  }
}

uint8_t Generator::RandomStyle(Rng& r) {
  // One draw, eight bits per variation: each on with probability k/256.
  const uint64_t x = r.Next();
  uint8_t style = 0;
  if ((x & 0xff) < 13) style |= kSpaced;
  if ((x >> 8 & 0xff) < 13) style |= kReordered;
  if ((x >> 16 & 0xff) < 13) style |= kExtraField;
  if ((x >> 24 & 0xff) < 8) style |= kNoText;
  if ((x >> 32 & 0xff) < 26) style |= kExplicitAuto;
  if ((x >> 40 & 0xff) < 8) style |= kAsciiEscape;
  return style;
}

void Generator::EmitChat(Rng& r, Kind kind, int64_t ts, uint32_t b,
                         uint16_t agent, uint16_t text) {
  Gen g;
  g.kind = kind;
  g.ts = ts;
  g.buyer = b;
  g.agent = agent;
  g.text = text;
  g.style = RandomStyle(r);
  if (kind != Kind::kIn) g.style &= ~kNoText;
  Emit(g);
}

void Generator::EmitOrder(Rng& r, Kind kind, int64_t ts, uint32_t b,
                          uint32_t order, int64_t amount, int32_t items,
                          uint8_t style) {
  Gen g;
  g.kind = kind;
  g.ts = ts;
  g.buyer = b;
  g.order = order;
  g.amount = amount;
  g.items = items;
  g.style = (RandomStyle(r) & (kSpaced | kReordered | kExtraField)) | style;
  Emit(g);
}

void Generator::Emit(Gen g) {
  // Whatever would spill into the next month is simply not generated.
  if (g.ts < start_ || g.ts >= end_) return;
  g.seq = ++seq_;
  g.key = g.ts + (IsOrder(g.kind) ? options_.delay_orders_ms : 0);
  events_.push_back(g);
}

std::string_view Generator::FormatId(const Gen& g, char* buf,
                                     size_t size) const {
  if (g.kind == Kind::kAssessment) {
    // Independent of the event count, so GenerateAssessments() agrees.
    std::string id = absl::StrCat(
        "a-", options_.month, "-", g.agent + 1 < 10 ? "0" : "", g.agent + 1,
        "-", std::string(kMetrics[g.text]), g.items > 1 ? "-2" : "");
    const size_t n = std::min(id.size(), size);
    std::copy_n(id.data(), n, buf);
    return std::string_view(buf, n);
  }
  buf[0] = IsChat(g.kind) ? 'c' : 'o';
  buf[1] = '-';
  return std::string_view(
      buf,
      FormatInt(static_cast<int64_t>(g.seq), buf + 2, size - 2).size() + 2);
}

std::string_view Generator::FormatOrderId(uint32_t order, char* buf) const {
  // "<yyyymm>-<6+ digits>"
  char* p = std::copy(month_digits_.begin(), month_digits_.end(), buf);
  *p++ = '-';
  char digits[16];
  std::string_view d = FormatInt(order, digits, sizeof(digits));
  for (size_t i = d.size(); i < 6; ++i) *p++ = '0';
  p = std::copy(d.begin(), d.end(), p);
  return std::string_view(buf, p - buf);
}

void Generator::AppendJson(const Gen& g, uint8_t style, const std::string* id,
                           std::string* out) const {
  struct Field {
    std::string_view key;
    std::string_view value;
    bool quoted;
  };
  std::array<Field, 10> f;
  int n = 0;
  char id_buf[96], ts_buf[24], order_buf[32], amount_buf[32], items_buf[16];
  static constexpr std::string_view kExt =
      R"({"src":"qianniu","tags":["vip",1,true,null],"n":-1.5e3})";

  switch (g.kind) {
    case Kind::kIn:
    case Kind::kOut:
    case Kind::kAutoOut:
      f[n++] = {"type", "chat", true};
      break;
    case Kind::kAssessment:
      f[n++] = {"type", "assessment", true};
      break;
    default:
      f[n++] = {"type", "order", true};
      break;
  }
  f[n++] = {"id",
            id ? std::string_view(*id) : FormatId(g, id_buf, sizeof(id_buf)),
            true};
  f[n++] = {"ts", FormatInt(g.ts, ts_buf, sizeof(ts_buf)), false};
  if (IsChat(g.kind)) {
    f[n++] = {"buyer", buyer_names_[g.buyer], true};
    f[n++] = {"agent", agent_names_[g.agent], true};
    f[n++] = {"dir", g.kind == Kind::kIn ? "in" : "out", true};
    if (!(style & kNoText)) f[n++] = {"text", Phrase(g.text), true};
    if (g.kind == Kind::kAutoOut) {
      f[n++] = {"auto", "true", false};
    } else if (g.kind == Kind::kOut && (style & kExplicitAuto)) {
      f[n++] = {"auto", "false", false};
    }
  } else if (IsOrder(g.kind)) {
    static constexpr std::string_view kStatus[] = {"created", "paid",
                                                   "refunded", "closed"};
    f[n++] = {"order", FormatOrderId(g.order, order_buf), true};
    f[n++] = {"buyer", buyer_names_[g.buyer], true};
    f[n++] = {
        "status",
        kStatus[static_cast<int>(g.kind) - static_cast<int>(Kind::kCreated)],
        true};
    f[n++] = {"amount",
              FormatYuan(g.amount, style & kTwoDecimals, amount_buf,
                         sizeof(amount_buf)),
              false};
    f[n++] = {"items", FormatInt(g.items, items_buf, sizeof(items_buf)), false};
  } else {
    f[n++] = {"agent", agent_names_[g.agent], true};
    f[n++] = {"period", options_.month, true};
    f[n++] = {"metric", kMetrics[g.text], true};
    f[n++] = {"value",
              FormatYuan(g.amount, false, amount_buf, sizeof(amount_buf)),
              false};
  }
  if (style & kExtraField) f[n++] = {"ext", kExt, false};
  if (style & kReordered) std::reverse(f.begin(), f.begin() + n);

  const bool spaced = style & kSpaced;
  const bool ascii = style & kAsciiEscape;
  out->push_back('{');
  for (int i = 0; i < n; ++i) {
    if (i > 0) out->append(spaced ? ", " : ",");
    out->push_back('"');
    out->append(f[i].key);
    out->append(spaced ? "\": " : "\":");
    if (f[i].quoted) {
      out->push_back('"');
      AppendEscaped(f[i].value, ascii, out);
      out->push_back('"');
    } else {
      out->append(f[i].value);
    }
  }
  out->push_back('}');
}

// The malformed lines cycle through the rejection reasons of docs/spec.md §1, each
// with a few variants, built from an event near them in the stream.
void Generator::AppendMalformed(uint32_t n, const Gen& near,
                                std::string* out) const {
  constexpr uint32_t kReasons = 11;
  const uint32_t reason = n % kReasons;
  const uint32_t variant = n / kReasons;
  const std::string id = absl::StrCat("m-", n + 1);

  Gen chat;
  chat.kind = Kind::kIn;
  chat.ts = near.ts;
  chat.buyer = near.buyer;
  chat.agent = near.agent;
  chat.text = 0;
  Gen order;
  order.kind = Kind::kCreated;
  order.ts = near.ts;
  order.buyer = near.buyer;
  order.order = near.order ? near.order : 1;
  order.amount = 12345;
  order.items = 2;
  std::string chat_line, order_line;
  AppendJson(chat, 0, &id, &chat_line);
  AppendJson(order, 0, &id, &order_line);

  std::string line;
  switch (reason) {
    case 0: {  // not JSON
      switch (variant % 5) {
        case 0:
          line = chat_line.substr(0, chat_line.size() / 2);
          break;
        case 1:
          line = chat_line.substr(0, chat_line.size() - 1);  // no closing }
          break;
        case 2:
          line = chat_line;
          std::replace(line.begin(), line.end(), '"', '\'');
          break;
        case 3:
          line = absl::StrCat(order_line, "}");
          break;
        default:
          line = absl::StrCat(buyer_names_[near.buyer], " 在吗 ", near.ts);
          break;
      }
      break;
    }
    case 1: {  // a required field missing
      static constexpr std::string_view kChatFields[] = {
          "buyer", "agent", "dir", "ts", "id", "type"};
      static constexpr std::string_view kOrderFields[] = {
          "order", "status", "amount", "items", "buyer"};
      if (variant % 2 == 0) {
        line = chat_line;
        RemoveField(&line, kChatFields[(variant / 2) % std::size(kChatFields)]);
      } else {
        line = order_line;
        RemoveField(&line,
                    kOrderFields[(variant / 2) % std::size(kOrderFields)]);
      }
      break;
    }
    case 2: {  // a field of the wrong type
      switch (variant % 7) {
        case 0:
          line = chat_line;
          ReplaceValue(&line, "ts", absl::StrCat("\"", near.ts, "\""));
          break;
        case 1:
          line = order_line;
          ReplaceValue(&line, "items", "\"2\"");
          break;
        case 2:
          line = order_line;
          ReplaceValue(&line, "amount", "\"123.45\"");
          break;
        case 3:
          line = chat_line;
          ReplaceValue(&line, "dir", "\"out\",\"auto\":\"true\"");
          break;
        case 4:
          line = chat_line;
          ReplaceValue(&line, "buyer", "42");
          break;
        case 5:
          line = chat_line;
          ReplaceValue(&line, "ts", absl::StrCat(near.ts, ".5"));
          break;
        default:
          line = order_line;
          ReplaceValue(&line, "items", "1.5");
          break;
      }
      break;
    }
    case 3:  // negative amount
      line = order_line;
      ReplaceValue(&line, "amount", variant % 2 ? "-0.01" : "-123.45");
      break;
    case 4: {  // more than 2 decimals
      static constexpr std::string_view kAmounts[] = {"12.345", "0.001",
                                                      "99.999"};
      line = order_line;
      ReplaceValue(&line, "amount", kAmounts[variant % std::size(kAmounts)]);
      break;
    }
    case 5:  // items < 1
      line = order_line;
      ReplaceValue(&line, "items", variant % 2 ? "-1" : "0");
      break;
    case 6: {  // unknown type
      static constexpr std::string_view kTypes[] = {"\"refund\"", "\"Chat\"",
                                                    "\"message\""};
      line = chat_line;
      ReplaceValue(&line, "type", kTypes[variant % std::size(kTypes)]);
      break;
    }
    case 7: {  // unknown dir
      static constexpr std::string_view kDirs[] = {"\"both\"", "\"IN\"",
                                                   "\"inbound\""};
      line = chat_line;
      ReplaceValue(&line, "dir", kDirs[variant % std::size(kDirs)]);
      break;
    }
    case 8: {  // unknown status
      static constexpr std::string_view kStatuses[] = {"\"shipped\"", "\"pay\"",
                                                       "\"cancelled\""};
      line = order_line;
      ReplaceValue(&line, "status", kStatuses[variant % std::size(kStatuses)]);
      break;
    }
    case 9: {  // ts outside 2000-01-01..2100-01-01
      const std::string ts[] = {
          absl::StrCat(near.ts / 1000),  // seconds, not ms: 1970
          "915148800000",                // 1999-01-01
          "4133980800000",               // 2101-01-01
          "-1",
      };
      line = variant % 2 ? order_line : chat_line;
      ReplaceValue(&line, "ts", ts[variant % std::size(ts)]);
      break;
    }
    default: {  // a string too long (or an empty id)
      switch (variant % 6) {
        case 0:
          line = chat_line;
          ReplaceValue(&line, "buyer",
                       absl::StrCat("\"", std::string(4097, 'b'), "\""));
          break;
        case 1:
          line = chat_line;
          ReplaceValue(&line, "agent",
                       absl::StrCat("\"", std::string(4097, 'a'), "\""));
          break;
        case 2:
          line = order_line;
          ReplaceValue(&line, "order",
                       absl::StrCat("\"", std::string(4097, '7'), "\""));
          break;
        case 3:
          line = chat_line;
          ReplaceValue(&line, "id",
                       absl::StrCat("\"", id, std::string(129, 'x'), "\""));
          break;
        case 4:
          line = chat_line;
          ReplaceValue(&line, "id", "\"\"");
          break;
        default:
          line = chat_line;
          ReplaceValue(&line, "text",
                       absl::StrCat("\"", std::string(65537, 't'), "\""));
          break;
      }
      break;
    }
  }
  out->append(line);
}

Event Generator::ToEvent(const Gen& g) const {
  Event e;
  char buf[96];
  e.id = std::string(FormatId(g, buf, sizeof(buf)));
  e.ts_ms = g.ts;
  if (IsChat(g.kind)) {
    e.type = EventType::kChat;
    e.buyer = buyer_names_[g.buyer];
    e.agent = agent_names_[g.agent];
    e.inbound = g.kind == Kind::kIn;
    e.auto_reply = g.kind == Kind::kAutoOut;
    if (!(g.style & kNoText)) e.text = std::string(Phrase(g.text));
  } else if (IsOrder(g.kind)) {
    e.type = EventType::kOrder;
    e.buyer = buyer_names_[g.buyer];
    e.order = std::string(FormatOrderId(g.order, buf));
    e.status = static_cast<OrderStatus>(static_cast<int>(g.kind) -
                                        static_cast<int>(Kind::kCreated));
    e.amount_fen = g.amount;
    e.items = g.items;
  } else {
    e.type = EventType::kAssessment;
    e.agent = agent_names_[g.agent];
    e.period = options_.month;
    e.metric = std::string(kMetrics[g.text]);
    e.value_text = std::string(FormatYuan(g.amount, false, buf, sizeof(buf)));
    e.value = static_cast<double>(g.amount) / 100.0;
  }
  return e;
}

absl::StatusOr<absl::CivilMonth> ParseMonth(const std::string& month) {
  absl::CivilMonth m;
  if (month.size() != 7 || month[4] != '-' ||
      !absl::ParseCivilTime(month, &m)) {
    return absl::InvalidArgumentError(
        absl::StrCat("month must be YYYY-MM, got '", month, "'"));
  }
  // Keeps every ts well inside docs/spec.md §1's 2000..2100 range.
  if (m.year() < 2001 || m.year() > 2098) {
    return absl::InvalidArgumentError(
        absl::StrCat("month out of range: ", month));
  }
  return m;
}

absl::StatusOr<std::unique_ptr<Generator>> MakeGenerator(
    const GeneratorOptions& options) {
  if (absl::Status s = ValidateGeneratorOptions(options); !s.ok()) return s;
  absl::StatusOr<absl::CivilMonth> month = ParseMonth(options.month);
  if (!month.ok()) return month.status();
  return std::make_unique<Generator>(options, *month);
}

}  // namespace

absl::Status ValidateGeneratorOptions(const GeneratorOptions& options) {
  if (options.agents < 1 || options.agents > 9999) {
    return absl::InvalidArgumentError("agents must be in 1..9999");
  }
  if (options.target_events < 0) {
    return absl::InvalidArgumentError("target_events must be >= 0");
  }
  if (options.target_events == 0 && options.buyers < 1) {
    return absl::InvalidArgumentError("buyers must be >= 1");
  }
  if (options.target_events > 2'000'000'000) {
    return absl::InvalidArgumentError("target_events too large");
  }
  for (double rate : {options.duplicate_rate, options.malformed_rate}) {
    if (!(rate >= 0 && rate <= 1)) {
      return absl::InvalidArgumentError("rates must be in [0, 1]");
    }
  }
  if (options.delay_orders_ms < 0) {
    return absl::InvalidArgumentError("delay_orders_ms must be >= 0");
  }
  if (options.shop.empty() || options.shop.size() > 1000) {
    return absl::InvalidArgumentError("shop must be 1..1000 bytes");
  }
  return ParseMonth(options.month).status();
}

absl::StatusOr<std::vector<GeneratedLine>> GenerateLines(
    const GeneratorOptions& options) {
  absl::StatusOr<std::unique_ptr<Generator>> gen = MakeGenerator(options);
  if (!gen.ok()) return gen.status();
  (*gen)->Build();
  std::vector<GeneratedLine> lines;
  lines.reserve((*gen)->records().size());
  for (const Record& rec : (*gen)->records()) {
    GeneratedLine line;
    line.kind = rec.kind;
    (*gen)->AppendLine(rec, &line.json);
    lines.push_back(std::move(line));
  }
  return lines;
}

absl::StatusOr<std::vector<std::string>> GenerateJsonl(
    const GeneratorOptions& options) {
  absl::StatusOr<std::unique_ptr<Generator>> gen = MakeGenerator(options);
  if (!gen.ok()) return gen.status();
  (*gen)->Build();
  std::vector<std::string> lines;
  lines.reserve((*gen)->records().size());
  for (const Record& rec : (*gen)->records()) {
    std::string line;
    (*gen)->AppendLine(rec, &line);
    lines.push_back(std::move(line));
  }
  return lines;
}

absl::StatusOr<int64_t> WriteJsonl(const GeneratorOptions& options,
                                   std::ostream& out) {
  absl::StatusOr<std::unique_ptr<Generator>> gen = MakeGenerator(options);
  if (!gen.ok()) return gen.status();
  (*gen)->Build();
  std::string buf;
  buf.reserve(1 << 20);
  const std::vector<Record>& records = (*gen)->records();
  for (size_t i = 0; i < records.size(); ++i) {
    (*gen)->Prefetch(i);
    (*gen)->AppendLine(records[i], &buf);
    buf.push_back('\n');
    if (buf.size() >= (1 << 20)) {
      out.write(buf.data(), static_cast<std::streamsize>(buf.size()));
      buf.clear();
    }
  }
  out.write(buf.data(), static_cast<std::streamsize>(buf.size()));
  out.flush();
  if (!out) return absl::DataLossError("write failed");
  return static_cast<int64_t>((*gen)->records().size());
}

absl::StatusOr<std::vector<Event>> GenerateEvents(
    const GeneratorOptions& options) {
  absl::StatusOr<std::unique_ptr<Generator>> gen = MakeGenerator(options);
  if (!gen.ok()) return gen.status();
  (*gen)->Build();
  std::vector<Event> events;
  events.reserve((*gen)->events().size());
  for (const Record& rec : (*gen)->records()) {
    if (rec.kind != LineKind::kEvent) continue;
    events.push_back((*gen)->ToEvent((*gen)->events()[rec.event]));
  }
  return events;
}

absl::StatusOr<std::vector<Event>> GenerateAssessments(
    const GeneratorOptions& options) {
  absl::StatusOr<std::unique_ptr<Generator>> gen = MakeGenerator(options);
  if (!gen.ok()) return gen.status();
  (*gen)->BuildAssessmentsOnly();
  std::vector<Event> events;
  for (const Gen& g : (*gen)->events()) events.push_back((*gen)->ToEvent(g));
  return events;
}

}  // namespace chatkpi
