#include <fstream>
#include <iostream>

#include "tools/args.h"
#include "tools/commands.h"
#include "tools/generator.h"
#include "tools/generator_flags.h"

namespace chatkpi {

const CommandSpec& GenCommand() {
  static const auto* spec = [] {
    auto* c =
        new CommandSpec{"gen", "", "generate a shop's month of events",
                        GeneratorFlagSpecs(GeneratorOptions()),
                        "exit codes: 0 done, 2 usage error, 1 other failure"};
    c->flags.insert(c->flags.end(),
                    {{"buyers", "N", "buyers"},
                     {"events", "N", "stop after about N events (no limit)"},
                     {"shop", "NAME", "shop name in agent ids"},
                     {"out", "FILE", "write here (stdout)"},
                     {"shuffle", "", "events out of time order"},
                     {"assessments", "", "also targets and supervisor marks"}});
    return c;
  }();
  return *spec;
}

int RunGen(int argc, char** argv) {
  const char* kCmd = "gen";
  auto args = Args::Parse(argc, argv, GenCommand());
  if (!args.ok()) return Fail(kCmd, args.status());
  GeneratorOptions o;
  if (absl::Status s = ApplyGeneratorFlags(*args, &o); !s.ok()) {
    return Fail(kCmd, s);
  }

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
