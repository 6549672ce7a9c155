#include "engine/local_day.h"

namespace chatkpi {

int32_t DayNumber(absl::CivilDay d) {
  return static_cast<int32_t>(d - absl::CivilDay(1970, 1, 1));
}

absl::CivilDay DayFromNumber(int32_t n) {
  return absl::CivilDay(1970, 1, 1) + n;
}

int32_t MonthNumber(absl::CivilMonth m) {
  return static_cast<int32_t>(m - absl::CivilMonth(1970, 1));
}

int32_t MonthOfDay(int32_t day) {
  // Called for every counter change (the month rollup row), so plain integer
  // arithmetic instead of civil-time normalisation: the proleptic Gregorian
  // civil_from_days of H. Hinnant's "chrono-compatible low-level date
  // algorithms", eras of 400 years.
  const int64_t z = int64_t{day} + 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const int64_t doe = z - era * 146097;  // [0, 146096]
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);  // from Mar 1
  const int64_t mp = (5 * doy + 2) / 153;                       // Mar = 0
  const int64_t month = mp < 10 ? mp + 3 : mp - 9;              // 1..12
  const int64_t year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  return static_cast<int32_t>((year - 1970) * 12 + month - 1);
}

const LocalCalendar::Entry& LocalCalendar::Lookup(int32_t day) {
  Entry& e = entries_[static_cast<uint32_t>(day) % kEntries];
  if (e.day != day) {
    const absl::CivilDay d = DayFromNumber(day);
    e.day = day;
    e.start_ms = absl::ToUnixMillis(absl::FromCivil(d, tz_));
    e.end_ms = absl::ToUnixMillis(absl::FromCivil(d + 1, tz_));
  }
  return e;
}

int64_t LocalCalendar::DayStartMs(int32_t day) { return Lookup(day).start_ms; }

int32_t LocalCalendar::DayOf(int64_t ts_ms) {
  if (ts_ms >= last_.start_ms && ts_ms < last_.end_ms) return last_.day;
  constexpr int64_t kDayMs = 86'400'000;
  // The day under the last offset seen; a zone's offset changes rarely and
  // by less than a day, so the answer is that day or a neighbour.
  const int64_t local = ts_ms + offset_ms_;
  const int32_t guess = static_cast<int32_t>(
      local >= 0 ? local / kDayMs : (local - kDayMs + 1) / kDayMs);
  for (int32_t d : {guess, guess - 1, guess + 1}) {
    const Entry& e = Lookup(d);
    if (ts_ms >= e.start_ms && ts_ms < e.end_ms) {
      offset_ms_ = int64_t{d} * kDayMs - e.start_ms;
      last_ = e;
      return d;
    }
  }
  const int32_t day =
      DayNumber(absl::ToCivilDay(absl::FromUnixMillis(ts_ms), tz_));
  const Entry& e = Lookup(day);
  offset_ms_ = int64_t{day} * kDayMs - e.start_ms;
  last_ = e;
  return day;
}

}  // namespace chatkpi
