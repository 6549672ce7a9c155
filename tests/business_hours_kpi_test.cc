// Response figures under service hours (docs/spec.md §3), end to end through
// the engine, in several arrival orders. Every expected value is worked out
// by hand in the comments. 2026-11-10 is a Tuesday; the shop opens
// 09:00-21:00 and is closed on Wednesday 2026-11-11.
#include <algorithm>
#include <random>

#include "engine/rules.h"
#include "gtest/gtest.h"
#include "query/response_figures.h"
#include "query/snapshot.h"
#include "tests/test_util.h"

namespace chatkpi {
namespace {

using testing::FindAgent;
using testing::In;
using testing::Local;
using testing::Out;
using testing::RunEngine;

const absl::CivilDay kNov10(2026, 11, 10);
const absl::CivilDay kNov12(2026, 11, 12);
const std::string kA = "shop:a";

Rules HoursRules() {
  auto r = ParseRules(R"({"version": "hours",
      "service": {"hours": [["09:00", "21:00"]],
                  "closed_dates": ["2026-11-11"]}})");
  EXPECT_TRUE(r.ok()) << r.status();
  return *r;
}

std::vector<Event> Tuesday() {
  return {
      // u1: asked 08:30, before opening; answered 09:02 = 2 min = 120 s.
      In("a1", Local("2026-11-10 08:30:00"), "u1", kA),
      Out("a2", Local("2026-11-10 09:02:00"), "u1", kA),
      // u2: asked 20:50, 10 min before closing; Wednesday closed; answered
      // Thursday 09:05 = 10 + 0 + 5 min = 900 s (calendar: 36 h, unanswered).
      In("b1", Local("2026-11-10 20:50:00"), "u2", kA),
      Out("b2", Local("2026-11-12 09:05:00"), "u2", kA),
      // u3: 30 000 ms (within 30 s, the edge), then 30 001 ms (second 31).
      In("c1", Local("2026-11-10 10:00:00"), "u3", kA),
      Out("c2", Local("2026-11-10 10:00:30"), "u3", kA),
      In("c3", Local("2026-11-10 10:01:00"), "u3", kA),
      Out("c4", Local("2026-11-10 10:01:30") + 1, "u3", kA),
      // u4: asked 23:00, answered Thursday 09:00: nothing of it is open = 0.
      In("d1", Local("2026-11-10 23:00:00"), "u4", kA),
      Out("d2", Local("2026-11-12 09:00:00"), "u4", kA),
  };
}

std::vector<Event> Thursday() {
  return {
      // Two answers of 7 s each.
      In("e1", Local("2026-11-12 09:10:00"), "u5", kA),
      Out("e2", Local("2026-11-12 09:10:07"), "u5", kA),
      In("f1", Local("2026-11-12 10:00:00"), "u6", kA),
      Out("f2", Local("2026-11-12 10:00:07"), "u6", kA),
  };
}

std::vector<PeriodSnapshot> AllOrders(std::vector<Event> events,
                                      absl::CivilDay from, absl::CivilDay to,
                                      const Rules& rules) {
  std::vector<PeriodSnapshot> out;
  out.push_back(RunEngine(events, rules, from, to));
  std::reverse(events.begin(), events.end());
  out.push_back(RunEngine(events, rules, from, to, 1));
  std::mt19937 rng(11);
  for (int i = 0; i < 3; ++i) {
    std::shuffle(events.begin(), events.end(), rng);
    out.push_back(RunEngine(events, rules, from, to, 3));
  }
  return out;
}

std::map<std::string, std::optional<double>> Figures(const PeriodSnapshot& s) {
  std::map<std::string, std::optional<double>> out;
  const AgentRow* row = FindAgent(s, kA);
  EXPECT_NE(row, nullptr);
  if (row == nullptr) return out;
  for (const ResponseFigure& f : ResponseFigures(row->counters, s.thresholds_s))
    out[f.key] = f.value;
  return out;
}

TEST(BusinessHoursKpi, OneDayInBusinessTime) {
  for (const PeriodSnapshot& s :
       AllOrders(Tuesday(), kNov10, kNov10, HoursRules())) {
    const Counters& c = FindAgent(s, kA)->counters;
    // Five questions, all belonging to Tuesday (the day they opened), all
    // answered within the 3600 s window of business time.
    EXPECT_EQ(c[kQuestions], 5);
    EXPECT_EQ(c[kAnswered], 5);
    EXPECT_EQ(c[kUnanswered], 0);
    // 120 000 + 900 000 + 30 000 + 30 001 + 0.
    EXPECT_EQ(c[kResponseMsSum], 1'080'001);
    // Over 40 s: u1 (120 s) and u2 (900 s).
    EXPECT_EQ(c[kSlow], 2);
    // First questions: u1 120 000, u2 900 000, u3 30 000, u4 0.
    EXPECT_EQ(c[kFirstResponses], 4);
    EXPECT_EQ(c[kFirstResponseMsSum], 1'050'000);
    // u2 and u4 were answered on Thursday: not replied on Tuesday.
    EXPECT_EQ(c[kConsultations], 4);
    EXPECT_EQ(c[kReplied], 2);

    // Seconds {0, 30, 31, 120, 900}; first questions {0, 30, 120, 900}.
    auto f = Figures(s);
    EXPECT_EQ(f["answered_within_30s"], 2);   // 0, 30
    EXPECT_EQ(f["answered_within_60s"], 3);   // + 31
    EXPECT_EQ(f["answered_within_180s"], 4);  // + 120
    EXPECT_EQ(f["first_answered_within_30s"], 2);
    EXPECT_EQ(f["first_answered_within_60s"], 2);
    EXPECT_EQ(f["first_answered_within_180s"], 3);
    EXPECT_EQ(f["response_rate_30s"], 2.0 / 5);
    EXPECT_EQ(f["response_rate_60s"], 3.0 / 5);
    EXPECT_EQ(f["response_rate_180s"], 4.0 / 5);
    EXPECT_EQ(f["first_response_rate_30s"], 2.0 / 4);
    EXPECT_EQ(f["first_response_rate_180s"], 3.0 / 4);
    // Odd count 5: median rank 3 -> 31; p90 rank ceil(4.5) = 5 -> 900.
    EXPECT_EQ(f["median_response_s"], 31);
    EXPECT_EQ(f["p90_response_s"], 900);
    // Even count 4: median rank 2 -> 30; p90 rank ceil(3.6) = 4 -> 900.
    EXPECT_EQ(f["median_first_response_s"], 30);
    EXPECT_EQ(f["p90_first_response_s"], 900);
  }
}

TEST(BusinessHoursKpi, WithoutServiceHoursNothingChanges) {
  // The default rules: calendar time. u1 is 32 min = 1 920 000 ms; u2 (36 h)
  // and u4 (34 h) are past the 3600 s window: unanswered.
  std::vector<Event> ev = Tuesday();
  PeriodSnapshot s = RunEngine(ev, testing::TestRules(), kNov10, kNov10);
  const Counters& c = FindAgent(s, kA)->counters;
  EXPECT_EQ(c[kAnswered], 3);
  EXPECT_EQ(c[kUnanswered], 2);
  // 1 920 000 + 30 000 + 30 001.
  EXPECT_EQ(c[kResponseMsSum], 1'980'001);
  auto f = Figures(s);
  // Seconds {30, 31, 1920}: median rank 2 -> 31.
  EXPECT_EQ(f["median_response_s"], 31);
  EXPECT_EQ(f["p90_response_s"], 1920);
  EXPECT_EQ(f["answered_within_30s"], 1);
}

TEST(BusinessHoursKpi, PeriodMergesDaysExactly) {
  std::vector<Event> ev = Tuesday();
  for (const Event& e : Thursday()) ev.push_back(e);
  for (const PeriodSnapshot& s : AllOrders(ev, kNov10, kNov12, HoursRules())) {
    // Tuesday {0, 30, 31, 120, 900} + Thursday {7, 7}: seven values
    // {0, 7, 7, 30, 31, 120, 900}. Median rank 4 -> 30 (the mean of the
    // daily medians 31 and 7 would be 19); p90 rank ceil(6.3) = 7 -> 900.
    auto f = Figures(s);
    EXPECT_EQ(f["median_response_s"], 30);
    EXPECT_EQ(f["p90_response_s"], 900);
    EXPECT_EQ(f["answered_within_30s"], 4);
    EXPECT_EQ(f["response_rate_30s"], 4.0 / 7);
    // First questions {0, 30, 120, 900} + {7, 7}: six values, sorted
    // {0, 7, 7, 30, 120, 900}; median rank 3 -> 7.
    EXPECT_EQ(f["median_first_response_s"], 7);
    // Six consultations (u1..u4 Tuesday, u5, u6 Thursday); first answered
    // within 30 s: 0, 7, 7, 30 = 4.
    EXPECT_EQ(f["first_response_rate_30s"], 4.0 / 6);
  }
  PeriodSnapshot thursday = RunEngine(ev, HoursRules(), kNov12, kNov12);
  EXPECT_EQ(Figures(thursday)["median_response_s"], 7);
}

TEST(BusinessHoursKpi, SnapshotJsonAndChineseCsv) {
  Rules rules = HoursRules();
  rules.response_thresholds_s = {30, 180};
  PeriodSnapshot s = RunEngine(Tuesday(), rules, kNov10, kNov10);
  // The thresholds come from the rules stored with the figures.
  EXPECT_EQ(s.thresholds_s, (std::vector<int64_t>{30, 180}));
  const std::string json = SnapshotToJson(s);
  for (const char* piece :
       {"\"answered_within_30s\": 2, \"answered_within_180s\": 4, "
        "\"first_answered_within_30s\": 2, \"first_answered_within_180s\": 3, "
        "\"response_rate_30s\": 0.4, \"response_rate_180s\": 0.8, "
        "\"first_response_rate_30s\": 0.5, \"first_response_rate_180s\": "
        "0.75, \"median_response_s\": 31, \"p90_response_s\": 900, "
        "\"median_first_response_s\": 30, \"p90_first_response_s\": 900}"}) {
    EXPECT_NE(json.find(piece), std::string::npos) << json;
  }
  EXPECT_EQ(json.find("answered_within_60s"), std::string::npos);
  const std::string csv = SnapshotToCsv(s, ColumnLanguage::kChinese);
  const std::string header = csv.substr(0, csv.find("\r\n"));
  EXPECT_NE(header.find(",礼貌率,30秒内回答数,3分钟内回答数,30秒内首次响应数,"
                        "3分钟内首次响应数,30秒响应率,3分钟响应率,"
                        "30秒首次响应率,3分钟首次响应率,响应时间中位数(秒),"
                        "响应时间90分位(秒),首次响应时间中位数(秒),"
                        "首次响应时间90分位(秒)"),
            std::string::npos)
      << header;
  // The agent row ends with the figures:
  // 2,4,2,3,0.4,0.8,0.5,0.75,31,900,30,900.
  EXPECT_NE(csv.find(",2,4,2,3,0.4,0.8,0.5,0.75,31,900,30,900\r\n"),
            std::string::npos)
      << csv;
}

}  // namespace
}  // namespace chatkpi
