// `chatkpi serve`: the HTTP API over a store, without ingesting. The store
// is opened read-only, so `chatkpi ingest` may keep writing it; the API then
// answers from the store as it was when serve started (RocksDB read-only
// instances do not follow a writer), unless --follow makes it a follower
// that catches up with the writer every --follow-interval-ms and pushes
// what it sees to the dashboard (docs/dashboard.md).
//
// With --from-changelog it is a query instance of a Kafka deployment: it
// reads every partition of the changelog topic (engine/changelog.h) into
// its own store (--db, or a temporary one) and answers for the whole
// consumer group (docs/scaling.md).
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <iostream>
#include <memory>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "engine/changelog.h"
#include "engine/engine.h"
#include "engine/rules.h"
#include "ingest/kafka_config.h"
#include "query/http_auth.h"
#include "query/http_server.h"
#include "query/live_feed.h"
#include "store/store.h"
#include "tools/args.h"
#include "tools/commands.h"
#include "tools/http_flags.h"

namespace chatkpi {
namespace {

// Catches a follower store up with its writer every `interval` and tells
// the dashboard when anything was committed. A failed catch-up (the writer
// mid-restart) is retried on the next turn.
class FollowLoop {
 public:
  FollowLoop(Store* store, LiveFeed* feed, absl::Duration interval)
      : store_(store), feed_(feed), interval_(interval) {
    thread_ = std::thread([this] { Run(); });
  }
  ~FollowLoop() {
    {
      absl::MutexLock l(&mu_);
      stop_ = true;  // wakes Run's wait as the lock is released
    }
    thread_.join();
  }

 private:
  void Run() {
    std::string last_error;
    for (;;) {
      {
        absl::MutexLock l(&mu_);
        if (mu_.AwaitWithTimeout(absl::Condition(&stop_), interval_)) return;
      }
      absl::StatusOr<bool> advanced = store_->CatchUp();
      if (advanced.ok() && *advanced) feed_->Notify();
      std::string error = advanced.ok() ? "" : advanced.status().ToString();
      if (error != last_error && !error.empty()) {
        std::cerr << "chatkpi serve: following the store: " << error << "\n";
      }
      last_error = std::move(error);
    }
  }

  Store* store_;
  LiveFeed* feed_;
  absl::Duration interval_;
  absl::Mutex mu_;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace

const CommandSpec& ServeCommand() {
  static const auto* spec = [] {
    auto* c = new CommandSpec{
        "serve",
        "",
        "HTTP API and live dashboard (docs/http_api.md, docs/dashboard.md)",
        {{"db", "DIR", "the store (required unless --from-changelog)"},
         {"bind", "ADDR", "listen address (127.0.0.1)"},
         {"port", "N", "listen port, 0: any free one (8080)"},
         {"token-file", "FILE", "admin token (docs/http_api.md)"},
         {"dashboard-token-file", "FILE", "read-only wall-screen token"},
         {"no-auth", "", "serve without tokens (loopback only)"},
         {"schemes-dir", "DIR", "scoring schemes served"},
         {"threads", "N", "request worker threads"},
         {"access-log", "", "one stderr line per request"},
         {"follow", "", "follow a live writer's commits"},
         {"follow-interval-ms", "MS", "how often to look (200)"},
         {"live-backfill", "N", "events a new /api/live stream replays"},
         {"from-changelog", "", "the whole group's view (docs/scaling.md)"},
         {"brokers", "HOST:PORT", "with --from-changelog"},
         {"changelog-topic", "T", "with --from-changelog"},
         {"kafka-config", "K=V,...", "librdkafka properties"},
         {"rules", "FILE",
          "with --from-changelog: rules of a new store (the store's own)"}},
        "SIGINT or SIGTERM stops the server; open streams are closed.\n"
        "exit codes: 0 stopped by a signal, 2 usage error, 1 other failure"};
    for (const FlagSpec& f : HttpLimitFlagSpecs()) c->flags.push_back(f);
    return c;
  }();
  return *spec;
}

int RunServe(int argc, char** argv) {
  const char* kCmd = "serve";
  auto args = Args::Parse(argc, argv, ServeCommand());
  if (!args.ok()) return Fail(kCmd, args.status());
  const bool from_changelog = args->Has("from-changelog");
  std::optional<ChangelogReaderOptions> changelog;
  if (from_changelog) {
    if (args->Has("follow")) {
      return Fail(kCmd,
                  absl::InvalidArgumentError(
                      "--from-changelog and --follow exclude each other"));
    }
    changelog.emplace();
    auto brokers = args->Require("brokers");
    if (!brokers.ok()) return Fail(kCmd, brokers.status());
    auto topic = args->Require("changelog-topic");
    if (!topic.ok()) return Fail(kCmd, topic.status());
    changelog->client.brokers = *brokers;
    changelog->topic = *topic;
    if (auto list = args->Get("kafka-config"); list.has_value()) {
      auto parsed = ParseKafkaProperties(*list);
      if (!parsed.ok()) return Fail(kCmd, parsed.status());
      changelog->client.properties = std::move(*parsed);
    }
  } else {
    for (const char* f :
         {"brokers", "changelog-topic", "kafka-config", "rules"}) {
      if (args->Has(f)) {
        return Fail(kCmd, absl::InvalidArgumentError(absl::StrCat(
                              "--", f, " needs --from-changelog")));
      }
    }
  }
  // A query instance without --db keeps its store in a temporary directory
  // and rebuilds it from the changelog at every start.
  std::filesystem::path temp_db;
  std::optional<std::string> db_flag = args->Get("db");
  if (!db_flag.has_value() && from_changelog) {
    temp_db = std::filesystem::temp_directory_path() /
              absl::StrCat("chatkpi-changelog-", getpid());
    db_flag = temp_db.string();
  }
  absl::StatusOr<std::string> db = db_flag.has_value()
                                       ? absl::StatusOr<std::string>(*db_flag)
                                       : args->Require("db");
  if (!db.ok()) return Fail(kCmd, db.status());
  auto port = args->GetInt("port", 8080);
  if (!port.ok()) return Fail(kCmd, port.status());
  if (*port < 0 || *port > 65535) {
    return Fail(kCmd, absl::InvalidArgumentError(
                          "--port must be 0..65535 (0: any free port)"));
  }
  HttpServerOptions opts;
  auto threads = args->GetInt("threads", opts.threads);
  if (!threads.ok()) return Fail(kCmd, threads.status());
  if (*threads < 1 || *threads > 1024) {
    return Fail(kCmd, absl::InvalidArgumentError("--threads must be 1..1024"));
  }
  opts.threads = static_cast<int>(*threads);
  if (absl::Status s = HttpLimitsFromArgs(*args, &opts); !s.ok()) {
    return Fail(kCmd, s);
  }
  opts.bind_address = args->Get("bind").value_or(opts.bind_address);
#ifdef CHATKPI_SCHEMES_DIR
  opts.schemes_dir = CHATKPI_SCHEMES_DIR;  // the shipped schemes of this build
#endif
  opts.schemes_dir = args->Get("schemes-dir").value_or(opts.schemes_dir);

  auto token = LoadAdminToken(args->Get("token-file"));
  if (!token.ok()) return Fail(kCmd, token.status());
  auto dash_token = LoadDashboardToken(args->Get("dashboard-token-file"));
  if (!dash_token.ok()) return Fail(kCmd, dash_token.status());
  const bool no_auth = args->Has("no-auth");
  const bool any_token = token->has_value() || dash_token->has_value();
  if (any_token && no_auth) {
    return Fail(kCmd, absl::InvalidArgumentError(
                          "--no-auth given, but a token is configured "
                          "(--token-file, --dashboard-token-file, "
                          "CHATKPI_TOKEN or CHATKPI_DASHBOARD_TOKEN): choose "
                          "one"));
  }
  if (!any_token && !no_auth) {
    return Fail(kCmd, absl::InvalidArgumentError(
                          "no API token: give --token-file FILE or set "
                          "CHATKPI_TOKEN, or --no-auth to serve without one"));
  }
  if (token->has_value() && dash_token->has_value() &&
      **token == **dash_token) {
    return Fail(kCmd,
                absl::InvalidArgumentError(
                    "the dashboard token must differ from the API token"));
  }
  if (any_token) {
    if (token->has_value()) {
      WarnIfTokenFileReadable(kCmd, args->Get("token-file"));
      opts.tokens.emplace_back(**token, Role::kAdmin);
    }
    if (dash_token->has_value()) {
      WarnIfTokenFileReadable(kCmd, args->Get("dashboard-token-file"));
      opts.tokens.emplace_back(**dash_token, Role::kDashboard);
    }
  } else {
    opts.allow_no_auth = true;
    std::cerr << "chatkpi serve: WARNING: --no-auth: anyone who can reach "
              << opts.bind_address << " may read every KPI and pay figure\n";
  }
  if (args->Has("access-log")) {
    auto mu = std::make_shared<absl::Mutex>();
    opts.access_log = [mu](std::string_view line) {
      absl::MutexLock l(mu.get());
      std::cerr << line << "\n";
    };
  }

  const bool follow = args->Has("follow");
  auto interval_ms = args->GetInt("follow-interval-ms", 200);
  if (!interval_ms.ok()) return Fail(kCmd, interval_ms.status());
  if (*interval_ms < 10 || *interval_ms > 60'000) {
    return Fail(kCmd, absl::InvalidArgumentError(
                          "--follow-interval-ms must be 10..60000"));
  }
  if (args->Has("follow-interval-ms") && !follow) {
    return Fail(kCmd, absl::InvalidArgumentError(
                          "--follow-interval-ms needs --follow"));
  }
  auto backfill = args->GetInt(
      "live-backfill", static_cast<int64_t>(opts.live_view.backfill_events));
  if (!backfill.ok()) return Fail(kCmd, backfill.status());
  if (*backfill < 0) {
    return Fail(kCmd,
                absl::InvalidArgumentError("--live-backfill must be >= 0"));
  }
  opts.live_view.backfill_events = static_cast<uint64_t>(*backfill);

  StoreOptions so;
  so.read_only = !from_changelog;
  // A follower keeps RocksDB's info log of its own; nothing else is written
  // there, and it is removed on exit.
  std::filesystem::path secondary_dir;
  if (follow) {
    secondary_dir = std::filesystem::temp_directory_path() /
                    absl::StrCat("chatkpi-follow-", getpid());
    so.secondary_dir = secondary_dir.string();
  }
  auto store = Store::Open(*db, so);
  if (!store.ok()) return Fail(kCmd, store.status());
  if (from_changelog) {
    // Records the rules (snapshots name their version) and refuses a store
    // built under others, as an engine would.
    auto rules = args->Has("rules") ? LoadRulesFile(*args->Get("rules"))
                                    : LiveRulesOrDefault(**store);
    if (!rules.ok()) return Fail(kCmd, rules.status());
    auto probe = Engine::Open(*rules, store->get(), {});
    if (!probe.ok()) return Fail(kCmd, probe.status());
    changelog->rules_version = rules->version;
  }
  LiveFeed feed;
  opts.live_feed = &feed;
  // Waiting buyers come from chat messages (query/live_view.h); a changelog
  // carries counters only, so a query instance shows them as unknown.
  opts.live_waiting = follow;

  // Block the stop signals before any thread starts, so that every thread
  // inherits the mask and sigwait below is the only place they arrive.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  HttpServer server(store->get(), opts);
  absl::Status s = server.Start(static_cast<int>(*port));
  if (!s.ok()) return Fail(kCmd, s);
  std::unique_ptr<FollowLoop> follower;
  if (follow) {
    follower = std::make_unique<FollowLoop>(store->get(), &feed,
                                            absl::Milliseconds(*interval_ms));
  }
  std::atomic<bool> stop_reader{false};
  std::atomic<bool> reader_failed{false};
  std::thread reader;
  if (changelog.has_value()) {
    changelog->stop = &stop_reader;
    changelog->on_flush = [&feed] { feed.Notify(); };
    reader = std::thread([&, store_ptr = store->get()] {
      ChangelogReaderReport report;
      absl::Status rs = RunChangelogReader(store_ptr, *changelog, &report);
      if (!rs.ok()) {
        // Without its feed the instance would answer stale figures as if
        // current: stop the process so that it is noticed and restarted.
        std::cerr << "chatkpi serve: changelog reader: " << rs << "\n";
        reader_failed.store(true);
        kill(getpid(), SIGTERM);
      }
    });
  }
  // Tests and scripts read the port from this line (--port 0).
  std::cerr << "chatkpi serve: listening on http://" << opts.bind_address << ":"
            << server.port() << "\n"
            << std::flush;
  int sig = 0;
  sigwait(&stop_signals, &sig);
  std::cerr << "chatkpi serve: stopping on signal " << sig << "\n";
  follower.reset();
  stop_reader.store(true);
  if (reader.joinable()) reader.join();
  server.Stop();
  store->reset();
  if (!temp_db.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(temp_db, ec);
  }
  if (!secondary_dir.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(secondary_dir, ec);
  }
  return reader_failed.load() ? 1 : 0;
}

}  // namespace chatkpi
