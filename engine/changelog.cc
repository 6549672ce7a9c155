#include "engine/changelog.h"

#include <cstring>
#include <iostream>
#include <set>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "engine/engine.h"
#include "engine/local_day.h"
#include "ingest/kafka_reader.h"
#include "store/coding.h"

namespace chatkpi {
namespace {

constexpr absl::Duration kPollTimeout = absl::Milliseconds(100);
// How often the reader looks for partitions added to the topic.
constexpr absl::Duration kRecheckPartitions = absl::Seconds(10);

std::string PositionKey(std::string_view topic, int32_t partition) {
  return absl::StrCat(kMetaPositionPrefix, "changelog/", std::string(topic),
                      "/", partition);
}

// A reader's store: the current owner epoch and the dead-letter count of
// each partition (decimal), under keys of engine/meta.h.
constexpr const char* kMetaEpochPrefix = kMetaChangelogEpochPrefix;
constexpr const char* kMetaDeadPrefix = kMetaChangelogDeadLettersPrefix;

absl::string_view AbslView(std::string_view s) {
  return absl::string_view(s.data(), s.size());
}

// The first key of shard `partition` in the aggregates and rollups.
std::string ShardPrefix(uint32_t partition) {
  std::string k;
  PutFixed32BE(&k, partition);
  return k;
}

}  // namespace

std::string ChangelogKey(uint32_t partition, int32_t day,
                         std::string_view agent) {
  return absl::StrCat(partition, "/", absl::FormatCivilTime(DayFromNumber(day)),
                      "/", std::string(agent));
}

bool ParseChangelogKey(std::string_view key, uint32_t* partition, int32_t* day,
                       std::string* agent) {
  const size_t a = key.find('/');
  if (a == std::string_view::npos) return false;
  const size_t b = key.find('/', a + 1);
  if (b == std::string_view::npos) return false;
  absl::CivilDay d;
  if (!absl::SimpleAtoi(std::string(key.substr(0, a)), partition) ||
      !absl::ParseCivilTime(std::string(key.substr(a + 1, b - a - 1)), &d)) {
    return false;
  }
  *day = DayNumber(d);
  *agent = std::string(key.substr(b + 1));
  return true;
}

std::string ChangelogOwnerKey(uint32_t partition) {
  return absl::StrCat(partition, "/owner");
}

std::string ChangelogDeadLettersKey(uint32_t partition) {
  return absl::StrCat(partition, "/dead_letters");
}

absl::StatusOr<std::set<std::string>> ChangelogTopicsRead(Store& store) {
  // Keys "pos/changelog/<topic>/<partition>"; a topic name holds no '/'.
  const std::string prefix = absl::StrCat(kMetaPositionPrefix, "changelog/");
  std::set<std::string> topics;
  absl::Status s = store.Scan(
      Family::kMeta, prefix, "", [&](std::string_view k, std::string_view) {
        if (k.substr(0, prefix.size()) != prefix) return false;
        k.remove_prefix(prefix.size());
        topics.insert(std::string(k.substr(0, k.rfind('/'))));
        return true;
      });
  if (!s.ok()) return s;
  return topics;
}

ChangelogApplier::ChangelogApplier(Store* store, std::string topic)
    : store_(store), topic_(std::move(topic)) {}

absl::StatusOr<Counters*> ChangelogApplier::Load(Family f,
                                                 const std::string& key) {
  auto& rows = f == Family::kRollups ? months_ : days_;
  auto it = rows.find(key);
  if (it != rows.end()) return &it->second;
  Counters c;
  auto stored = store_->Get(f, key);
  if (!stored.ok()) return stored.status();
  if (stored->has_value() && !DecodeCounters(**stored, &c)) {
    return absl::DataLossError(
        absl::StrCat("stored row of ", FamilyName(f), " is corrupt"));
  }
  return &rows.emplace(key, c).first->second;
}

absl::StatusOr<int64_t> ChangelogApplier::Epoch(uint32_t partition) {
  auto it = epochs_.find(partition);
  if (it != epochs_.end()) return it->second;
  int64_t epoch = 0;
  auto stored =
      store_->Get(Family::kMeta, absl::StrCat(kMetaEpochPrefix, partition));
  if (!stored.ok()) return stored.status();
  if (stored->has_value() && !absl::SimpleAtoi(**stored, &epoch)) {
    return absl::DataLossError(
        absl::StrCat("stored changelog epoch of partition ", partition,
                     " is corrupt: '", **stored, "'"));
  }
  epochs_[partition] = epoch;
  return epoch;
}

absl::Status ChangelogApplier::Reset(uint32_t partition, int64_t epoch) {
  ++resets_;
  epochs_[partition] = epoch;
  epochs_changed_.insert(partition);
  dead_letters_[partition] = 0;
  const std::string prefix = ShardPrefix(partition);
  const std::string end = ShardPrefix(partition + 1);
  for (auto* rows : {&days_, &months_}) {
    for (auto& [key, value] : *rows) {
      if (std::string_view(key).substr(0, prefix.size()) == prefix) {
        value = Counters();
      }
    }
  }
  // Every stored row of the partition goes (Flush deletes zero rows); the
  // new owner's rows follow.
  for (Family f : {Family::kAggregates, Family::kRollups}) {
    auto& rows = f == Family::kRollups ? months_ : days_;
    absl::Status s = store_->Scan(
        f, prefix, partition == UINT32_MAX ? std::string_view() : end,
        [&](std::string_view key, std::string_view) {
          rows[std::string(key)] = Counters();
          return true;
        });
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::StatusOr<bool> ChangelogApplier::Apply(int32_t partition, int64_t offset,
                                             std::string_view key,
                                             std::string_view value,
                                             std::string_view epoch_text) {
  last_offsets_[partition] = offset;
  ++staged_;
  int64_t epoch = 0;
  if (!epoch_text.empty() &&
      (!absl::SimpleAtoi(AbslView(epoch_text), &epoch) || epoch < 0)) {
    return false;
  }
  const size_t slash = key.find('/');
  uint32_t shard;
  if (slash == std::string_view::npos ||
      !absl::SimpleAtoi(AbslView(key.substr(0, slash)), &shard)) {
    return false;
  }
  const std::string_view what = key.substr(slash + 1);
  enum class Kind { kRow, kOwner, kDeadLetters } kind = Kind::kRow;
  int32_t day = 0;
  std::string agent;
  Counters now;
  int64_t dead = 0;
  if (what == "owner") {
    kind = Kind::kOwner;
  } else if (what == "dead_letters") {
    kind = Kind::kDeadLetters;
    if (!absl::SimpleAtoi(AbslView(value), &dead) || dead < 0) return false;
  } else if (!ParseChangelogKey(key, &shard, &day, &agent) ||
             (!value.empty() && !DecodeCounters(value, &now))) {
    return false;
  }
  auto current = Epoch(shard);
  if (!current.ok()) return current.status();
  if (epoch < *current) {
    // A former owner's message (late, or it is still running): the current
    // owner's rows are the partition's.
    ++stale_;
    return true;
  }
  if (epoch > *current) {
    absl::Status s = Reset(shard, epoch);
    if (!s.ok()) return s;
  }
  if (kind == Kind::kOwner) return true;
  if (kind == Kind::kDeadLetters) {
    dead_letters_[shard] = dead;
    return true;
  }
  auto row = Load(Family::kAggregates, AggregateKey(shard, day, agent));
  if (!row.ok()) return row.status();
  auto month = Load(Family::kRollups, RollupKey(shard, MonthOfDay(day), agent));
  if (!month.ok()) return month.status();
  // The month moves by what the day moved: the rollup stays the sum of
  // the days the changelog has delivered so far.
  Counters new_month = **month;
  absl::Status s = new_month.Subtract(**row);
  if (s.ok()) s = new_month.Add(now);
  if (!s.ok()) {
    return absl::Status(
        s.code(), absl::StrCat("changelog row ", std::string(key), " at ",
                               partition, "/", offset, ": ", s.message()));
  }
  **month = new_month;
  **row = now;
  return true;
}

absl::Status ChangelogApplier::Flush() {
  if (staged_ == 0) return absl::OkStatus();
  Commit c(store_);
  for (const auto* rows : {&days_, &months_}) {
    const Family f = rows == &months_ ? Family::kRollups : Family::kAggregates;
    for (const auto& [key, value] : *rows) {
      if (value.IsZero()) {
        c.Delete(f, key);
      } else {
        c.Put(f, key, EncodeCounters(value));
      }
    }
  }
  for (const auto& [p, offset] : last_offsets_) {
    c.Put(Family::kMeta, PositionKey(topic_, p), absl::StrCat(offset));
  }
  for (uint32_t p : epochs_changed_) {
    c.Put(Family::kMeta, absl::StrCat(kMetaEpochPrefix, p),
          absl::StrCat(epochs_[p]));
  }
  if (!dead_letters_.empty()) {
    // The store's count is the sum of the partitions' (ReadSnapshot).
    std::map<uint32_t, int64_t> all = dead_letters_;
    absl::Status bad;
    absl::Status s = store_->Scan(
        Family::kMeta, kMetaDeadPrefix, "",
        [&](std::string_view k, std::string_view v) {
          if (k.substr(0, strlen(kMetaDeadPrefix)) != kMetaDeadPrefix) {
            return false;
          }
          uint32_t p;
          int64_t n;
          if (!absl::SimpleAtoi(AbslView(k.substr(strlen(kMetaDeadPrefix))),
                                &p) ||
              !absl::SimpleAtoi(AbslView(v), &n)) {
            bad = absl::DataLossError(absl::StrCat(
                "changelog dead-letter count ", std::string(k), " is corrupt"));
            return false;
          }
          all.try_emplace(p, n);
          return true;
        });
    if (!s.ok()) return s;
    if (!bad.ok()) return bad;
    int64_t total = 0;
    for (const auto& [p, n] : all) total += n;
    for (const auto& [p, n] : dead_letters_) {
      c.Put(Family::kMeta, absl::StrCat(kMetaDeadPrefix, p), absl::StrCat(n));
    }
    std::string encoded;
    PutVarsint64(&encoded, total);
    c.Put(Family::kMeta, kMetaDeadLetters, encoded);
  }
  absl::Status s = store_->Write(&c);
  if (!s.ok()) return s;
  days_.clear();
  months_.clear();
  dead_letters_.clear();
  epochs_changed_.clear();
  last_offsets_.clear();
  staged_ = 0;
  return absl::OkStatus();
}

absl::StatusOr<std::map<int32_t, int64_t>> ChangelogApplier::StoredOffsets() {
  std::map<int32_t, int64_t> out;
  const std::string prefix = PositionKey(topic_, 0).substr(
      0, PositionKey(topic_, 0).size() - 1);  // ".../changelog/<topic>/"
  absl::Status bad;
  absl::Status s = store_->Scan(
      Family::kMeta, prefix, "", [&](std::string_view k, std::string_view v) {
        if (k.substr(0, prefix.size()) != prefix) return false;
        int32_t p;
        int64_t last;
        if (!absl::SimpleAtoi(std::string(k.substr(prefix.size())), &p) ||
            !absl::SimpleAtoi(std::string(v), &last)) {
          bad = absl::DataLossError(absl::StrCat(
              "changelog position ", std::string(k), " is corrupt"));
          return false;
        }
        out[p] = last + 1;
        return true;
      });
  if (!s.ok()) return s;
  if (!bad.ok()) return bad;
  return out;
}

absl::Status RunChangelogReader(Store* store,
                                const ChangelogReaderOptions& opts,
                                ChangelogReaderReport* report) {
  auto log = [&](const std::string& line) {
    if (opts.log) {
      opts.log(line);
    } else {
      std::cerr << "chatkpi changelog: " << line << "\n";
    }
  };
  auto stopped = [&] { return opts.stop != nullptr && opts.stop->load(); };
  if (opts.topic.empty()) {
    return absl::InvalidArgumentError("no changelog topic given");
  }
  // The owner epochs a store keeps are those of the topic it was read
  // from: read from another topic (a new consumer group's), its messages
  // would be dropped or mixed with the old topic's rows.
  auto read_before = ChangelogTopicsRead(*store);
  if (!read_before.ok()) return read_before.status();
  for (const std::string& other : *read_before) {
    if (other != opts.topic) {
      return absl::FailedPreconditionError(absl::StrCat(
          "--db ", store->dir(), " holds the team view of changelog topic ",
          other, ", not ", opts.topic, ": give a new --db (or none) to read ",
          opts.topic));
    }
  }
  auto reader = KafkaTopicReader::Open(opts.client);
  if (!reader.ok()) return reader.status();
  ChangelogApplier applier(store, opts.topic);

  // The topic may not exist yet (the engines create nothing): wait for it.
  int partitions = 0;
  bool waiting_logged = false;
  while (!stopped()) {
    auto n = (*reader)->PartitionCount(opts.topic, absl::Seconds(5));
    if (n.ok() && *n > 0) {
      partitions = *n;
      break;
    }
    if (!waiting_logged) {
      log(absl::StrCat("waiting for topic ", opts.topic, ": ",
                       n.ok() ? "no partitions" : n.status().message()));
      waiting_logged = true;
    }
    absl::SleepFor(absl::Seconds(1));
  }
  if (stopped()) return absl::OkStatus();

  std::set<int32_t> at_end;
  auto assign = [&]() -> absl::Status {
    auto offsets = applier.StoredOffsets();
    if (!offsets.ok()) return offsets.status();
    at_end.clear();
    log(absl::StrCat("reading ", partitions, " partitions of ", opts.topic,
                     " (", offsets->size(), " from stored positions)"));
    return (*reader)->Assign(opts.topic, partitions, *offsets);
  };
  absl::Status s = assign();
  if (!s.ok()) return s;

  // The group whose rows this view takes (kChangelogGroupHeader).
  auto group_record = store->Get(Family::kMeta, kMetaChangelogGroup);
  if (!group_record.ok()) return group_record.status();
  std::string group = group_record->value_or("");

  bool caught_up_logged = false;
  absl::Time last_flush = absl::Now();
  absl::Time last_recheck = absl::Now();
  bool changed = false;
  std::string last_error;
  KafkaMessage m;
  while (!stopped()) {
    auto got = (*reader)->Poll(kPollTimeout, &m);
    if (!got.ok()) return got.status();
    if (*got) {
      if (m.kind == KafkaMessage::Kind::kError) {
        if (m.error != last_error) log(absl::StrCat("Kafka: ", m.error));
        last_error = m.error;
      } else if (m.kind == KafkaMessage::Kind::kPartitionEnd) {
        at_end.insert(m.partition);
      } else {
        at_end.erase(m.partition);
        ++report->messages;
        if (!opts.rules_version.empty() && !m.rules_header.empty() &&
            m.rules_header != opts.rules_version) {
          return absl::FailedPreconditionError(absl::StrCat(
              "changelog ", opts.topic, " message at ", m.partition, "/",
              m.offset, " holds rows computed under rules '",
              std::string(m.rules_header), "', but this view is under '",
              opts.rules_version,
              "': every member and query instance must run the same rules, "
              "and a rule change takes a new changelog topic (docs/scaling.md, "
              "\"Rules\")"));
        }
        if (!m.group_header.empty() && m.group_header != group) {
          if (!group.empty()) {
            return absl::FailedPreconditionError(absl::StrCat(
                "changelog ", opts.topic, " message at ", m.partition, "/",
                m.offset, " holds rows of consumer group '",
                std::string(m.group_header), "', but this view takes group '",
                group,
                "''s: owner epochs are a group's, and two groups' rows would "
                "drop or mix each other's. Give each group a changelog topic "
                "of its own (docs/scaling.md)"));
          }
          group = std::string(m.group_header);
          Commit c(store);
          c.Put(Family::kMeta, kMetaChangelogGroup, group);
          if (absl::Status w = store->Write(&c); !w.ok()) return w;
        }
        auto applied = applier.Apply(m.partition, m.offset, m.key, m.value,
                                     m.epoch_header);
        if (!applied.ok()) return applied.status();
        if (!*applied && report->malformed++ == 0) {
          log(absl::StrCat("skipping ", opts.topic, "/", m.partition, "/",
                           m.offset, ": not a changelog row"));
        }
        changed = true;
      }
    }
    const absl::Time now = absl::Now();
    const bool caught_up = static_cast<int>(at_end.size()) == partitions;
    if (applier.staged() >= opts.flush_every ||
        (applier.staged() > 0 &&
         (caught_up || now - last_flush >= opts.flush_interval))) {
      s = applier.Flush();
      if (!s.ok()) return s;
      last_flush = now;
      if (changed && opts.on_flush) opts.on_flush();
      changed = false;
    }
    if (caught_up && applier.staged() == 0) {
      if (!caught_up_logged) {
        log(absl::StrCat("caught up: ", report->messages, " messages read (",
                         applier.stale(), " of former owners dropped, ",
                         applier.resets(), " partition resets)"));
        caught_up_logged = true;
      }
      if (opts.until_caught_up) {
        report->caught_up = true;
        report->stale = applier.stale();
        report->resets = applier.resets();
        return absl::OkStatus();
      }
    }
    if (now - last_recheck >= kRecheckPartitions) {
      last_recheck = now;
      auto n = (*reader)->PartitionCount(opts.topic, absl::Seconds(5));
      if (n.ok() && *n > partitions) {
        s = applier.Flush();
        if (!s.ok()) return s;
        partitions = *n;
        s = assign();
        if (!s.ok()) return s;
      }
    }
  }
  report->caught_up = static_cast<int>(at_end.size()) == partitions;
  report->stale = applier.stale();
  report->resets = applier.resets();
  return applier.Flush();
}

}  // namespace chatkpi
