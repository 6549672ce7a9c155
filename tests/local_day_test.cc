// LocalCalendar and MonthOfDay against absl's civil time, which they cache
// and replace on the hot path.
#include "engine/local_day.h"

#include <random>

#include "gtest/gtest.h"

namespace chatkpi {
namespace {

TEST(LocalDay, MonthOfDayMatchesCivilTimeOverCenturies) {
  // 1600-01-01 .. 2400-12-31: leap centuries, eras, negative day numbers.
  const int32_t first = DayNumber(absl::CivilDay(1600, 1, 1));
  const int32_t last = DayNumber(absl::CivilDay(2400, 12, 31));
  for (int32_t d = first; d <= last; ++d) {
    ASSERT_EQ(MonthOfDay(d), MonthNumber(absl::CivilMonth(DayFromNumber(d))))
        << "day " << d;
  }
  EXPECT_EQ(MonthOfDay(0), 0);    // 1970-01-01
  EXPECT_EQ(MonthOfDay(-1), -1);  // 1969-12-31
  EXPECT_EQ(MonthOfDay(DayNumber(absl::CivilDay(2026, 11, 30))), 682);
}

void ExpectMatchesTimeZone(const char* zone) {
  absl::TimeZone tz;
  ASSERT_TRUE(absl::LoadTimeZone(zone, &tz)) << zone;
  LocalCalendar cal(tz);
  std::mt19937_64 rng(7);
  // Two years around 2026 in random order, then runs near midnight and the
  // DST switches: the cache must never answer for the wrong day.
  const int64_t begin = 1735689600000;  // 2025-01-01T00:00Z
  const int64_t span = int64_t{2} * 366 * 86'400'000;
  for (int i = 0; i < 200000; ++i) {
    int64_t ts = begin + static_cast<int64_t>(rng() % span);
    if (i % 3 == 0) ts -= ts % 3'600'000;  // whole hours: day boundaries
    if (i % 7 == 0) ts -= 1;
    const int32_t want =
        DayNumber(absl::ToCivilDay(absl::FromUnixMillis(ts), tz));
    ASSERT_EQ(cal.DayOf(ts), want) << zone << " ts " << ts;
    ASSERT_EQ(cal.DayStartMs(want),
              absl::ToUnixMillis(absl::FromCivil(DayFromNumber(want), tz)));
    ASSERT_LE(cal.DayStartMs(want), ts);
    ASSERT_GT(cal.DayStartMs(want + 1), ts);
  }
}

TEST(LocalDay, DayOfMatchesTimeZoneShanghai) {
  ExpectMatchesTimeZone("Asia/Shanghai");
}
TEST(LocalDay, DayOfMatchesTimeZoneWithDaylightSaving) {
  ExpectMatchesTimeZone("America/New_York");
  ExpectMatchesTimeZone("Europe/London");
}

}  // namespace
}  // namespace chatkpi
