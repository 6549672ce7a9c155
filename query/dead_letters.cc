#include "query/dead_letters.h"

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "base/csv_text.h"
#include "base/json_text.h"
#include "engine/dead_letter_value.h"
#include "store/store.h"

namespace chatkpi {
namespace {

// The length of the well-formed UTF-8 sequence at the start of `s`
// (RFC 3629: no overlongs, no surrogates, nothing past U+10FFFF), or 0.
size_t Utf8SequenceLength(std::string_view s) {
  const auto b = [&](size_t i) { return static_cast<unsigned char>(s[i]); };
  const auto cont = [&](size_t i) {
    return i < s.size() && (b(i) & 0xC0) == 0x80;
  };
  const unsigned char c = b(0);
  if (c < 0x80) return 1;
  if (c >= 0xC2 && c <= 0xDF) return cont(1) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    if (!cont(1) || !cont(2)) return 0;
    if (c == 0xE0 && b(1) < 0xA0) return 0;   // overlong
    if (c == 0xED && b(1) >= 0xA0) return 0;  // surrogate
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (!cont(1) || !cont(2) || !cont(3)) return 0;
    if (c == 0xF0 && b(1) < 0x90) return 0;   // overlong
    if (c == 0xF4 && b(1) >= 0x90) return 0;  // past U+10FFFF
    return 4;
  }
  return 0;
}

// `s` with each byte that does not belong to a well-formed sequence as
// U+FFFD; sets *valid to whether there was none.
std::string AsUtf8Text(std::string_view s, bool* valid) {
  std::string out;
  out.reserve(s.size());
  *valid = true;
  while (!s.empty()) {
    const size_t n = Utf8SequenceLength(s);
    if (n == 0) {
      out.append("\xEF\xBF\xBD");
      *valid = false;
      s.remove_prefix(1);
    } else {
      out.append(s.substr(0, n));
      s.remove_prefix(n);
    }
  }
  return out;
}

}  // namespace

bool ReasonMatches(std::string_view reason, std::string_view filter) {
  if (filter.empty() || reason == filter) return true;
  std::string_view category = reason.substr(0, reason.find('\''));
  while (!category.empty() && category.back() == ' ') category.remove_suffix(1);
  return category == filter;
}

absl::StatusOr<DeadLetterPage> ReadDeadLetters(Store& store,
                                               const DeadLetterFilter& filter) {
  DeadLetterPage page;
  absl::Status bad;
  absl::Status s = store.Scan(
      Family::kDead, filter.after, "",
      [&](std::string_view k, std::string_view v) {
        if (!filter.after.empty() && k == filter.after) return true;
        DeadLetterValue d;
        if (!DecodeDeadLetterValue(v, &d)) {
          bad = absl::DataLossError(
              absl::StrCat("--db ", store.dir(), ": the dead letter at ",
                           std::string(k), " is corrupt"));
          return false;
        }
        if (!ReasonMatches(d.reason, filter.reason)) return true;
        if (filter.limit > 0 && page.rows.size() == filter.limit) {
          page.more = true;
          return false;
        }
        page.rows.push_back({std::string(k), std::string(d.reason),
                             std::string(d.raw), d.raw_bytes, d.cut()});
        return true;
      });
  if (!s.ok()) return s;
  if (!bad.ok()) return bad;
  return page;
}

std::string DeadLettersToJson(const DeadLetterPage& page) {
  std::string out = "{\"dead_letters\": [";
  bool first = true;
  for (const DeadLetterRow& r : page.rows) {
    out.append(first ? "\n  " : ",\n  ");
    first = false;
    bool valid = true;
    const std::string text = AsUtf8Text(r.raw, &valid);
    bool position_valid = true;
    out.append("{\"position\": ");
    AppendJsonString(&out, AsUtf8Text(r.position, &position_valid));
    out.append(", \"reason\": ");
    AppendJsonString(&out, r.reason);
    out.append(", \"raw\": ");
    AppendJsonString(&out, text);
    absl::StrAppend(&out, ", \"raw_bytes\": ", r.raw_bytes,
                    ", \"raw_cut\": ", r.cut ? "true" : "false",
                    ", \"raw_utf8\": ", valid ? "true" : "false");
    if (!valid) {
      out.append(", \"raw_base64\": ");
      AppendJsonString(&out, absl::Base64Escape(r.raw));
    }
    out.append("}");
  }
  absl::StrAppend(&out, first ? "" : "\n", "], \"count\": ", page.rows.size(),
                  ", \"next_after\": ");
  if (page.more) {
    bool valid = true;
    AppendJsonString(&out, AsUtf8Text(page.rows.back().position, &valid));
  } else {
    out.append("null");
  }
  out.append("}\n");
  return out;
}

std::string DeadLettersToCsv(const DeadLetterPage& page) {
  std::string out = "position,reason,raw_bytes,raw_cut,raw,raw_base64\n";
  for (const DeadLetterRow& r : page.rows) {
    bool valid = true;
    const std::string text = AsUtf8Text(r.raw, &valid);
    bool position_valid = true;
    AppendCsvField(&out, AsUtf8Text(r.position, &position_valid));
    out.push_back(',');
    AppendCsvField(&out, r.reason);
    absl::StrAppend(&out, ",", r.raw_bytes, ",", r.cut ? "true" : "false", ",");
    AppendCsvField(&out, text);
    out.push_back(',');
    if (!valid) out.append(absl::Base64Escape(r.raw));
    out.push_back('\n');
  }
  return out;
}

absl::StatusOr<std::vector<ConflictRecord>> ReadConflicts(Store& store) {
  std::vector<ConflictRecord> out;
  const std::string_view prefix = kMetaConflictPrefix;
  absl::Status bad;
  absl::Status s = store.Scan(
      Family::kMeta, prefix, "", [&](std::string_view k, std::string_view v) {
        if (k.substr(0, prefix.size()) != prefix) return false;
        ConflictRecord r;
        if (!DecodeConflict(k, v, &r)) {
          bad = CorruptMeta(store, k, "not a conflict record");
          return false;
        }
        out.push_back(std::move(r));
        return true;
      });
  if (!s.ok()) return s;
  if (!bad.ok()) return bad;
  return out;
}

std::string ConflictsToJson(const std::vector<ConflictRecord>& conflicts) {
  std::string out = "{\"conflicts\": [";
  bool first = true;
  for (const ConflictRecord& r : conflicts) {
    out.append(first ? "\n  " : ",\n  ");
    first = false;
    bool valid = true;
    out.append("{\"id\": ");
    AppendJsonString(&out, AsUtf8Text(r.id, &valid));
    absl::StrAppend(&out, ", \"resolved\": ", r.resolved ? "true" : "false",
                    ", \"winner_position\": ");
    AppendJsonString(&out, AsUtf8Text(r.winner_position, &valid));
    out.append(", \"loser_position\": ");
    AppendJsonString(&out, AsUtf8Text(r.loser_position, &valid));
    const std::string text = AsUtf8Text(r.loser_raw, &valid);
    out.append(", \"loser_raw\": ");
    AppendJsonString(&out, text);
    absl::StrAppend(&out, ", \"loser_raw_bytes\": ", r.loser_raw_bytes,
                    ", \"loser_raw_utf8\": ", valid ? "true" : "false");
    if (!valid) {
      out.append(", \"loser_raw_base64\": ");
      AppendJsonString(&out, absl::Base64Escape(r.loser_raw));
    }
    out.append("}");
  }
  absl::StrAppend(&out, first ? "" : "\n", "], \"count\": ", conflicts.size(),
                  "}\n");
  return out;
}

std::string ConflictsToCsv(const std::vector<ConflictRecord>& conflicts) {
  std::string out =
      "id,resolved,winner_position,loser_position,loser_raw_bytes,loser_raw,"
      "loser_raw_base64\n";
  for (const ConflictRecord& r : conflicts) {
    bool valid = true;
    AppendCsvField(&out, AsUtf8Text(r.id, &valid));
    absl::StrAppend(&out, ",", r.resolved ? "true" : "false", ",");
    AppendCsvField(&out, AsUtf8Text(r.winner_position, &valid));
    out.push_back(',');
    AppendCsvField(&out, AsUtf8Text(r.loser_position, &valid));
    absl::StrAppend(&out, ",", r.loser_raw_bytes, ",");
    valid = true;
    AppendCsvField(&out, AsUtf8Text(r.loser_raw, &valid));
    out.push_back(',');
    if (!valid) out.append(absl::Base64Escape(r.loser_raw));
    out.push_back('\n');
  }
  return out;
}

}  // namespace chatkpi
