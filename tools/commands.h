// The chatkpi subcommands. Each takes the arguments after its name and
// returns the process exit code: 0 success, 2 usage error, 1 other failure
// (`check` also 3: some line is invalid). Each declares its command line
// once, as a CommandSpec (tools/args.h): tools/main.cc lists the pairs and
// answers `--help` and `chatkpi help CMD` from the spec.
#ifndef CHATKPI_TOOLS_COMMANDS_H_
#define CHATKPI_TOOLS_COMMANDS_H_

#include "tools/args.h"

namespace chatkpi {

const CommandSpec& IngestCommand();
const CommandSpec& SnapshotCommand();
const CommandSpec& StatsCommand();
const CommandSpec& DeadLettersCommand();
const CommandSpec& BackupCommand();
const CommandSpec& RestoreCommand();
const CommandSpec& GenCommand();
const CommandSpec& CheckCommand();
const CommandSpec& ScoreCommand();
const CommandSpec& AssessCommand();
const CommandSpec& RosterCommand();
const CommandSpec& StatementCommand();
const CommandSpec& ServeCommand();
const CommandSpec& ReplayCommand();
const CommandSpec& DiffCommand();
const CommandSpec& RunCommand();
const CommandSpec& BrokerCommand();
const CommandSpec& ProduceCommand();
const CommandSpec& DemoCommand();
const CommandSpec& ConvertConfigCommand();

int RunIngest(int argc, char** argv);
int RunSnapshot(int argc, char** argv);
int RunStats(int argc, char** argv);
int RunDeadLetters(int argc, char** argv);
int RunGen(int argc, char** argv);
int RunCheck(int argc, char** argv);
int RunScore(int argc, char** argv);
int RunAssess(int argc, char** argv);
int RunRoster(int argc, char** argv);
int RunStatement(int argc, char** argv);  // pay statement (工资条)
int RunServe(int argc, char** argv);
// Rules changes: docs/replay.md.
int RunReplay(int argc, char** argv);
int RunDiff(int argc, char** argv);
// Kafka: docs/kafka.md.
int RunConsumer(int argc, char** argv);  // `run`
int RunBroker(int argc, char** argv);
int RunProduce(int argc, char** argv);
int RunDemo(int argc, char** argv);
// Backups: docs/deploy.md.
int RunBackup(int argc, char** argv);
int RunRestore(int argc, char** argv);
// Old-syntax files to TOML: docs/config.md.
int RunConvertConfig(int argc, char** argv);

}  // namespace chatkpi

#endif  // CHATKPI_TOOLS_COMMANDS_H_
