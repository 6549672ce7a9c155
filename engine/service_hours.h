// Service hours (docs/spec.md §2): the local times at which the shop answers
// buyers. With them, a response time is business time: only the part of
// [open, answer] that falls inside service hours counts (docs/spec.md §3).
#ifndef CHATKPI_ENGINE_SERVICE_HOURS_H_
#define CHATKPI_ENGINE_SERVICE_HOURS_H_

#include <array>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "simdjson.h"

namespace chatkpi {

// [start, end) in minutes after local midnight; end may be 1440 ("24:00").
struct DailyWindow {
  int32_t start_min = 0;
  int32_t end_min = 0;
  bool operator==(const DailyWindow&) const = default;
};

struct ServiceHours {
  // False: no `service.hours` rule, every day is open around the clock
  // (except closed_dates).
  bool has_hours = false;
  // True when the rule was given per weekday; only changes how it is written.
  bool per_weekday = false;
  // Index 0 is Monday. Sorted, non-overlapping.
  std::array<std::vector<DailyWindow>, 7> week;
  // Sorted, distinct.
  std::vector<absl::CivilDay> closed_dates;

  // No rule at all: business time is calendar time.
  bool AlwaysOpen() const { return !has_hours && closed_dates.empty(); }
  bool operator==(const ServiceHours&) const = default;
};

// `service.hours`: either a list of windows for every day,
// [["09:00", "21:00"]], or an object of weekdays ("mon" .. "sun") to such
// lists; a weekday the object leaves out is closed.
absl::Status ParseServiceHours(simdjson::dom::element e, ServiceHours* out);
// `service.closed_dates`: a list of "YYYY-MM-DD".
absl::Status ParseClosedDates(simdjson::dom::element e, ServiceHours* out);

// Canonical JSON of the two rules (equal rules give equal text).
std::string ServiceHoursJson(const ServiceHours& h);
std::string ClosedDatesJson(const ServiceHours& h);

// Business time between two instants under service hours in a time zone.
class BusinessClock {
 public:
  BusinessClock(ServiceHours hours, absl::TimeZone tz)
      : hours_(std::move(hours)), tz_(tz) {}

  // Milliseconds of [open_ms, close_ms) inside service hours; 0 when
  // close_ms <= open_ms. Stops adding once the sum passes cap_ms (the result
  // is then some value > cap_ms): callers that only compare with a window
  // need not walk a months-long gap day by day.
  int64_t BusinessMs(
      int64_t open_ms, int64_t close_ms,
      int64_t cap_ms = std::numeric_limits<int64_t>::max()) const;

  const ServiceHours& hours() const { return hours_; }

 private:
  ServiceHours hours_;
  absl::TimeZone tz_;
};

}  // namespace chatkpi

#endif  // CHATKPI_ENGINE_SERVICE_HOURS_H_
