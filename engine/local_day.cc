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
  return MonthNumber(absl::CivilMonth(DayFromNumber(day)));
}

int64_t LocalCalendar::DayStartMs(int32_t day) const {
  return absl::ToUnixMillis(absl::FromCivil(DayFromNumber(day), tz_));
}

int32_t LocalCalendar::Resolve(int64_t ts_ms) {
  absl::CivilDay d = absl::ToCivilDay(absl::FromUnixMillis(ts_ms), tz_);
  day_ = DayNumber(d);
  start_ms_ = absl::ToUnixMillis(absl::FromCivil(d, tz_));
  end_ms_ = absl::ToUnixMillis(absl::FromCivil(d + 1, tz_));
  return day_;
}

}  // namespace chatkpi
