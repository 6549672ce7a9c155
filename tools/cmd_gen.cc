#include <fstream>
#include <iostream>

#include "absl/strings/numbers.h"
#include "tools/args.h"
#include "tools/commands.h"
#include "tools/generator.h"

namespace chatkpi {
namespace {

absl::Status ParseRate(const Args& args, const std::string& name, double* out) {
  auto v = args.Get(name);
  if (!v.has_value()) return absl::OkStatus();
  if (!absl::SimpleAtod(*v, out) || *out < 0 || *out > 1) {
    return absl::InvalidArgumentError("--" + name +
                                      " must be a number in [0, 1]");
  }
  return absl::OkStatus();
}

}  // namespace

const CommandSpec& GenCommand() {
  static const auto* spec = new CommandSpec{
      "gen",
      "",
      "generate a shop's month of events",
      {{"seed", "N", "random seed (1)"},
       {"agents", "N", "agents"},
       {"buyers", "N", "buyers"},
       {"month", "YYYY-MM", "the month"},
       {"events", "N", "stop after about N events (no limit)"},
       {"delay-orders-s", "S", "orders arrive S seconds late (0)"},
       {"duplicates", "R", "share of redelivered events (0)"},
       {"malformed", "R", "share of malformed lines (0)"},
       {"shop", "NAME", "shop name in agent ids"},
       {"out", "FILE", "write here (stdout)"},
       {"shuffle", "", "events out of time order"},
       {"assessments", "", "also targets and supervisor marks"}},
      "exit codes: 0 done, 2 usage error, 1 other failure"};
  return *spec;
}

int RunGen(int argc, char** argv) {
  const char* kCmd = "gen";
  auto args = Args::Parse(argc, argv, GenCommand());
  if (!args.ok()) return Fail(kCmd, args.status());
  GeneratorOptions o;
  auto seed = args->GetInt("seed", 1);
  auto agents = args->GetInt("agents", o.agents);
  auto buyers = args->GetInt("buyers", o.buyers);
  auto events = args->GetInt("events", 0);
  auto delay = args->GetInt("delay-orders-s", 0);
  for (const auto* v : {&seed, &agents, &buyers, &events, &delay}) {
    if (!v->ok()) return Fail(kCmd, v->status());
  }
  o.seed = static_cast<uint64_t>(*seed);
  o.agents = static_cast<int>(*agents);
  o.buyers = static_cast<int>(*buyers);
  o.target_events = *events;
  o.delay_orders_ms = *delay * 1000;
  o.month = args->Get("month").value_or(o.month);
  o.shop = args->Get("shop").value_or(o.shop);
  o.shuffle = args->Has("shuffle");
  o.assessments = args->Has("assessments");
  absl::Status s = ParseRate(*args, "duplicates", &o.duplicate_rate);
  if (s.ok()) s = ParseRate(*args, "malformed", &o.malformed_rate);
  if (s.ok()) s = ValidateGeneratorOptions(o);
  if (!s.ok()) return Fail(kCmd, s);

  auto out_path = args->Get("out");
  std::ofstream file;
  if (out_path.has_value()) {
    file.open(*out_path, std::ios::binary | std::ios::trunc);
    if (!file) {
      return Fail(kCmd, absl::NotFoundError("cannot write " + *out_path));
    }
  }
  std::ostream& out = out_path.has_value() ? file : std::cout;
  auto n = WriteJsonl(o, out);
  if (!n.ok()) return Fail(kCmd, n.status());
  out.flush();
  if (!out) return Fail(kCmd, absl::DataLossError("write failed"));
  std::cerr << "generated " << *n << " lines\n";
  return 0;
}

}  // namespace chatkpi
