// chatkpi: per-agent customer-service KPIs from chat and order events.
#include <cstring>
#include <iostream>

#include "tools/commands.h"

namespace {

struct Command {
  const char* name;
  int (*run)(int, char**);
  const char* help;
};

constexpr Command kCommands[] = {
    {"ingest", chatkpi::RunIngest,
     "--db DIR [--rules FILE] FILE...   take in JSONL events (- = stdin)"},
    {"snapshot", chatkpi::RunSnapshot,
     "--db DIR --from YYYY-MM-DD --to YYYY-MM-DD [--format json|csv] "
     "[--lang en|zh] [--rules-version V]"},
    {"check", chatkpi::RunCheck,
     "[--quiet] FILE...   validate JSONL without a store (exit 3 if any "
     "line is invalid)"},
    {"score", chatkpi::RunScore,
     "--db DIR --month YYYY-MM --scheme FILE|kpi100|ecom10 [--format json|csv] "
     "[--lang en|zh] [--rules-version V]"},
    {"assess", chatkpi::RunAssess,
     "--db DIR --agent A --month YYYY-MM --metric M --value V [--id ID] "
     "[--ts MS]   append an assessment input"},
    {"replay", chatkpi::RunReplay,
     "--db DIR --rules FILE [--keep] [--commit-every N] [--quiet]   "
     "recompute history under new rules, switch live (docs/replay.md)"},
    {"diff", chatkpi::RunDiff,
     "--db DIR --from YYYY-MM-DD --to YYYY-MM-DD --rules-a V1 --rules-b V2 "
     "[--scheme FILE|kpi100|ecom10] [--format json|csv]   KPIs, scores and "
     "pay under two rules versions"},
    {"stats", chatkpi::RunStats,
     "--db DIR   events, dead letters, agents, days"},
    {"backup", chatkpi::RunBackup,
     "--db DIR --to NEWDIR   consistent copy, safe while the store is in use"},
    {"restore", chatkpi::RunRestore,
     "--from BACKUP --db NEWDIR   make a store of a backup"},
    {"gen", chatkpi::RunGen,
     "[--seed N] [--agents N] [--buyers N] [--month YYYY-MM] [--events N] "
     "[--shuffle] [--delay-orders-s N] [--duplicates R] [--malformed R] "
     "[--assessments] [--out FILE]   generate a shop's month of events"},
    {"serve", chatkpi::RunServe,
     "--db DIR [--bind 127.0.0.1] [--port 8080] [--token-file FILE | "
     "--no-auth] [--dashboard-token-file FILE] [--follow "
     "[--follow-interval-ms 200]] [--schemes-dir DIR] [--threads N] "
     "[--access-log]   HTTP API and live dashboard (docs/http_api.md, "
     "docs/dashboard.md); --from-changelog --brokers B --changelog-topic T "
     "[--db DIR]: the whole group's view (docs/scaling.md)"},
    {"run", chatkpi::RunConsumer,
     "--brokers HOST:PORT|mock --db DIR [--group G] [--chat-topic T] "
     "[--order-topic T] [--dlq-topic T] [--changelog-topic T] [--rules FILE] "
     "[--until-caught-up] [--exit-when-idle MS] [--port N [--bind A] "
     "[--token-file FILE | --no-auth] [--dashboard-token-file FILE]] "
     "[--config FILE] ...   consume Kafka "
     "(docs/kafka.md, docs/scaling.md)"},
    {"produce", chatkpi::RunProduce,
     "--brokers HOST:PORT [--chat-topic T] [--order-topic T] FILE...   "
     "publish JSONL events keyed by buyer"},
    {"broker", chatkpi::RunBroker,
     "[--partitions 8] [--chat-topic T] [--order-topic T] [--dlq-topic T] "
     "[--changelog-topic T]   "
     "standalone mock Kafka cluster; prints its address"},
    {"demo", chatkpi::RunDemo,
     "[--events 50000] [--partitions 8] [--seed N] [--month YYYY-MM] "
     "[--db DIR]   embedded broker: generate, produce, consume, print the "
     "month snapshot"},
};

void Usage() {
  std::cerr << "usage: chatkpi COMMAND [flags]\n\ncommands:\n";
  for (const Command& c : kCommands) {
    std::cerr << "  " << c.name << " " << c.help << "\n";
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || !std::strcmp(argv[1], "--help") ||
      !std::strcmp(argv[1], "-h")) {
    Usage();
    return argc < 2 ? 2 : 0;
  }
  for (const Command& c : kCommands) {
    if (!std::strcmp(argv[1], c.name)) return c.run(argc - 2, argv + 2);
  }
  std::cerr << "chatkpi: unknown command '" << argv[1] << "'\n";
  Usage();
  return 2;
}
