// `chatkpi demo` (also `chatkpi run --demo`): the Kafka path end to end in
// one process. Starts the embedded mock cluster, generates a month of events
// (tools/generator.h), publishes them keyed by buyer, consumes them as a
// consumer-group member until every partition is read to its end, and
// prints the month's snapshot JSON to stdout.
//
// The mock keeps only about 5 MiB per partition and drops older messages
// silently, so the default month is modest (50k events over 8 partitions,
// about 1 MiB per partition); the demo checks that nothing was dropped.
#include <filesystem>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "engine/kafka_ingest.h"
#include "engine/rules.h"
#include "ingest/kafka_mock_cluster.h"
#include "ingest/kafka_producer.h"
#include "ingest/kafka_publisher.h"
#include "query/snapshot.h"
#include "store/store.h"
#include "tools/args.h"
#include "tools/commands.h"
#include "tools/generator.h"
#include "tools/generator_flags.h"
#include "tools/kafka_flags.h"

namespace chatkpi {
namespace {

// Generates and publishes the month; fails if the mock dropped any of it.
absl::Status Publish(const GeneratorOptions& gen,
                     const KafkaClientConfig& client,
                     const KafkaIngestOptions& opts, int partitions) {
  auto lines = GenerateJsonl(gen);
  if (!lines.ok()) return lines.status();
  auto producer = KafkaProducer::Open(client);
  if (!producer.ok()) return producer.status();
  EventPublisher publisher(producer->get(), opts.chat_topic, opts.order_topic);
  for (const std::string& line : *lines) {
    absl::Status s = publisher.Publish(line);
    if (!s.ok()) return s;
  }
  absl::Status s = (*producer)->Flush(absl::Seconds(60));
  if (!s.ok()) return s;
  for (const std::string& topic : {opts.chat_topic, opts.order_topic}) {
    for (int p = 0; p < partitions; ++p) {
      auto marks = (*producer)->Watermarks(topic, p, absl::Seconds(10));
      if (!marks.ok()) return marks.status();
      if (marks->first > 0) {
        return absl::ResourceExhaustedError(absl::StrCat(
            "the mock broker dropped the first ", marks->first, " messages of ",
            topic, "/", p,
            " (it keeps about 5 MiB per partition): use fewer --events or "
            "more --partitions"));
      }
    }
  }
  std::cerr << "chatkpi demo: published " << lines->size() << " events ("
            << publisher.counts().chat << " chat, " << publisher.counts().order
            << " order/assessment) to " << partitions
            << " partitions per topic\n";
  return absl::OkStatus();
}

// The month the demo generates unless told otherwise.
GeneratorOptions DemoMonth() {
  GeneratorOptions gen;
  gen.assessments = true;
  gen.target_events = 50'000;
  gen.duplicate_rate = 0.01;
  gen.malformed_rate = 0.002;
  gen.delay_orders_ms = 600'000;  // the order topic lags behind the chats
  return gen;
}

}  // namespace

const CommandSpec& DemoCommand() {
  static const auto* spec = [] {
    auto* c = new CommandSpec{
        "demo",
        "",
        "embedded broker: generate, produce, consume, print the month "
        "snapshot",
        {{"db", "DIR", "keep the store here (a temporary one)"},
         {"rules", "FILE", "rules (the defaults)"},
         {"partitions", "N", "partitions per topic (8)"},
         {"events", "N", "events to generate (50000)"},
         {"until-caught-up", "", "accepted for `run` compatibility"}},
        "exit codes: 0 done, 2 usage error, 1 other failure"};
    for (const FlagSpec& f : GeneratorFlagSpecs(DemoMonth())) {
      c->flags.push_back(f);
    }
    for (const FlagSpec& f : KafkaRunFlagSpecs()) c->flags.push_back(f);
    return c;
  }();
  return *spec;
}

int RunDemo(int argc, char** argv) {
  const char* kCmd = "demo";
  auto args = Args::Parse(argc, argv, DemoCommand());
  if (!args.ok()) return Fail(kCmd, args.status());
  if (args->Get("brokers").value_or("mock") != "mock") {
    return Fail(kCmd,
                absl::InvalidArgumentError(
                    "the demo runs on the embedded broker only "
                    "(--brokers mock); use `produce` and `run` for others"));
  }
  auto rules =
      args->Has("rules") ? LoadRulesFile(*args->Get("rules")) : DefaultRules();
  if (!rules.ok()) return Fail(kCmd, rules.status());

  GeneratorOptions gen = DemoMonth();
  auto partitions = args->GetInt("partitions", 8);
  if (!partitions.ok()) return Fail(kCmd, partitions.status());
  if (absl::Status s = ApplyGeneratorFlags(*args, &gen); !s.ok()) {
    return Fail(kCmd, s);
  }
  absl::CivilMonth month;
  if (!absl::ParseCivilTime(gen.month, &month)) {
    return Fail(kCmd, absl::InvalidArgumentError("--month must be YYYY-MM"));
  }

  // Without --db the store is a scratch directory, removed afterwards.
  std::string db = args->Get("db").value_or("");
  std::string scratch;
  if (db.empty()) {
    std::string tmpl =
        (std::filesystem::temp_directory_path() / "chatkpi-demo.XXXXXX")
            .string();
    if (mkdtemp(tmpl.data()) == nullptr) {
      return Fail(kCmd, absl::InternalError("cannot make a scratch directory"));
    }
    scratch = db = tmpl;
  }
  auto run = [&]() -> absl::Status {
    auto store = Store::Open(db, StoreOptions());
    if (!store.ok()) return store.status();
    absl::Status s = CheckFreshForMock(**store);
    if (!s.ok()) return s;
    auto cluster = KafkaMockCluster::Start();
    if (!cluster.ok()) return cluster.status();
    KafkaIngestOptions opts;
    s = KafkaIngestOptionsFromArgs(*args, (*cluster)->bootstrap(), {}, &opts);
    if (!s.ok()) return s;
    opts.until_caught_up = true;
    opts.progress_interval = std::min(opts.progress_interval, absl::Seconds(2));
    opts.stop = StopOnSignals();
    for (const std::string& t :
         {opts.chat_topic, opts.order_topic, opts.dlq_topic}) {
      if (t.empty()) continue;
      s = (*cluster)->CreateTopic(t, static_cast<int>(*partitions));
      if (!s.ok()) return s;
    }
    std::cerr << "chatkpi demo: embedded mock Kafka cluster at "
              << (*cluster)->bootstrap() << "\n";
    s = Publish(gen, opts.consumer.client, opts, static_cast<int>(*partitions));
    if (!s.ok()) return s;

    KafkaIngestReport report;
    const absl::Time start = absl::Now();
    s = RunKafkaIngest(*rules, store->get(), opts, &report);
    const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
    std::cerr << "chatkpi demo: consumed " << report.messages << " messages ("
              << report.accepted << " new events, " << report.duplicates
              << " duplicates, " << report.dead_letters << " dead letters) in "
              << seconds << " s, including the group join\n";
    if (!s.ok()) return s;
    if (!report.caught_up) {
      return absl::CancelledError(
          "stopped before the topics were read to the end");
    }
    auto snap = ReadSnapshot(**store, absl::CivilDay(month),
                             absl::CivilDay(month + 1) - 1);
    if (!snap.ok()) return snap.status();
    std::cout << SnapshotToJson(*snap);
    return absl::OkStatus();
  };
  absl::Status result = run();
  if (!scratch.empty()) std::filesystem::remove_all(scratch);
  return result.ok() ? 0 : Fail(kCmd, result);
}

}  // namespace chatkpi
