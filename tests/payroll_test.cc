// Payroll-grade staff data (docs/scoring.md: "Roster", "Assessment inputs",
// "Output", "Pay statement", "Quarterly and yearly nominations"): who is
// assessed, which months count, checked inputs and schemes, and exports
// that explain themselves. Every expected figure is worked out by hand in
// the comment beside it from query/schemes/*.toml.
#include <cmath>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "query/assessment_metrics.h"
#include "query/pay_statement.h"
#include "query/period_awards.h"
#include "query/roster.h"
#include "query/scheme.h"
#include "query/scoring.h"

#ifndef CHATKPI_SOURCE_DIR
#define CHATKPI_SOURCE_DIR "."
#endif

namespace chatkpi {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

const Scheme& Shipped(const std::string& name) {
  static std::map<std::string, Scheme>* cache =
      new std::map<std::string, Scheme>;
  auto it = cache->find(name);
  if (it == cache->end()) {
    auto s = LoadSchemeFile(
        absl::StrCat(CHATKPI_SOURCE_DIR, "/query/schemes/", name, ".toml"));
    EXPECT_TRUE(s.ok()) << s.status();
    it = cache->emplace(name, s.ok() ? *std::move(s) : Scheme{}).first;
  }
  return it->second;
}

MonthInputs Month(const std::string& month) {
  absl::CivilMonth m;
  EXPECT_TRUE(absl::ParseCivilTime(month, &m));
  MonthInputs in;
  in.month = month;
  in.snapshot.from = absl::CivilDay(m);
  in.snapshot.to = absl::CivilDay(m + 1) - 1;
  in.snapshot.rules_version = "default";
  return in;
}

Assessment In(const std::string& agent, const std::string& period,
              const std::string& metric, double value) {
  return {agent, period, metric, value, std::llround(value * 100)};
}

AgentRow Sales(const std::string& agent, int64_t sales_fen,
               int64_t refund_fen = 0) {
  AgentRow r;
  r.agent = agent;
  r.counters[kSalesFen] = sales_fen;
  r.counters[kRefundFen] = refund_fen;
  if (sales_fen > 0) r.counters[kPaidOrders] = 1;
  if (refund_fen > 0) r.counters[kRefunds] = 1;
  return r;
}

Roster MustRoster(const std::string& csv) {
  auto r = ParseRosterCsv(csv);
  EXPECT_TRUE(r.ok()) << r.status();
  Roster out = r.ok() ? *std::move(r) : Roster{};
  out.version = 1;
  return out;
}

ScoreReport MustScore(const Scheme& scheme, const MonthInputs& in) {
  auto r = Score(scheme, in);
  EXPECT_TRUE(r.ok()) << r.status();
  return r.ok() ? *std::move(r) : ScoreReport{};
}

const AgentScore* Find(const ScoreReport& r, const std::string& agent) {
  for (const AgentScore& a : r.agents) {
    if (a.agent == agent) return &a;
  }
  return nullptr;
}

// ---------------------------------------------------------------------------
// Roster file.

TEST(RosterCsv, ParsesBomCrlfQuotesAndChineseNames) {
  auto r = ParseRosterCsv(
      "\xEF\xBB\xBF"
      "agent,name,hired,left\r\n"
      "shop:b,\"李, 四\",2026-11-15,\r\n"
      "shop:a,王小明,2025-01-01,2026-10-31\r\n"
      "\r\n");
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->entries.size(), 2u);
  EXPECT_EQ(r->entries[0].agent, "shop:a");  // sorted by agent
  EXPECT_EQ(r->entries[0].name, "王小明");
  EXPECT_EQ(r->entries[0].left, absl::CivilDay(2026, 10, 31));
  EXPECT_EQ(r->entries[1].name, "李, 四");
  EXPECT_FALSE(r->entries[1].left.has_value());
  // Columns in any order; name and left may be missing.
  EXPECT_TRUE(ParseRosterCsv("hired,agent\n2026-01-01,x\n").ok());
}

TEST(RosterCsv, BadRowsAreRefusedWithTheirLines) {
  absl::Status s = ParseRosterCsv(
                       "agent,name,hired,left\n"
                       "a,A,2026-13-01,\n"            // line 2: bad date
                       "b,B,2026-02-01,2026-01-31\n"  // line 3: left < hired
                       "c,C,2026-01-01,\n"
                       "c,C2,2026-01-01,\n"     // line 5: repeats 4
                       ",D,2026-01-01,\n"       // line 6: no id
                       "e,E,2026-01-01,soon\n"  // line 7: bad left
                       "f,F,2026-01-01\n")      // line 8: 3 fields
                       .status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(),
              HasSubstr("line 2: hired '2026-13-01' is not a date"));
  EXPECT_THAT(s.message(), HasSubstr("line 3: left 2026-01-31 is before hired "
                                     "2026-02-01"));
  EXPECT_THAT(s.message(), HasSubstr("line 5: agent 'c' repeats line 4"));
  EXPECT_THAT(s.message(), HasSubstr("line 6: empty agent id"));
  EXPECT_THAT(s.message(), HasSubstr("line 7: left 'soon' is not a date"));
  EXPECT_THAT(s.message(), HasSubstr("line 8: 3 fields, the header has 4"));
  EXPECT_THAT(ParseRosterCsv("agent,name,hired,dept\na,A,2026-01-01,x\n")
                  .status()
                  .message(),
              HasSubstr("line 1: unknown column 'dept'"));
  EXPECT_THAT(ParseRosterCsv("agent,name\na,A\n").status().message(),
              HasSubstr("lacks the column 'hired'"));
  EXPECT_THAT(ParseRosterCsv("agent,hired\n").status().message(),
              HasSubstr("lists no agents"));
  // Day 30 of February does not exist (absl would normalize it).
  EXPECT_FALSE(ParseRosterCsv("agent,hired\na,2026-02-30\n").ok());
  // Two rows without an id are two empty ids, not a repeat of one.
  const std::string two_empty = std::string(
      ParseRosterCsv("agent,name,hired\n,A,2026-01-01\n,B,2026-01-01\n")
          .status()
          .message());
  EXPECT_THAT(two_empty, HasSubstr("line 3: empty agent id"));
  EXPECT_THAT(two_empty, Not(HasSubstr("repeats")));
}

// An id typed with a character that shows as nothing or as a space made an
// agent that looks like the real one and is not: the real one went unpaid
// ("unrostered"), with exit 0.
TEST(RosterCsv, IdsWithInvisibleCharactersAreRefused) {
  absl::Status s =
      ParseRosterCsv(
          "agent,name,hired\n"
          "shop:li\xE3\x80\x80,李,2026-01-01\n"          // U+3000 at its end
          "shop:\xC2\xA0wang,王,2026-01-01\n"            // U+00A0
          "\xEF\xBB\xBFshop:zhao,赵,2026-01-01\n"        // a BOM on row 4
          "shop:q\xE2\x80\x8Bian,钱,2026-01-01\n"        // U+200B
          "shop:s\xE2\x80\x82un,孙,2026-01-01\n"         // U+2002
          "shop:zhou,周 小\xE3\x80\x80明,2026-01-01\n")  // a name may
          .status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("line 2: agent id 'shop:li\xE3\x80\x80' "
                                     "holds a U+3000 ideographic space"));
  EXPECT_THAT(s.message(), HasSubstr("line 3: agent id"));
  EXPECT_THAT(s.message(), HasSubstr("U+00A0 no-break space"));
  EXPECT_THAT(s.message(), HasSubstr("line 4: agent id"));
  EXPECT_THAT(s.message(), HasSubstr("U+FEFF byte order mark"));
  EXPECT_THAT(s.message(), HasSubstr("line 5: agent id"));
  EXPECT_THAT(s.message(), HasSubstr("U+200B zero-width space"));
  EXPECT_THAT(s.message(), HasSubstr("line 6: agent id"));
  EXPECT_THAT(s.message(), HasSubstr("U+2002 typographic space"));
  EXPECT_THAT(s.message(), Not(HasSubstr("line 7")));
  // Every other character that shows as nothing or as a space.
  for (const char* hidden : {
           "\xE2\x80\xAF",      // U+202F narrow no-break space
           "\xE2\x81\x9F",      // U+205F medium mathematical space
           "\xE1\x9A\x80",      // U+1680 ogham space mark
           "\xE2\x80\x8E",      // U+200E left-to-right mark
           "\xE2\x80\xAE",      // U+202E right-to-left override
           "\xE2\x81\xA6",      // U+2066 left-to-right isolate
           "\xE2\x81\xA1",      // U+2061 function application
           "\xCD\x8F",          // U+034F combining grapheme joiner
           "\xEF\xB8\x8F",      // U+FE0F variation selector-16
           "\xF3\xA0\x80\xA0",  // U+E0020 tag space
           "\xC2\xAD",          // U+00AD soft hyphen
           "\xE1\xA0\x8E",      // U+180E Mongolian vowel separator
           "\xE3\x85\xA4",      // U+3164 Hangul filler
           "\xE1\x85\x9F",      // U+115F Hangul choseong filler
           "\xEF\xBE\xA0",      // U+FFA0 halfwidth Hangul filler
           "\xE2\x80\xA8",      // U+2028 line separator
           "\x01",
           "\x7F",
           "\xC2\x85",  // U+0085 next line
       }) {
    const std::string id = absl::StrCat("shop:", hidden, "a");
    EXPECT_EQ(CheckTypedAgentId(id).code(), absl::StatusCode::kInvalidArgument)
        << absl::CHexEscape(id);
  }
  // Bytes that are not UTF-8, in an id or a name.
  EXPECT_THAT(CheckTypedAgentId("shop:\xE9"
                                "a")
                  .message(),
              HasSubstr("not UTF-8 at byte 5"));
  EXPECT_THAT(CheckTypedAgentId("shop:\xC0\xAF").message(),  // overlong '/'
              HasSubstr("not UTF-8"));
  EXPECT_THAT(ParseRosterCsv("agent,name,hired\nshop:a,Al\xE9ice,2026-01-01\n")
                  .status()
                  .message(),
              HasSubstr("line 2: name 'Al\xE9ice' holds bytes that are not "
                        "UTF-8 at byte 2"));
  // Other characters beyond ASCII are ids like any other.
  EXPECT_TRUE(CheckTypedAgentId("旗舰店:小王").ok());
  EXPECT_TRUE(CheckTypedAgentId("shop:\xF0\x9F\x98\x80").ok());  // U+1F600
  EXPECT_TRUE(CheckTypedAgentId("shop:\xE2\x80\x94"
                                "dash")
                  .ok());  // U+2014
}

// chatkpi's own CSV guards text a spreadsheet would run as a formula with a
// leading '; imported again, that ' became part of the id, and the agent
// was no longer rostered.
TEST(RosterCsv, ExportedCsvImportsAsTheSameRoster) {
  Roster r = MustRoster(
      "agent,name,hired,left\n"
      "@li,-Li,2026-01-01,\n"
      "=sum,+x,2026-01-01,2026-11-30\n"
      "shop:a,\"a, b\",2026-02-01,\n");
  auto again = ParseRosterCsv(RosterToCsv(r));
  ASSERT_TRUE(again.ok()) << again.status() << "\n" << RosterToCsv(r);
  ASSERT_EQ(again->entries.size(), r.entries.size());
  for (size_t i = 0; i < r.entries.size(); ++i) {
    EXPECT_EQ(again->entries[i].agent, r.entries[i].agent);
    EXPECT_EQ(again->entries[i].name, r.entries[i].name);
    EXPECT_EQ(again->entries[i].hired, r.entries[i].hired);
    EXPECT_EQ(again->entries[i].left, r.entries[i].left);
  }
  EXPECT_EQ(again->entries[0].agent, "=sum");
  EXPECT_EQ(again->entries[1].agent, "@li");
}

TEST(RosterCsv, EmployedInTheMonth) {
  Roster r = MustRoster(
      "agent,hired,left\n"
      "early,2026-10-01,\n"
      "lastday,2026-11-30,\n"              // hired on November's last day: in
      "december,2026-12-01,\n"             // hired after it: out
      "leftfirst,2025-01-01,2026-11-01\n"  // left on its first day: in
      "leftbefore,2025-01-01,2026-10-31\n");  // left the day before: out
  EXPECT_THAT(r.EmployedAgents(absl::CivilMonth(2026, 11)),
              ElementsAre("early", "lastday", "leftfirst"));
  EXPECT_THAT(r.EmployedAgents(absl::CivilMonth(2026, 10)),
              ElementsAre("early", "leftbefore", "leftfirst"));
}

// ---------------------------------------------------------------------------
// Who is assessed.

// November 2026 under ecom10: a rostered seller, a rostered hire of the
// last day with no activity, and three kinds of stray activity.
MonthInputs StaffMonth() {
  MonthInputs in = Month("2026-11");
  in.snapshot.agents = {Sales("bot", 50000),           // 500.00 yuan
                        Sales("shop:a", 1000000),      // 10000.00
                        Sales("shop:old", 0, 10000)};  // refund 100.00
  in.snapshot.unattributed[kSalesFen] = 2000000;       // public: 20000.00 yuan
  in.assessments = {In("shop:a", "2026-11", "self", 8),
                    In("shop:A", "2026-11", "self", 10)};  // a typo
  return in;
}

const char kStaff[] =
    "agent,name,hired,left\n"
    "shop:a,王小明,2025-01-01,\n"
    "shop:b,新人,2026-11-30,\n"
    "shop:old,老员工,2024-01-01,2026-10-31\n";

TEST(RosterScoring, PaysExactlyTheEmployedAgents) {
  const Roster roster = MustRoster(kStaff);
  MonthInputs in = StaffMonth();
  in.roster = &roster;
  ScoreReport r = MustScore(Shipped("ecom10"), in);
  ASSERT_EQ(r.agents.size(), 2u);
  EXPECT_EQ(r.roster_version, 1);
  EXPECT_EQ(r.employed_count, 2);
  EXPECT_EQ(r.assessed_count, 2);
  // Public commission: 20000.00 x 0.5% = 100.00 yuan, / 2 employed agents
  // (not / 5 with the strays) = 50.00 yuan = 5000 fen each.
  EXPECT_EQ(r.public_pool_fen, 2000000);
  EXPECT_EQ(r.public_divisor, 2);
  const AgentScore* a = Find(r, "shop:a");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->name, "王小明");
  // Only `self` scores: 8 points -> 不合格 (band from 0): base 2000 yuan.
  // Personal: 10000.00 x 1.5% = 150.00 yuan.
  // Pay: 200000 + 15000 + 5000 = 220000 fen.
  EXPECT_EQ(a->total_centi, 800);
  EXPECT_EQ(a->pay->base_fen, 200000);
  EXPECT_EQ(a->pay->personal_commission_fen, 15000);
  EXPECT_EQ(a->pay->public_commission_fen, 5000);
  EXPECT_EQ(a->pay->total_fen, 220000);
  // shop:b has no activity and is still assessed and paid:
  // 0 points -> base 2000 yuan + public 50 = 205000 fen.
  const AgentScore* b = Find(r, "shop:b");
  ASSERT_NE(b, nullptr);
  EXPECT_TRUE(b->assessed);
  EXPECT_EQ(b->pay->total_fen, 205000);
  // The strays: listed with their counters, never paid or ranked.
  ASSERT_EQ(r.unrostered.size(), 3u);
  EXPECT_EQ(r.unrostered[0].agent, "bot");
  EXPECT_EQ(r.unrostered[0].net_sales_fen, 50000);
  EXPECT_EQ(r.unrostered[1].agent, "shop:A");
  EXPECT_THAT(r.unrostered[1].inputs, ElementsAre("self"));
  EXPECT_EQ(r.unrostered[2].agent, "shop:old");
  EXPECT_EQ(r.unrostered[2].net_sales_fen, -10000);
  EXPECT_EQ(Find(r, "shop:A"), nullptr);
  // Team net sales are the shop's: 2000000 + 1000000 + 50000 - 10000.
  EXPECT_EQ(r.team_net_sales_fen, 3040000);

  const std::string json = ScoreReportToJson(r);
  EXPECT_THAT(json, HasSubstr("\"roster\": {\"version\": 1, \"employed\": 2}"));
  EXPECT_THAT(json, HasSubstr("\"unrostered\": [\n  {\"agent\": \"bot\", "
                              "\"net_sales_fen\": 50000, \"inputs\": []"));
  EXPECT_THAT(json, HasSubstr("\"public_commission\": {\"pool_fen\": 2000000, "
                              "\"rate\": \"0.5%\", \"divisor\": 2}"));
}

TEST(RosterScoring, WithoutARosterEveryoneWithActivityIsAssessed) {
  ScoreReport r = MustScore(Shipped("ecom10"), StaffMonth());
  EXPECT_FALSE(r.roster_version.has_value());
  EXPECT_TRUE(r.unrostered.empty());
  // bot, shop:A, shop:a, shop:old: 100.00 yuan / 4 = 25.00 each.
  EXPECT_EQ(r.assessed_count, 4);
  EXPECT_EQ(Find(r, "shop:a")->pay->public_commission_fen, 2500);
  EXPECT_THAT(ScoreReportToJson(r), HasSubstr("\"roster\": null"));
}

// ---------------------------------------------------------------------------
// Which months count.

// One chat in October by an agent hired on 1 November.
MonthInputs StrayOctober(const std::string& scheme_month = "2026-10") {
  MonthInputs in = Month(scheme_month);
  AgentRow row;
  row.agent = "a";
  row.counters[kConsultations] = 1;
  row.counters[kSalesFen] = 1000;  // a 10-yuan order
  row.counters[kPaidOrders] = 1;
  in.snapshot.agents = {row};
  return in;
}

TEST(RosterHistory, StrayEventsBeforeTheHireDateRaiseNoDismissal) {
  // kpi100: any total < 70 warns; two consecutive months < 70 dismiss.
  const Scheme& kpi = Shipped("kpi100");
  MonthInputs nov = Month("2026-11");
  nov.snapshot.agents = {Sales("a", 100)};
  // Without a roster the stray October counts: < 70 twice -> dismissal.
  {
    MonthInputs oct = StrayOctober();
    MonthInputs n = nov;
    n.previous = {MustScore(kpi, oct)};
    const ScoreReport r = MustScore(kpi, n);
    const AgentScore* a = Find(r, "a");
    ASSERT_NE(a, nullptr);
    EXPECT_THAT(a->flags, ElementsAre("warning", "dismissal"));
  }
  // With a roster (hired 2026-11-01) October is no history: warning only.
  const Roster roster = MustRoster("agent,hired\na,2026-11-01\n");
  MonthInputs oct = StrayOctober();
  oct.roster = &roster;
  MonthInputs n = nov;
  n.roster = &roster;
  n.previous = {MustScore(kpi, oct)};
  EXPECT_TRUE(n.previous[0].agents.empty());
  const ScoreReport r = MustScore(kpi, n);
  const AgentScore* a = Find(r, "a");
  ASSERT_NE(a, nullptr);
  EXPECT_THAT(a->flags, ElementsAre("warning"));
}

TEST(RosterHistory, GrowthOnlyAgainstAMonthWithRosteredAgents) {
  const Scheme& ecom = Shipped("ecom10");
  MonthInputs nov = Month("2026-11");
  nov.snapshot.agents = {Sales("a", 1500000)};  // 15000.00 yuan
  // Without a roster: 15000.00 over October's 10.00 is far above 50%:
  // 100 yuan growth award.
  {
    MonthInputs n = nov;
    n.previous = {MustScore(ecom, StrayOctober())};
    EXPECT_EQ(Find(MustScore(ecom, n), "a")->pay->growth_award_fen, 10000);
  }
  // With a roster hiring a on 2026-11-01, October employed nobody: no base.
  const Roster late = MustRoster("agent,hired\na,2026-11-01\n");
  {
    MonthInputs oct = StrayOctober();
    oct.roster = &late;
    MonthInputs n = nov;
    n.roster = &late;
    n.previous = {MustScore(ecom, oct)};
    ScoreReport r = MustScore(ecom, n);
    EXPECT_FALSE(r.previous_team_net_sales_fen.has_value());
    EXPECT_EQ(Find(r, "a")->pay->growth_award_fen, 0);
  }
  // Hired on 2026-10-01, October (10000.00 yuan) counts: growth
  // (15000 - 10000) / 10000 = 50% >= 50%: 100 yuan.
  const Roster early = MustRoster("agent,hired\na,2026-10-01\n");
  MonthInputs oct = Month("2026-10");
  oct.snapshot.agents = {Sales("a", 1000000)};
  oct.roster = &early;
  MonthInputs n = nov;
  n.roster = &early;
  n.previous = {MustScore(ecom, oct)};
  ScoreReport r = MustScore(ecom, n);
  EXPECT_EQ(r.previous_team_net_sales_fen, 1000000);
  EXPECT_EQ(r.growth_award_fen, 10000);
  EXPECT_EQ(Find(r, "a")->pay->growth_award_fen, 10000);
}

TEST(RosterHistory, StrayMonthsMakeNoRankOneStreak) {
  // ecom10: rank 1 three months running pays 200 yuan once. a is the only
  // agent with events in September and October (strays) and November.
  const Scheme& ecom = Shipped("ecom10");
  auto three_months = [&](const Roster* roster) {
    std::vector<ScoreReport> previous;
    for (const char* m : {"2026-09", "2026-10"}) {
      MonthInputs in = StrayOctober(m);
      in.roster = roster;
      in.previous = previous;
      previous.push_back(MustScore(ecom, in));
    }
    MonthInputs nov = Month("2026-11");
    nov.snapshot.agents = {Sales("a", 100)};
    nov.roster = roster;
    nov.previous = previous;
    return MustScore(ecom, nov);
  };
  // Without a roster: rank 1 in September, October and November: 200 yuan.
  ScoreReport r = three_months(nullptr);
  EXPECT_EQ(Find(r, "a")->pay->rank1_award_fen, 20000);
  // Hired on 1 November: the stray months are no history, no award.
  const Roster roster = MustRoster("agent,hired\na,2026-11-01\n");
  r = three_months(&roster);
  EXPECT_EQ(Find(r, "a")->rank, 1);
  EXPECT_EQ(Find(r, "a")->pay->rank1_award_fen, 0);
}

// ---------------------------------------------------------------------------
// Checked inputs.

TEST(AssessmentInput, RefusesUnknownNamesBadValuesAndInexactMoney) {
  EXPECT_TRUE(CheckAssessmentInput("execution", "7.5").ok());
  EXPECT_TRUE(CheckAssessmentInput("sales_target", "10000.05").ok());
  EXPECT_TRUE(CheckAssessmentInput("assessment.quality", "3").ok());
  EXPECT_TRUE(CheckAssessmentInput("absent_days", "61").ok());
  EXPECT_THAT(CheckAssessmentInput("excution", "5").message(),
              HasSubstr("unknown metric 'excution'"));
  EXPECT_FALSE(CheckAssessmentInput("assessment.Bad", "1").ok());
  EXPECT_THAT(CheckAssessmentInput("sales_target", "-100").message(),
              HasSubstr("is negative"));
  EXPECT_THAT(CheckAssessmentInput("execution", "-0.5").message(),
              HasSubstr("is negative"));
  // 1.005 yuan is not a whole number of fen: refused, never rounded.
  EXPECT_THAT(CheckAssessmentInput("sales_target", "1.005").message(),
              HasSubstr("at most 2 decimals"));
  EXPECT_FALSE(CheckAssessmentInput("seniority_pay", "1e3").ok());
  EXPECT_FALSE(CheckAssessmentInput("sales_target", "0").ok());
  // Marks: execution 0..10, followup 0..5 (docs/spec.md §5).
  EXPECT_THAT(CheckAssessmentInput("execution", "11").message(),
              HasSubstr("above its maximum 10"));
  EXPECT_FALSE(CheckAssessmentInput("followup", "5.5").ok());
  EXPECT_THAT(CheckAssessmentInput("absent_days", "1.5").message(),
              HasSubstr("whole number"));
  EXPECT_FALSE(CheckAssessmentInput("absent_days", "367").ok());
}

std::string ShippedText(const std::string& name) {
  std::ifstream in(
      absl::StrCat(CHATKPI_SOURCE_DIR, "/query/schemes/", name, ".toml"));
  std::stringstream buf;
  buf << in.rdbuf();
  return buf.str();
}

std::string Without(std::string text, const std::string& line) {
  size_t at = text.find(line);
  EXPECT_NE(at, std::string::npos) << line;
  if (at != std::string::npos) text.erase(at, line.size());
  return text;
}

TEST(SchemeRules, MissingRulesAreRefusedNotWeakened) {
  const std::string ecom = ShippedText("ecom10");
  EXPECT_THAT(
      ParseScheme(Without(ecom, "public_rate = \"0.5%\"\n")).status().message(),
      HasSubstr("missing 'public_rate' in [commission]"));
  EXPECT_THAT(ParseScheme(Without(ecom, "absence_limit_days = 60\n"))
                  .status()
                  .message(),
              HasSubstr("missing 'absence_limit_days'"));
  // Dropping the 不合格 band (min_total 0) would pay base 0 below 65.
  std::string no_floor = ecom;
  no_floor.replace(no_floor.find("min_total = 0\n"), 14, "min_total = 10\n");
  EXPECT_THAT(ParseScheme(no_floor).status().message(),
              HasSubstr("needs a [grade] with min_total = 0"));
  // Turning a rule off is possible, on purpose.
  std::string off = ecom;
  off.replace(off.find("absence_limit_days = 60"), 23,
              "absence_limit_days = \"none\"");
  auto s = ParseScheme(off);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_FALSE(s->absence_limit_days.has_value());
}

// ---------------------------------------------------------------------------
// Exports.

TEST(ScoreExport, CsvIsSafeAndExplainsThePay) {
  const Roster roster = MustRoster(
      "agent,name,hired\n"
      "\"=HYPERLINK(\"\"http://x\"\")\",@SUM(1),2025-01-01\n"
      "shop:a,王小明,2025-01-01\n");
  MonthInputs in = Month("2026-11");
  in.snapshot.agents = {Sales("+1+1", 100), Sales("shop:a", 2100000)};
  in.snapshot.unattributed[kSalesFen] = 2000000;
  in.roster = &roster;
  ScoreReport r = MustScore(Shipped("ecom10"), in);
  const AgentScore* a = Find(r, "shop:a");
  ASSERT_NE(a, nullptr);
  // S = 21000.00 in (20000, 25000]: (21000 - 20000) x 4% + 250 = 290.00.
  EXPECT_EQ(a->commission_bracket,
            "(20000, 25000] rate 4% over 20000 plus 250");
  EXPECT_EQ(a->commission_arithmetic,
            "(21000.00 - 20000.00) x 4% + 250.00 = 290.00");
  EXPECT_EQ(a->pay->personal_commission_fen, 29000);

  const std::string csv = ScoreReportToCsv(r);
  std::vector<std::string> lines = absl::StrSplit(csv.substr(3), "\r\n");
  EXPECT_THAT(lines[0], HasSubstr("month,scheme,rules_version,agent,name,"));
  EXPECT_THAT(lines[0], HasSubstr(",consultations_actual,consultations_target,"
                                  "consultations_points,"));
  EXPECT_THAT(lines[0],
              HasSubstr(",public_pool(元),public_rate,public_divisor,"
                        "public_commission(元),top_sets_sold_award(元),"
                        "sales_growth_award(元),rank1_streak_award(元),"
                        "awards(元),seniority_pay(元),total_pay(元)"));
  EXPECT_THAT(csv, Not(HasSubstr("_fen")));
  // The hostile roster entry and the unrostered id are text, not formulas.
  EXPECT_THAT(csv, HasSubstr("\"'=HYPERLINK(\"\"http://x\"\")\",'@SUM(1),"));
  EXPECT_THAT(csv, HasSubstr("2026-11,ecom10,default,'+1+1,,0,"));
  EXPECT_THAT(csv, Not(HasSubstr(",=")));
  EXPECT_THAT(csv, Not(HasSubstr(",+")));
  // shop:a: base 2000.00 (0 points: 不合格), the bracket and its
  // arithmetic, public pool 20000.00 x 0.5% / 2 = 50.00, total
  // 2000 + 290 + 50 = 2340.00.
  EXPECT_THAT(csv, HasSubstr(",2000.00,\"(20000, 25000] rate 4% over 20000 "
                             "plus 250\",(21000.00 - 20000.00) x 4% + 250.00 "
                             "= 290.00,290.00,20000.00,0.5%,2,50.00,0.00,0.00,"
                             "0.00,0.00,0.00,2340.00"));
  const std::string zh = ScoreReportToCsv(r, ColumnLanguage::kChinese);
  EXPECT_THAT(zh, HasSubstr("当月工资(元)"));
  EXPECT_THAT(zh, Not(HasSubstr("(分)")));
  EXPECT_THAT(zh, HasSubstr("不在花名册"));
  // JSON keeps fen and names each award.
  EXPECT_THAT(ScoreReportToJson(r),
              HasSubstr("\"total_fen\": 234000, \"awards\": "
                        "{\"top_sets_sold_fen\": 0, \"sales_growth_fen\": 0, "
                        "\"rank1_streak_fen\": 0}"));
}

TEST(ScoreExport, PayStatementHasEveryFigure) {
  const Roster roster = MustRoster(kStaff);
  MonthInputs in = StaffMonth();
  in.roster = &roster;
  ScoreReport r = MustScore(Shipped("ecom10"), in);
  auto a = FindStatementAgent(r, "shop:a");
  ASSERT_TRUE(a.ok()) << a.status();
  const std::string csv = PayStatementCsv(r, **a);
  EXPECT_THAT(csv, HasSubstr("月份 / month,2026-11\r\n"));
  EXPECT_THAT(csv, HasSubstr("姓名 / name,王小明\r\n"));
  EXPECT_THAT(csv, HasSubstr("个人自评分 得分 / points,8\r\n"));
  EXPECT_THAT(csv, HasSubstr("提成算式 / commission arithmetic (元),"
                             "10000.00 x 1.5% = 150.00\r\n"));
  EXPECT_THAT(csv, HasSubstr("公共提成分摊人数 / public divisor,2\r\n"));
  EXPECT_THAT(csv, HasSubstr("当月工资 / total pay (元),2200.00\r\n"));
  const std::string html = PayStatementHtml(r, **a);
  EXPECT_THAT(html, HasSubstr("<title>工资条 shop:a 2026-11</title>"));
  EXPECT_THAT(html, HasSubstr("<td class=\"n\">2200.00</td>"));
  // Unrostered agents get no statement.
  EXPECT_THAT(FindStatementAgent(r, "shop:A").status().message(),
              HasSubstr("not on the roster"));
}

TEST(ScoreExport, StatementHtmlEscapesText) {
  const Roster roster =
      MustRoster("agent,name,hired\n<b>x</b>,\"a&b\",2025-01-01\n");
  MonthInputs in = Month("2026-11");
  in.roster = &roster;
  ScoreReport r = MustScore(Shipped("ecom10"), in);
  const std::string html = PayStatementHtml(r, r.agents[0]);
  EXPECT_THAT(html, HasSubstr("&lt;b&gt;x&lt;/b&gt;"));
  EXPECT_THAT(html, HasSubstr("a&amp;b"));
  EXPECT_THAT(html, Not(HasSubstr("<b>x")));
}

// ---------------------------------------------------------------------------
// The rest of the seed.

TEST(SeedRest, Ecom10TrainingAndPromotionFromTheGradeTable) {
  MonthInputs in = Month("2026-11");
  // self 10 + supervisor 10 + sets 76 (1 point each, uncapped) = 96: 卓越.
  // self 10 + supervisor 10 + sets 60 = 80: 良好.
  // self 5 = 5: 不合格.
  in.assessments = {In("x", "2026-11", "self", 10),
                    In("x", "2026-11", "supervisor", 10),
                    In("x", "2026-11", "sets_sold", 76),
                    In("y", "2026-11", "self", 10),
                    In("y", "2026-11", "supervisor", 10),
                    In("y", "2026-11", "sets_sold", 60),
                    In("z", "2026-11", "self", 5)};
  ScoreReport r = MustScore(Shipped("ecom10"), in);
  const AgentScore* x = Find(r, "x");
  EXPECT_EQ(x->total_centi, 9600);
  EXPECT_EQ(x->grade, "卓越");
  EXPECT_EQ(x->training, "无");
  EXPECT_EQ(x->promotion, "推荐");
  const AgentScore* y = Find(r, "y");
  EXPECT_EQ(y->grade, "良好");
  EXPECT_EQ(y->training, "较强");
  EXPECT_EQ(y->promotion, "");
  const AgentScore* z = Find(r, "z");
  EXPECT_EQ(z->grade, "不合格");
  EXPECT_EQ(z->training, "强");
  EXPECT_THAT(ScoreReportToJson(r),
              HasSubstr("\"training\": \"无\", \"promotion\": \"推荐\""));
}

TEST(SeedRest, Kpi100ShowsSelfAndSupervisorUnscored) {
  MonthInputs in = Month("2026-11");
  in.assessments = {In("a", "2026-11", "execution", 6),
                    In("a", "2026-11", "self", 9),
                    In("a", "2026-11", "supervisor", 7.5)};
  ScoreReport r = MustScore(Shipped("kpi100"), in);
  const AgentScore* a = Find(r, "a");
  // Only execution scores: 6 points; self and supervisor add nothing.
  EXPECT_EQ(a->total_centi, 600);
  ASSERT_EQ(a->reference.size(), 2u);
  EXPECT_EQ(a->reference[0].first, "self");
  EXPECT_EQ(a->reference[0].second, 9.0);
  EXPECT_EQ(a->reference[1].second, 7.5);
  EXPECT_THAT(ScoreReportToJson(r),
              HasSubstr("\"reference\": {\"self\": 9, \"supervisor\": 7.5}"));
  EXPECT_THAT(ScoreReportToCsv(r), HasSubstr(",self_reference,"
                                             "supervisor_reference"));
}

// A month's report with the given totals (points) for assessed agents.
ScoreReport Totals(const std::string& month,
                   const std::vector<std::pair<std::string, int64_t>>& t) {
  ScoreReport r;
  r.month = month;
  for (const auto& [agent, centi] : t) {
    AgentScore& a = r.agents.emplace_back();
    a.agent = agent;
    a.assessed = true;
    a.total_centi = centi;
  }
  return r;
}

TEST(SeedRest, QuarterNominationsWithQuotasAndTies) {
  // 21 agents assessed in the quarter: best floor(21 x 5%) = 1, excellent
  // floor(21 x 10%) = 2. p01 sums 3 x 90 = 270; p02 and p03 tie at 3 x 85
  // = 255 and fill excellent exactly; p04..p20 sum 3 x 70 = 210; late was
  // assessed in 2 months only (2 x 99 = 198): counted in the 21, not
  // eligible.
  std::vector<ScoreReport> months;
  for (const char* m : {"2025-10", "2025-11", "2025-12"}) {
    std::vector<std::pair<std::string, int64_t>> t = {
        {"p01", 9000}, {"p02", 8500}, {"p03", 8500}};
    for (int i = 4; i <= 20; ++i) {
      t.emplace_back(absl::StrCat("p", i < 10 ? "0" : "", i), 7000);
    }
    if (std::string(m) != "2025-10") t.emplace_back("late", 9900);
    months.push_back(Totals(m, t));
  }
  auto p = ComputePeriodAwards(Shipped("kpi100"), "2025-Q4", months);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->agent_count, 21);
  EXPECT_EQ(p->best_quota, 1);
  EXPECT_EQ(p->excellent_quota, 2);
  EXPECT_EQ(p->agents[0].agent, "p01");
  EXPECT_EQ(p->agents[0].sum_centi, 27000);
  EXPECT_EQ(p->agents[0].award, "best");
  EXPECT_EQ(p->agents[1].award, "excellent");
  EXPECT_EQ(p->agents[2].award, "excellent");
  EXPECT_EQ(p->agents[2].rank, 2);  // tied with p02
  EXPECT_EQ(p->agents[3].award, "");
  EXPECT_EQ(p->agents.back().agent, "late");
  EXPECT_FALSE(p->agents.back().eligible);
  EXPECT_EQ(p->agents.back().award, "");
  // A third agent tied at 255 would overflow the 2 excellent places: the
  // tie earns nothing rather than exceeding the 10% maximum.
  for (ScoreReport& r : months) {
    for (AgentScore& a : r.agents) {
      if (a.agent == "p04") a.total_centi = 8500;
    }
  }
  p = ComputePeriodAwards(Shipped("kpi100"), "2025-Q4", months);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->agents[0].award, "best");
  for (int i = 1; i <= 3; ++i) EXPECT_EQ(p->agents[i].award, "") << i;
  EXPECT_THAT(PeriodAwardsToJson(*p),
              HasSubstr("{\"agent\": \"p01\", \"months_assessed\": 3, "
                        "\"eligible\": true, \"period_total\": 270, "
                        "\"rank\": 1, \"award\": \"best\"}"));
  // ecom10 has no quota: no nominations, refused.
  EXPECT_FALSE(ComputePeriodAwards(Shipped("ecom10"), "2025", months).ok());
}

}  // namespace
}  // namespace chatkpi
