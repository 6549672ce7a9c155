// The flags that shape a generated month (tools/generator.h), shared by
// `chatkpi gen` and `chatkpi demo`:
//
//   --seed N             random seed
//   --agents N           agents
//   --month YYYY-MM      the month
//   --events N           about N lines in all
//   --delay-orders-s S   orders arrive S seconds late
//   --duplicates R       share of redelivered events
//   --malformed R        share of malformed lines
//
// and, for the commands that offer them, --buyers, --shop, --shuffle and
// --assessments. Each command keeps its own defaults.
#ifndef CHATKPI_TOOLS_GENERATOR_FLAGS_H_
#define CHATKPI_TOOLS_GENERATOR_FLAGS_H_

#include <vector>

#include "absl/status/status.h"
#include "tools/args.h"
#include "tools/generator.h"

namespace chatkpi {

// The first six flags above, which every such command takes, with their
// help, which names the command's `defaults`.
std::vector<FlagSpec> GeneratorFlagSpecs(const GeneratorOptions& defaults);

// Sets `o` from those of the flags above that `args` has; the others keep
// their values in `o` (the command's defaults). Then checks the result
// (ValidateGeneratorOptions).
absl::Status ApplyGeneratorFlags(const Args& args, GeneratorOptions* o);

}  // namespace chatkpi

#endif  // CHATKPI_TOOLS_GENERATOR_FLAGS_H_
