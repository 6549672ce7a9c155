// `chatkpi diff --db DIR --from D --to D --rules-a V1 --rules-b V2
// [--scheme FILE] [--format json|csv]`: the same history under two rules
// versions side by side (query/diff.h).
#include <iostream>

#include "query/diff.h"
#include "query/month_score.h"
#include "tools/args.h"
#include "tools/commands.h"

namespace chatkpi {

int RunDiff(int argc, char** argv) {
  const char* kCmd = "diff";
  auto args = Args::Parse(
      argc, argv,
      {"db", "from", "to", "rules-a", "rules-b", "scheme", "format"});
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
  auto output = ParseOutputFormat(*args);
  if (!output.ok()) return Fail(kCmd, output.status());
  std::optional<Scheme> scheme;
  if (auto s = args->Get("scheme"); s.has_value()) {
    auto loaded = LoadSchemeByNameOrPath(*s, CHATKPI_SCHEMES_DIR);
    if (!loaded.ok()) return Fail(kCmd, loaded.status());
    scheme = std::move(*loaded);
    req.scheme = &*scheme;
  }
  auto diff = DiffGenerations(*db, req);
  if (!diff.ok()) return Fail(kCmd, diff.status());
  std::cout << (output->csv ? DiffToCsv(*diff) : DiffToJson(*diff));
  return 0;
}

}  // namespace chatkpi
