// Local calendar days. day(t) is on the hot path of every event, so the
// calendar caches the [start, end) of the last day it resolved and only asks
// absl::TimeZone when a timestamp leaves it.
#ifndef CHATKPI_ENGINE_LOCAL_DAY_H_
#define CHATKPI_ENGINE_LOCAL_DAY_H_

#include <cstdint>

#include "absl/time/civil_time.h"
#include "absl/time/time.h"

namespace chatkpi {

// Days are numbered as days since 1970-01-01 of the local calendar.
int32_t DayNumber(absl::CivilDay d);
absl::CivilDay DayFromNumber(int32_t n);
// Months since 1970-01 of the local calendar.
int32_t MonthNumber(absl::CivilMonth m);
int32_t MonthOfDay(int32_t day);

class LocalCalendar {
 public:
  explicit LocalCalendar(absl::TimeZone tz) : tz_(tz) {}

  int32_t DayOf(int64_t ts_ms) {
    if (ts_ms >= start_ms_ && ts_ms < end_ms_) return day_;
    return Resolve(ts_ms);
  }
  // [start, end) of a local day in epoch milliseconds.
  int64_t DayStartMs(int32_t day) const;

  absl::TimeZone tz() const { return tz_; }

 private:
  int32_t Resolve(int64_t ts_ms);

  absl::TimeZone tz_;
  int64_t start_ms_ = 1;
  int64_t end_ms_ = 0;
  int32_t day_ = 0;
};

}  // namespace chatkpi

#endif  // CHATKPI_ENGINE_LOCAL_DAY_H_
