// Flags shared by the Kafka commands (`run`, `demo`, `produce`, `broker`):
// the consumer's settings, a config file that stands for flags, and
// SIGINT/SIGTERM turned into a clean stop.
#ifndef CHATKPI_TOOLS_KAFKA_FLAGS_H_
#define CHATKPI_TOOLS_KAFKA_FLAGS_H_

#include <atomic>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "engine/kafka_ingest.h"
#include "ingest/kafka_config.h"
#include "store/store.h"
#include "tools/args.h"

namespace chatkpi {

// Flags of `chatkpi run` that configure the consumer (see docs/kafka.md),
// with their help, and their names.
const std::vector<FlagSpec>& KafkaRunFlagSpecs();
const std::set<std::string>& KafkaRunFlags();

// The command line with `--config FILE` replaced by the file's settings,
// placed first so that flags on the command line win. The file is TOML
// (docs/kafka.md, docs/config.md): `name = value` for a flag of `flags`
// without "--" (a switch is `name = true`), and a [kafka] table of librdkafka
// properties passed on as they are. An unknown setting, a value of the
// wrong type or a table other than [kafka] is refused with file:line:column.
//
// For one release a file that is not TOML and not named *.toml is read in
// the old syntax (`name = value` unquoted, `kafka.<property> = value`), and
// `warning` says so.
struct ExpandedArgs {
  std::vector<std::string> args;
  KafkaProperties properties;  // from the [kafka] table
  // args[0, from_config) come from the file: the command line may give
  // them again (Args::Parse's `overridable`).
  int from_config = 0;
  std::string warning;  // non-empty: the file is in the old syntax

  // argv-style pointers into `args`, for Args::Parse.
  std::vector<char*> argv();
};
absl::StatusOr<ExpandedArgs> ExpandConfigFile(
    int argc, char** argv, const std::vector<FlagSpec>& flags);

// An old-syntax `--config` text rewritten in TOML with its comments kept
// (`chatkpi convert-config`): values quoted (whole numbers not), a bare
// switch `name = true`, `name = false` of a valued flag commented out (it
// meant "not given"), and the `kafka.` lines in a [kafka] table at the end.
// `flags` tells switches from valued flags; an unknown name is refused.
absl::StatusOr<std::string> ConvertOldRunConfigToToml(
    std::string_view text, std::string_view source,
    const std::vector<FlagSpec>& flags);

// The consumer options from the flags of KafkaRunFlags(). `brokers` is the
// resolved bootstrap list (the embedded cluster's for "mock").
absl::Status KafkaIngestOptionsFromArgs(const Args& args,
                                        const std::string& brokers,
                                        const KafkaProperties& properties,
                                        KafkaIngestOptions* options);

// Client settings for a producer: --brokers and --kafka-config.
absl::StatusOr<KafkaClientConfig> KafkaClientFromArgs(const Args& args);

// Refuses a store that an earlier consumer fed when the broker is an
// embedded mock cluster, which starts empty in every process.
absl::Status CheckFreshForMock(Store& store);

// The first SIGINT or SIGTERM sets the returned flag; a second one kills
// the process as usual.
const std::atomic<bool>* StopOnSignals();

}  // namespace chatkpi

#endif  // CHATKPI_TOOLS_KAFKA_FLAGS_H_
