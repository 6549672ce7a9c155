// The chatkpi subcommands. Each takes the arguments after its name and
// returns the process exit code: 0 success, 2 usage error, 1 other failure.
#ifndef CHATKPI_TOOLS_COMMANDS_H_
#define CHATKPI_TOOLS_COMMANDS_H_

namespace chatkpi {

int RunIngest(int argc, char** argv);
int RunSnapshot(int argc, char** argv);
int RunStats(int argc, char** argv);
int RunGen(int argc, char** argv);
int RunCheck(int argc, char** argv);
int RunScore(int argc, char** argv);
int RunAssess(int argc, char** argv);
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

}  // namespace chatkpi

#endif  // CHATKPI_TOOLS_COMMANDS_H_
