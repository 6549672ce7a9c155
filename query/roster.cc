#include "query/roster.h"

#include <algorithm>
#include <map>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "base/csv_text.h"
#include "base/json_text.h"
#include "engine/meta.h"
#include "store/coding.h"
#include "store/store.h"

namespace chatkpi {
namespace {

// A CSV field without the ASCII spaces around it.
std::string_view Stripped(const std::string& field) {
  const absl::string_view v = absl::StripAsciiWhitespace(field);
  return std::string_view(v.data(), v.size());
}

constexpr std::string_view kRosterPrefix = kMetaRosterPrefix;
constexpr char kRosterEnd[] = "roster0";  // '0' follows '/'
constexpr int kMaxErrors = 20;

std::string RosterKey(int64_t version) {
  return absl::StrFormat("%s%08d", kRosterPrefix, version);
}

// One CSV record and the line it starts on.
struct Record {
  std::vector<std::string> fields;
  int line = 0;
};

// RFC 4180: fields separated by commas, records by LF or CRLF, a field in
// double quotes may hold commas, quotes (doubled) and line breaks.
absl::StatusOr<std::vector<Record>> SplitCsv(absl::string_view text) {
  std::vector<Record> out;
  int line = 1;
  size_t i = 0;
  while (i < text.size()) {
    Record r;
    r.line = line;
    std::string field;
    bool record_done = false;
    while (!record_done) {
      if (i < text.size() && text[i] == '"') {
        ++i;
        while (true) {
          if (i >= text.size()) {
            return absl::InvalidArgumentError(
                absl::StrCat("line ", r.line, ": a quoted field never ends"));
          }
          if (text[i] == '"') {
            if (i + 1 < text.size() && text[i + 1] == '"') {
              field.push_back('"');
              i += 2;
              continue;
            }
            ++i;
            break;
          }
          if (text[i] == '\n') ++line;
          field.push_back(text[i++]);
        }
      }
      while (i < text.size() && text[i] != ',' && text[i] != '\n') {
        if (text[i] == '"') {
          return absl::InvalidArgumentError(absl::StrCat(
              "line ", line, ": a quote inside an unquoted field"));
        }
        field.push_back(text[i++]);
      }
      if (!field.empty() && field.back() == '\r' &&
          (i >= text.size() || text[i] == '\n')) {
        field.pop_back();
      }
      r.fields.push_back(std::move(field));
      field.clear();
      if (i < text.size() && text[i] == ',') {
        ++i;
      } else {
        if (i < text.size()) ++i;  // the '\n'
        ++line;
        record_done = true;
      }
    }
    const bool blank =
        r.fields.size() == 1 && absl::StripAsciiWhitespace(r.fields[0]).empty();
    if (!blank) out.push_back(std::move(r));
  }
  return out;
}

bool ParseDay(absl::string_view s, absl::CivilDay* d) {
  // The round trip refuses what absl would normalize (2026-02-30).
  return s.size() == 10 && absl::ParseCivilTime(s, d) &&
         absl::FormatCivilTime(*d) == s;
}

// Stored form: import time, source, then per entry agent, name, hired and
// left (empty: none) length-prefixed; exact, unlike the neutralised CSV.
std::string EncodeRoster(const Roster& r) {
  std::string v;
  PutVarsint64(&v, r.imported_ms);
  PutLengthPrefixed(&v, r.source);
  for (const RosterEntry& e : r.entries) {
    PutLengthPrefixed(&v, e.agent);
    PutLengthPrefixed(&v, e.name);
    PutLengthPrefixed(&v, absl::FormatCivilTime(e.hired));
    PutLengthPrefixed(&v, e.left ? absl::FormatCivilTime(*e.left) : "");
  }
  return v;
}

absl::StatusOr<Roster> DecodeRoster(int64_t version, std::string_view v) {
  Roster r;
  r.version = version;
  std::string_view source;
  auto corrupt = [&] {
    return absl::DataLossError(
        absl::StrCat("stored roster version ", version, " is corrupt"));
  };
  if (!GetVarsint64(&v, &r.imported_ms) || !GetLengthPrefixed(&v, &source)) {
    return corrupt();
  }
  r.source = std::string(source);
  while (!v.empty()) {
    std::string_view agent, name, hired, left;
    RosterEntry e;
    if (!GetLengthPrefixed(&v, &agent) || !GetLengthPrefixed(&v, &name) ||
        !GetLengthPrefixed(&v, &hired) || !GetLengthPrefixed(&v, &left) ||
        !ParseDay(absl::string_view(hired.data(), hired.size()), &e.hired)) {
      return corrupt();
    }
    if (!left.empty()) {
      absl::CivilDay d;
      if (!ParseDay(absl::string_view(left.data(), left.size()), &d)) {
        return corrupt();
      }
      e.left = d;
    }
    e.agent = std::string(agent);
    e.name = std::string(name);
    r.entries.push_back(std::move(e));
  }
  return r;
}

}  // namespace

const RosterEntry* Roster::Find(std::string_view agent) const {
  auto it = std::lower_bound(
      entries.begin(), entries.end(), agent,
      [](const RosterEntry& e, std::string_view a) { return e.agent < a; });
  return it != entries.end() && it->agent == agent ? &*it : nullptr;
}

bool Roster::EmployedIn(std::string_view agent, absl::CivilMonth month) const {
  const RosterEntry* e = Find(agent);
  if (e == nullptr) return false;
  const absl::CivilDay first(month);
  const absl::CivilDay last = absl::CivilDay(month + 1) - 1;
  return e->hired <= last && (!e->left || *e->left >= first);
}

std::vector<std::string> Roster::EmployedAgents(absl::CivilMonth month) const {
  std::vector<std::string> out;
  for (const RosterEntry& e : entries) {
    if (EmployedIn(e.agent, month)) out.push_back(e.agent);
  }
  return out;
}

namespace {

// What a code point of a typed id shows as, when that is nothing or a space
// other than U+0020: nullptr for every other character. The classes are
// Unicode's: space separators (Zs), line and paragraph separators,
// controls (Cc), format characters (Cf: marks of direction, joiners,
// invisible operators, tags) and the other default-ignorable code points
// (Hangul fillers, variation selectors, U+034F, U+115F...).
const char* InvisibleKind(uint32_t c) {
  switch (c) {
    case 0x00A0:
      return "no-break space";
    case 0x3000:
      return "ideographic space";
    case 0x200B:
      return "zero-width space";
    case 0x200C:
      return "zero-width non-joiner";
    case 0x200D:
      return "zero-width joiner";
    case 0x2060:
      return "word joiner";
    case 0xFEFF:
      return "byte order mark";
    case 0x00AD:
      return "soft hyphen";
    case 0x1680:
    case 0x202F:
    case 0x205F:
      return "space";
    case 0x2028:
    case 0x2029:
      return "line or paragraph separator";
    case 0x034F:
    case 0x115F:
    case 0x1160:
    case 0x17B4:
    case 0x17B5:
    case 0x3164:
    case 0xFFA0:
      return "character that shows as nothing";
    default:
      break;
  }
  if (c < 0x20 || (c >= 0x7F && c <= 0x9F)) return "control character";
  if (c >= 0x2000 && c <= 0x200A) return "typographic space";
  if ((c >= 0x200E && c <= 0x200F) || (c >= 0x202A && c <= 0x202E) ||
      (c >= 0x2061 && c <= 0x206F) || (c >= 0xFFF0 && c <= 0xFFFB) ||
      (c >= 0x0600 && c <= 0x0605) || c == 0x061C || c == 0x06DD ||
      c == 0x070F || c == 0x08E2 || (c >= 0x180B && c <= 0x180F) ||
      (c >= 0x1BCA0 && c <= 0x1BCA3) || (c >= 0x1D173 && c <= 0x1D17A) ||
      (c >= 0xE0000 && c <= 0xE0FFF)) {
    return "format character that shows as nothing";
  }
  if (c >= 0xFE00 && c <= 0xFE0F) return "variation selector";
  return nullptr;
}

// Decodes the UTF-8 sequence at `*at`, advancing past it; false when the
// bytes there are not UTF-8 (overlong forms and surrogates included).
bool NextCodePoint(std::string_view s, size_t* at, uint32_t* out) {
  const auto b = [&](size_t i) { return static_cast<unsigned char>(s[i]); };
  const unsigned char lead = b(*at);
  int len;
  uint32_t c;
  if (lead < 0x80) {
    *out = lead;
    ++*at;
    return true;
  } else if (lead >= 0xC2 && lead <= 0xDF) {
    len = 2, c = lead & 0x1F;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    len = 3, c = lead & 0x0F;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    len = 4, c = lead & 0x07;
  } else {
    return false;
  }
  if (*at + len > s.size()) return false;
  for (int i = 1; i < len; ++i) {
    if ((b(*at + i) & 0xC0) != 0x80) return false;
    c = c << 6 | (b(*at + i) & 0x3F);
  }
  if ((len == 3 && (c < 0x800 || (c >= 0xD800 && c <= 0xDFFF))) ||
      (len == 4 && (c < 0x10000 || c > 0x10FFFF))) {
    return false;
  }
  *out = c;
  *at += len;
  return true;
}

}  // namespace

absl::Status CheckTypedText(std::string_view what_view, std::string_view text,
                            bool ids_only) {
  const std::string what(what_view);
  for (size_t at = 0; at < text.size();) {
    const size_t here = at;
    uint32_t c;
    if (!NextCodePoint(text, &at, &c)) {
      return absl::InvalidArgumentError(
          absl::StrCat(what, " holds bytes that are not UTF-8 at byte ", here,
                       ": save the file as UTF-8"));
    }
    const char* kind = InvisibleKind(c);
    // A name may hold a space of any width (周 小明); never a control.
    if (kind == nullptr ||
        (!ids_only && c >= 0x20 && !(c >= 0x7F && c <= 0x9F))) {
      continue;
    }
    return absl::InvalidArgumentError(absl::StrCat(
        what, " holds a U+", absl::StrFormat("%04X", c), " ", kind, " at byte ",
        here, ", which shows as nothing or a space: retype it"));
  }
  return absl::OkStatus();
}

absl::Status CheckTypedAgentId(std::string_view agent) {
  return CheckTypedText(absl::StrCat("agent id '", std::string(agent), "'"),
                        agent,
                        /*ids_only=*/true);
}

absl::StatusOr<Roster> ParseRosterCsv(std::string_view input) {
  absl::string_view text(input.data(), input.size());
  absl::ConsumePrefix(&text, "\xEF\xBB\xBF");
  auto records = SplitCsv(text);
  if (!records.ok()) return records.status();
  if (records->empty()) {
    return absl::InvalidArgumentError(
        "the roster is empty: expected a header row agent,name,hired,left");
  }
  std::vector<std::string> errors;
  auto error = [&](int line, std::string msg) {
    errors.push_back(absl::StrCat("line ", line, ": ", msg));
  };
  // Header: which column is which.
  const Record& head = records->front();
  int col_agent = -1, col_name = -1, col_hired = -1, col_left = -1;
  for (size_t c = 0; c < head.fields.size(); ++c) {
    std::string h =
        absl::AsciiStrToLower(absl::StripAsciiWhitespace(head.fields[c]));
    int* slot = h == "agent"   ? &col_agent
                : h == "name"  ? &col_name
                : h == "hired" ? &col_hired
                : h == "left"  ? &col_left
                               : nullptr;
    if (slot == nullptr) {
      error(head.line, absl::StrCat("unknown column '", head.fields[c],
                                    "' (agent, name, hired, left)"));
    } else if (*slot >= 0) {
      error(head.line, absl::StrCat("column '", h, "' appears twice"));
    } else {
      *slot = static_cast<int>(c);
    }
  }
  if (col_agent < 0) error(head.line, "the header lacks the column 'agent'");
  if (col_hired < 0) error(head.line, "the header lacks the column 'hired'");
  if (!errors.empty()) {
    return absl::InvalidArgumentError(absl::StrJoin(errors, "; "));
  }

  Roster roster;
  std::map<std::string, int, std::less<>> seen;  // agent -> line
  for (size_t k = 1; k < records->size(); ++k) {
    const Record& r = (*records)[k];
    if (r.fields.size() != head.fields.size()) {
      error(r.line, absl::StrCat(r.fields.size(), " fields, the header has ",
                                 head.fields.size()));
      continue;
    }
    RosterEntry e;
    e.line = r.line;
    e.agent = std::string(WithoutFormulaGuard(Stripped(r.fields[col_agent])));
    if (col_name >= 0) {
      e.name = std::string(WithoutFormulaGuard(Stripped(r.fields[col_name])));
    }
    bool ok = true;
    if (e.agent.empty()) {
      error(r.line, "empty agent id");
      ok = false;
    } else if (absl::Status typed = CheckTypedAgentId(e.agent); !typed.ok()) {
      error(r.line, std::string(typed.message()));
      ok = false;
    } else if (auto [it, fresh] = seen.emplace(e.agent, r.line); !fresh) {
      error(r.line,
            absl::StrCat("agent '", e.agent, "' repeats line ", it->second));
      ok = false;
    }
    if (absl::Status typed = CheckTypedText(absl::StrCat("name '", e.name, "'"),
                                            e.name, /*ids_only=*/false);
        !typed.ok()) {
      error(r.line, std::string(typed.message()));
      ok = false;
    }
    absl::string_view hired = absl::StripAsciiWhitespace(r.fields[col_hired]);
    if (!ParseDay(hired, &e.hired)) {
      error(r.line,
            absl::StrCat("hired '", hired, "' is not a date YYYY-MM-DD"));
      ok = false;
    }
    if (col_left >= 0) {
      absl::string_view left = absl::StripAsciiWhitespace(r.fields[col_left]);
      absl::CivilDay d;
      if (left.empty()) {
        // still employed
      } else if (!ParseDay(left, &d)) {
        error(r.line,
              absl::StrCat("left '", left, "' is not a date YYYY-MM-DD"));
        ok = false;
      } else {
        e.left = d;
        if (ok && d < e.hired) {
          error(r.line, absl::StrCat("left ", left, " is before hired ",
                                     absl::FormatCivilTime(e.hired)));
          ok = false;
        }
      }
    }
    if (ok) roster.entries.push_back(std::move(e));
  }
  if (errors.empty() && roster.entries.empty()) {
    error(head.line, "the roster lists no agents");
  }
  if (!errors.empty()) {
    const size_t n = errors.size();
    if (n > kMaxErrors) {
      errors.resize(kMaxErrors);
      errors.push_back(absl::StrCat("and ", n - kMaxErrors, " more"));
    }
    return absl::InvalidArgumentError(absl::StrJoin(errors, "; "));
  }
  std::sort(roster.entries.begin(), roster.entries.end(),
            [](const RosterEntry& a, const RosterEntry& b) {
              return a.agent < b.agent;
            });
  return roster;
}

absl::StatusOr<std::vector<int64_t>> RosterVersions(Store& store) {
  std::vector<int64_t> out;
  absl::Status bad;
  absl::Status s = store.Scan(
      Family::kMeta, kRosterPrefix, kRosterEnd,
      [&](std::string_view key, std::string_view) {
        int64_t v = 0;
        const std::string_view number = key.substr(kRosterPrefix.size());
        if (!absl::SimpleAtoi(absl::string_view(number.data(), number.size()),
                              &v)) {
          bad = CorruptMeta(store, key, "not a roster version");
          return false;
        }
        out.push_back(v);
        return true;
      });
  if (!s.ok()) return s;
  if (!bad.ok()) return bad;
  return out;
}

absl::StatusOr<int64_t> StoreRoster(Store& store, const Roster& roster) {
  auto versions = RosterVersions(store);
  if (!versions.ok()) return versions.status();
  const int64_t version = versions->empty() ? 1 : versions->back() + 1;
  Commit c(&store);
  c.Put(Family::kMeta, RosterKey(version), EncodeRoster(roster));
  if (absl::Status s = store.Write(&c); !s.ok()) return s;
  return version;
}

absl::StatusOr<Roster> ReadRosterVersion(Store& store, int64_t version) {
  auto v = store.Get(Family::kMeta, RosterKey(version));
  if (!v.ok()) return v.status();
  if (!v->has_value()) {
    auto versions = RosterVersions(store);
    if (!versions.ok()) return versions.status();
    return absl::NotFoundError(absl::StrCat(
        "no roster version ", version,
        versions->empty() ? " (no roster yet)" : " (there are ",
        absl::StrJoin(*versions, ", "), versions->empty() ? "" : ")"));
  }
  return DecodeRoster(version, **v);
}

absl::StatusOr<std::optional<Roster>> ReadCurrentRoster(Store& store) {
  auto versions = RosterVersions(store);
  if (!versions.ok()) return versions.status();
  if (versions->empty()) return std::optional<Roster>();
  auto r = ReadRosterVersion(store, versions->back());
  if (!r.ok()) return r.status();
  return std::optional<Roster>(std::move(*r));
}

std::string RosterToJson(const Roster& r,
                         const std::vector<int64_t>& versions) {
  std::string out =
      absl::StrCat("{\"version\": ", r.version, ", \"imported\": ");
  AppendJsonString(&out, absl::FormatTime("%Y-%m-%dT%H:%M:%SZ",
                                          absl::FromUnixMillis(r.imported_ms),
                                          absl::UTCTimeZone()));
  out.append(", \"source\": ");
  AppendJsonString(&out, r.source);
  absl::StrAppend(&out, ", \"versions\": [", absl::StrJoin(versions, ", "),
                  "],\n \"agents\": [");
  for (size_t i = 0; i < r.entries.size(); ++i) {
    const RosterEntry& e = r.entries[i];
    out.append(i == 0 ? "\n  {\"agent\": " : ",\n  {\"agent\": ");
    AppendJsonString(&out, e.agent);
    out.append(", \"name\": ");
    AppendJsonString(&out, e.name);
    absl::StrAppend(
        &out, ", \"hired\": \"", absl::FormatCivilTime(e.hired),
        "\", \"left\": ",
        e.left ? absl::StrCat("\"", absl::FormatCivilTime(*e.left), "\"")
               : "null",
        "}");
  }
  out.append("]}\n");
  return out;
}

std::string RosterToCsv(const Roster& r) {
  std::string out =
      "\xEF\xBB\xBF"
      "agent,name,hired,left\r\n";
  for (const RosterEntry& e : r.entries) {
    AppendCsvField(&out, e.agent);
    out.push_back(',');
    AppendCsvField(&out, e.name);
    absl::StrAppend(&out, ",", absl::FormatCivilTime(e.hired), ",",
                    e.left ? absl::FormatCivilTime(*e.left) : "", "\r\n");
  }
  return out;
}

}  // namespace chatkpi
