// `chatkpi broker`: librdkafka's mock cluster as a standalone process, for
// kcat, other real clients, and tests that kill consumers (the mock lives
// only as long as the process that made it). Prints the bootstrap address
// as the first line of stdout, then waits for SIGINT or SIGTERM.
#include <pthread.h>

#include <csignal>
#include <cstdio>
#include <iostream>

#include "ingest/kafka_mock_cluster.h"
#include "tools/args.h"
#include "tools/commands.h"

namespace chatkpi {

const CommandSpec& BrokerCommand() {
  static const auto* spec = new CommandSpec{
      "broker",
      "",
      "standalone mock Kafka cluster; prints its address",
      {{"partitions", "N", "partitions per topic (8)"},
       {"num-brokers", "N", "brokers in the cluster (1)"},
       {"chat-topic", "T", "chat events topic (chat)"},
       {"order-topic", "T", "order events topic (orders)"},
       {"dlq-topic", "T", "also create this topic"},
       {"changelog-topic", "T", "also create this topic"},
       {"state-topic", "T", "also create this topic"}},
      "exit codes: 0 stopped by a signal, 2 usage error, 1 other failure"};
  return *spec;
}

int RunBroker(int argc, char** argv) {
  const char* kCmd = "broker";
  auto args = Args::Parse(argc, argv, BrokerCommand());
  if (!args.ok()) return Fail(kCmd, args.status());
  auto partitions = args->GetInt("partitions", 8);
  if (!partitions.ok()) return Fail(kCmd, partitions.status());
  auto num_brokers = args->GetInt("num-brokers", 1);
  if (!num_brokers.ok()) return Fail(kCmd, num_brokers.status());

  // Block the signals before librdkafka starts its threads (they inherit
  // the mask), so that sigwait below is the only place they arrive.
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);

  auto cluster = KafkaMockCluster::Start(static_cast<int>(*num_brokers));
  if (!cluster.ok()) return Fail(kCmd, cluster.status());
  std::vector<std::string> topics = {
      args->Get("chat-topic").value_or("chat"),
      args->Get("order-topic").value_or("orders")};
  if (auto dlq = args->Get("dlq-topic"); dlq.has_value())
    topics.push_back(*dlq);
  if (auto changelog = args->Get("changelog-topic"); changelog.has_value())
    topics.push_back(*changelog);
  if (auto state = args->Get("state-topic"); state.has_value())
    topics.push_back(*state);
  for (const std::string& t : topics) {
    absl::Status s = (*cluster)->CreateTopic(t, static_cast<int>(*partitions));
    if (!s.ok()) return Fail(kCmd, s);
  }
  std::printf("%s\n", (*cluster)->bootstrap().c_str());
  std::fflush(stdout);
  std::cerr << "chatkpi broker: mock Kafka cluster at "
            << (*cluster)->bootstrap() << ", topics";
  for (const std::string& t : topics) std::cerr << " " << t;
  std::cerr << " (" << *partitions
            << " partitions each; about 5 MiB kept per partition); "
               "SIGINT/SIGTERM stops it\n";
  int sig = 0;
  sigwait(&stop, &sig);
  std::cerr << "chatkpi broker: stopping\n";
  return 0;
}

}  // namespace chatkpi
