// chatkpi: per-agent customer-service KPIs from chat and order events.
#include <algorithm>
#include <cstring>
#include <iostream>

#include "absl/synchronization/mutex.h"
#include "tools/args.h"
#include "tools/commands.h"

namespace {

// A command: its declared command line (tools/args.h) and what runs it.
// A new command adds one line here.
struct Command {
  const chatkpi::CommandSpec& (*spec)();
  int (*run)(int, char**);
};

const Command kCommands[] = {
    {chatkpi::IngestCommand, chatkpi::RunIngest},
    {chatkpi::SnapshotCommand, chatkpi::RunSnapshot},
    {chatkpi::CheckCommand, chatkpi::RunCheck},
    {chatkpi::ScoreCommand, chatkpi::RunScore},
    {chatkpi::AssessCommand, chatkpi::RunAssess},
    {chatkpi::RosterCommand, chatkpi::RunRoster},
    {chatkpi::StatementCommand, chatkpi::RunStatement},
    {chatkpi::ReplayCommand, chatkpi::RunReplay},
    {chatkpi::DiffCommand, chatkpi::RunDiff},
    {chatkpi::StatsCommand, chatkpi::RunStats},
    {chatkpi::DeadLettersCommand, chatkpi::RunDeadLetters},
    {chatkpi::BackupCommand, chatkpi::RunBackup},
    {chatkpi::RestoreCommand, chatkpi::RunRestore},
    {chatkpi::GenCommand, chatkpi::RunGen},
    {chatkpi::ServeCommand, chatkpi::RunServe},
    {chatkpi::RunCommand, chatkpi::RunConsumer},
    {chatkpi::ProduceCommand, chatkpi::RunProduce},
    {chatkpi::BrokerCommand, chatkpi::RunBroker},
    {chatkpi::DemoCommand, chatkpi::RunDemo},
    {chatkpi::ConvertConfigCommand, chatkpi::RunConvertConfig},
};

const Command* Find(const char* name) {
  for (const Command& c : kCommands) {
    if (c.spec().name == name) return &c;
  }
  return nullptr;
}

void Usage(std::ostream& out) {
  out << "usage: chatkpi COMMAND [flags]\n"
         "       chatkpi help [COMMAND]      chatkpi COMMAND --help\n\n"
         "commands:\n";
  size_t width = 0;
  for (const Command& c : kCommands) {
    width = std::max(width, c.spec().name.size());
  }
  for (const Command& c : kCommands) {
    std::string name = c.spec().name;
    name.resize(width + 2, ' ');
    out << "  " << name << c.spec().summary << "\n";
  }
  out << "\nexit codes: 0 success; 2 usage error (unknown or repeated flag, "
         "bad date,\n  bad rules file); 1 any other failure; 3 `check` found "
         "invalid lines\n";
}

}  // namespace

int main(int argc, char** argv) {
  // Debian's Abseil is built with its debug checks, which record the order
  // of every absl::Mutex acquisition in a process-wide graph under a global
  // lock: 6x the cost of a lock and unlock pair, on the shard threads' path
  // for every event (the id claims, the pool of evicted states). A release
  // build of Abseil leaves the check off; so does chatkpi (docs/engine.md,
  // "Throughput"). The tests keep it on, where it finds lock-order bugs.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  if (argc < 2) {
    Usage(std::cerr);
    return 2;
  }
  const char* first = argv[1];
  if (!std::strcmp(first, "--help") || !std::strcmp(first, "-h") ||
      !std::strcmp(first, "help")) {
    if (argc == 2) {
      Usage(std::cout);
      return 0;
    }
    const Command* c = Find(argv[2]);
    if (c == nullptr) {
      std::cerr << "chatkpi help: unknown command '" << argv[2] << "'\n";
      Usage(std::cerr);
      return 2;
    }
    if (argc > 3) {
      std::cerr << "chatkpi help: unexpected argument '" << argv[3] << "'\n";
      return 2;
    }
    std::cout << chatkpi::HelpText(c->spec());
    return 0;
  }
  if (const Command* c = Find(first)) {
    if (chatkpi::WantsHelp(argc - 2, argv + 2, c->spec())) {
      std::cout << chatkpi::HelpText(c->spec());
      return 0;
    }
    return c->run(argc - 2, argv + 2);
  }
  std::cerr << "chatkpi: unknown command '" << first << "'\n";
  Usage(std::cerr);
  return 2;
}
