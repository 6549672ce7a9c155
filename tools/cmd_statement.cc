#include <iostream>

#include "engine/generation_select.h"
#include "query/month_score.h"
#include "query/pay_statement.h"
#include "store/store.h"
#include "tools/args.h"
#include "tools/commands.h"

namespace chatkpi {

absl::StatusOr<absl::CivilMonth> ParseMonthFlag(const Args& args);

// `chatkpi statement --db DIR --month M --scheme S --agent A
// [--format csv|html]`: one agent's pay statement (工资条).
const CommandSpec& StatementCommand() {
  static const auto* spec = new CommandSpec{
      "statement",
      "",
      "one agent's pay statement (工资条): every figure behind the pay",
      {{"db", "DIR", "the store (required)"},
       {"month", "YYYY-MM", "the month (required)"},
       {"scheme", "FILE|kpi100|ecom10", "scoring scheme (required)"},
       {"agent", "A", "the agent (required)"},
       {"format", "csv|html", "output format (csv)"},
       {"rules-version", "V", "a kept generation's rules version (live)"}},
      "docs/scoring.md. exit codes: 0 done, 2 usage error, 1 other failure"};
  return *spec;
}

int RunStatement(int argc, char** argv) {
  const char* kCmd = "statement";
  auto args = Args::Parse(argc, argv, StatementCommand());
  if (!args.ok()) return Fail(kCmd, args.status());
  if (auto s = args->RequireNoPositional(); !s.ok()) return Fail(kCmd, s);
  auto db = args->Require("db");
  if (!db.ok()) return Fail(kCmd, db.status());
  auto month = ParseMonthFlag(*args);
  if (!month.ok()) return Fail(kCmd, month.status());
  auto scheme_arg = args->Require("scheme");
  if (!scheme_arg.ok()) return Fail(kCmd, scheme_arg.status());
  auto agent = args->Require("agent");
  if (!agent.ok()) return Fail(kCmd, agent.status());
  const std::string format = args->Get("format").value_or("csv");
  if (format != "csv" && format != "html") {
    return Fail(kCmd,
                absl::InvalidArgumentError("--format must be csv or html"));
  }
  auto scheme = LoadSchemeByNameOrPath(*scheme_arg, CHATKPI_SCHEMES_DIR);
  if (!scheme.ok()) return Fail(kCmd, scheme.status());
  auto generation =
      OpenGeneration(*db, args->Get("rules-version").value_or(""));
  if (!generation.ok()) return Fail(kCmd, generation.status());
  auto report = ScoreMonth(*generation->store, *scheme, *month);
  if (!report.ok()) return Fail(kCmd, report.status());
  if (const std::string warning = UnknownInputsWarning(*report);
      !warning.empty()) {
    std::cerr << "chatkpi statement: " << warning << "\n";
  }
  auto a = FindStatementAgent(*report, *agent);
  if (!a.ok()) return Fail(kCmd, a.status());
  std::cout << (format == "html" ? PayStatementHtml(*report, **a)
                                 : PayStatementCsv(*report, **a));
  return 0;
}

}  // namespace chatkpi
