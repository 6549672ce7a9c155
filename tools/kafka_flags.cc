#include "tools/kafka_flags.h"

#include <algorithm>
#include <csignal>
#include <fstream>
#include <sstream>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/json_text.h"
#include "config/toml_document.h"

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
      {"threads", "N", "threads applying partitions (all cores; 1: one)"},
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

namespace {

// The settings of a TOML config file (see ExpandedArgs).
absl::Status ReadTomlConfig(const TomlDocument& doc,
                            const std::vector<FlagSpec>& flags,
                            ExpandedArgs& out) {
  for (const TomlTable& t : doc.tables) {
    if (t.path[0] != "kafka") {
      return doc.ErrorAt(t.line, t.column,
                         absl::StrCat("unknown table [", TomlPathText(t.path),
                                      "]: the file has flags and a [kafka] "
                                      "table"));
    }
  }
  for (const TomlEntry& e : doc.entries) {
    if (e.is_array) {
      return doc.ErrorAt(
          e.line, e.column,
          absl::StrCat("'", e.key, "' takes one value, not an array"));
    }
    const TomlValue& v = e.values[0];
    if (!e.table.empty()) {  // [kafka]: dotted keys are property names
      std::vector<std::string> name(e.table.begin() + 1, e.table.end());
      name.push_back(e.key);
      out.properties.emplace_back(absl::StrJoin(name, "."), v.text);
      continue;
    }
    const FlagSpec* flag = nullptr;
    for (const FlagSpec& f : flags) {
      if (f.name == e.key) flag = &f;
    }
    if (flag == nullptr || e.key == "config" || e.key == "demo") {
      return doc.ErrorAt(
          e.line, e.column,
          absl::StrCat("unknown setting '", e.key,
                       "' (a flag of the command without --, or a [kafka] "
                       "property)"));
    }
    const bool boolean = v.type == TomlValue::Type::kBoolean;
    if (flag->value.empty()) {
      if (!boolean) {
        return doc.ErrorAt(
            v.line, v.column,
            absl::StrCat("'", e.key, "' is a switch: true or false"));
      }
      if (v.text == "true") out.args.push_back("--" + e.key);
    } else if (boolean) {
      return doc.ErrorAt(v.line, v.column,
                         absl::StrCat("'", e.key, "' takes a ", flag->value,
                                      ", not true or false"));
    } else {
      out.args.push_back(absl::StrCat("--", e.key, "=", v.text));
    }
  }
  return absl::OkStatus();
}

// The old syntax: `name = value` unquoted, `kafka.<property> = value`, a
// bare `name` for a switch.
absl::Status ReadOldConfig(const std::string& text, const std::string& config,
                           ExpandedArgs& out) {
  std::istringstream in(text);
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
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::string> ConvertOldRunConfigToToml(
    std::string_view text, std::string_view source,
    const std::vector<FlagSpec>& flags) {
  const std::string name(source);
  if (ParseTomlDocument(text, source).ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat(name, " is TOML already"));
  }
  // JSON's string escapes are a subset of TOML's basic strings'.
  auto quote = [](absl::string_view s) {
    std::string out;
    AppendJsonString(&out, std::string_view(s.data(), s.size()));
    return out;
  };
  std::vector<std::string> top, kafka, comments;
  std::istringstream in{std::string(text)};
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    absl::string_view l = absl::StripAsciiWhitespace(line);
    if (l.empty() || l[0] == '#') {
      comments.push_back(line);
      continue;
    }
    auto bad = [&](absl::string_view why) {
      return absl::InvalidArgumentError(
          absl::StrCat(name, ":", number, ": ", why));
    };
    const size_t eq = l.find('=');
    const std::string key(absl::StripAsciiWhitespace(l.substr(0, eq)));
    const absl::string_view value =
        eq == absl::string_view::npos
            ? absl::string_view()
            : absl::StripAsciiWhitespace(l.substr(eq + 1));
    if (key.empty()) return bad("no setting name");
    std::vector<std::string>& to =
        absl::StartsWith(key, "kafka.") ? kafka : top;
    to.insert(to.end(), comments.begin(), comments.end());
    comments.clear();
    if (&to == &kafka) {
      kafka.push_back(absl::StrCat(quote(key.substr(6)), " = ", quote(value)));
      continue;
    }
    const FlagSpec* flag = nullptr;
    for (const FlagSpec& f : flags) {
      if (f.name == key && key != "config" && key != "demo") flag = &f;
    }
    if (flag == nullptr) {
      return bad(absl::StrCat("unknown setting '", key, "'"));
    }
    const bool on = eq == absl::string_view::npos || value == "true";
    if (flag->value.empty()) {
      if (!on && value != "false") {
        return bad(absl::StrCat("'", key, "' is a switch: true or false"));
      }
      top.push_back(absl::StrCat(key, " = ", on ? "true" : "false"));
    } else if (value == "false") {
      top.push_back(absl::StrCat("# ", key, " = (not given)"));
    } else if (on) {
      return bad(absl::StrCat("'", key, "' needs a value"));
    } else {
      const bool whole =
          !value.empty() &&
          std::all_of(value.begin(), value.end(), absl::ascii_isdigit);
      top.push_back(
          absl::StrCat(key, " = ", whole ? std::string(value) : quote(value)));
    }
  }
  top.insert(top.end(), comments.begin(), comments.end());
  if (!kafka.empty()) {
    top.push_back("");
    top.push_back("[kafka]");
    top.insert(top.end(), kafka.begin(), kafka.end());
  }
  std::string result = absl::StrJoin(top, "\n") + "\n";
  auto doc = ParseTomlDocument(result, name + ".toml");
  ExpandedArgs check;
  absl::Status back =
      doc.ok() ? ReadTomlConfig(*doc, flags, check) : doc.status();
  if (!back.ok()) {
    return absl::InternalError(
        absl::StrCat("the TOML written for ", name,
                     " does not read back (please report): ", back.message()));
  }
  return result;
}

absl::StatusOr<ExpandedArgs> ExpandConfigFile(
    int argc, char** argv, const std::vector<FlagSpec>& flags) {
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
    std::ifstream in(config, std::ios::binary);
    if (!in) {
      return absl::InvalidArgumentError(
          absl::StrCat("cannot read --config ", config));
    }
    std::ostringstream buf;
    buf << in.rdbuf();
    const std::string text = buf.str();
    auto doc = ParseTomlDocument(text, config);
    if (doc.ok()) {
      if (absl::Status s = ReadTomlConfig(*doc, flags, out); !s.ok()) return s;
    } else if (absl::EndsWith(config, ".toml")) {
      return doc.status();
    } else {
      if (absl::Status s = ReadOldConfig(text, config, out); !s.ok()) return s;
      out.warning = absl::StrCat(
          config,
          " is in the old config syntax, which is read for this release "
          "only: convert it with `chatkpi convert-config ",
          config, " NEW.toml` (docs/kafka.md); as TOML it reads ",
          doc.status().message());
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
  auto threads = PositiveInt(args, "threads",
                             std::max(1u, std::thread::hardware_concurrency()));
  for (const auto* v : {&session, &every, &commit_ms, &progress_ms, &idle_ms,
                        &rate, &threads}) {
    if (!v->ok()) return v->status();
  }
  if (*threads < 1 || *threads > 256) {
    return absl::InvalidArgumentError("--threads must be 1..256");
  }
  o->threads = static_cast<int>(*threads);
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
