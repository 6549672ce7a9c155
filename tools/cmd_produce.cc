// `chatkpi produce`: publishes JSONL events to Kafka, chat events to the
// chat topic and order/assessment events to the order topic, keyed by buyer
// (assessments by agent), so the topics are co-partitioned by buyer. Lines
// that are not JSON go to the chat topic under the empty key and become dead
// letters downstream. Blank lines are skipped, as `ingest` skips them.
#include <iostream>

#include "absl/strings/str_cat.h"
#include "ingest/kafka_producer.h"
#include "ingest/kafka_publisher.h"
#include "ingest/line_reader.h"
#include "tools/args.h"
#include "tools/commands.h"
#include "tools/kafka_flags.h"

namespace chatkpi {

const CommandSpec& ProduceCommand() {
  static const auto* spec =
      new CommandSpec{"produce",
                      "FILE...",
                      "publish JSONL events to Kafka, keyed by buyer",
                      {{"brokers", "HOST:PORT", "bootstrap brokers (required)"},
                       {"chat-topic", "T", "chat events topic (chat)"},
                       {"order-topic", "T", "order events topic (orders)"},
                       {"kafka-config", "K=V,...", "librdkafka properties"}},
                      "exit codes: 0 done, 2 usage error, 1 other failure"};
  return *spec;
}

int RunProduce(int argc, char** argv) {
  const char* kCmd = "produce";
  auto args = Args::Parse(argc, argv, ProduceCommand());
  if (!args.ok()) return Fail(kCmd, args.status());
  if (args->positional().empty()) {
    return Fail(kCmd, absl::InvalidArgumentError("no input FILE given"));
  }
  auto client = KafkaClientFromArgs(*args);
  if (!client.ok()) return Fail(kCmd, client.status());
  if (client->brokers == "mock") {
    return Fail(kCmd, absl::InvalidArgumentError(
                          "--brokers mock would die with this process: start "
                          "`chatkpi broker` and give its address"));
  }
  auto producer = KafkaProducer::Open(*client);
  if (!producer.ok()) return Fail(kCmd, producer.status());
  EventPublisher publisher(producer->get(),
                           args->Get("chat-topic").value_or("chat"),
                           args->Get("order-topic").value_or("orders"));
  int64_t skipped = 0;
  for (const std::string& path : args->positional()) {
    auto reader = LineReader::Open(path);
    if (!reader.ok()) return Fail(kCmd, reader.status());
    LineReader::Line line;
    while ((*reader)->Next(&line)) {
      if (line.blank) {
        ++skipped;
        continue;
      }
      // A too-long line is published truncated: it is a dead letter either
      // way, and Kafka refuses messages over its size limit.
      absl::Status s = publisher.Publish(line.text);
      if (!s.ok()) return Fail(kCmd, s);
    }
    if (!(*reader)->status().ok()) return Fail(kCmd, (*reader)->status());
  }
  absl::Status s = (*producer)->Flush(absl::Seconds(60));
  const auto& c = publisher.counts();
  std::cerr << "chatkpi produce: " << (*producer)->delivered()
            << " messages delivered: " << c.chat << " to the chat topic, "
            << c.order << " to the order topic (" << c.unkeyed
            << " without a key), " << skipped << " blank lines skipped\n";
  if (c.other_buyer > 0) {
    std::cerr << "chatkpi produce: warning: " << c.other_buyer
              << " order event(s) name another buyer than the first event "
                 "of their order ("
              << c.other_buyer_example
              << "): keyed by buyer, they went to another partition, where "
                 "run counts them as an order of their own, not as the "
                 "order's (docs/kafka.md, \"Known limits\"); ingest such "
                 "files with chatkpi ingest\n";
  }
  if (!s.ok()) return Fail(kCmd, s);
  return 0;
}

}  // namespace chatkpi
