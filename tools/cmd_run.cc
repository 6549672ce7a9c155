// `chatkpi run`: a consumer-group member over the chat and order topics
// feeding the store (engine/kafka_ingest.h). `--brokers mock` embeds
// librdkafka's mock cluster; `--demo` runs `chatkpi demo` instead. With
// `--port` the process also serves the HTTP API (query/http_server.h) over
// its own store: the KPIs of the partitions it owns (the team's whole view
// is `chatkpi serve --from-changelog`, docs/scaling.md).
#include <cstdio>
#include <cstring>
#include <iostream>
#include <memory>

#include "absl/strings/str_cat.h"
#include "engine/engine.h"
#include "engine/kafka_ingest.h"
#include "engine/meta.h"
#include "engine/rules.h"
#include "ingest/kafka_mock_cluster.h"
#include "query/http_auth.h"
#include "query/http_server.h"
#include "query/live_feed.h"
#include "query/metrics.h"
#include "store/store.h"
#include "tools/args.h"
#include "tools/commands.h"
#include "tools/http_flags.h"
#include "tools/kafka_flags.h"

namespace chatkpi {

const CommandSpec& RunCommand() {
  static const auto* spec = [] {
    auto* c = new CommandSpec{
        "run",
        "",
        "consume Kafka into the store (docs/kafka.md, docs/scaling.md)",
        {{"db", "DIR", "the store (required)"},
         {"rules", "FILE",
          "rules for a new store; without it, the store's live rules"},
         {"partitions", "N", "with --brokers mock: partitions per topic (8)"},
         {"until-caught-up", "", "exit once every partition is read"},
         {"config", "FILE",
          "settings file in TOML (docs/kafka.md); flags given on the "
          "command line win"},
         {"demo", "", "run `chatkpi demo` instead (its flags follow)"},
         {"port", "N", "also serve the HTTP API and dashboard"},
         {"bind", "ADDR", "with --port: listen address (127.0.0.1)"},
         {"token-file", "FILE", "with --port: admin token"},
         {"dashboard-token-file", "FILE", "with --port: wall-screen token"},
         {"no-auth", "", "with --port: serve without tokens"}},
        "SIGINT or SIGTERM stops the consumer after its last commit.\n"
        "exit codes: 0 stopped (signal, caught up or idle), 2 usage error, "
        "1 other failure"};
    c->flags.insert(c->flags.begin(), KafkaRunFlagSpecs().begin(),
                    KafkaRunFlagSpecs().end());
    for (const FlagSpec& f : HttpLimitFlagSpecs()) c->flags.push_back(f);
    return c;
  }();
  return *spec;
}

int RunConsumer(int argc, char** argv) {
  const char* kCmd = "run";
  for (int i = 0; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--demo")) {
      std::vector<char*> rest(argv, argv + argc);
      rest.erase(rest.begin() + i);
      return RunDemo(static_cast<int>(rest.size()), rest.data());
    }
  }
  auto expanded = ExpandConfigFile(argc, argv, RunCommand().flags);
  if (!expanded.ok()) return Fail(kCmd, expanded.status());
  if (!expanded->warning.empty()) {
    std::fprintf(stderr, "chatkpi run: warning: %s\n",
                 expanded->warning.c_str());
  }
  std::vector<char*> args_v = expanded->argv();
  auto args = Args::Parse(static_cast<int>(args_v.size()), args_v.data(),
                          RunCommand(), expanded->from_config);
  if (!args.ok()) return Fail(kCmd, args.status());
  if (absl::Status s = args->RequireNoPositional(); !s.ok()) {
    return Fail(kCmd, s);
  }
  auto db = args->Require("db");
  if (!db.ok()) return Fail(kCmd, db.status());
  auto brokers = args->Require("brokers");
  if (!brokers.ok()) return Fail(kCmd, brokers.status());
  // Without --rules the store's own (the last replay's; the defaults for a
  // new store), read once the store is open.
  std::optional<Rules> rules;
  if (args->Has("rules")) {
    auto loaded = LoadRulesFile(*args->Get("rules"));
    if (!loaded.ok()) return Fail(kCmd, loaded.status());
    rules = std::move(*loaded);
  }

  KafkaIngestOptions opts;
  std::unique_ptr<KafkaMockCluster> mock;
  std::string bootstrap = *brokers;
  if (*brokers == "mock") {
    auto partitions = args->GetInt("partitions", 8);
    if (!partitions.ok()) return Fail(kCmd, partitions.status());
    auto cluster = KafkaMockCluster::Start();
    if (!cluster.ok()) return Fail(kCmd, cluster.status());
    mock = std::move(*cluster);
    bootstrap = mock->bootstrap();
  } else if (args->Has("partitions")) {
    return Fail(kCmd, absl::InvalidArgumentError(
                          "--partitions only applies to --brokers mock"));
  }
  absl::Status s =
      KafkaIngestOptionsFromArgs(*args, bootstrap, expanded->properties, &opts);
  if (!s.ok()) return Fail(kCmd, s);
  if (mock != nullptr) {
    const int partitions = static_cast<int>(*args->GetInt("partitions", 8));
    for (const std::string& t :
         {opts.chat_topic, opts.order_topic, opts.dlq_topic,
          opts.changelog_topic, opts.state_topic}) {
      if (t.empty()) continue;
      s = mock->CreateTopic(t, partitions);
      if (!s.ok()) return Fail(kCmd, s);
    }
    std::cerr << "chatkpi run: embedded mock Kafka cluster at " << bootstrap
              << " (" << partitions << " partitions per topic); publish with "
              << "`chatkpi produce --brokers " << bootstrap << " FILE`\n";
  }
  opts.stop = StopOnSignals();

  auto store = Store::Open(*db, StoreOptions());
  if (!store.ok()) return Fail(kCmd, store.status());
  if (!rules.has_value()) {
    auto live_rules = LiveRulesOrDefault(**store);
    if (!live_rules.ok()) return Fail(kCmd, live_rules.status());
    rules = std::move(*live_rules);
  }
  if (mock != nullptr) {
    s = CheckFreshForMock(**store);
    if (!s.ok()) return Fail(kCmd, s);
  }
  // Declared before the server, which holds it: every commit wakes the
  // dashboard's /api/live streams (docs/dashboard.md).
  LiveFeed feed;
  MetricsRegistry metrics;
  std::unique_ptr<HttpServer> server;
  if (args->Has("port")) {
    auto port = args->GetInt("port", 8080);
    if (!port.ok()) return Fail(kCmd, port.status());
    HttpServerOptions ho;
    ho.bind_address = args->Get("bind").value_or(ho.bind_address);
    s = HttpLimitsFromArgs(*args, &ho);
    if (!s.ok()) return Fail(kCmd, s);
#ifdef CHATKPI_SCHEMES_DIR
    ho.schemes_dir = CHATKPI_SCHEMES_DIR;
#endif
    ho.live_waiting = true;
    ho.live_feed = &feed;
    opts.on_commit = [&feed] { feed.Notify(); };
    // The ingest series of /metrics (docs/http_api.md "Metrics").
    ho.metrics = &metrics;
    MetricHistogram* latency = CommitLatencyMetric(metrics);
    opts.on_commit_latency = [latency](absl::Duration d) {
      latency->Observe(absl::ToDoubleSeconds(d));
    };
    opts.on_ingested = [&metrics](const std::string& source, int64_t n) {
      IngestedEventsMetric(metrics, source)->Increment(n);
    };
    opts.on_lag = [&metrics](const std::string& source, int64_t lag) {
      IngestLagMetric(metrics, source)->Set(static_cast<double>(lag));
    };
    auto token = LoadAdminToken(args->Get("token-file"));
    if (!token.ok()) return Fail(kCmd, token.status());
    auto dash_token = LoadDashboardToken(args->Get("dashboard-token-file"));
    if (!dash_token.ok()) return Fail(kCmd, dash_token.status());
    if (dash_token->has_value()) {
      WarnIfTokenFileReadable(kCmd, args->Get("dashboard-token-file"));
      ho.tokens.emplace_back(**dash_token, Role::kDashboard);
    }
    if (token->has_value()) {
      WarnIfTokenFileReadable(kCmd, args->Get("token-file"));
      ho.tokens.emplace_back(**token, Role::kAdmin);
    } else if (!dash_token->has_value()) {
      // HttpServer::Start refuses an open API unless --no-auth says so.
      ho.allow_no_auth = args->Has("no-auth");
    }
    server = std::make_unique<HttpServer>(store->get(), ho);
    s = server->Start(static_cast<int>(*port));
    if (!s.ok()) return Fail(kCmd, s);
    std::cerr << "chatkpi run: listening on http://" << ho.bind_address << ":"
              << server->port() << "\n";
  } else if (args->Has("bind") || args->Has("token-file") ||
             args->Has("dashboard-token-file")) {
    return Fail(kCmd,
                absl::InvalidArgumentError(
                    "--bind, --token-file and --dashboard-token-file need "
                    "--port"));
  } else {
    for (const std::string& f : HttpLimitFlags()) {
      if (args->Has(f)) {
        return Fail(kCmd, absl::InvalidArgumentError(
                              absl::StrCat("--", f, " needs --port")));
      }
    }
  }
  // Conflicting duplicates this run recorded, said as `ingest` says them.
  auto conflicts_before = ReadMetaCounter(**store, kMetaConflicts);
  if (!conflicts_before.ok()) return Fail(kCmd, conflicts_before.status());
  KafkaIngestReport report;
  s = RunKafkaIngest(*rules, store->get(), opts, &report);
  if (server != nullptr) server->Stop();
  std::cerr << "chatkpi run: read " << report.messages
            << " messages: " << report.accepted << " new events, "
            << report.duplicates << " duplicates, " << report.dead_letters
            << " dead letters"
            << (report.misrouted > 0
                    ? absl::StrCat(", ", report.misrouted, " misrouted")
                    : "")
            << (report.caught_up ? "; caught up" : "") << "\n";
  if (auto after = ReadMetaCounter(**store, kMetaConflicts);
      after.ok() && *after > *conflicts_before) {
    std::cerr << "chatkpi run: " << *after - *conflicts_before
              << " conflicting duplicate(s) (an id seen with other content) "
                 "recorded; copies in other partitions keep the first one "
                 "(docs/engine.md, \"Duplicates\"); list them with "
                 "`chatkpi dead-letters --conflicts`\n";
  }
  if (!s.ok()) return Fail(kCmd, s);
  return 0;
}

}  // namespace chatkpi
