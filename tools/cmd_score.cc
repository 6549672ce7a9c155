#include <iostream>
#include <optional>

#include "absl/strings/numbers.h"
#include "engine/generation_select.h"
#include "query/month_score.h"
#include "query/period_awards.h"
#include "query/roster.h"
#include "query/scoring.h"
#include "store/store.h"
#include "tools/args.h"
#include "tools/commands.h"

namespace chatkpi {

absl::StatusOr<absl::CivilMonth> ParseMonthFlag(const Args& args) {
  auto v = args.Require("month");
  if (!v.ok()) return v.status();
  absl::CivilMonth m;
  if (v->size() != 7 || !absl::ParseCivilTime(*v, &m) ||
      absl::FormatTime("%Y-%m", absl::FromCivil(m, absl::UTCTimeZone()),
                       absl::UTCTimeZone()) != *v) {
    return absl::InvalidArgumentError("--month must be YYYY-MM, not '" + *v +
                                      "'");
  }
  return m;
}

namespace {

struct Period {
  std::string label;
  absl::CivilMonth first, last;
};

// --quarter YYYY-QN or --year YYYY.
absl::StatusOr<Period> ParsePeriodFlag(const Args& args) {
  Period p;
  if (auto q = args.Get("quarter"); q.has_value()) {
    int year = 0, quarter = 0;
    if (q->size() != 7 || (*q)[4] != '-' || (*q)[5] != 'Q' ||
        !absl::SimpleAtoi(q->substr(0, 4), &year) ||
        !absl::SimpleAtoi(q->substr(6), &quarter) || quarter < 1 ||
        quarter > 4 || year < 2000 || year > 2099) {
      return absl::InvalidArgumentError(
          "--quarter must be YYYY-QN (2025-Q4), "
          "not '" +
          *q + "'");
    }
    p.label = *q;
    p.first = absl::CivilMonth(year, 3 * (quarter - 1) + 1);
    p.last = p.first + 2;
    return p;
  }
  auto y = args.Get("year");
  int year = 0;
  if (!y.has_value() || y->size() != 4 || !absl::SimpleAtoi(*y, &year) ||
      year < 2000 || year > 2099) {
    return absl::InvalidArgumentError("--year must be YYYY, not '" +
                                      y.value_or("") + "'");
  }
  p.label = *y;
  p.first = absl::CivilMonth(year, 1);
  p.last = absl::CivilMonth(year, 12);
  return p;
}

}  // namespace

const CommandSpec& ScoreCommand() {
  static const auto* spec = new CommandSpec{
      "score",
      "",
      "month-end scores and pay (docs/scoring.md)",
      {{"db", "DIR", "the store (required)"},
       {"month", "YYYY-MM", "the month (one of --month, --quarter, --year)"},
       {"quarter", "YYYY-QN", "quarterly 最佳/优秀 nominations (kpi100)"},
       {"year", "YYYY", "yearly 最佳/优秀 nominations (kpi100)"},
       {"scheme", "FILE|kpi100|ecom10", "scoring scheme (required)"},
       {"format", "json|csv", "output format (json)"},
       {"lang", "en|zh", "column names (en)"},
       {"rules-version", "V", "a kept generation's rules version (live)"}},
      "exit codes: 0 done, 2 usage error, 1 other failure"};
  return *spec;
}

int RunScore(int argc, char** argv) {
  const char* kCmd = "score";
  auto args = Args::Parse(argc, argv, ScoreCommand());
  if (!args.ok()) return Fail(kCmd, args.status());
  auto db = args->Require("db");
  if (!db.ok()) return Fail(kCmd, db.status());
  const int periods =
      args->Has("month") + args->Has("quarter") + args->Has("year");
  if (periods > 1) {
    return Fail(kCmd, absl::InvalidArgumentError(
                          "give one of --month, --quarter and --year"));
  }
  // Quarterly/yearly nominations (docs/scoring.md) or one month.
  std::optional<Period> period;
  absl::CivilMonth month;
  if (args->Has("quarter") || args->Has("year")) {
    auto p = ParsePeriodFlag(*args);
    if (!p.ok()) return Fail(kCmd, p.status());
    period = std::move(*p);
  } else {
    auto m = ParseMonthFlag(*args);
    if (!m.ok()) return Fail(kCmd, m.status());
    month = *m;
  }
  auto scheme_arg = args->Require("scheme");
  if (!scheme_arg.ok()) return Fail(kCmd, scheme_arg.status());
  auto output = ParseOutputFormat(*args);
  if (!output.ok()) return Fail(kCmd, output.status());
  auto scheme = LoadSchemeByNameOrPath(*scheme_arg, CHATKPI_SCHEMES_DIR);
  if (!scheme.ok()) return Fail(kCmd, scheme.status());
  // --rules-version: a generation kept by `chatkpi replay --keep`.
  auto generation =
      OpenGeneration(*db, args->Get("rules-version").value_or(""));
  if (!generation.ok()) return Fail(kCmd, generation.status());
  Store* store = generation->store.get();
  const ColumnLanguage lang =
      output->chinese ? ColumnLanguage::kChinese : ColumnLanguage::kEnglish;
  if (period.has_value()) {
    auto roster = ReadCurrentRoster(*store);
    if (!roster.ok()) return Fail(kCmd, roster.status());
    if (!roster->has_value()) {
      std::cerr << "chatkpi score: warning: no roster; every agent with "
                   "activity or inputs is assessed\n";
    }
    auto reports =
        ScoreMonths(*store, *scheme, roster->has_value() ? &**roster : nullptr,
                    period->first, period->last);
    if (!reports.ok()) return Fail(kCmd, reports.status());
    for (const ScoreReport& r : *reports) {
      const std::string warning = UnknownInputsWarning(r);
      if (!warning.empty()) std::cerr << "chatkpi score: " << warning << "\n";
    }
    auto awards = ComputePeriodAwards(*scheme, period->label, *reports);
    if (!awards.ok()) return Fail(kCmd, awards.status());
    std::cout << (output->csv ? PeriodAwardsToCsv(*awards, lang)
                              : PeriodAwardsToJson(*awards));
    return 0;
  }
  auto report = ScoreMonth(*store, *scheme, month);
  if (!report.ok()) return Fail(kCmd, report.status());
  if (!report->roster_version) {
    std::cerr << "chatkpi score: warning: no roster; every agent with "
                 "activity or inputs in the month is assessed and paid "
                 "(import one with chatkpi roster --db DIR --file "
                 "staff.csv)\n";
  }
  if (const std::string warning = UnknownInputsWarning(*report);
      !warning.empty()) {
    std::cerr << "chatkpi score: " << warning << "\n";
  }
  std::cout << (output->csv ? ScoreReportToCsv(*report, lang)
                            : ScoreReportToJson(*report));
  return 0;
}

}  // namespace chatkpi
