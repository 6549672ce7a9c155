#include "engine/file_shards.h"

#include <algorithm>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "base/prefetch.h"
#include "engine/event_hashes.h"
#include "store/coding.h"
#include "store/stable_hash.h"

namespace chatkpi {
namespace {

// The events a batch usually holds (the callers hand a batch over at
// 16,384 events).
constexpr size_t kBatchSlotsReserved = 16384;

}  // namespace

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

namespace {

// The shard of a key whose StableHash is `hash`.
uint32_t FileShardOfHash(uint64_t hash, uint32_t shards) {
  return shards <= 1 ? 0 : static_cast<uint32_t>(hash % shards);
}

}  // namespace

uint32_t FileShardOf(const Event& e, uint32_t shards) {
  return FileShardOfHash(ShardKeyHashOf(e), shards);
}

uint32_t FileShardOfBuyer(std::string_view buyer, uint32_t shards) {
  return FileShardOfHash(StableHash(buyer), shards);
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
  for (Batch& b : f->batches_) {
    b.by_shard.resize(shards);
    b.chat_keys.resize(shards);
    b.newest_ts.assign(shards, INT64_MIN);
    b.late.assign(shards, 0);
    // Room for a whole batch of the usual size from the start: growing
    // moves every Event parsed so far (their strings included).
    b.slots.reserve(kBatchSlotsReserved);
    b.raw.reserve(kBatchSlotsReserved);
    b.positions.reserve(kBatchSlotsReserved);
  }
  f->shard_order_.resize(shards);
  f->worker_status_.resize(f->threads_);
  f->chat_groups_.resize(f->threads_);
  for (int w = 0; w < f->threads_; ++w) {
    f->workers_.emplace_back([p = f.get(), w] { p->WorkerLoop(w); });
  }
  f->writer_ = std::thread([p = f.get()] { p->WriterLoop(); });
  return f;
}

FileShards::~FileShards() {
  {
    std::unique_lock lock(mu_);
    done_.wait(lock, [&] { return queued_ == 0; });
    stopping_ = true;
  }
  start_.notify_all();
  handed_.notify_all();
  for (std::thread& t : workers_) t.join();
  {
    std::unique_lock lock(write_mu_);
    write_done_.wait(lock, [&] { return !write_pending_; });
    writer_stop_ = true;
  }
  write_start_.notify_all();
  if (writer_.joinable()) writer_.join();
}

void FileShards::Batch::Clear() {
  count = 0;
  raw.clear();
  copies.Reset();
  positions.clear();
  for (auto& list : by_shard) list.clear();
  for (auto& list : chat_keys) list.clear();
  std::fill(newest_ts.begin(), newest_ts.end(), INT64_MIN);
  std::fill(late.begin(), late.end(), 0);
  dead_letters.clear();
  commit = false;
  commit_positions.clear();
  after = nullptr;
}

Event& FileShards::Slot() {
  Batch& b = batches_[fill_];
  if (b.slots.size() <= b.count) b.slots.resize(b.count + 1);
  return b.slots[b.count];
}

void FileShards::Push(std::string_view raw, EventPosition position) {
  PushView(batches_[fill_].copies.Append(raw), position);
}

namespace {

// A chat that counts (an automatic `out` does not): one that
// Engine::ApplyChats can count with its buyer's others.
bool CountsAsChat(const Event& e) {
  return e.type == EventType::kChat && !IsAutomaticReply(e);
}

}  // namespace

void FileShards::PushView(std::string_view raw, EventPosition position) {
  Batch& b = batches_[fill_];
  Event& e = Slot();
  // Hashed once here, on the caller's thread, for the shard choice below
  // and the shard's id claim and day sketches (engine/event_hashes.h).
  HashEvent(&e);
  b.raw.push_back(raw);
  b.positions.push_back(position);
  const uint32_t shard = ShardOf(e);
  b.by_shard[shard].push_back(static_cast<uint32_t>(b.count));
  b.chat_keys[shard].push_back(
      CountsAsChat(e) ? static_cast<uint32_t>(e.key_hash) | 1 : 0);
  if (e.ts_ms < b.newest_ts[shard]) ++b.late[shard];
  b.newest_ts[shard] = std::max(b.newest_ts[shard], e.ts_ms);
  ++b.count;
}

void FileShards::PushDeadLetter(DeadLetter d) {
  batches_[fill_].dead_letters.push_back(std::move(d));
}

size_t FileShards::queued() const {
  const Batch& b = batches_[fill_];
  return b.count + b.dead_letters.size();
}

void FileShards::ClearQueue() { batches_[fill_].Clear(); }

uint32_t FileShards::ShardOf(const Event& e) const {
  return FileShardOf(e, shards());
}

namespace {

// A batch was parsed on another thread, up to thousands of events ago, and
// a shard takes every few of its events; in shuffled input each event
// touches a buyer's state that nothing has touched for long. So the loop
// loads each event's memory in stages ahead of applying it, each stage
// reading only what the stage before loaded (docs/engine.md, "Throughput"):
// * kSlotAhead: the event's slot, raw line view and position;
// * kKeysAhead: what the slot points to and the engine's first lines: the
//   raw line (hashed and logged by the claim), the text (searched for
//   keywords), the id's filter lines and the buyer's (order's) hash slot
//   (Engine::Prefetch);
// * kEntryAhead: the entry that slot holds (Engine::PrefetchState);
// * kDataAhead: what the entry points to (Engine::PrefetchStateData).
// Deeper stages did not pay: each hint is an instruction that waits for a
// free miss buffer while many are outstanding.
constexpr size_t kSlotAhead = 16;
constexpr size_t kKeysAhead = 8;
constexpr size_t kEntryAhead = 4;
constexpr size_t kDataAhead = 2;
// The keyword search reads a reply's text, usually a few dozen bytes.
constexpr size_t kTextBytes = 128;

}  // namespace

uint32_t FileShards::ShardOfBuyer(std::string_view buyer) const {
  return FileShardOfBuyer(buyer, shards());
}

void FileShards::Work(int worker, Batch& b) {
  // Any thread may apply any shard's events: they are applied in queue
  // order by whichever takes the shard, and the shards are independent
  // until every one is idle again.
  for (;;) {
    const size_t k = next_shard_.fetch_add(1, std::memory_order_relaxed);
    if (k >= shard_order_.size()) return;
    const uint32_t s = shard_order_[k];
    Engine& engine = *engines_[s];
    const std::vector<uint32_t>& list = b.by_shard[s];
    const size_t n = list.size();
    auto slot = [&](size_t j) {
      const uint32_t i = list[j];
      PrefetchBytes(&b.slots[i], sizeof(Event));
      PrefetchLine(&b.raw[i]);
      PrefetchLine(&b.positions[i]);
    };
    auto keys_of = [&](size_t j) {
      const uint32_t i = list[j];
      const Event& e = b.slots[i];
      engine.Prefetch(e);
      PrefetchBytes(b.raw[i].data(), b.raw[i].size());
      if (e.type == EventType::kChat && !e.inbound && !e.auto_reply) {
        PrefetchBytes(e.text.data(), std::min(e.text.size(), kTextBytes));
      }
    };
    auto entry = [&](size_t j) { engine.PrefetchState(b.slots[list[j]]); };
    auto data = [&](size_t j) { engine.PrefetchStateData(b.slots[list[j]]); };
    // The first events' stages at once, then each stage for the event its
    // distance ahead.
    for (size_t j = 0; j < std::min(kSlotAhead, n); ++j) slot(j);
    for (size_t j = 0; j < std::min(kKeysAhead, n); ++j) keys_of(j);
    for (size_t j = 0; j < std::min(kEntryAhead, n); ++j) entry(j);
    for (size_t j = 0; j < std::min(kDataAhead, n); ++j) data(j);
    // A buyer's chats are counted together at the last of them: in time
    // order a batch holds most buyers' whole conversations, whose every
    // message would recount its thread's day again (docs/engine.md,
    // "Throughput"). Only when the shard's events came mostly in time
    // order: out of order, few buyers have more than one, and those are
    // mostly late, which Engine::ApplyChats counts one by one anyway.
    const bool in_order = size_t{b.late[s]} * 8 <= n;
    const std::vector<uint32_t>& keys = b.chat_keys[s];
    ChatGroups& g = chat_groups_[worker];
    size_t slots = 16;
    while (slots < 2 * n) slots <<= 1;
    const uint32_t mask = static_cast<uint32_t>(slots - 1);
    auto slot_of = [&](uint32_t key) {
      uint32_t at = key & mask;
      while (g.keys[at] != 0 && g.keys[at] != key) at = (at + 1) & mask;
      return at;
    };
    if (in_order) {
      g.keys.assign(slots, 0);
      g.total.assign(slots, 0);
      g.head.assign(slots, -1);
      g.held.clear();
      for (uint32_t key : keys) {
        if (key == 0) continue;
        const uint32_t at = slot_of(key);
        g.keys[at] = key;
        ++g.total[at];
      }
      g.left = g.total;
    }
    for (size_t k = 0; k < n; ++k) {
      if (k + kSlotAhead < n) slot(k + kSlotAhead);
      if (k + kKeysAhead < n) keys_of(k + kKeysAhead);
      if (k + kEntryAhead < n) entry(k + kEntryAhead);
      if (k + kDataAhead < n) data(k + kDataAhead);
      const uint32_t i = list[k];
      const Event& e = b.slots[i];
      const bool chat = in_order && keys[k] != 0;
      const uint32_t at = chat ? slot_of(keys[k]) : 0;
      const bool grouped = chat && g.total[at] > 1;
      auto applied =
          grouped ? engine.ClaimChatForLater(e, b.Raw(i), b.positions[i])
                  : engine.ApplyBesideSiblings(e, b.Raw(i), b.positions[i]);
      if (!applied.ok()) {
        worker_status_[worker] = applied.status();
        return;
      }
      b.results[i] = *applied == Engine::Applied::kNew         ? kNew
                     : *applied == Engine::Applied::kDuplicate ? kDuplicate
                                                               : kDeferred;
      if (!grouped) continue;
      if (*applied == Engine::Applied::kNew) {
        g.held.emplace_back(&e, g.head[at]);
        g.head[at] = static_cast<int32_t>(g.held.size() - 1);
      }
      if (--g.left[at] > 0 || g.head[at] < 0) continue;
      g.group.clear();
      for (int32_t h = g.head[at]; h >= 0; h = g.held[h].second) {
        g.group.push_back(g.held[h].first);
      }
      g.head[at] = -1;
      std::reverse(g.group.begin(), g.group.end());  // in queue order
      absl::Status st = engine.ApplyChats(g.group);
      if (!st.ok()) {
        worker_status_[worker] = st;
        return;
      }
    }
  }
}

absl::Status FileShards::ApplyDeferred(Batch& b, Counts* counts) {
  // Every shard idle: what involves two of them, in queue order.
  for (size_t i = 0; i < b.count; ++i) {
    if (b.results[i] != kDeferred) {
      ++(b.results[i] == kNew ? counts->accepted : counts->duplicates);
      continue;
    }
    auto outcome = engines_[ShardOf(b.slots[i])]->ApplyWithOutcome(
        b.slots[i], b.Raw(i), b.positions[i]);
    if (!outcome.ok()) return outcome.status();
    ++(*outcome == Engine::Outcome::kNewId ? counts->accepted
                                           : counts->duplicates);
  }
  for (const DeadLetter& d : b.dead_letters) {
    absl::Status s = engines_[0]->AddDeadLetter(d);
    if (!s.ok()) return s;
    ++counts->dead_letters;
  }
  if (!b.commit) return absl::OkStatus();
  for (const auto& [source, value] : b.commit_positions) {
    engines_[0]->SetPosition(source, value);
  }
  return CommitInParallel(b);
}

absl::Status FileShards::CommitInParallel(Batch& b) {
  // Engine::CommitTogether, its per-shard steps on the shards' threads:
  // each encodes its states and compresses its log block beside the
  // others. The write of them all, as one, goes to the writer thread and
  // lands while the shards apply the next batch. The commit before it
  // first: this one's events follow its, and the store's counters add to
  // it.
  absl::Status s = WaitForWrite();
  if (!s.ok()) return Engine::FailAll(all_, s);
  s = Engine::BeginCommit(all_);
  if (!s.ok()) return s;
  s = RunPhase(Phase::kPrepare, b);
  if (!s.ok()) return Engine::FailAll(all_, s);
  s = Engine::PutStoreCounters(all_);
  if (!s.ok()) return s;
  std::vector<chatkpi::Commit*> commits;
  for (Engine* e : all_) commits.push_back(e->HandOverCommit());
  // From here until the write lands, the store's reads of what it writes
  // wait for it: the engines forget it (Committed, eviction) before it
  // lands.
  store_->ExpectWrite(commits);
  {
    std::lock_guard lock(write_mu_);
    write_commits_ = std::move(commits);
    write_after_ = std::move(b.after);
    b.after = nullptr;
    write_pending_ = true;
  }
  write_start_.notify_all();
  return RunPhase(Phase::kCommitted, b);
}

absl::Status FileShards::WaitForWrite() {
  std::unique_lock lock(write_mu_);
  write_done_.wait(lock, [&] { return !write_pending_; });
  return write_failed_;
}

absl::Status FileShards::WriteFailure() {
  std::lock_guard lock(write_mu_);
  return write_failed_;
}

void FileShards::WriterLoop() {
  std::unique_lock lock(write_mu_);
  for (;;) {
    write_start_.wait(lock, [&] { return write_pending_ || writer_stop_; });
    if (!write_pending_) return;
    std::vector<chatkpi::Commit*> commits = std::move(write_commits_);
    std::function<void()> after = std::move(write_after_);
    write_after_ = nullptr;
    const bool failed = !write_failed_.ok();
    lock.unlock();
    // A failed write stops the pipeline before the next commit is handed
    // over (CommitInParallel), so `failed` is a safeguard only.
    absl::Status s = failed ? absl::AbortedError("an earlier commit failed")
                            : store_->WriteAll(commits);
    // The batch's gate is left once its commit is written (or failed).
    if (after) after();
    lock.lock();
    if (!s.ok() && write_failed_.ok()) write_failed_ = s;
    write_pending_ = false;
    write_done_.notify_all();
  }
}

void FileShards::DoPhase(int worker, Phase phase, Batch& b) {
  if (phase == Phase::kApply) {
    Work(worker, b);
    return;
  }
  for (size_t s = worker; s < engines_.size(); s += threads_) {
    Engine& engine = *engines_[s];
    if (phase == Phase::kCommitted) {
      engine.Committed();
      continue;
    }
    absl::Status st = engine.PrepareCommit(/*seal=*/true);
    if (!st.ok()) {
      worker_status_[worker] = st;
      return;
    }
  }
}

absl::Status FileShards::JoinPhase() {
  {
    std::unique_lock lock(mu_);
    if (--busy_ == 0) done_.notify_all();
    done_.wait(lock, [&] { return busy_ == 0; });
  }
  absl::Status s;
  for (absl::Status& w : worker_status_) {
    if (!w.ok() && s.ok()) s = w;
    w = absl::OkStatus();
  }
  return s;
}

absl::Status FileShards::RunPhase(Phase phase, Batch& b) {
  if (phase == Phase::kApply) {
    // The largest shards first: the last ones taken are small, so the
    // threads finish at about the same time.
    for (uint32_t s = 0; s < shard_order_.size(); ++s) shard_order_[s] = s;
    std::stable_sort(shard_order_.begin(), shard_order_.end(),
                     [&](uint32_t x, uint32_t y) {
                       return b.by_shard[x].size() > b.by_shard[y].size();
                     });
    next_shard_.store(0, std::memory_order_relaxed);
  }
  {
    std::lock_guard lock(mu_);
    inflight_ = &b;
    phase_ = phase;
    ++round_;
    busy_ = threads_;
  }
  start_.notify_all();
  DoPhase(0, phase, b);
  return JoinPhase();
}

void FileShards::WorkerLoop(int worker) {
  if (worker != 0) {
    uint64_t seen = 0;
    for (;;) {
      Batch* b = nullptr;
      Phase phase;
      {
        std::unique_lock lock(mu_);
        start_.wait(lock, [&] { return stopping_ || round_ != seen; });
        if (stopping_) return;
        seen = round_;
        b = inflight_;
        phase = phase_;
      }
      DoPhase(worker, phase, *b);
      std::lock_guard lock(mu_);
      if (--busy_ == 0) done_.notify_all();
    }
  }
  // Worker 0 takes the batches handed over through their phases, in
  // order: its part of each, and what needs every shard idle between them
  // (RunPhase starts the other workers on each). It goes on to the next
  // batch as soon as one is done, if the caller has handed it over. Always
  // the same thread, so that the commits' large transient buffers come
  // from one malloc arena (each thread has its own).
  for (;;) {
    Batch* b = nullptr;
    bool skip = false;
    {
      std::unique_lock lock(mu_);
      handed_.wait(lock, [&] { return stopping_ || queued_ > 0; });
      if (queued_ == 0) return;
      b = &batches_[head_];
      // After a failure nothing more is applied: the batches handed over
      // behind the failed one are dropped.
      skip = !failed_.ok();
    }
    absl::Status s;
    Counts c;
    if (!skip) {
      s = RunPhase(Phase::kApply, *b);
      if (s.ok()) {
        // A commit written beside this batch failed: nothing of this batch
        // or any later one is committed.
        s = WriteFailure();
        if (!s.ok()) s = Engine::FailAll(all_, s);
      }
      if (s.ok()) s = ApplyDeferred(*b, &c);
    }
    if (b->after) b->after();
    b->Clear();
    {
      std::lock_guard lock(mu_);
      counts_.accepted += c.accepted;
      counts_.duplicates += c.duplicates;
      counts_.dead_letters += c.dead_letters;
      if (!s.ok() && failed_.ok()) failed_ = s;
      inflight_ = nullptr;
      head_ = (head_ + 1) % kBatches;
      --queued_;
      ++completed_;
    }
    done_.notify_all();
  }
}

absl::Status FileShards::Submit(
    const std::vector<std::pair<std::string, std::string>>* positions,
    std::function<void()> after) {
  Batch& b = batches_[fill_];
  {
    std::unique_lock lock(mu_);
    if (!failed_.ok()) return failed_;
    // A failed commit write stops the pipeline as a failed batch does.
    if (absl::Status w = WriteFailure(); !w.ok()) {
      failed_ = w;
      return failed_;
    }
    if (b.count == 0 && b.dead_letters.empty() && positions == nullptr) {
      if (after) {
        // Once every batch before it is done, as for one handed over.
        done_.wait(lock, [&] { return queued_ == 0; });
        lock.unlock();
        after();
      }
      return absl::OkStatus();
    }
    b.after = std::move(after);
    if (positions != nullptr) {
      b.commit = true;
      b.commit_positions = *positions;
    }
    b.results.assign(b.count, kNew);
    ++queued_;
    ++submitted_;
  }
  handed_.notify_one();
  fill_ = (fill_ + 1) % kBatches;
  // The next batch to fill must be free: done, or never handed over.
  std::unique_lock lock(mu_);
  done_.wait(lock, [&] { return queued_ < kBatches; });
  return absl::OkStatus();
}

absl::Status FileShards::Wait() {
  std::unique_lock lock(mu_);
  done_.wait(lock, [&] { return queued_ == 0; });
  if (!failed_.ok()) return failed_;
  if (absl::Status w = WriteFailure(); !w.ok()) failed_ = w;
  return failed_;
}

absl::Status FileShards::WaitWritten() {
  absl::Status s = Wait();
  if (!s.ok()) return s;
  s = WaitForWrite();
  if (s.ok()) return s;
  std::lock_guard lock(mu_);
  if (failed_.ok()) failed_ = s;
  return failed_;
}

uint64_t FileShards::submitted() const {
  std::lock_guard lock(mu_);
  return submitted_;
}

uint64_t FileShards::completed() const {
  std::lock_guard lock(mu_);
  return completed_;
}

FileShards::Counts FileShards::TakeCounts() {
  std::lock_guard lock(mu_);
  Counts c = counts_;
  counts_ = Counts();
  return c;
}

absl::Status FileShards::Run(Counts* counts) {
  return SubmitAndWait(nullptr, counts);
}

absl::Status FileShards::Commit(
    const std::vector<std::pair<std::string, std::string>>& positions,
    Counts* counts) {
  return SubmitAndWait(&positions, counts);
}

absl::Status FileShards::SubmitAndWait(
    const std::vector<std::pair<std::string, std::string>>* positions,
    Counts* counts) {
  absl::Status s = Submit(positions);
  if (s.ok()) s = WaitWritten();
  const Counts c = TakeCounts();
  counts->accepted += c.accepted;
  counts->duplicates += c.duplicates;
  counts->dead_letters += c.dead_letters;
  return s;
}

absl::Status FileShards::CommitAll() {
  // Every shard idle (a conflicting copy resolved across shards): the
  // commit in flight lands first, then this one, written here.
  absl::Status s = WaitForWrite();
  if (!s.ok()) return Engine::FailAll(all_, s);
  return Engine::CommitTogether(all_);
}

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
  const absl::string_view key(order.data(), order.size());
  if (!store_had_events_) {
    // Nothing to look up in the store: found or claimed under one lock.
    std::lock_guard lock(stripe.mu);
    return stripe.shard
        .lazy_emplace(
            key, [&](const auto& ctor) { ctor(std::string(order), shard); })
        ->second;
  }
  {
    std::lock_guard lock(stripe.mu);
    auto it = stripe.shard.find(key);
    if (it != stripe.shard.end()) return it->second;
  }
  uint32_t owner = shard;
  // An order of an earlier run: its state is under the shard that held it
  // at that run's last commit (a move deletes it from the shard it leaves).
  for (uint32_t i = 0; i < shards(); ++i) {
    const uint32_t s = (shard + i) % shards();
    std::string state_key;
    PutFixed32BE(&state_key, s);
    state_key.append(order);
    auto stored = store_->Get(Family::kOrders, state_key);
    if (!stored.ok()) return stored.status();
    if (stored->has_value()) {
      owner = s;
      break;
    }
  }
  std::lock_guard lock(stripe.mu);
  return stripe.shard.try_emplace(std::string(order), owner).first->second;
}

void FileShards::SetOrderShard(std::string_view order, uint32_t shard) {
  OrderStripe& stripe = orders_[StableHash(order) % kOrderStripes];
  std::lock_guard lock(stripe.mu);
  stripe.shard.insert_or_assign(std::string(order), shard);
}

}  // namespace chatkpi
