#include "engine/file_shards.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "store/coding.h"
#include "store/stable_hash.h"

namespace chatkpi {

absl::StatusOr<uint32_t> FileShardsOf(Store& store, uint32_t for_new_store) {
  auto stored = store.Get(Family::kMeta, kMetaFileShards);
  if (!stored.ok()) return stored.status();
  if (stored->has_value()) {
    uint32_t shards = 0;
    if (!absl::SimpleAtoi(**stored, &shards) || shards < 1 || shards > 4096) {
      return absl::DataLossError(absl::StrCat(
          "--db ", store.dir(), ": the file shard count is corrupt"));
    }
    return shards;
  }
  // Events without a record: taken in by shard 0 alone.
  if (store.next_seq() > 0 || for_new_store <= 1) return 1;
  Commit c(&store);
  c.Put(Family::kMeta, kMetaFileShards, absl::StrCat(for_new_store));
  absl::Status s = store.Write(&c);
  if (!s.ok()) return s;
  return for_new_store;
}

uint32_t FileShardOf(const Event& e, uint32_t shards) {
  if (shards <= 1) return 0;
  const std::string_view key =
      e.type == EventType::kAssessment ? e.agent : e.buyer;
  return static_cast<uint32_t>(StableHash(key) % shards);
}

absl::StatusOr<std::unique_ptr<FileShards>> FileShards::Open(
    const Rules& rules, Store* store, const EngineOptions& base,
    uint32_t shards, int threads) {
  std::unique_ptr<FileShards> f(new FileShards());
  f->store_ = store;
  f->store_had_events_ = store->next_seq() > 0;
  f->threads_ = std::max(1, std::min<int>(threads, static_cast<int>(shards)));
  EngineOptions eo = base;
  eo.siblings = f.get();
  // One budget for the evicted states of all shards (engine/evicted_states.h).
  if (eo.evicted_states == nullptr) {
    eo.evicted_states = std::make_shared<EvictedStates>();
  }
  // And one budget for the states they hold: each shard a share.
  eo.live_state_budget_bytes = base.live_state_budget_bytes / shards;
  for (uint32_t s = 0; s < shards; ++s) {
    eo.shard = s;
    auto engine = Engine::Open(rules, store, eo);
    if (!engine.ok()) return engine.status();
    f->all_.push_back(engine->get());
    f->engines_.push_back(std::move(*engine));
  }
  for (Engine* e : f->all_) e->ShareCardinalityWith(f->all_);
  f->by_shard_.resize(shards);
  f->worker_status_.resize(f->threads_);
  for (int w = 1; w < f->threads_; ++w) {
    f->workers_.emplace_back([p = f.get(), w] { p->WorkerLoop(w); });
  }
  return f;
}

FileShards::~FileShards() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  start_.notify_all();
  for (std::thread& t : workers_) t.join();
}

Event& FileShards::Slot() {
  if (slots_.size() <= count_) slots_.resize(count_ + 1);
  return slots_[count_];
}

void FileShards::Push(std::string_view raw, EventPosition position) {
  const Event& e = Slot();
  raw_.append(raw);
  raw_end_.push_back(raw_.size());
  positions_.push_back(position);
  by_shard_[ShardOf(e)].push_back(static_cast<uint32_t>(count_));
  ++count_;
}

void FileShards::PushDeadLetter(DeadLetter d) {
  dead_letters_.push_back(std::move(d));
}

void FileShards::ClearQueue() {
  count_ = 0;
  raw_.clear();
  raw_end_.clear();
  positions_.clear();
  for (auto& list : by_shard_) list.clear();
  dead_letters_.clear();
}

uint32_t FileShards::ShardOf(const Event& e) const {
  return FileShardOf(e, shards());
}

void FileShards::Work(int worker) {
  for (size_t s = worker; s < engines_.size(); s += threads_) {
    Engine& engine = *engines_[s];
    const std::vector<uint32_t>& list = by_shard_[s];
    for (size_t k = 0; k < list.size(); ++k) {
      // The next event's memory is loaded while this one is applied.
      if (k + 1 < list.size()) engine.Prefetch(slots_[list[k + 1]]);
      const uint32_t i = list[k];
      const size_t begin = i == 0 ? 0 : raw_end_[i - 1];
      auto applied = engine.ApplyBesideSiblings(
          slots_[i], std::string_view(raw_).substr(begin, raw_end_[i] - begin),
          positions_[i]);
      if (!applied.ok()) {
        worker_status_[worker] = applied.status();
        return;
      }
      results_[i] = *applied == Engine::Applied::kNew         ? kNew
                    : *applied == Engine::Applied::kDuplicate ? kDuplicate
                                                              : kDeferred;
    }
  }
}

void FileShards::WorkerLoop(int worker) {
  uint64_t seen = 0;
  for (;;) {
    {
      std::unique_lock lock(mu_);
      start_.wait(lock, [&] { return stopping_ || round_ != seen; });
      if (stopping_) return;
      seen = round_;
    }
    Work(worker);
    {
      std::lock_guard lock(mu_);
      if (--busy_ == 0) done_.notify_one();
    }
  }
}

absl::Status FileShards::Run(Counts* counts) {
  if (!failed_.ok()) return failed_;
  if (count_ > 0) {
    results_.assign(count_, kNew);
    if (threads_ == 1) {
      Work(0);
    } else {
      {
        std::lock_guard lock(mu_);
        ++round_;
        busy_ = threads_ - 1;
      }
      start_.notify_all();
      Work(0);
      std::unique_lock lock(mu_);
      done_.wait(lock, [&] { return busy_ == 0; });
    }
    for (absl::Status& s : worker_status_) {
      if (!s.ok() && failed_.ok()) failed_ = s;
      s = absl::OkStatus();
    }
    if (!failed_.ok()) return failed_;
    // Every shard idle: what involves two of them, in queue order.
    for (size_t i = 0; i < count_; ++i) {
      if (results_[i] != kDeferred) {
        ++(results_[i] == kNew ? counts->accepted : counts->duplicates);
        continue;
      }
      const size_t begin = i == 0 ? 0 : raw_end_[i - 1];
      auto applied = engines_[ShardOf(slots_[i])]->Apply(
          slots_[i], std::string_view(raw_).substr(begin, raw_end_[i] - begin),
          positions_[i]);
      if (!applied.ok()) {
        failed_ = applied.status();
        return failed_;
      }
      ++(*applied ? counts->accepted : counts->duplicates);
    }
  }
  for (const DeadLetter& d : dead_letters_) {
    absl::Status s = engines_[0]->AddDeadLetter(d);
    if (!s.ok()) {
      failed_ = s;
      return s;
    }
    ++counts->dead_letters;
  }
  ClearQueue();
  return absl::OkStatus();
}

absl::Status FileShards::Commit(
    const std::vector<std::pair<std::string, std::string>>& positions,
    Counts* counts) {
  absl::Status s = Run(counts);
  if (!s.ok()) return s;
  for (const auto& [source, value] : positions) {
    engines_[0]->SetPosition(source, value);
  }
  s = CommitAll();
  if (!s.ok()) failed_ = s;
  return s;
}

absl::Status FileShards::CommitAll() { return Engine::CommitTogether(all_); }

bool FileShards::OverStateBudget() const {
  size_t held = 0;
  size_t budget = 0;
  for (const auto& e : engines_) {
    held += e->live_state_bytes();
    budget += e->options().live_state_budget_bytes;
  }
  return held >= budget;
}

EngineStats FileShards::stats() const {
  EngineStats total;
  for (const auto& e : engines_) {
    const EngineStats& s = e->stats();
    total.accepted += s.accepted;
    total.duplicates += s.duplicates;
    total.conflicts += s.conflicts;
    total.dead_letters += s.dead_letters;
    total.commits += s.commits;
    total.evicted_buyers += s.evicted_buyers;
    total.evicted_orders += s.evicted_orders;
  }
  return total;
}

absl::StatusOr<uint32_t> FileShards::OrderShard(std::string_view order,
                                                uint32_t shard) {
  OrderStripe& stripe = orders_[StableHash(order) % kOrderStripes];
  {
    std::lock_guard lock(stripe.mu);
    auto it = stripe.shard.find(absl::string_view(order.data(), order.size()));
    if (it != stripe.shard.end()) return it->second;
  }
  uint32_t owner = shard;
  if (store_had_events_) {
    // An order of an earlier run: its state is under the shard that took
    // it in then.
    for (uint32_t i = 0; i < shards(); ++i) {
      const uint32_t s = (shard + i) % shards();
      std::string key;
      PutFixed32BE(&key, s);
      key.append(order);
      auto stored = store_->Get(Family::kOrders, key);
      if (!stored.ok()) return stored.status();
      if (stored->has_value()) {
        owner = s;
        break;
      }
    }
  }
  std::lock_guard lock(stripe.mu);
  return stripe.shard.try_emplace(std::string(order), owner).first->second;
}

}  // namespace chatkpi
