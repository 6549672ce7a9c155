#include "ingest/event_parser.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstring>
#include <limits>
#include <string>
#include <system_error>
#include <utility>

#include "absl/status/status.h"
#include "simdjson.h"

// Choices the spec leaves open, decided here so that every caller (file
// ingest, Kafka, replay) rejects and accepts exactly the same bytes:
//
// * Reasons are "<category>" or "<category> '<field>'". Anything variable is
//   inside the quotes, so grouping dead letters by the text before the first
//   "'" gives a stable, small set of categories. Offending values are never
//   echoed: the raw bytes are kept beside the reason anyway.
// * Validation order is fixed (JSON, type, id, ts, then the type's fields in
//   table order) and independent of key order in the object, so the same
//   event always gets the same reason.
// * The whole document must be valid JSON, including the values of unknown
//   fields; those are walked (up to kMaxDepth levels) but otherwise ignored.
//   Fields of another event type (say `status` on a chat) count as unknown.
// * A duplicated field of the event's type is rejected ("duplicate field"):
//   JSON parsers disagree on which copy wins, so such an event has no single
//   meaning and must not be counted.
// * `null` on an optional field means absent; on a required one it is the
//   wrong type.
// * Identifiers (`buyer`, `agent`, `order`, `metric`) must be non-empty: an
//   empty one cannot be attributed to anybody and is as good as missing.
// * An order `closed` event takes part in no KPI, so its `amount` and `items`
//   are optional (default 0); when present they are validated as for the
//   other statuses. created/paid/refunded require both.
// * `amount` may have trailing zeros past the second decimal ("1.230" is
//   exactly 123 fen); only digits that would be lost count as "too many
//   decimals". `-0` is rejected like any other negative.
// * `ts` must be written as a JSON integer: "1.7e12" is the wrong type even
//   though its value is integral.
// * `amount`, `items` and an assessment's `value` have upper bounds
//   (kMaxAmountFen, kMaxItems, kMaxAssessmentValue in event_parser.h): past
//   them, "out of range" like a negative amount. A bigger number is a typo
//   or an attack, and letting it in would push sums towards int64's end.

namespace chatkpi {
namespace {

namespace od = simdjson::ondemand;

// Unknown fields may hold nested values; anything deeper than this is not an
// event anyone produced on purpose, and bounding it bounds our recursion.
constexpr int kMaxDepth = 64;
constexpr size_t kMaxIdBytes = 128;
constexpr size_t kMaxStringBytes = 4 << 10;
constexpr size_t kMaxTextBytes = 64 << 10;
// [2000-01-01T00:00:00Z, 2100-01-01T00:00:00Z) in ms.
constexpr int64_t kMinTsMs = 946684800000;
constexpr int64_t kMaxTsMs = 4102444800000;

// The schema's keys, in the order their problems are reported.
enum Key : int {
  kType,
  kId,
  kTs,
  kBuyer,
  kAgent,
  kDir,
  kText,
  kAuto,
  kOrder,
  kStatus,
  kAmount,
  kItems,
  kPeriod,
  kMetric,
  kValue,
  kNumKeys
};

constexpr std::string_view kKeyNames[kNumKeys] = {
    "type",  "id",     "ts",     "buyer", "agent",  "dir",    "text", "auto",
    "order", "status", "amount", "items", "period", "metric", "value"};

constexpr uint32_t Bit(Key k) { return uint32_t{1} << k; }

// Keys that belong to each event type; others are treated as unknown.
constexpr uint32_t kCommonKeys = Bit(kType) | Bit(kId) | Bit(kTs);
constexpr uint32_t kChatKeys = kCommonKeys | Bit(kBuyer) | Bit(kAgent) |
                               Bit(kDir) | Bit(kText) | Bit(kAuto);
constexpr uint32_t kOrderKeys = kCommonKeys | Bit(kOrder) | Bit(kBuyer) |
                                Bit(kStatus) | Bit(kAmount) | Bit(kItems);
constexpr uint32_t kAssessmentKeys =
    kCommonKeys | Bit(kAgent) | Bit(kPeriod) | Bit(kMetric) | Bit(kValue);

int KeyIndex(std::string_view k) {
  // Dispatch on length first: most keys are then decided by one compare.
  switch (k.size()) {
    case 2:
      if (k == "id") return kId;
      if (k == "ts") return kTs;
      return -1;
    case 3:
      return k == "dir" ? kDir : -1;
    case 4:
      if (k == "type") return kType;
      if (k == "text") return kText;
      if (k == "auto") return kAuto;
      return -1;
    case 5:
      if (k == "buyer") return kBuyer;
      if (k == "agent") return kAgent;
      if (k == "order") return kOrder;
      if (k == "items") return kItems;
      if (k == "value") return kValue;
      return -1;
    case 6:
      if (k == "status") return kStatus;
      if (k == "amount") return kAmount;
      if (k == "period") return kPeriod;
      if (k == "metric") return kMetric;
      return -1;
    default:
      return -1;
  }
}

enum class Kind : uint8_t {
  kAbsent,
  kString,
  kNumber,
  kBool,
  kNull,
  kContainer
};

// A captured field value. Views point into the parser's input or string
// buffer and live until the next document is parsed.
struct Slot {
  Kind kind = Kind::kAbsent;
  bool boolean = false;
  // A number without fraction or exponent (kNumber only; ReadValue has
  // checked the literal's syntax already).
  bool integer = false;
  std::string_view text;  // unescaped string, or trimmed number literal
};

bool IsJsonSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

// raw_json_token() runs up to the next structural character, so it may
// carry trailing whitespace.
std::string_view TrimRight(std::string_view s) {
  while (!s.empty() && IsJsonSpace(s.back())) s.remove_suffix(1);
  return s;
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Checks RFC 8259 number grammar. simdjson's on-demand front end only finds
// token boundaries, so a literal such as "01" or "1.e5" reaches us unchecked.
bool IsJsonNumber(std::string_view s, bool* is_integer) {
  size_t i = 0;
  const size_t n = s.size();
  if (i < n && s[i] == '-') ++i;
  if (i >= n) return false;
  if (s[i] == '0') {
    ++i;
  } else if (IsDigit(s[i])) {
    while (i < n && IsDigit(s[i])) ++i;
  } else {
    return false;
  }
  *is_integer = true;
  if (i < n && s[i] == '.') {
    *is_integer = false;
    ++i;
    if (i >= n || !IsDigit(s[i])) return false;
    while (i < n && IsDigit(s[i])) ++i;
  }
  if (i < n && (s[i] == 'e' || s[i] == 'E')) {
    *is_integer = false;
    ++i;
    if (i < n && (s[i] == '+' || s[i] == '-')) ++i;
    if (i >= n || !IsDigit(s[i])) return false;
    while (i < n && IsDigit(s[i])) ++i;
  }
  return i == n;
}

enum class Invalid { kNone, kJson, kTooDeep };

// Keys are nearly always plain ASCII, so read them in place and unescape
// (which also validates the escapes) only when there is a backslash. Stage 1
// has proved the closing quote exists.
bool FieldKey(od::field& field, std::string_view* key) {
  const char* begin = reinterpret_cast<const char*>(field.key().raw());
  const char* p = begin;
  while (*p != '"' && *p != '\\') ++p;
  if (*p == '"') {
    *key = std::string_view(begin, p - begin);
    return true;
  }
  return field.unescaped_key().get(*key) == simdjson::SUCCESS;
}

// Walks a value to prove it is valid JSON, and classifies it. Strings are
// unescaped (which validates their escapes) and returned in `slot`.
Invalid ReadValue(od::value& v, int depth, Slot* slot) {
  od::json_type type;
  if (v.type().get(type) != simdjson::SUCCESS) return Invalid::kJson;
  switch (type) {
    case od::json_type::string: {
      if (v.get_string().get(slot->text) != simdjson::SUCCESS) {
        return Invalid::kJson;
      }
      slot->kind = Kind::kString;
      return Invalid::kNone;
    }
    case od::json_type::number: {
      std::string_view tok = TrimRight(v.raw_json_token());
      bool is_integer;
      if (!IsJsonNumber(tok, &is_integer)) return Invalid::kJson;
      slot->kind = Kind::kNumber;
      slot->integer = is_integer;
      slot->text = tok;
      return Invalid::kNone;
    }
    case od::json_type::boolean: {
      std::string_view tok = TrimRight(v.raw_json_token());
      if (tok != "true" && tok != "false") return Invalid::kJson;
      slot->kind = Kind::kBool;
      slot->boolean = tok[0] == 't';
      return Invalid::kNone;
    }
    case od::json_type::null: {
      if (TrimRight(v.raw_json_token()) != "null") return Invalid::kJson;
      slot->kind = Kind::kNull;
      return Invalid::kNone;
    }
    case od::json_type::array: {
      if (depth >= kMaxDepth) return Invalid::kTooDeep;
      od::array arr;
      if (v.get_array().get(arr) != simdjson::SUCCESS) return Invalid::kJson;
      for (auto element : arr) {
        od::value ev;
        if (std::move(element).get(ev) != simdjson::SUCCESS)
          return Invalid::kJson;
        Slot ignored;
        Invalid r = ReadValue(ev, depth + 1, &ignored);
        if (r != Invalid::kNone) return r;
      }
      slot->kind = Kind::kContainer;
      return Invalid::kNone;
    }
    case od::json_type::object: {
      if (depth >= kMaxDepth) return Invalid::kTooDeep;
      od::object obj;
      if (v.get_object().get(obj) != simdjson::SUCCESS) return Invalid::kJson;
      for (auto member : obj) {
        od::field field;
        if (std::move(member).get(field) != simdjson::SUCCESS)
          return Invalid::kJson;
        std::string_view key;
        if (!FieldKey(field, &key)) return Invalid::kJson;
        Slot ignored;
        Invalid r = ReadValue(field.value(), depth + 1, &ignored);
        if (r != Invalid::kNone) return r;
      }
      slot->kind = Kind::kContainer;
      return Invalid::kNone;
    }
  }
  return Invalid::kJson;
}

// Debian's Abseil has its own absl::string_view, so go through std::string.
absl::Status Reject(const char* category) {
  return absl::InvalidArgumentError(category);
}

absl::Status Reject(const char* category, Key key) {
  std::string reason(category);
  reason += " '";
  reason += kKeyNames[key];
  reason += '\'';
  return absl::InvalidArgumentError(reason);
}

// Fetches a required string field, enforcing a byte limit.
absl::Status RequireString(const Slot* slots, Key key, size_t max_bytes,
                           bool non_empty, std::string* out) {
  const Slot& s = slots[key];
  if (s.kind == Kind::kAbsent) return Reject("missing field", key);
  if (s.kind != Kind::kString) return Reject("wrong type for", key);
  if (s.text.size() > max_bytes) return Reject("string too long", key);
  if (non_empty && s.text.empty()) return Reject("empty field", key);
  out->assign(s.text.data(), s.text.size());
  return absl::OkStatus();
}

// Parses a JSON integer literal (already grammar-checked) into int64.
bool ParseInt64(std::string_view s, int64_t* out) {
  bool negative = !s.empty() && s[0] == '-';
  if (negative) s.remove_prefix(1);
  uint64_t v = 0;
  // Up to 19 digits stay below 10^19 < 2^64: only longer literals (which
  // are out of range anyway) need the check per digit. A millisecond time
  // has 13.
  constexpr size_t kUncheckedDigits = 19;
  for (size_t i = 0; i < s.size(); ++i) {
    const uint64_t d = static_cast<uint64_t>(s[i] - '0');
    if (i >= kUncheckedDigits &&
        v > (std::numeric_limits<uint64_t>::max() - d) / 10) {
      return false;
    }
    v = v * 10 + d;
  }
  if (negative) {
    if (v > uint64_t{1} << 63) return false;
    *out = static_cast<int64_t>(0 - v);
  } else {
    if (v > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      return false;
    }
    *out = static_cast<int64_t>(v);
  }
  return true;
}

// A required (or, with `optional`, absent-or-null) JSON integer in
// [min, max].
absl::Status GetInteger(const Slot* slots, Key key, int64_t min, int64_t max,
                        bool optional, int64_t* out) {
  const Slot& s = slots[key];
  if (optional && (s.kind == Kind::kAbsent || s.kind == Kind::kNull)) {
    *out = 0;
    return absl::OkStatus();
  }
  if (s.kind == Kind::kAbsent) return Reject("missing field", key);
  if (s.kind != Kind::kNumber || !s.integer) {
    return Reject("wrong type for", key);
  }
  int64_t v;
  if (!ParseInt64(s.text, &v) || v < min || v > max) {
    return Reject("out of range", key);
  }
  *out = v;
  return absl::OkStatus();
}

enum class YuanError { kNone, kSyntax, kExponent, kNegative, kDecimals, kBig };

YuanError YuanToFen(std::string_view s, int64_t* fen) {
  bool is_integer;
  if (!IsJsonNumber(s, &is_integer)) return YuanError::kSyntax;
  if (s.find_first_of("eE") != std::string_view::npos) {
    return YuanError::kExponent;
  }
  if (s[0] == '-') return YuanError::kNegative;
  size_t dot = s.find('.');
  std::string_view whole = s.substr(0, dot);
  std::string_view frac =
      dot == std::string_view::npos ? std::string_view() : s.substr(dot + 1);
  int64_t cents = 0;
  for (size_t i = 0; i < frac.size(); ++i) {
    if (i < 2) {
      cents += (frac[i] - '0') * (i == 0 ? 10 : 1);
    } else if (frac[i] != '0') {
      return YuanError::kDecimals;
    }
  }
  int64_t v = 0;
  for (char c : whole) {
    if (__builtin_mul_overflow(v, 10, &v) ||
        __builtin_add_overflow(v, c - '0', &v)) {
      return YuanError::kBig;
    }
  }
  if (__builtin_mul_overflow(v, 100, &v) ||
      __builtin_add_overflow(v, cents, &v)) {
    return YuanError::kBig;
  }
  *fen = v;
  return YuanError::kNone;
}

absl::Status GetAmount(const Slot* slots, bool optional, int64_t* fen) {
  const Slot& s = slots[kAmount];
  if (optional && (s.kind == Kind::kAbsent || s.kind == Kind::kNull)) {
    *fen = 0;
    return absl::OkStatus();
  }
  if (s.kind == Kind::kAbsent) return Reject("missing field", kAmount);
  if (s.kind != Kind::kNumber) return Reject("wrong type for", kAmount);
  switch (YuanToFen(s.text, fen)) {
    case YuanError::kNone:
      if (*fen > kMaxAmountFen) return Reject("out of range", kAmount);
      return absl::OkStatus();
    case YuanError::kSyntax:  // grammar was checked while reading
      return Reject("invalid json");
    case YuanError::kExponent:
      return Reject("exponent not allowed", kAmount);
    case YuanError::kDecimals:
      return Reject("too many decimals", kAmount);
    case YuanError::kNegative:
    case YuanError::kBig:
      return Reject("out of range", kAmount);
  }
  return Reject("out of range", kAmount);
}

bool IsValidPeriod(std::string_view p) {
  if (p.size() != 7 || p[4] != '-') return false;
  for (int i : {0, 1, 2, 3, 5, 6}) {
    if (!IsDigit(p[i])) return false;
  }
  int month = (p[5] - '0') * 10 + (p[6] - '0');
  return month >= 1 && month <= 12;
}

absl::Status FillChat(const Slot* slots, Event* out) {
  absl::Status s =
      RequireString(slots, kBuyer, kMaxStringBytes, true, &out->buyer);
  if (!s.ok()) return s;
  s = RequireString(slots, kAgent, kMaxStringBytes, true, &out->agent);
  if (!s.ok()) return s;
  const Slot& dir = slots[kDir];
  if (dir.kind == Kind::kAbsent) return Reject("missing field", kDir);
  if (dir.kind != Kind::kString) return Reject("wrong type for", kDir);
  if (dir.text == "in") {
    out->inbound = true;
  } else if (dir.text == "out") {
    out->inbound = false;
  } else {
    return Reject("unknown dir");
  }
  const Slot& text = slots[kText];
  if (text.kind == Kind::kString) {
    if (text.text.size() > kMaxTextBytes) {
      return Reject("string too long", kText);
    }
    out->text.assign(text.text.data(), text.text.size());
  } else if (text.kind == Kind::kAbsent || text.kind == Kind::kNull) {
    out->text.clear();
  } else {
    return Reject("wrong type for", kText);
  }
  const Slot& au = slots[kAuto];
  if (au.kind == Kind::kBool) {
    out->auto_reply = au.boolean;
  } else if (au.kind == Kind::kAbsent || au.kind == Kind::kNull) {
    out->auto_reply = false;
  } else {
    return Reject("wrong type for", kAuto);
  }
  return absl::OkStatus();
}

absl::Status FillOrder(const Slot* slots, Event* out) {
  absl::Status s =
      RequireString(slots, kOrder, kMaxStringBytes, true, &out->order);
  if (!s.ok()) return s;
  s = RequireString(slots, kBuyer, kMaxStringBytes, true, &out->buyer);
  if (!s.ok()) return s;
  const Slot& st = slots[kStatus];
  if (st.kind == Kind::kAbsent) return Reject("missing field", kStatus);
  if (st.kind != Kind::kString) return Reject("wrong type for", kStatus);
  if (st.text == "created") {
    out->status = OrderStatus::kCreated;
  } else if (st.text == "paid") {
    out->status = OrderStatus::kPaid;
  } else if (st.text == "refunded") {
    out->status = OrderStatus::kRefunded;
  } else if (st.text == "closed") {
    out->status = OrderStatus::kClosed;
  } else {
    return Reject("unknown status");
  }
  // See the file comment: a closed event's amount and items mean nothing.
  const bool optional = out->status == OrderStatus::kClosed;
  s = GetAmount(slots, optional, &out->amount_fen);
  if (!s.ok()) return s;
  return GetInteger(slots, kItems, 1, kMaxItems, optional, &out->items);
}

absl::Status FillAssessment(const Slot* slots, Event* out) {
  absl::Status s =
      RequireString(slots, kAgent, kMaxStringBytes, true, &out->agent);
  if (!s.ok()) return s;
  const Slot& p = slots[kPeriod];
  if (p.kind == Kind::kAbsent) return Reject("missing field", kPeriod);
  if (p.kind != Kind::kString) return Reject("wrong type for", kPeriod);
  if (!IsValidPeriod(p.text)) return Reject("bad format", kPeriod);
  out->period.assign(p.text.data(), p.text.size());
  s = RequireString(slots, kMetric, kMaxStringBytes, true, &out->metric);
  if (!s.ok()) return s;
  const Slot& v = slots[kValue];
  if (v.kind == Kind::kAbsent) return Reject("missing field", kValue);
  if (v.kind != Kind::kNumber) return Reject("wrong type for", kValue);
  // from_chars is correctly rounded and locale-free. It calls both overflow
  // and underflow (1e-400) out of range; no real metric is either.
  double d = 0;
  auto [end, ec] = std::from_chars(v.text.data(), v.text.data() + v.text.size(),
                                   d, std::chars_format::general);
  if (ec != std::errc() || end != v.text.data() + v.text.size() ||
      !(d >= -kMaxAssessmentValue && d <= kMaxAssessmentValue)) {
    return Reject("out of range", kValue);
  }
  out->value = d;
  out->value_text.assign(v.text.data(), v.text.size());
  return absl::OkStatus();
}

// The event the fields in `slots` make, checked against docs/spec.md §1 in
// the fixed order of the reasons; `dup`: the keys given more than once.
absl::Status FillEvent(const Slot* slots, uint32_t dup, Event* out);

// What a byte can be in the plain scan's strings and keys.
enum class PlainByte : uint8_t { kPlain, kQuote, kOther, kHigh };
constexpr std::array<PlainByte, 256> MakePlainBytes() {
  std::array<PlainByte, 256> t{};
  for (int c = 0; c < 256; ++c) {
    t[c] = c < 0x20 || c == '\\' ? PlainByte::kOther
           : c == '"'            ? PlainByte::kQuote
           : c >= 0x80           ? PlainByte::kHigh
                                 : PlainByte::kPlain;
  }
  return t;
}
constexpr std::array<PlainByte, 256> kPlainBytes = MakePlainBytes();

// Whether any byte of `word` is a quote, a backslash or a control
// character (below 0x20): the bit tricks of "Bit Twiddling Hacks"
// (haszero, hasless), exact in whether any byte matches.
constexpr bool EndsPlainRun(uint64_t word) {
  constexpr uint64_t kOnes = 0x0101010101010101ull;
  constexpr uint64_t kHighs = 0x8080808080808080ull;
  auto has_zero = [](uint64_t v) { return (v - kOnes) & ~v & kHighs; };
  return ((word - 0x20 * kOnes) & ~word & kHighs) != 0 ||
         has_zero(word ^ ('"' * kOnes)) != 0 ||
         has_zero(word ^ ('\\' * kOnes)) != 0;
}
static_assert(!EndsPlainRun(0x4142434445464748ull));
static_assert(EndsPlainRun(0x4142434445464722ull));
static_assert(EndsPlainRun(0x5c41424344454647ull));
static_assert(EndsPlainRun(0x411f424344454647ull));
static_assert(!EndsPlainRun(0xe4b8ade69687e5adull));

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Unescapes the JSON string whose body starts at `p` (after its opening
// quote) into `*w`, up to its closing quote, which `*at` is left on. Only
// the escapes with one meaning everywhere: the two-byte ones and \uXXXX
// outside the surrogates (a surrogate pair, or a lone one, is left to
// simdjson). False for anything else, or no closing quote.
bool UnescapePlain(const char* p, const char* end, const char** at, char** w,
                   bool* high) {
  char* out = *w;
  for (; p < end; ++p) {
    const PlainByte b = kPlainBytes[static_cast<uint8_t>(*p)];
    if (b == PlainByte::kPlain || b == PlainByte::kHigh) {
      *high |= b == PlainByte::kHigh;
      *out++ = *p;
      continue;
    }
    if (b == PlainByte::kQuote) {
      *at = p;
      *w = out;
      return true;
    }
    if (*p != '\\' || ++p == end) return false;  // a control character
    switch (*p) {
      case '"':
      case '\\':
      case '/':
        *out++ = *p;
        break;
      case 'b':
        *out++ = '\b';
        break;
      case 'f':
        *out++ = '\f';
        break;
      case 'n':
        *out++ = '\n';
        break;
      case 'r':
        *out++ = '\r';
        break;
      case 't':
        *out++ = '\t';
        break;
      case 'u': {
        if (end - p < 5) return false;
        uint32_t cp = 0;
        for (int i = 1; i <= 4; ++i) {
          const int d = HexDigit(p[i]);
          if (d < 0) return false;
          cp = cp << 4 | static_cast<uint32_t>(d);
        }
        if (cp >= 0xd800 && cp <= 0xdfff) return false;
        if (cp < 0x80) {
          *out++ = static_cast<char>(cp);
        } else if (cp < 0x800) {
          *out++ = static_cast<char>(0xc0 | cp >> 6);
          *out++ = static_cast<char>(0x80 | (cp & 0x3f));
        } else {
          *out++ = static_cast<char>(0xe0 | cp >> 12);
          *out++ = static_cast<char>(0x80 | (cp >> 6 & 0x3f));
          *out++ = static_cast<char>(0x80 | (cp & 0x3f));
        }
        p += 4;
        break;
      }
      default:
        return false;
    }
  }
  return false;
}

// The fields of an object as producers write one event per line: known
// keys in plain ASCII, scalar values, strings with at most the common
// escapes. Such a line is valid JSON exactly when its strings are UTF-8
// and its numbers follow the grammar, and its fields then read as ScanJson
// reads them, slot for slot. Anything else returns false (slots partly
// filled) and the line takes ScanJson, which gives every reason: this path
// decides nothing, it only reads the common case without simdjson's copy
// into a padded buffer and its structural index. Unescaped strings go to
// `scratch`, which slots then point into.
bool ScanPlainObject(std::string_view json, std::string* scratch, Slot* slots,
                     uint32_t* dup) {
  const char* p = json.data();
  const char* const end = p + json.size();
  if (json.size() < 2 || *p != '{' || end[-1] != '}') return false;
  // An unescaped string is never longer than its JSON: the slots' views
  // into `scratch` stay put.
  if (scratch->size() < json.size()) scratch->resize(json.size());
  char* w = scratch->data();
  auto skip_space = [&] {
    while (p < end && IsJsonSpace(*p)) ++p;
  };
  ++p;
  skip_space();
  uint32_t seen = 0;
  bool high = false;  // a byte past ASCII: the line's UTF-8 is checked
  for (;;) {
    // "key":
    if (p == end || *p != '"') return false;
    const char* key = ++p;
    while (p < end &&
           kPlainBytes[static_cast<uint8_t>(*p)] == PlainByte::kPlain) {
      ++p;
    }
    if (p == end || *p != '"') return false;
    const int k = KeyIndex(std::string_view(key, p - key));
    if (k < 0) return false;
    ++p;
    skip_space();
    if (p == end || *p != ':') return false;
    ++p;
    skip_space();
    Slot ignored;
    Slot* slot = &ignored;
    const uint32_t bit = uint32_t{1} << k;
    if (seen & bit) {
      *dup |= bit;
    } else {
      seen |= bit;
      slot = &slots[k];
    }
    // value
    if (p == end) return false;
    const char c = *p;
    if (c == '"') {
      const char* text = ++p;
      // Eight bytes at a time while none of them ends the plain run; the
      // byte loop then finds the one that does.
      while (end - p >= 8) {
        uint64_t word;
        std::memcpy(&word, p, sizeof(word));
        if (EndsPlainRun(word)) break;
        high |= (word & 0x8080808080808080ull) != 0;
        p += 8;
      }
      for (;; ++p) {
        if (p == end) return false;
        const PlainByte b = kPlainBytes[static_cast<uint8_t>(*p)];
        if (b == PlainByte::kPlain) continue;
        if (b == PlainByte::kHigh) {
          high = true;
          continue;
        }
        break;
      }
      if (*p == '"') {
        slot->text = std::string_view(text, p - text);
      } else {
        char* const begin = w;
        std::memcpy(w, text, p - text);
        w += p - text;
        if (!UnescapePlain(p, end, &p, &w, &high)) return false;
        slot->text = std::string_view(begin, w - begin);
      }
      slot->kind = Kind::kString;
      ++p;
    } else {
      const char* token = p;
      while (p < end && *p != ',' && *p != '}' && !IsJsonSpace(*p)) ++p;
      const std::string_view tok(token, p - token);
      if (c == '-' || IsDigit(c)) {
        bool is_integer;
        if (!IsJsonNumber(tok, &is_integer)) return false;
        slot->kind = Kind::kNumber;
        slot->integer = is_integer;
        slot->text = tok;
      } else if (tok == "true" || tok == "false") {
        slot->kind = Kind::kBool;
        slot->boolean = c == 't';
      } else if (tok == "null") {
        slot->kind = Kind::kNull;
      } else {
        return false;  // an object, an array, or no JSON
      }
    }
    skip_space();
    if (p == end) return false;
    if (*p == '}') {
      if (p + 1 != end) return false;
      break;
    }
    if (*p != ',') return false;
    ++p;
    skip_space();
  }
  return !high || simdjson::validate_utf8(json.data(), json.size());
}

}  // namespace

struct EventParser::Impl {
  bool scan_plain = true;
  std::string scratch;  // the plain scan's unescaped strings
  od::parser parser;
  // A full validator for the rare documents on-demand does not walk to the
  // end (not an object, too deep), to tell garbage from valid JSON that is
  // no event. Built on first use.
  std::unique_ptr<simdjson::dom::parser> dom;
  std::unique_ptr<char[]> buf;
  size_t capacity = 0;  // bytes in buf, padding included

  absl::Status Parse(std::string_view json, Event* out);
  // Reads the fields of `json` into `slots` with simdjson: any document.
  absl::Status ScanJson(std::string_view json, Slot* slots, uint32_t* dup);

  // True if buf[0, len) is valid JSON, or too deep to tell (DOM stops at
  // depth 1024; it is no event either way).
  bool ValidOrTooDeep(size_t len) {
    if (dom == nullptr) dom = std::make_unique<simdjson::dom::parser>();
    simdjson::dom::element root;
    simdjson::error_code err =
        dom->parse(buf.get(), len, /*realloc_if_needed=*/false).get(root);
    return err == simdjson::SUCCESS || err == simdjson::DEPTH_ERROR;
  }
};

absl::Status EventParser::Impl::Parse(std::string_view json, Event* out) {
  Slot slots[kNumKeys];
  uint32_t dup = 0;
  if (!scan_plain || !ScanPlainObject(json, &scratch, slots, &dup)) {
    std::fill(std::begin(slots), std::end(slots), Slot());
    dup = 0;
    absl::Status s = ScanJson(json, slots, &dup);
    if (!s.ok()) return s;
  }
  return FillEvent(slots, dup, out);
}

absl::Status EventParser::Impl::ScanJson(std::string_view json, Slot* slots,
                                         uint32_t* dup) {
  const size_t needed = json.size() + simdjson::SIMDJSON_PADDING;
  if (needed > capacity) {
    size_t cap = capacity == 0 ? 4096 : capacity;
    while (cap < needed) cap *= 2;
    buf = std::make_unique<char[]>(cap);
    capacity = cap;
  }
  if (!json.empty()) std::memcpy(buf.get(), json.data(), json.size());
  // simdjson peeks into the padding; stale bytes from a longer previous
  // document must not look like JSON.
  std::memset(buf.get() + json.size(), 0, simdjson::SIMDJSON_PADDING);

  od::document doc;
  if (parser.iterate(buf.get(), json.size(), capacity).get(doc) !=
      simdjson::SUCCESS) {
    return Reject("invalid json");
  }
  size_t first = 0;
  while (first < json.size() && IsJsonSpace(json[first])) ++first;
  if (first == json.size()) return Reject("invalid json");
  if (json[first] != '{') {
    return Reject(ValidOrTooDeep(json.size()) ? "not an object"
                                              : "invalid json");
  }

  od::object obj;
  if (doc.get_object().get(obj) != simdjson::SUCCESS) {
    return Reject("invalid json");
  }
  uint32_t seen = 0;
  bool too_deep = false;
  for (auto member : obj) {
    od::field field;
    std::string_view key;
    if (std::move(member).get(field) != simdjson::SUCCESS ||
        !FieldKey(field, &key)) {
      return Reject("invalid json");
    }
    const int k = KeyIndex(key);
    Slot ignored;
    Slot* slot = &ignored;
    if (k >= 0) {
      const uint32_t bit = uint32_t{1} << k;
      if (seen & bit) {
        *dup |= bit;
      } else {
        seen |= bit;
        slot = &slots[k];
      }
    }
    // Depth is reported only once the whole document proved to be JSON.
    Invalid r = ReadValue(field.value(), 1, slot);
    if (r == Invalid::kJson) return Reject("invalid json");
    if (r == Invalid::kTooDeep) {
      too_deep = true;
      break;
    }
  }
  if (too_deep) {
    // The walk stopped early, so the rest is unchecked.
    return Reject(ValidOrTooDeep(json.size()) ? "nesting too deep"
                                              : "invalid json");
  }
  // Exactly one document: anything after the closing brace is garbage.
  const char* loc = nullptr;
  if (doc.current_location().get(loc) != simdjson::OUT_OF_BOUNDS) {
    return Reject("invalid json");
  }
  return absl::OkStatus();
}

namespace {

absl::Status FillEvent(const Slot* slots, uint32_t dup, Event* out) {
  const Slot& type = slots[kType];
  if (type.kind == Kind::kAbsent) return Reject("missing field", kType);
  if (type.kind != Kind::kString) return Reject("wrong type for", kType);
  uint32_t keys;
  if (type.text == "chat") {
    out->type = EventType::kChat;
    keys = kChatKeys;
  } else if (type.text == "order") {
    out->type = EventType::kOrder;
    keys = kOrderKeys;
  } else if (type.text == "assessment") {
    out->type = EventType::kAssessment;
    keys = kAssessmentKeys;
  } else {
    return Reject("unknown type");
  }
  if (uint32_t bad = dup & keys; bad != 0) {
    return Reject("duplicate field", static_cast<Key>(__builtin_ctz(bad)));
  }

  const Slot& id = slots[kId];
  if (id.kind == Kind::kAbsent) return Reject("missing field", kId);
  if (id.kind != Kind::kString) return Reject("wrong type for", kId);
  if (id.text.empty() || id.text.size() > kMaxIdBytes) {
    return Reject("id length");
  }
  absl::Status s =
      GetInteger(slots, kTs, kMinTsMs, kMaxTsMs - 1, false, &out->ts_ms);
  if (!s.ok()) return s;
  out->id.assign(id.text.data(), id.text.size());

  // Fields of the other types are reset so `out` carries nothing stale.
  out->buyer.clear();
  out->agent.clear();
  out->inbound = false;
  out->auto_reply = false;
  out->text.clear();
  out->order.clear();
  out->status = OrderStatus::kCreated;
  out->amount_fen = 0;
  out->items = 0;
  out->period.clear();
  out->metric.clear();
  out->value_text.clear();
  out->value = 0;
  switch (out->type) {
    case EventType::kChat:
      return FillChat(slots, out);
    case EventType::kOrder:
      return FillOrder(slots, out);
    case EventType::kAssessment:
      return FillAssessment(slots, out);
  }
  return Reject("unknown type");
}

}  // namespace

EventParser::EventParser(bool scan_plain) : impl_(std::make_unique<Impl>()) {
  impl_->scan_plain = scan_plain;
}
EventParser::~EventParser() = default;

absl::Status EventParser::Parse(std::string_view json, Event* out) {
  out->hashed = false;  // whatever it becomes, not the event hashed before
  absl::Status s = impl_->Parse(json, out);
  // simdjson refuses a document with invalid UTF-8 anywhere as it would
  // refuse bad JSON; told apart here, on the failure path only, so that an
  // export in GBK (a Chinese shop's other usual encoding) is named as such.
  if (!s.ok() && s.message() == "invalid json" &&
      !simdjson::validate_utf8(json.data(), json.size())) {
    return Reject("invalid utf-8");
  }
  return s;
}

absl::Status ParseYuanToFen(std::string_view literal, int64_t* fen) {
  int64_t v = 0;
  switch (YuanToFen(literal, &v)) {
    case YuanError::kNone:
      *fen = v;
      return absl::OkStatus();
    case YuanError::kSyntax:
      return absl::InvalidArgumentError("not a number");
    case YuanError::kExponent:
      return absl::InvalidArgumentError("exponent not allowed");
    case YuanError::kNegative:
      return absl::InvalidArgumentError("negative");
    case YuanError::kDecimals:
      return absl::InvalidArgumentError("too many decimals");
    case YuanError::kBig:
      return absl::OutOfRangeError("too large");
  }
  return absl::InvalidArgumentError("not a number");
}

}  // namespace chatkpi
