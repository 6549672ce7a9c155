#include "engine/service_hours.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace chatkpi {
namespace {

constexpr int kMinutesPerDay = 24 * 60;
constexpr size_t kMaxWindowsPerDay = 48;
constexpr size_t kMaxClosedDates = 10000;
constexpr std::array<const char*, 7> kWeekdayKeys = {"mon", "tue", "wed", "thu",
                                                     "fri", "sat", "sun"};

absl::Status Invalid(const std::string& key, const std::string& why) {
  return absl::InvalidArgumentError(absl::StrCat("rules: '", key, "' ", why));
}

// "HH:MM" with HH 00..24 and MM 00..59; "24:00" is the only time past 23:59.
bool ParseClock(std::string_view s, int32_t* minutes) {
  if (s.size() != 5 || s[2] != ':') return false;
  for (int i : {0, 1, 3, 4}) {
    if (s[i] < '0' || s[i] > '9') return false;
  }
  const int h = (s[0] - '0') * 10 + (s[1] - '0');
  const int m = (s[3] - '0') * 10 + (s[4] - '0');
  if (m > 59 || h > 24 || (h == 24 && m != 0)) return false;
  *minutes = h * 60 + m;
  return true;
}

std::string ClockText(int32_t minutes) {
  return absl::StrFormat("%02d:%02d", minutes / 60, minutes % 60);
}

absl::Status ParseWindows(simdjson::dom::element e, const std::string& key,
                          std::vector<DailyWindow>* out) {
  const std::string kShape =
      "must be a list of [\"HH:MM\", \"HH:MM\"] windows, e.g. "
      "[[\"09:00\", \"21:00\"]]";
  simdjson::dom::array arr;
  if (e.get_array().get(arr) != simdjson::SUCCESS) return Invalid(key, kShape);
  out->clear();
  for (simdjson::dom::element w : arr) {
    simdjson::dom::array pair;
    if (w.get_array().get(pair) != simdjson::SUCCESS || pair.size() != 2) {
      return Invalid(key, kShape);
    }
    std::string_view from_view, to_view;
    if (pair.at(0).get_string().get(from_view) != simdjson::SUCCESS ||
        pair.at(1).get_string().get(to_view) != simdjson::SUCCESS) {
      return Invalid(key, kShape);
    }
    const std::string from(from_view), to(to_view);
    DailyWindow d;
    if (!ParseClock(from, &d.start_min) || d.start_min == kMinutesPerDay) {
      return Invalid(key, absl::StrCat("has a bad opening time \"", from,
                                       "\" (want \"HH:MM\", 00:00 to 23:59)"));
    }
    if (!ParseClock(to, &d.end_min)) {
      return Invalid(key, absl::StrCat("has a bad closing time \"", to,
                                       "\" (want \"HH:MM\", 00:01 to 24:00)"));
    }
    if (d.end_min <= d.start_min) {
      // The hint must itself be a valid rule.
      std::string hint;
      if (d.end_min == d.start_min) {
        hint = "open all day is [\"00:00\", \"24:00\"]";
      } else if (d.end_min == 0) {
        hint = absl::StrCat("until midnight is [\"", from, "\", \"24:00\"]");
      } else {
        hint = absl::StrCat("a window over midnight is two windows: [\"", from,
                            "\", \"24:00\"] and [\"00:00\", \"", to, "\"]");
      }
      return Invalid(
          key,
          absl::StrCat("has a window [\"", from, "\", \"", to,
                       "\"] that does not end after it starts (", hint, ")"));
    }
    out->push_back(d);
    if (out->size() > kMaxWindowsPerDay) {
      return Invalid(key, absl::StrCat("has more than ", kMaxWindowsPerDay,
                                       " windows a day"));
    }
  }
  std::sort(out->begin(), out->end(),
            [](const DailyWindow& a, const DailyWindow& b) {
              return a.start_min < b.start_min;
            });
  for (size_t i = 1; i < out->size(); ++i) {
    if ((*out)[i].start_min < (*out)[i - 1].end_min) {
      return Invalid(key, absl::StrCat("has overlapping windows (",
                                       ClockText((*out)[i - 1].start_min), "-",
                                       ClockText((*out)[i - 1].end_min),
                                       " and ", ClockText((*out)[i].start_min),
                                       "-", ClockText((*out)[i].end_min), ")"));
    }
  }
  return absl::OkStatus();
}

std::string WindowsJson(const std::vector<DailyWindow>& w) {
  std::string out = "[";
  for (size_t i = 0; i < w.size(); ++i) {
    absl::StrAppend(&out, i ? ", " : "", "[\"", ClockText(w[i].start_min),
                    "\", \"", ClockText(w[i].end_min), "\"]");
  }
  return out + "]";
}

int64_t UnixMs(absl::CivilSecond s, absl::TimeZone tz) {
  return absl::ToUnixMillis(absl::FromCivil(s, tz));
}

constexpr int64_t kMsPerDay = int64_t{86'400'000};

// Milliseconds of [lo, hi) whose local time lies in [from, to). Between two
// offset changes local time is the instant shifted by the offset, so each
// such stretch adds the instants that show those local times: a local time
// repeated when clocks go back counts each time it occurs, one skipped when
// they go forward never (docs/spec.md §2, business time).
int64_t LocalSpanMs(absl::TimeZone tz, absl::CivilSecond from,
                    absl::CivilSecond to, int64_t lo, int64_t hi) {
  const absl::CivilSecond epoch(1970, 1, 1);
  const int64_t from_local = (from - epoch) * 1000;
  const int64_t to_local = (to - epoch) * 1000;
  // Offsets from UTC are within a day: no other instant shows those times.
  int64_t t = std::max(lo, from_local - kMsPerDay);
  const int64_t end = std::min(hi, to_local + kMsPerDay);
  int64_t sum = 0;
  while (t < end) {
    const absl::Time at = absl::FromUnixMillis(t);
    const int64_t offset_ms = int64_t{tz.At(at).offset} * 1000;
    int64_t stretch_end = end;
    absl::TimeZone::CivilTransition change;
    if (tz.NextTransition(at, &change)) {
      // The old offset holds until local time reads `change.from`.
      stretch_end = std::min(end, (change.from - epoch) * 1000 - offset_ms);
    }
    if (stretch_end <= t) stretch_end = end;  // cannot happen; never loop
    const int64_t a = std::max(t, from_local - offset_ms);
    const int64_t b = std::min(stretch_end, to_local - offset_ms);
    if (b > a) sum += b - a;
    t = stretch_end;
  }
  return sum;
}

}  // namespace

absl::Status ParseServiceHours(simdjson::dom::element e, ServiceHours* out) {
  const std::string kKey = "service.hours";
  out->has_hours = true;
  simdjson::dom::object obj;
  if (e.get_object().get(obj) == simdjson::SUCCESS) {
    out->per_weekday = true;
    for (auto& day : out->week) day.clear();
    std::array<bool, 7> seen{};
    for (auto field : obj) {
      const std::string name(field.key);
      auto it = std::find(kWeekdayKeys.begin(), kWeekdayKeys.end(), name);
      if (it == kWeekdayKeys.end()) {
        return Invalid(kKey, absl::StrCat("has an unknown weekday \"", name,
                                          "\" (use mon, tue, wed, thu, fri, "
                                          "sat, sun)"));
      }
      const size_t d = it - kWeekdayKeys.begin();
      if (seen[d]) {
        return Invalid(kKey,
                       absl::StrCat("names \"", kWeekdayKeys[d], "\" twice"));
      }
      seen[d] = true;
      absl::Status s = ParseWindows(
          field.value, absl::StrCat(kKey, ".", kWeekdayKeys[d]), &out->week[d]);
      if (!s.ok()) return s;
    }
  } else {
    out->per_weekday = false;
    absl::Status s = ParseWindows(e, kKey, &out->week[0]);
    if (!s.ok()) return s;
    for (size_t d = 1; d < 7; ++d) out->week[d] = out->week[0];
  }
  // A shop that never opens would make every question wait forever (and
  // every business-time walk endless).
  bool any = false;
  for (const auto& day : out->week) any = any || !day.empty();
  if (!any) return Invalid(kKey, "must open at least once a week");
  return absl::OkStatus();
}

absl::Status ParseClosedDates(simdjson::dom::element e, ServiceHours* out) {
  const std::string kKey = "service.closed_dates";
  simdjson::dom::array arr;
  if (e.get_array().get(arr) != simdjson::SUCCESS) {
    return Invalid(kKey, "must be a list of \"YYYY-MM-DD\" dates");
  }
  out->closed_dates.clear();
  for (simdjson::dom::element item : arr) {
    std::string_view s;
    absl::CivilDay d;
    if (item.get_string().get(s) != simdjson::SUCCESS || s.size() != 10 ||
        !absl::ParseCivilTime(absl::string_view(s.data(), s.size()), &d) ||
        absl::FormatCivilTime(d) != s || d.year() < 2000 || d.year() > 2099) {
      return Invalid(kKey,
                     absl::StrCat("has a bad date ", simdjson::to_string(item),
                                  " (want \"YYYY-MM-DD\", 2000 to 2099)"));
    }
    out->closed_dates.push_back(d);
    if (out->closed_dates.size() > kMaxClosedDates) {
      return Invalid(kKey,
                     absl::StrCat("has more than ", kMaxClosedDates, " dates"));
    }
  }
  std::sort(out->closed_dates.begin(), out->closed_dates.end());
  out->closed_dates.erase(
      std::unique(out->closed_dates.begin(), out->closed_dates.end()),
      out->closed_dates.end());
  return absl::OkStatus();
}

std::string ServiceHoursJson(const ServiceHours& h) {
  if (!h.per_weekday) return WindowsJson(h.week[0]);
  std::string out = "{";
  for (size_t d = 0; d < 7; ++d) {
    absl::StrAppend(&out, d ? ", " : "", "\"", kWeekdayKeys[d],
                    "\": ", WindowsJson(h.week[d]));
  }
  return out + "}";
}

std::string ClosedDatesJson(const ServiceHours& h) {
  std::string out = "[";
  for (size_t i = 0; i < h.closed_dates.size(); ++i) {
    absl::StrAppend(&out, i ? ", " : "", "\"",
                    absl::FormatCivilTime(h.closed_dates[i]), "\"");
  }
  return out + "]";
}

int64_t BusinessClock::BusinessMs(int64_t open_ms, int64_t close_ms,
                                  int64_t cap_ms) const {
  if (close_ms <= open_ms) return 0;
  if (hours_.AlwaysOpen()) return close_ms - open_ms;
  static const std::vector<DailyWindow> kAllDay = {{0, kMinutesPerDay}};
  int64_t sum = 0;
  // A day earlier too: where clocks go back over midnight, an instant after
  // open_ms can show the day before.
  absl::CivilDay day = absl::ToCivilDay(absl::FromUnixMillis(open_ms), tz_) - 1;
  for (;; ++day) {
    const int64_t day_start = UnixMs(absl::CivilSecond(day), tz_);
    if (day_start - kMsPerDay >= close_ms || sum > cap_ms) break;
    if (std::binary_search(hours_.closed_dates.begin(),
                           hours_.closed_dates.end(), day)) {
      continue;
    }
    // absl::Weekday numbers Monday 0 .. Sunday 6, like `week`.
    const std::vector<DailyWindow>& windows =
        hours_.has_hours ? hours_.week[static_cast<int>(absl::GetWeekday(day))]
                         : kAllDay;
    for (const DailyWindow& w : windows) {
      sum += LocalSpanMs(tz_, absl::CivilSecond(day) + w.start_min * 60,
                         absl::CivilSecond(day) + w.end_min * 60, open_ms,
                         close_ms);
    }
  }
  return sum;
}

}  // namespace chatkpi
