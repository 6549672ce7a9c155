// Local calendar days. day(t) and the bounds of a day are on the hot path of
// every event, so the calendar caches the [start, end) of the days it
// resolved and only asks absl::TimeZone about a day it has not seen lately.
#ifndef CHATKPI_ENGINE_LOCAL_DAY_H_
#define CHATKPI_ENGINE_LOCAL_DAY_H_

#include <climits>
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

  int32_t DayOf(int64_t ts_ms);
  // The first millisecond of a local day; day d is [start(d), start(d+1)).
  int64_t DayStartMs(int32_t day);

  absl::TimeZone tz() const { return tz_; }

 private:
  struct Entry {
    int32_t day = INT32_MIN;
    int64_t start_ms = 0;
    int64_t end_ms = 0;
  };
  // Direct-mapped by day number: the days one buyer's events touch are few
  // and close together, so they rarely evict each other.
  static constexpr int kEntries = 64;
  const Entry& Lookup(int32_t day);

  absl::TimeZone tz_;
  // The day DayOf answered last: the next event is most often in it.
  Entry last_;
  Entry entries_[kEntries];
  int64_t offset_ms_ = 0;  // UTC offset of the last day resolved
};

}  // namespace chatkpi

#endif  // CHATKPI_ENGINE_LOCAL_DAY_H_
