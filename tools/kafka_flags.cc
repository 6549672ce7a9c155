#include "tools/kafka_flags.h"

#include <csignal>
#include <fstream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace chatkpi {
namespace {

std::atomic<bool> g_stop{false};

void OnStopSignal(int) { g_stop.store(true); }

absl::StatusOr<int64_t> PositiveInt(const Args& args, const std::string& name,
                                    int64_t def) {
  auto v = args.GetInt(name, def);
  if (!v.ok()) return v.status();
  if (*v < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", name, " must be >= 0"));
  }
  return *v;
}

}  // namespace

const std::vector<FlagSpec>& KafkaRunFlagSpecs() {
  static const auto* flags = new std::vector<FlagSpec>{
      {"brokers", "HOST:PORT",
       "bootstrap brokers, or `mock` for an embedded "
       "cluster (required)"},
      {"group", "G", "consumer group (chatkpi)"},
      {"chat-topic", "T", "chat events topic (chat)"},
      {"order-topic", "T", "order events topic (orders)"},
      {"dlq-topic", "T", "publish dead letters here (none)"},
      {"changelog-topic", "T",
       "publish committed figures here for `serve --from-changelog` (none)"},
      {"state-topic", "T",
       "keep each partition's state here; members taking a partition over "
       "restore it (none)"},
      {"session-timeout-ms", "MS", "group session timeout"},
      {"commit-every", "N", "events per store commit"},
      {"commit-ms", "MS", "longest time between commits"},
      {"progress-ms", "MS", "progress report interval (10000)"},
      {"exit-when-idle", "MS", "exit after MS without messages (never)"},
      {"max-rate", "N", "events a second at most (no limit)"},
      {"kafka-config", "K=V,...", "librdkafka properties"},
  };
  return *flags;
}

const std::set<std::string>& KafkaRunFlags() {
  static const auto* flags = [] {
    auto* names = new std::set<std::string>;
    for (const FlagSpec& f : KafkaRunFlagSpecs()) names->insert(f.name);
    return names;
  }();
  return *flags;
}

std::vector<char*> ExpandedArgs::argv() {
  std::vector<char*> out;
  for (std::string& a : args) out.push_back(a.data());
  return out;
}

absl::StatusOr<ExpandedArgs> ExpandConfigFile(int argc, char** argv) {
  ExpandedArgs out;
  std::vector<std::string> rest;
  std::string config;
  for (int i = 0; i < argc; ++i) {
    std::string a = argv[i];
    const bool flag = a == "--config" && i + 1 < argc;
    if (flag || absl::StartsWith(a, "--config=")) {
      if (!config.empty()) {
        return absl::InvalidArgumentError("--config is given more than once");
      }
      config = flag ? argv[++i] : a.substr(9);
    } else {
      rest.push_back(std::move(a));
    }
  }
  if (!config.empty()) {
    std::ifstream in(config);
    if (!in) {
      return absl::InvalidArgumentError(
          absl::StrCat("cannot read --config ", config));
    }
    std::string line;
    int number = 0;
    while (std::getline(in, line)) {
      ++number;
      absl::string_view l = absl::StripAsciiWhitespace(line);
      if (l.empty() || l[0] == '#') continue;
      const size_t eq = l.find('=');
      std::string name(absl::StripAsciiWhitespace(l.substr(0, eq)));
      std::string value =
          eq == absl::string_view::npos
              ? std::string()
              : std::string(absl::StripAsciiWhitespace(l.substr(eq + 1)));
      if (name.empty()) {
        return absl::InvalidArgumentError(
            absl::StrCat(config, ":", number, ": no setting name"));
      }
      if (absl::StartsWith(name, "kafka.")) {
        out.properties.emplace_back(name.substr(6), value);
      } else if (eq == absl::string_view::npos || value == "true") {
        out.args.push_back("--" + name);
      } else if (value != "false") {
        out.args.push_back(absl::StrCat("--", name, "=", value));
      }
    }
  }
  out.from_config = static_cast<int>(out.args.size());
  for (std::string& a : rest) out.args.push_back(std::move(a));
  return out;
}

absl::Status KafkaIngestOptionsFromArgs(const Args& args,
                                        const std::string& brokers,
                                        const KafkaProperties& properties,
                                        KafkaIngestOptions* o) {
  o->consumer.client.brokers = brokers;
  o->consumer.client.properties = properties;
  if (auto list = args.Get("kafka-config"); list.has_value()) {
    auto parsed = ParseKafkaProperties(*list);
    if (!parsed.ok()) return parsed.status();
    for (auto& p : *parsed) o->consumer.client.properties.push_back(p);
  }
  o->consumer.group = args.Get("group").value_or(o->consumer.group);
  o->chat_topic = args.Get("chat-topic").value_or(o->chat_topic);
  o->order_topic = args.Get("order-topic").value_or(o->order_topic);
  o->dlq_topic = args.Get("dlq-topic").value_or("");
  o->changelog_topic = args.Get("changelog-topic").value_or("");
  o->state_topic = args.Get("state-topic").value_or("");
  auto session =
      PositiveInt(args, "session-timeout-ms", o->consumer.session_timeout_ms);
  auto every = PositiveInt(args, "commit-every", o->commit_every);
  auto commit_ms = PositiveInt(args, "commit-ms",
                               absl::ToInt64Milliseconds(o->commit_interval));
  auto progress_ms = PositiveInt(
      args, "progress-ms", absl::ToInt64Milliseconds(o->progress_interval));
  auto idle_ms = PositiveInt(args, "exit-when-idle", 0);
  auto rate = PositiveInt(args, "max-rate", 0);
  for (const auto* v :
       {&session, &every, &commit_ms, &progress_ms, &idle_ms, &rate}) {
    if (!v->ok()) return v->status();
  }
  if (*every < 1) {
    return absl::InvalidArgumentError("--commit-every must be >= 1");
  }
  o->consumer.session_timeout_ms = static_cast<int>(*session);
  o->commit_every = static_cast<size_t>(*every);
  o->commit_interval = absl::Milliseconds(*commit_ms);
  o->progress_interval = absl::Milliseconds(std::max<int64_t>(*progress_ms, 1));
  o->exit_when_idle = absl::Milliseconds(*idle_ms);
  o->max_events_per_s = static_cast<double>(*rate);
  o->until_caught_up = args.Has("until-caught-up");
  return absl::OkStatus();
}

absl::StatusOr<KafkaClientConfig> KafkaClientFromArgs(const Args& args) {
  KafkaClientConfig c;
  auto brokers = args.Require("brokers");
  if (!brokers.ok()) return brokers.status();
  c.brokers = *brokers;
  if (auto list = args.Get("kafka-config"); list.has_value()) {
    auto parsed = ParseKafkaProperties(*list);
    if (!parsed.ok()) return parsed.status();
    c.properties = std::move(*parsed);
  }
  return c;
}

absl::Status CheckFreshForMock(Store& store) {
  auto fed = HasKafkaPositions(store);
  if (!fed.ok()) return fed.status();
  if (!*fed) return absl::OkStatus();
  return absl::FailedPreconditionError(absl::StrCat(
      "--db ", store.dir(),
      " holds offsets of an earlier Kafka run; the embedded broker starts "
      "empty, so they would skip or misplace messages: give a new --db"));
}

const std::atomic<bool>* StopOnSignals() {
  struct sigaction sa = {};
  sa.sa_handler = OnStopSignal;
  sa.sa_flags = SA_RESETHAND;  // a second signal takes the default action
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  return &g_stop;
}

}  // namespace chatkpi
