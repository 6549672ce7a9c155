#include "tools/generator_flags.h"

#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

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

std::vector<FlagSpec> GeneratorFlagSpecs(const GeneratorOptions& defaults) {
  auto with_default = [](const char* help, const auto& value) {
    return absl::StrCat(help, " (", value, ")");
  };
  return {
      {"seed", "N", with_default("random seed", defaults.seed)},
      {"agents", "N", with_default("agents", defaults.agents)},
      {"month", "YYYY-MM", with_default("the month", defaults.month)},
      {"delay-orders-s", "S",
       with_default("orders arrive S seconds late",
                    defaults.delay_orders_ms / 1000)},
      {"duplicates", "R",
       with_default("share of redelivered events", defaults.duplicate_rate)},
      {"malformed", "R",
       with_default("share of malformed lines", defaults.malformed_rate)}};
}

absl::Status ApplyGeneratorFlags(const Args& args, GeneratorOptions* o) {
  auto seed = args.GetInt("seed", static_cast<int64_t>(o->seed));
  auto agents = args.GetInt("agents", o->agents);
  auto buyers = args.GetInt("buyers", o->buyers);
  auto events = args.GetInt("events", o->target_events);
  auto delay = args.GetInt("delay-orders-s", o->delay_orders_ms / 1000);
  for (const auto* v : {&seed, &agents, &buyers, &events, &delay}) {
    if (!v->ok()) return v->status();
  }
  o->seed = static_cast<uint64_t>(*seed);
  o->agents = static_cast<int>(*agents);
  o->buyers = static_cast<int>(*buyers);
  o->target_events = *events;
  o->delay_orders_ms = *delay * 1000;
  o->month = args.Get("month").value_or(o->month);
  o->shop = args.Get("shop").value_or(o->shop);
  if (args.Has("shuffle")) o->shuffle = true;
  if (args.Has("assessments")) o->assessments = true;
  absl::Status s = ParseRate(args, "duplicates", &o->duplicate_rate);
  if (s.ok()) s = ParseRate(args, "malformed", &o->malformed_rate);
  if (s.ok()) s = ValidateGeneratorOptions(*o);
  return s;
}

}  // namespace chatkpi
