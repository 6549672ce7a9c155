// Business time under service hours (docs/spec.md §2, §3), the rules that
// set it, and the per-second response counts behind thresholds and
// percentiles. Every expected value is worked out by hand in the comments.
// Times are Asia/Shanghai; 2026-12-07 is a Monday.
#include "engine/service_hours.h"

#include "engine/counters.h"
#include "engine/response_histogram.h"
#include "engine/rules.h"
#include "gtest/gtest.h"
#include "query/response_figures.h"
#include "tests/test_util.h"

namespace chatkpi {
namespace {

using testing::Local;

constexpr int64_t kMin = 60'000;

BusinessClock ClockOf(const std::string& rules_json) {
  auto r = ParseRules(rules_json);
  EXPECT_TRUE(r.ok()) << r.status();
  return BusinessClock(r->service_hours, r->timezone);
}

int64_t Between(const BusinessClock& c, const std::string& from,
                const std::string& to) {
  return c.BusinessMs(Local(from), Local(to));
}

TEST(BusinessMs, QuestionBeforeOpening) {
  // Open 09:00; asked 08:30, answered 09:02: only 09:00..09:02 counts = 2 min.
  BusinessClock c = ClockOf(
      R"({"version": "v", "service": {"hours": [["09:00", "21:00"]]}})");
  EXPECT_EQ(Between(c, "2026-12-07 08:30:00", "2026-12-07 09:02:00"), 2 * kMin);
  // Asked 23:00, answered 09:00 next morning: nothing of it is open = 0.
  EXPECT_EQ(Between(c, "2026-12-07 23:00:00", "2026-12-08 09:00:00"), 0);
  // Inside the window it is calendar time: 10:00:00 .. 10:00:31.5.
  EXPECT_EQ(c.BusinessMs(Local("2026-12-07 10:00:00"),
                         Local("2026-12-07 10:00:31") + 500),
            31'500);
}

TEST(BusinessMs, AcrossClosingTime) {
  // Asked 20:50 (10 min before 21:00), answered 09:05 next day (5 min after
  // opening): 10 + 5 = 15 min.
  BusinessClock c = ClockOf(
      R"({"version": "v", "service": {"hours": [["09:00", "21:00"]]}})");
  EXPECT_EQ(Between(c, "2026-12-07 20:50:00", "2026-12-08 09:05:00"),
            15 * kMin);
}

TEST(BusinessMs, OverAClosedDate) {
  // Tuesday 2026-12-08 is closed. Asked Monday 20:00 (1 h before closing),
  // answered Wednesday 09:30: 60 + 0 + 30 = 90 min.
  BusinessClock c = ClockOf(
      R"({"version": "v", "service": {"hours": [["09:00", "21:00"]],
          "closed_dates": ["2026-12-08"]}})");
  EXPECT_EQ(Between(c, "2026-12-07 20:00:00", "2026-12-09 09:30:00"),
            90 * kMin);
  // Closed dates without hours: open around the clock except that day.
  // Monday 23:00 .. Wednesday 01:00 = 1 h (Mon) + 0 (Tue) + 1 h (Wed).
  BusinessClock d =
      ClockOf(R"({"version": "v", "service.closed_dates": ["2026-12-08"]})");
  EXPECT_EQ(Between(d, "2026-12-07 23:00:00", "2026-12-09 01:00:00"),
            120 * kMin);
}

TEST(BusinessMs, WindowOverMidnightAsTwoWindows) {
  // Open 18:00 .. 02:00, written as 18:00-24:00 and 00:00-02:00.
  BusinessClock c = ClockOf(
      R"({"version": "v",
          "service.hours": [["18:00", "24:00"], ["00:00", "02:00"]]})");
  // 23:00 .. 01:30 next day: 60 min before midnight + 90 after = 150 min.
  EXPECT_EQ(Between(c, "2026-12-07 23:00:00", "2026-12-08 01:30:00"),
            150 * kMin);
  // 03:00 .. 18:10: closed until 18:00, then 10 min.
  EXPECT_EQ(Between(c, "2026-12-08 03:00:00", "2026-12-08 18:10:00"),
            10 * kMin);
}

TEST(BusinessMs, PerWeekday) {
  // Monday 09:00-18:00, Saturday 10:00-16:00, every other day closed.
  BusinessClock c = ClockOf(
      R"({"version": "v", "service": {"hours": {
          "mon": [["09:00", "18:00"]], "sat": [["10:00", "16:00"]]}}})");
  // Friday 2026-12-11 17:00 .. Saturday 10:30: Friday closed, 30 min Sat.
  EXPECT_EQ(Between(c, "2026-12-11 17:00:00", "2026-12-12 10:30:00"),
            30 * kMin);
  // Monday 17:00 .. Tuesday 12:00: 60 min Monday, Tuesday closed.
  EXPECT_EQ(Between(c, "2026-12-07 17:00:00", "2026-12-08 12:00:00"),
            60 * kMin);
  // Saturday 15:00 .. next Monday 09:10: 60 min Sat + 0 Sun + 10 min Mon.
  EXPECT_EQ(Between(c, "2026-12-12 15:00:00", "2026-12-14 09:10:00"),
            70 * kMin);
}

TEST(BusinessMs, EmptyAndCapped) {
  BusinessClock c = ClockOf(
      R"({"version": "v", "service": {"hours": [["09:00", "10:00"]]}})");
  EXPECT_EQ(Between(c, "2026-12-07 09:30:00", "2026-12-07 09:30:00"), 0);
  EXPECT_EQ(Between(c, "2026-12-07 09:30:00", "2026-12-07 09:00:00"), 0);
  // Ten days of one open hour = 10 h exactly, uncapped.
  EXPECT_EQ(Between(c, "2026-12-07 00:00:00", "2026-12-17 00:00:00"),
            600 * kMin);
  // Capped at 90 min: the walk stops after day 2 (120 min > 90).
  const int64_t capped = c.BusinessMs(Local("2026-12-07 00:00:00"),
                                      Local("2026-12-17 00:00:00"), 90 * kMin);
  EXPECT_GT(capped, 90 * kMin);
  EXPECT_LE(capped, 600 * kMin);
}

// Where clocks change, business time counts the instants whose local time
// is inside the hours: a local time repeated when clocks go back counts
// twice, one skipped when they go forward not at all. Expected values from
// the tz database's offsets (UTC instants written out).
TEST(BusinessMs, LocalTimesRepeatedOrSkippedByDaylightSaving) {
  auto utc = [](int month, int day, int hour, int minute) {
    return absl::ToUnixMillis(
        absl::FromCivil(absl::CivilMinute(2026, month, day, hour, minute),
                        absl::UTCTimeZone()));
  };
  // New York, 2026-11-01: 02:00 EDT becomes 01:00 EST (06:00 UTC).
  // Asked 00:00 EDT (04:00 UTC), answered 03:00 EST (08:00 UTC).
  BusinessClock night =
      ClockOf(R"({"version": "v", "timezone": "America/New_York", "service": )"
              R"({"hours": [["00:00", "01:30"], ["09:00", "17:00"]]}})");
  // 00:00-01:30 EDT (04:00-05:30 UTC) and 01:00-01:30 EST (06:00-06:30).
  EXPECT_EQ(night.BusinessMs(utc(11, 1, 4, 0), utc(11, 1, 8, 0)), 120 * kMin);
  BusinessClock late =
      ClockOf(R"({"version": "v", "timezone": "America/New_York", "service": )"
              R"({"hours": [["01:30", "24:00"]]}})");
  // 01:30-02:00 EDT (05:30-06:00 UTC) and 01:30-03:00 EST (06:30-08:00).
  EXPECT_EQ(late.BusinessMs(utc(11, 1, 4, 0), utc(11, 1, 8, 0)), 120 * kMin);
  // 2026-03-08: 02:00 EST becomes 03:00 EDT (07:00 UTC); 02:00-03:00 is
  // never shown. Open 01:30-03:30: 06:30-07:00 UTC and 07:00-07:30 UTC.
  BusinessClock spring =
      ClockOf(R"({"version": "v", "timezone": "America/New_York", "service": )"
              R"({"hours": [["01:30", "03:30"]]}})");
  EXPECT_EQ(spring.BusinessMs(utc(3, 8, 5, 0), utc(3, 8, 9, 0)), 60 * kMin);
  // Santiago, 2026-04-05 00:00 -03 becomes 2026-04-04 23:00 -04 (03:00
  // UTC): the day before shows 23:00-24:00 twice, 02:00-04:00 UTC.
  BusinessClock chile =
      ClockOf(R"({"version": "v", "timezone": "America/Santiago", "service": )"
              R"({"hours": [["23:00", "24:00"]]}})");
  EXPECT_EQ(chile.BusinessMs(utc(4, 5, 1, 30), utc(4, 5, 4, 30)), 120 * kMin);
  // Asked after the change (03:30 UTC, 23:30 -04 on the 4th): 30 min.
  EXPECT_EQ(chile.BusinessMs(utc(4, 5, 3, 30), utc(4, 5, 4, 30)), 30 * kMin);
}

// ---- rules ----

std::string RulesError(const std::string& json) {
  auto r = ParseRules(json);
  return r.ok() ? "accepted" : std::string(r.status().message());
}

TEST(ServiceRules, DefaultCanonicalTextUnchanged) {
  // Stores built before these rules existed hold exactly this text; rules
  // that do not set them must keep producing it, or Engine::Open would
  // refuse every existing store.
  auto r = DefaultRules();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->ToJson(),
            "{\"version\": \"default\", \"timezone\": \"Asia/Shanghai\", "
            "\"response\": {\"window_s\": 3600, \"slow_s\": 40}, "
            "\"attribution\": {\"window_s\": 86400, \"model\": \"last\"}, "
            "\"service\": {\"good_keywords\": [\"亲\", \"您好\", \"谢谢\"], "
            "\"bad_keywords\": [\"不知道\", \"自己看\", \"滚\"]}}");
  EXPECT_TRUE(r->service_hours.AlwaysOpen());
  EXPECT_EQ(r->response_thresholds_s, (std::vector<int64_t>{30, 60, 180}));
  // Stating the defaults explicitly is the same rules.
  auto explicit_defaults = ParseRules(
      R"({"version": "default", "response.thresholds_s": [30, 60, 180]})");
  ASSERT_TRUE(explicit_defaults.ok());
  EXPECT_EQ(explicit_defaults->ToJson(), r->ToJson());
}

TEST(ServiceRules, CanonicalRoundTrip) {
  auto r = ParseRules(R"({"version": "v2",
      "response": {"thresholds_s": [10, 180]},
      "service": {"hours": {"sat": [["10:00", "16:00"]],
                            "mon": [["13:00", "24:00"], ["00:00", "02:00"]]},
                  "closed_dates": ["2027-02-17", "2027-02-16"]}})");
  ASSERT_TRUE(r.ok()) << r.status();
  const std::string json = r->ToJson();
  EXPECT_NE(json.find("\"thresholds_s\": [10, 180]"), std::string::npos)
      << json;
  // Windows sorted, every weekday written, dates sorted.
  EXPECT_NE(json.find("\"hours\": {\"mon\": [[\"00:00\", \"02:00\"], "
                      "[\"13:00\", \"24:00\"]], \"tue\": [], \"wed\": [], "
                      "\"thu\": [], \"fri\": [], \"sat\": [[\"10:00\", "
                      "\"16:00\"]], \"sun\": []}"),
            std::string::npos)
      << json;
  EXPECT_NE(json.find("\"closed_dates\": [\"2027-02-16\", \"2027-02-17\"]"),
            std::string::npos)
      << json;
  auto again = ParseRules(json);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->ToJson(), json);
  EXPECT_EQ(again->service_hours, r->service_hours);
  // An every-day list stays a list.
  auto daily =
      ParseRules(R"({"version": "v", "service.hours": [["09:00", "21:00"]]})");
  ASSERT_TRUE(daily.ok());
  EXPECT_NE(daily->ToJson().find("\"hours\": [[\"09:00\", \"21:00\"]]"),
            std::string::npos);
}

TEST(ServiceRules, BadValuesAreRefusedWithAMessage) {
  EXPECT_EQ(RulesError(R"({"version": "v", "service.hours": "09-21"})"),
            "rules: 'service.hours' must be a list of [\"HH:MM\", \"HH:MM\"] "
            "windows, e.g. [[\"09:00\", \"21:00\"]]");
  EXPECT_EQ(
      RulesError(R"({"version": "v", "service.hours": [["9:00", "21:00"]]})"),
      "rules: 'service.hours' has a bad opening time \"9:00\" (want "
      "\"HH:MM\", 00:00 to 23:59)");
  EXPECT_EQ(
      RulesError(R"({"version": "v", "service.hours": [["09:00", "24:30"]]})"),
      "rules: 'service.hours' has a bad closing time \"24:30\" (want "
      "\"HH:MM\", 00:01 to 24:00)");
  EXPECT_EQ(
      RulesError(R"({"version": "v", "service.hours": [["24:00", "24:00"]]})"),
      "rules: 'service.hours' has a bad opening time \"24:00\" (want "
      "\"HH:MM\", 00:00 to 23:59)");
  // Each hint is itself a valid rule.
  EXPECT_EQ(
      RulesError(R"({"version": "v", "service.hours": [["22:00", "02:00"]]})"),
      "rules: 'service.hours' has a window [\"22:00\", \"02:00\"] that does "
      "not end after it starts (a window over midnight is two windows: "
      "[\"22:00\", \"24:00\"] and [\"00:00\", \"02:00\"])");
  EXPECT_EQ(
      RulesError(R"({"version": "v", "service.hours": [["00:00", "00:00"]]})"),
      "rules: 'service.hours' has a window [\"00:00\", \"00:00\"] that does "
      "not end after it starts (open all day is [\"00:00\", \"24:00\"])");
  EXPECT_EQ(
      RulesError(R"({"version": "v", "service.hours": [["18:00", "00:00"]]})"),
      "rules: 'service.hours' has a window [\"18:00\", \"00:00\"] that does "
      "not end after it starts (until midnight is [\"18:00\", \"24:00\"])");
  EXPECT_EQ(
      RulesError(
          R"({"version": "v", "service.hours": [["09:00", "12:00"], ["11:00", "13:00"]]})"),
      "rules: 'service.hours' has overlapping windows (09:00-12:00 and "
      "11:00-13:00)");
  EXPECT_EQ(RulesError(R"({"version": "v", "service.hours": []})"),
            "rules: 'service.hours' must open at least once a week");
  EXPECT_EQ(RulesError(R"({"version": "v", "service.hours": {"monday": []}})"),
            "rules: 'service.hours' has an unknown weekday \"monday\" (use "
            "mon, tue, wed, thu, fri, sat, sun)");
  EXPECT_EQ(
      RulesError(R"({"version": "v", "service.hours": {"mon": [["09:00"]]}})"),
      "rules: 'service.hours.mon' must be a list of [\"HH:MM\", "
      "\"HH:MM\"] windows, e.g. [[\"09:00\", \"21:00\"]]");
  EXPECT_EQ(
      RulesError(R"({"version": "v", "service.closed_dates": ["2026-02-30"]})"),
      "rules: 'service.closed_dates' has a bad date \"2026-02-30\" "
      "(want \"YYYY-MM-DD\", 2000 to 2099)");
  EXPECT_EQ(
      RulesError(R"({"version": "v", "service.closed_dates": "2026-02-01"})"),
      "rules: 'service.closed_dates' must be a list of \"YYYY-MM-DD\" "
      "dates");
  EXPECT_EQ(
      RulesError(R"({"version": "v", "response.thresholds_s": [60, 30]})"),
      "rules: 'response.thresholds_s' must be strictly increasing");
  EXPECT_EQ(RulesError(R"({"version": "v", "response.thresholds_s": [0]})"),
            "rules: 'response.thresholds_s' has 0: each threshold must be 1 "
            "to 604800 seconds");
  EXPECT_EQ(RulesError(R"({"version": "v", "response.thresholds_s": [1.5]})"),
            "rules: 'response.thresholds_s' must be a list of whole seconds, "
            "e.g. [30, 60, 180]");
}

// ---- per-second counts ----

ResponseHistogram Of(std::initializer_list<int64_t> seconds) {
  ResponseHistogram h;
  for (int64_t s : seconds) h.Add(s, 1);
  return h;
}

TEST(ResponseHistogram, WholeSecondsRoundUp) {
  // "Within 30 s" is at most 30 000 ms: 30 000 ms is second 30, 30 001 ms
  // is second 31.
  EXPECT_EQ(ResponseSeconds(0), 0);
  EXPECT_EQ(ResponseSeconds(1), 1);
  EXPECT_EQ(ResponseSeconds(30'000), 30);
  EXPECT_EQ(ResponseSeconds(30'001), 31);
  ResponseHistogram h = Of({ResponseSeconds(29'999), ResponseSeconds(30'000),
                            ResponseSeconds(30'001)});
  EXPECT_EQ(h.CountAtMost(29), 0);
  EXPECT_EQ(h.CountAtMost(30), 2);
  EXPECT_EQ(h.CountAtMost(31), 3);
}

TEST(ResponseHistogram, NearestRankPercentiles) {
  // Even count {10, 20, 30, 40}: median rank ceil(4 / 2) = 2 -> 20 (not
  // 25); p90 rank ceil(3.6) = 4 -> 40.
  ResponseHistogram even = Of({40, 10, 30, 20});
  EXPECT_EQ(even.Percentile(1, 2), 20);
  EXPECT_EQ(even.Percentile(9, 10), 40);
  // Odd count {10, 20, 30}: median rank 2 -> 20; p90 rank ceil(2.7) = 3 ->
  // 30.
  ResponseHistogram odd = Of({30, 10, 20});
  EXPECT_EQ(odd.Percentile(1, 2), 20);
  EXPECT_EQ(odd.Percentile(9, 10), 30);
  // Ten values 1..10: p90 rank 9 -> 9; one value: every percentile is it.
  EXPECT_EQ(Of({1, 2, 3, 4, 5, 6, 7, 8, 9, 10}).Percentile(9, 10), 9);
  EXPECT_EQ(Of({7}).Percentile(1, 2), 7);
  EXPECT_EQ(Of({7}).Percentile(9, 10), 7);
  EXPECT_FALSE(ResponseHistogram().Percentile(1, 2).has_value());
}

TEST(ResponseHistogram, MergingTwoDaysIsExact) {
  // Day 1 {5, 50} (median 5), day 2 {7, 7, 100} (median 7). Merged
  // {5, 7, 7, 50, 100}: median rank ceil(2.5) = 3 -> 7, p90 rank
  // ceil(4.5) = 5 -> 100; at most 7 s: 3, at most 60 s: 4.
  Counters day1, day2;
  day1.response_s = Of({5, 50});
  day2.response_s = Of({7, 7, 100});
  Counters period = day1;
  ASSERT_TRUE(period.Add(day2).ok());
  EXPECT_EQ(period.response_s.bins(), (std::vector<std::pair<int64_t, int64_t>>{
                                          {5, 1}, {7, 2}, {50, 1}, {100, 1}}));
  EXPECT_EQ(period.response_s.Percentile(1, 2), 7);
  EXPECT_EQ(period.response_s.Percentile(9, 10), 100);
  EXPECT_EQ(period.response_s.CountAtMost(7), 3);
  EXPECT_EQ(period.response_s.CountAtMost(60), 4);
  // Taking day 2 back leaves day 1, with no zero bins left over.
  ASSERT_TRUE(period.Subtract(day2).ok());
  EXPECT_EQ(period.response_s, day1.response_s);
  ASSERT_TRUE(period.Subtract(day1).ok());
  EXPECT_TRUE(period.IsZero());
}

TEST(ResponseHistogram, StoredRowsRoundTripAndOldRowsDecode) {
  Counters c;
  c[kAnswered] = 3;
  c.response_s = Of({3, 3, 700});
  c.first_response_s = Of({3});
  Counters back;
  ASSERT_TRUE(DecodeCounters(EncodeCounters(c), &back));
  EXPECT_EQ(back, c);
  // A row without histograms is encoded as before: the counters alone.
  Counters plain;
  plain[kConsultations] = 2;
  std::string old_row = EncodeCounters(plain);
  EXPECT_EQ(old_row.size(), static_cast<size_t>(kNumCounters));
  // A row written before the histograms existed decodes with empty ones.
  plain[kAnswered] = 1;
  plain[kResponseMsSum] = 1500;
  ASSERT_TRUE(DecodeCounters(EncodeCounters(plain), &back));
  EXPECT_EQ(back[kResponseMsSum], 1500);
  EXPECT_TRUE(back.response_s.empty());
  // Truncated histogram bytes are corrupt, not silently empty.
  std::string row = EncodeCounters(c);
  row.pop_back();
  EXPECT_FALSE(DecodeCounters(row, &back));
}

}  // namespace
}  // namespace chatkpi

namespace chatkpi {
namespace {

TEST(ResponseFigures, RowsWithoutPerSecondCountsAreUnknownNotZero) {
  // A day counted by a build from before the per-second counts: 3 answered
  // questions, no counts. Its threshold figures and percentiles are unknown
  // (null), never 0; the counters and ratios stay as they were.
  Counters old_day;
  old_day[kQuestions] = 3;
  old_day[kAnswered] = 3;
  old_day[kResponseMsSum] = 30'000;
  old_day[kConsultations] = 2;
  old_day[kFirstResponses] = 2;
  for (const ResponseFigure& f : ResponseFigures(old_day, {30})) {
    EXPECT_FALSE(f.value.has_value()) << f.key;
  }
  // Summed with a new day (one answer of 5 s, counted): 4 answered, 1
  // count: still unknown over the period.
  Counters new_day;
  new_day[kQuestions] = 1;
  new_day[kAnswered] = 1;
  new_day.response_s.Add(5, 1);
  Counters period = old_day;
  ASSERT_TRUE(period.Add(new_day).ok());
  EXPECT_FALSE(ResponseFigureValue(
                   period, {ResponseFigureName::Kind::kMedianResponse, 0})
                   .has_value());
  // The new day alone is known: median 5, within 30 s 1 of 1 question.
  EXPECT_EQ(ResponseFigureValue(new_day,
                                {ResponseFigureName::Kind::kMedianResponse, 0}),
            5.0);
  EXPECT_EQ(ResponseFigureValue(new_day,
                                {ResponseFigureName::Kind::kResponseRate, 30}),
            1.0);
  // No answered question at all is known too: counts 0, median null, rate
  // 0 of 1 question.
  Counters none;
  none[kQuestions] = 1;
  none[kUnanswered] = 1;
  EXPECT_EQ(ResponseFigureValue(
                none, {ResponseFigureName::Kind::kAnsweredWithin, 30}),
            0.0);
  EXPECT_EQ(
      ResponseFigureValue(none, {ResponseFigureName::Kind::kResponseRate, 30}),
      0.0);
}

}  // namespace
}  // namespace chatkpi
