#include <iostream>

#include "engine/generation_select.h"
#include "query/month_score.h"
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

const CommandSpec& ScoreCommand() {
  static const auto* spec = new CommandSpec{
      "score",
      "",
      "month-end scores and pay (docs/scoring.md)",
      {{"db", "DIR", "the store (required)"},
       {"month", "YYYY-MM", "the month (required)"},
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
  auto month = ParseMonthFlag(*args);
  if (!month.ok()) return Fail(kCmd, month.status());
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
  auto report = ScoreMonth(*store, *scheme, *month);
  if (!report.ok()) return Fail(kCmd, report.status());
  const ColumnLanguage lang =
      output->chinese ? ColumnLanguage::kChinese : ColumnLanguage::kEnglish;
  std::cout << (output->csv ? ScoreReportToCsv(*report, lang)
                            : ScoreReportToJson(*report));
  return 0;
}

}  // namespace chatkpi
