#include "engine/rules.h"

#include <fstream>
#include <set>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/json_text.h"
#include "engine/json_syntax.h"
#include "simdjson.h"

namespace chatkpi {
namespace {

std::string JsonStringList(const std::vector<std::string>& v) {
  std::string out = "[";
  for (size_t i = 0; i < v.size(); ++i) {
    if (i) out += ", ";
    out += JsonString(v[i]);
  }
  return out + "]";
}

absl::Status Invalid(const std::string& key, const std::string& why) {
  return absl::InvalidArgumentError(absl::StrCat("rules: '", key, "' ", why));
}

// Upper bounds on the windows (docs/limits.md, "Numbers never wrap"). In ms
// they stay far inside int64, and a response time is at most the response
// window, so even a billion answered questions sum to at most
// 2.6 * 10^18 ms in response_ms_sum.

absl::Status ReadSeconds(simdjson::dom::element e, const std::string& key,
                         int64_t max, int64_t* out) {
  int64_t v;
  if (e.get_int64().get(v) != simdjson::SUCCESS) {
    return Invalid(key, "must be an integer number of seconds");
  }
  if (v < 0) return Invalid(key, "must not be negative");
  if (v > max) {
    return Invalid(key, absl::StrCat("must be at most ", max, " (", max / 86400,
                                     " days)"));
  }
  *out = v;
  return absl::OkStatus();
}

absl::Status ReadKeywords(simdjson::dom::element e, const std::string& key,
                          std::vector<std::string>* out) {
  simdjson::dom::array arr;
  if (e.get_array().get(arr) != simdjson::SUCCESS) {
    return Invalid(key, "must be an array of strings");
  }
  out->clear();
  for (simdjson::dom::element item : arr) {
    std::string_view s;
    if (item.get_string().get(s) != simdjson::SUCCESS) {
      return Invalid(key, "must be an array of strings");
    }
    // An empty keyword would match every message.
    if (s.empty()) return Invalid(key, "must not contain an empty keyword");
    if (s.size() > kMaxKeywordBytes) {
      return Invalid(key, absl::StrCat("must not contain a keyword over ",
                                       kMaxKeywordBytes, " bytes"));
    }
    if (out->size() >= kMaxKeywords) {
      return Invalid(key, absl::StrCat("must not list more than ", kMaxKeywords,
                                       " keywords"));
    }
    out->emplace_back(s);
  }
  return absl::OkStatus();
}

// At most this many thresholds: each adds four columns to every row.
constexpr size_t kMaxThresholds = 10;
// A threshold past a week says nothing a team lead can act on.
constexpr int64_t kMaxThresholdS = 7 * 86400;

absl::Status ReadThresholds(simdjson::dom::element e, const std::string& key,
                            std::vector<int64_t>* out) {
  simdjson::dom::array arr;
  if (e.get_array().get(arr) != simdjson::SUCCESS) {
    return Invalid(key, "must be a list of whole seconds, e.g. [30, 60, 180]");
  }
  out->clear();
  for (simdjson::dom::element item : arr) {
    int64_t v;
    if (item.get_int64().get(v) != simdjson::SUCCESS) {
      return Invalid(key,
                     "must be a list of whole seconds, e.g. [30, 60, 180]");
    }
    if (v < 1 || v > kMaxThresholdS) {
      return Invalid(key,
                     absl::StrCat("has ", v, ": each threshold must be 1 to ",
                                  kMaxThresholdS, " seconds"));
    }
    if (!out->empty() && v <= out->back()) {
      return Invalid(key, "must be strictly increasing");
    }
    out->push_back(v);
    if (out->size() > kMaxThresholds) {
      return Invalid(
          key, absl::StrCat("has more than ", kMaxThresholds, " thresholds"));
    }
  }
  return absl::OkStatus();
}

absl::Status Apply(Rules* r, const std::string& key, simdjson::dom::element e) {
  if (key == "version") {
    std::string_view s;
    if (e.get_string().get(s) != simdjson::SUCCESS || s.empty()) {
      return Invalid(key, "must be a non-empty string");
    }
    if (s.size() > kMaxVersionBytes) {
      return Invalid(
          key, absl::StrCat("must be at most ", kMaxVersionBytes, " bytes"));
    }
    for (char c : s) {
      if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
        return Invalid(key, "must not contain control characters");
      }
    }
    r->version = std::string(s);
  } else if (key == "timezone") {
    std::string_view s;
    if (e.get_string().get(s) != simdjson::SUCCESS) {
      return Invalid(key, "must be a string");
    }
    r->timezone_name = std::string(s);
  } else if (key == "response.window_s") {
    return ReadSeconds(e, key, kMaxResponseSeconds, &r->response_window_s);
  } else if (key == "response.slow_s") {
    return ReadSeconds(e, key, kMaxResponseSeconds, &r->response_slow_s);
  } else if (key == "response.thresholds_s") {
    return ReadThresholds(e, key, &r->response_thresholds_s);
  } else if (key == "service.hours") {
    return ParseServiceHours(e, &r->service_hours);
  } else if (key == "service.closed_dates") {
    return ParseClosedDates(e, &r->service_hours);
  } else if (key == "attribution.window_s") {
    return ReadSeconds(e, key, kMaxAttributionSeconds,
                       &r->attribution_window_s);
  } else if (key == "attribution.model") {
    std::string_view s;
    if (e.get_string().get(s) != simdjson::SUCCESS ||
        (s != "last" && s != "first")) {
      return Invalid(key, "must be \"last\" or \"first\"");
    }
    r->attribution_model =
        s == "last" ? AttributionModel::kLast : AttributionModel::kFirst;
  } else if (key == "service.good_keywords") {
    return ReadKeywords(e, key, &r->good_keywords);
  } else if (key == "service.bad_keywords") {
    return ReadKeywords(e, key, &r->bad_keywords);
  } else {
    return Invalid(key, "is not a known rule");
  }
  return absl::OkStatus();
}

// `seen` holds every key given so far, flat and nested alike: a rule given
// twice (even once flat and once nested) is ambiguous and refused rather
// than letting the last one win.
absl::Status Walk(Rules* r, const std::string& prefix,
                  simdjson::dom::object obj, bool* saw_version,
                  std::set<std::string>* seen) {
  for (auto field : obj) {
    std::string key = prefix.empty()
                          ? std::string(field.key)
                          : absl::StrCat(prefix, ".", std::string(field.key));
    if (!seen->insert(key).second) {
      return Invalid(key, "is given more than once");
    }
    if (key == "version") *saw_version = true;
    simdjson::dom::object sub;
    if ((key == "response" || key == "attribution" || key == "service") &&
        field.value.get_object().get(sub) == simdjson::SUCCESS) {
      absl::Status s = Walk(r, key, sub, saw_version, seen);
      if (!s.ok()) return s;
      continue;
    }
    absl::Status s = Apply(r, key, field.value);
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

// A zone named as the tz database names it (Asia/Shanghai, Etc/GMT-8,
// UTC): segments of letters, digits, '_', '+' and '-', each beginning with
// a letter. absl::LoadTimeZone also takes a file path and "localtime",
// which name other zones on other machines, while a rules version must
// give the same numbers everywhere (docs/replay.md).
bool IsZoneName(std::string_view name) {
  if (name.empty() || name == "localtime" || name == "posixrules") {
    return false;
  }
  bool segment_start = true;
  for (char c : name) {
    if (segment_start) {
      if (!absl::ascii_isalpha(c)) return false;
      segment_start = false;
    } else if (c == '/') {
      segment_start = true;
    } else if (!absl::ascii_isalnum(c) && c != '_' && c != '+' && c != '-') {
      return false;
    }
  }
  return !segment_start;
}

absl::Status LoadZone(Rules* r) {
  if (!absl::LoadTimeZone(r->timezone_name, &r->timezone)) {
    return absl::InvalidArgumentError(absl::StrCat("rules: unknown time zone '",
                                                   r->timezone_name,
                                                   "' (is tzdata installed?)"));
  }
  return absl::OkStatus();
}

}  // namespace

std::string Rules::ToJson() const {
  // Rules at their default (always open, default thresholds) are left out,
  // so the canonical text of rules that do not use them, and of every store
  // built before they existed, stays what it was.
  std::string thresholds;
  if (response_thresholds_s != DefaultResponseThresholds()) {
    thresholds = ", \"thresholds_s\": [";
    for (size_t i = 0; i < response_thresholds_s.size(); ++i) {
      absl::StrAppend(&thresholds, i ? ", " : "", response_thresholds_s[i]);
    }
    thresholds += "]";
  }
  std::string service_hours;
  if (this->service_hours.has_hours) {
    absl::StrAppend(&service_hours,
                    ", \"hours\": ", ServiceHoursJson(this->service_hours));
  }
  if (!this->service_hours.closed_dates.empty()) {
    absl::StrAppend(&service_hours, ", \"closed_dates\": ",
                    ClosedDatesJson(this->service_hours));
  }
  return absl::StrCat(
      "{\"version\": ", JsonString(version),
      ", \"timezone\": ", JsonString(timezone_name),
      ", \"response\": {\"window_s\": ", response_window_s,
      ", \"slow_s\": ", response_slow_s, thresholds,
      "}, \"attribution\": {\"window_s\": ", attribution_window_s,
      ", \"model\": ",
      attribution_model == AttributionModel::kLast ? "\"last\"" : "\"first\"",
      "}, \"service\": {\"good_keywords\": ", JsonStringList(good_keywords),
      ", \"bad_keywords\": ", JsonStringList(bad_keywords), service_hours,
      "}}");
}

absl::StatusOr<Rules> DefaultRules() {
  Rules r;
  absl::Status s = LoadZone(&r);
  if (!s.ok()) return s;
  return r;
}

absl::StatusOr<Rules> ParseRules(std::string_view json) {
  // Editors on Windows save UTF-8 with a byte-order mark.
  if (json.substr(0, 3) == "\xEF\xBB\xBF") json.remove_prefix(3);
  simdjson::dom::parser parser;
  simdjson::padded_string padded(json.data(), json.size());
  simdjson::dom::element root;
  auto err = parser.parse(padded).get(root);
  if (err) {
    // simdjson does not say where; a plain syntax walk does.
    JsonSyntaxError where = FindJsonSyntaxError(json);
    if (where.found) {
      return absl::InvalidArgumentError(
          absl::StrCat("rules: not valid JSON at line ", where.line,
                       ", column ", where.column, ": ", where.what));
    }
    return absl::InvalidArgumentError(
        absl::StrCat("rules: not valid JSON: ", simdjson::error_message(err)));
  }
  simdjson::dom::object obj;
  if (root.get_object().get(obj) != simdjson::SUCCESS) {
    return absl::InvalidArgumentError("rules: the file must be a JSON object");
  }
  Rules r;
  bool saw_version = false;
  std::set<std::string> seen;
  absl::Status s = Walk(&r, "", obj, &saw_version, &seen);
  if (!s.ok()) return s;
  if (!saw_version) {
    return absl::InvalidArgumentError("rules: 'version' is required");
  }
  s = LoadZone(&r);
  if (!s.ok()) return s;
  return r;
}

absl::StatusOr<Rules> LoadRulesFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::NotFoundError(absl::StrCat("cannot read rules file ", path));
  }
  std::stringstream ss;
  ss << in.rdbuf();
  absl::StatusOr<Rules> r = ParseRules(ss.str());
  if (!r.ok()) {
    return absl::Status(r.status().code(),
                        absl::StrCat(path, ": ", r.status().message()));
  }
  // Checked for new rules only: rules a store recorded before these
  // checks still open, so that the store can be replayed under others.
  if (!IsZoneName(r->timezone_name)) {
    return absl::InvalidArgumentError(absl::StrCat(
        path, ": time zone '", absl::CHexEscape(r->timezone_name),
        "' is not a zone name of the tz database (such as Asia/Shanghai): "
        "a path or 'localtime' would name another zone on another machine"));
  }
  // "default" names the built-in rules (docs/spec.md §2): other rules
  // under it would label their figures as the defaults' in every
  // snapshot, score and audit.
  auto builtin = DefaultRules();
  if (!builtin.ok()) return builtin.status();
  if (r->version == builtin->version && r->ToJson() != builtin->ToJson()) {
    return absl::InvalidArgumentError(
        absl::StrCat(path,
                     ": version 'default' names the built-in rules, and these "
                     "differ from them: give them a version of their own"));
  }
  return r;
}

}  // namespace chatkpi
