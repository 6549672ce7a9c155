// `chatkpi diff --db DIR --from D --to D --rules-a V1 --rules-b V2
// [--scheme FILE] [--format text|json|csv] [--lang en|zh] [--all]`: the
// same history under two rules versions side by side (query/diff.h).
#include <iostream>

#include "query/diff.h"
#include "query/month_score.h"
#include "tools/args.h"
#include "tools/commands.h"

namespace chatkpi {

const CommandSpec& DiffCommand() {
  static const auto* spec = new CommandSpec{
      "diff",
      "",
      "KPIs, scores and pay under two rules versions (docs/replay.md)",
      {{"db", "DIR", "the store (required)"},
       {"from", "YYYY-MM-DD", "first day (required)"},
       {"to", "YYYY-MM-DD", "last day, included (required)"},
       {"rules-a", "V", "one rules version (the live one)"},
       {"rules-b", "V", "the other (the live one)"},
       {"scheme", "FILE|kpi100|ecom10", "also scores and pay"},
       {"format", "text|json|csv",
        "a report for people, or data (text; json has every figure)"},
       {"lang", "en|zh", "language of the report and CSV names (en)"},
       {"all", "", "every figure, not only the changed ones"}},
      "exit codes: 0 done, 2 usage error, 1 other failure"};
  return *spec;
}

int RunDiff(int argc, char** argv) {
  const char* kCmd = "diff";
  auto args = Args::Parse(argc, argv, DiffCommand());
  if (!args.ok()) return Fail(kCmd, args.status());
  auto db = args->Require("db");
  if (!db.ok()) return Fail(kCmd, db.status());
  DiffRequest req;
  auto from = args->RequireDay("from");
  if (!from.ok()) return Fail(kCmd, from.status());
  auto to = args->RequireDay("to");
  if (!to.ok()) return Fail(kCmd, to.status());
  req.from = *from;
  req.to = *to;
  if (req.to < req.from) {
    return Fail(kCmd, absl::InvalidArgumentError("--to is before --from"));
  }
  // Either version may be left out: the live generation.
  req.rules_a = args->Get("rules-a").value_or("");
  req.rules_b = args->Get("rules-b").value_or("");
  // A report for people by default; json/csv for programs and sheets.
  const std::string format = args->Get("format").value_or("text");
  if (format != "text" && format != "json" && format != "csv") {
    return Fail(
        kCmd, absl::InvalidArgumentError("--format must be text, json or csv"));
  }
  const std::string lang = args->Get("lang").value_or("en");
  if (lang != "en" && lang != "zh") {
    return Fail(kCmd, absl::InvalidArgumentError("--lang must be en or zh"));
  }
  DiffView view;
  view.all = args->Has("all");
  view.lang =
      lang == "zh" ? ColumnLanguage::kChinese : ColumnLanguage::kEnglish;
  std::optional<Scheme> scheme;
  if (auto s = args->Get("scheme"); s.has_value()) {
    auto loaded = LoadSchemeByNameOrPath(*s, CHATKPI_SCHEMES_DIR);
    if (!loaded.ok()) return Fail(kCmd, loaded.status());
    scheme = std::move(*loaded);
    req.scheme = &*scheme;
  }
  auto diff = DiffGenerations(*db, req);
  if (!diff.ok()) return Fail(kCmd, diff.status());
  std::cout << (format == "json"  ? DiffToJson(*diff)
                : format == "csv" ? DiffToCsv(*diff, view)
                                  : DiffToReport(*diff, view));
  return 0;
}

}  // namespace chatkpi
