#include "engine/state_topic.h"

#include <algorithm>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "engine/changelog.h"
#include "engine/dead_letter_value.h"
#include "ingest/event_parser.h"
#include "ingest/kafka_reader.h"

namespace chatkpi {
namespace {

constexpr absl::Duration kFlushTimeout = absl::Seconds(30);
// A restore that receives nothing for this long fails (broker gone).
constexpr absl::Duration kReadStallTimeout = absl::Seconds(60);

absl::string_view Sv(std::string_view s) {
  return absl::string_view(s.data(), s.size());
}

std::string PartitionPrefix(int32_t partition) {
  return absl::StrCat(partition, "/");
}

}  // namespace

std::string StateEventKey(int32_t partition, std::string_view id) {
  return absl::StrCat(partition, "/e/", Sv(id));
}

std::string StateDeadLetterKey(int32_t partition, std::string_view position) {
  return absl::StrCat(partition, "/d/", Sv(position));
}

std::string StatePositionsKey(int32_t partition) {
  return absl::StrCat(partition, "/pos");
}

std::string EncodeStatePositions(const StatePositions& p) {
  return absl::StrCat(p.last[0], " ", p.last[1], " ", p.complete ? 1 : 0, " ",
                      p.records);
}

bool DecodeStatePositions(std::string_view value, StatePositions* out) {
  std::vector<absl::string_view> parts = absl::StrSplit(Sv(value), ' ');
  int complete = 0;
  if (parts.size() != 4 || !absl::SimpleAtoi(parts[0], &out->last[0]) ||
      !absl::SimpleAtoi(parts[1], &out->last[1]) ||
      !absl::SimpleAtoi(parts[2], &complete) ||
      !absl::SimpleAtoi(parts[3], &out->records) || out->last[0] < -1 ||
      out->last[1] < -1 || (complete != 0 && complete != 1) ||
      out->records < 0) {
    return false;
  }
  out->complete = complete == 1;
  return true;
}

StateTopicPublisher::StateTopicPublisher(
    std::unique_ptr<KafkaProducer> producer, std::string topic)
    : producer_(std::move(producer)),
      topic_(std::move(topic)),
      header_{{kChangelogEpochHeader, ""}} {}

absl::StatusOr<std::unique_ptr<StateTopicPublisher>> StateTopicPublisher::Open(
    const KafkaClientConfig& config, const std::string& topic,
    int input_partitions) {
  KafkaClientConfig c = config;
  // Records of a partition must land in publishing order, retries
  // included; events compress several times over, which is most of the
  // topic's size. Given first, so that the user's properties win.
  c.properties.insert(c.properties.begin(), {{"enable.idempotence", "true"},
                                             {"compression.type", "zstd"},
                                             {"linger.ms", "20"}});
  auto producer = KafkaProducer::Open(c);
  if (!producer.ok()) return producer.status();
  auto count = (*producer)->PartitionCount(topic, absl::Seconds(10));
  if (!count.ok()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "state topic ", topic, ": ", count.status().message(),
        " (create it with cleanup.policy=compact and as many partitions as "
        "the input topics: docs/scaling.md)"));
  }
  if (*count < input_partitions) {
    return absl::FailedPreconditionError(absl::StrCat(
        "state topic ", topic, " has ", *count,
        " partitions, fewer than the input topics' ", input_partitions,
        ": partition p's state is kept in its partition p (docs/scaling.md)"));
  }
  return std::unique_ptr<StateTopicPublisher>(
      new StateTopicPublisher(std::move(*producer), topic));
}

void StateTopicPublisher::Queue(int32_t partition, int64_t epoch,
                                std::string_view key, std::string_view value) {
  header_[0].value = absl::StrCat(epoch);
  absl::Status s = producer_->ProduceTo(topic_, partition, key, value, header_);
  if (!s.ok() && queue_error_.ok()) queue_error_ = s;
}

void StateTopicPublisher::AddEvent(int32_t partition, int64_t epoch,
                                   std::string_view id, std::string_view raw) {
  absl::MutexLock lock(&mu_);
  key_ = StateEventKey(partition, id);
  Queue(partition, epoch, key_, raw);
}

void StateTopicPublisher::AddDeadLetter(int32_t partition, int64_t epoch,
                                        const DeadLetter& d) {
  absl::MutexLock lock(&mu_);
  key_ = StateDeadLetterKey(partition, d.position);
  Queue(partition, epoch, key_, EncodeDeadLetterValue(d.reason, d.raw));
}

absl::Status StateTopicPublisher::PublishPositions(
    int32_t partition, int64_t epoch, const StatePositions& positions) {
  absl::MutexLock lock(&mu_);
  Queue(partition, epoch, StatePositionsKey(partition),
        EncodeStatePositions(positions));
  absl::Status s = queue_error_;
  queue_error_ = absl::OkStatus();
  if (s.ok()) s = producer_->Flush(kFlushTimeout);
  if (!s.ok()) {
    return absl::UnavailableError(absl::StrCat(
        "state topic ", topic_, ": ", s.message(), "; partition ", partition,
        " is not committed past what the state topic holds"));
  }
  return absl::OkStatus();
}

namespace {

// What partition p of the state topic holds, in topic order.
struct StateRecords {
  bool has_positions = false;
  StatePositions positions;
  int64_t epoch = -1;                                   // highest seen
  std::vector<std::pair<int64_t, std::string>> events;  // (offset, raw)
  std::vector<DeadLetter> dead_letters;
  absl::flat_hash_set<std::string> keys;  // distinct events and dead letters
  int64_t records = 0;
  int64_t bytes = 0;
};

absl::StatusOr<StateRecords> ReadState(const KafkaClientConfig& config,
                                       const std::string& topic,
                                       int32_t partition) {
  auto reader = KafkaTopicReader::Open(config);
  if (!reader.ok()) return reader.status();
  absl::Status s =
      (*reader)->AssignOne(topic, partition, kKafkaOffsetBeginning);
  if (!s.ok()) return s;
  const std::string prefix = PartitionPrefix(partition);
  StateRecords out;
  KafkaMessage m;
  std::string last_error;
  absl::Time last_progress = absl::Now();
  while (true) {
    auto got = (*reader)->Poll(absl::Milliseconds(200), &m);
    if (!got.ok()) return got.status();
    if (!*got) {
      if (absl::Now() - last_progress > kReadStallTimeout) {
        return absl::DeadlineExceededError(absl::StrCat(
            "reading state topic ", topic, "/", partition, ": nothing for ",
            absl::FormatDuration(kReadStallTimeout),
            last_error.empty() ? "" : " (last error: ", last_error,
            last_error.empty() ? "" : ")"));
      }
      continue;
    }
    if (m.kind == KafkaMessage::Kind::kError) {
      last_error = m.error;
      continue;
    }
    last_progress = absl::Now();
    if (m.partition != partition) continue;
    if (m.kind == KafkaMessage::Kind::kPartitionEnd) break;
    ++out.records;
    out.bytes += static_cast<int64_t>(m.key.size() + m.value.size());
    if (m.key.substr(0, prefix.size()) != prefix) continue;  // not ours
    const std::string_view rest = m.key.substr(prefix.size());
    int64_t epoch = 0;
    if (!m.epoch_header.empty() &&
        !absl::SimpleAtoi(Sv(m.epoch_header), &epoch)) {
      return absl::DataLossError(absl::StrCat(
          "state topic ", topic, "/", partition, " offset ", m.offset,
          ": bad epoch header '", Sv(m.epoch_header), "'"));
    }
    if (rest.substr(0, 2) == "e/" || rest.substr(0, 2) == "d/") {
      out.keys.insert(std::string(rest));
    }
    if (rest.substr(0, 2) == "e/") {
      if (!m.value.empty()) out.events.emplace_back(m.offset, m.value);
    } else if (rest.substr(0, 2) == "d/") {
      DeadLetterValue v;
      if (m.value.empty()) continue;
      if (!DecodeDeadLetterValue(m.value, &v)) {
        return absl::DataLossError(absl::StrCat("state topic ", topic, "/",
                                                partition, " offset ", m.offset,
                                                ": corrupt dead letter"));
      }
      out.dead_letters.push_back(DeadLetter{std::string(rest.substr(2)),
                                            std::string(v.reason),
                                            std::string(v.raw)});
    } else if (rest == "pos") {
      // A lower epoch than one seen is a former owner's late record.
      if (epoch < out.epoch) continue;
      StatePositions p;
      if (!DecodeStatePositions(m.value, &p)) {
        return absl::DataLossError(
            absl::StrCat("state topic ", topic, "/", partition, " offset ",
                         m.offset, ": corrupt positions '", Sv(m.value), "'"));
      }
      out.positions = p;
      out.has_positions = true;
    }
    out.epoch = std::max(out.epoch, epoch);
  }
  return out;
}

}  // namespace

absl::StatusOr<StateTakeover> TakeOverPartitionState(
    const KafkaClientConfig& config, const std::string& topic,
    int32_t partition, int64_t generation, const std::string sources[2],
    size_t commit_every, Engine* engine,
    const std::function<void(const std::string&)>& log) {
  StateTakeover t;
  StatePositions own;
  for (int i = 0; i < 2; ++i) {
    auto stored = engine->GetPosition(sources[i]);
    if (!stored.ok()) return stored.status();
    if (stored->has_value() && !absl::SimpleAtoi(**stored, &own.last[i])) {
      return absl::DataLossError(absl::StrCat("stored position of ", sources[i],
                                              " is corrupt: '", **stored, "'"));
    }
  }
  const absl::Time read_start = absl::Now();
  auto state = ReadState(config, topic, partition);
  if (!state.ok()) return state.status();
  t.read_time = absl::Now() - read_start;
  if (state->epoch > generation) {
    return absl::FailedPreconditionError(absl::StrCat(
        "state topic ", topic, " holds partition ", partition,
        " records of owner epoch ", state->epoch,
        ", above this consumer group's generation ", generation,
        ": either this member was paused or cut off long enough for the "
        "group to give the partition to another member (restart it on its "
        "store: it rejoins and restores what it owns then), or the group "
        "was re-created or another group publishes there, so its "
        "generations no longer order the owners (then use a new state "
        "topic; docs/scaling.md, \"The state topic\")."));
  }
  t.records = state->records;
  t.bytes = state->bytes;
  t.published = state->has_positions;
  t.positions = state->positions;
  const StatePositions& pub = state->positions;
  const int64_t held = static_cast<int64_t>(state->keys.size());
  if (!t.published) {
    // A store that read the partition before the topic existed holds
    // events the topic never will.
    t.complete = own.last[0] < 0 && own.last[1] < 0;
    if (!t.complete) {
      log(absl::StrCat("warning: state topic ", topic,
                       " has nothing of "
                       "partition ",
                       partition,
                       ", which this store holds "
                       "up to offsets ",
                       own.last[0], "/", own.last[1],
                       ": a member that takes it over later cannot restore "
                       "it (docs/scaling.md, \"The state topic\")"));
    }
    return t;
  }
  bool behind = false, ahead = false;
  for (int i = 0; i < 2; ++i) {
    behind |= own.last[i] < pub.last[i];
    ahead |= own.last[i] > pub.last[i];
  }
  if (!behind) {
    t.complete = pub.complete && !ahead;
    t.state_records = pub.records;
    if (ahead && pub.complete) {
      log(absl::StrCat("warning: this store holds partition ", partition,
                       " further than state topic ", topic, " (offsets ",
                       own.last[0], "/", own.last[1], " against ", pub.last[0],
                       "/", pub.last[1],
                       "): the state there is incomplete from now on "
                       "(docs/scaling.md, \"The state topic\")"));
    }
    return t;
  }
  if (pub.complete && held < pub.records) {
    t.complete = false;
    log(absl::StrCat("warning: state topic ", topic, " holds ", held,
                     " events and dead letters of partition ", partition,
                     ", fewer than the ", pub.records,
                     " its last publisher counted: records were deleted (time "
                     "or size retention on a state topic that must only be "
                     "compacted: docs/scaling.md, \"The state topic\"). Not "
                     "restoring it; reading the input topics from offsets ",
                     own.last[0] + 1, "/", own.last[1] + 1, " instead"));
    return t;
  }
  if (!pub.complete) {
    t.complete = false;
    log(absl::StrCat("warning: state topic ", topic, " holds partition ",
                     partition,
                     " only in part (its publisher had history "
                     "before the topic): not restoring it; reading the input "
                     "topics from offsets ",
                     own.last[0] + 1, "/", own.last[1] + 1, " instead"));
    return t;
  }
  // Restore: every event and dead letter, then the positions with the
  // last commit. Those the store holds already are redeliveries.
  const absl::Time apply_start = absl::Now();
  const std::string where = absl::StrCat("state:", topic, "/", partition, "/");
  EventParser parser;
  Event e;
  for (const auto& [offset, raw] : state->events) {
    absl::Status parsed = parser.Parse(raw, &e);
    if (!parsed.ok()) {
      return absl::DataLossError(
          absl::StrCat("state topic ", topic, "/", partition, " offset ",
                       offset, ": event does not parse: ", parsed.message()));
    }
    auto applied = engine->Apply(e, raw, {where, offset});
    if (!applied.ok()) return applied.status();
    ++t.events;
    if (engine->pending() >= commit_every) {
      absl::Status s = engine->Commit();
      if (!s.ok()) return s;
    }
  }
  for (const DeadLetter& d : state->dead_letters) {
    absl::Status s = engine->AddDeadLetter(d);
    if (!s.ok()) return s;
    ++t.dead_letters;
  }
  for (int i = 0; i < 2; ++i) {
    const int64_t last = std::max(own.last[i], pub.last[i]);
    if (last >= 0) engine->SetPosition(sources[i], absl::StrCat(last));
  }
  absl::Status s = engine->Commit();
  if (!s.ok()) return s;
  t.restored = true;
  t.complete = !ahead;
  t.state_records = held;
  t.apply_time = absl::Now() - apply_start;
  log(absl::StrCat("state: restored partition ", partition, " from ", topic,
                   " (", t.records, " records, ", t.bytes, " bytes read in ",
                   absl::FormatDuration(t.read_time), "; ", t.events,
                   " events and ", t.dead_letters, " dead letters applied in ",
                   absl::FormatDuration(t.apply_time),
                   "), continuing at "
                   "offsets ",
                   std::max(own.last[0], pub.last[0]) + 1, "/",
                   std::max(own.last[1], pub.last[1]) + 1));
  return t;
}

}  // namespace chatkpi
