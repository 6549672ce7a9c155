#include "engine/replay_workers.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"

namespace chatkpi {
namespace {

// Events per batch: enough that a worker's share outweighs waking it, few
// enough that two batches stay small (the bytes bound covers long events).
constexpr size_t kBatchEvents = 16384;
constexpr size_t kBatchBytes = 16 << 20;

absl::Status Unparsable(uint64_t seq, const absl::Status& parsed) {
  // Every logged event parsed when it was taken in; the parser of this
  // build disagrees. Better stop than silently drop history.
  return absl::DataLossError(absl::StrCat(
      "event ", seq, " of the live log does not parse with this build (",
      parsed.message(), "); nothing was switched"));
}

}  // namespace

ReplayWorkers::ReplayWorkers(int threads, size_t commit_every, bool parse_here,
                             EngineFor engine_for)
    : threads_(std::max(1, threads)),
      commit_every_(commit_every),
      parse_here_(parse_here),
      engine_for_(std::move(engine_for)),
      workers_state_(threads_) {
  for (Batch& b : batches_) b.by_worker.resize(threads_);
  for (int w = 0; w < threads_; ++w) {
    threads_list_.emplace_back([this, w] { WorkerLoop(w); });
  }
}

ReplayWorkers::~ReplayWorkers() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  start_.notify_all();
  for (std::thread& t : threads_list_) t.join();
}

absl::Status ReplayWorkers::Add(uint64_t seq, uint32_t shard,
                                std::string_view raw) {
  if (!failed_.ok()) return failed_;
  Batch& b = batches_[filling_];
  if (parse_here_) {
    if (b.events.size() <= b.count) b.events.resize(b.count + 1);
    absl::Status parsed = parser_.Parse(raw, &b.events[b.count]);
    if (!parsed.ok()) return failed_ = Unparsable(seq, parsed);
  }
  if (last_engine_ == nullptr || shard != last_shard_) {
    absl::StatusOr<Engine*> engine;
    {
      // Opening an engine may write to the store (the rules of a new one).
      std::lock_guard lock(commit_mu_);
      engine = engine_for_(shard);
    }
    if (!engine.ok()) return failed_ = engine.status();
    last_shard_ = shard;
    last_engine_ = *engine;
  }
  b.raw.append(raw);
  b.end.push_back(b.raw.size());
  b.seq.push_back(seq);
  b.engine.push_back(last_engine_);
  b.by_worker[shard % threads_].push_back(static_cast<uint32_t>(b.count));
  ++b.count;
  if (b.count >= kBatchEvents || b.raw.size() >= kBatchBytes) {
    return Dispatch();
  }
  return absl::OkStatus();
}

absl::Status ReplayWorkers::Wait() {
  if (running_ < 0) return failed_;
  {
    std::unique_lock lock(mu_);
    done_.wait(lock, [&] { return busy_ == 0; });
  }
  running_ = -1;
  for (Worker& w : workers_state_) {
    if (!w.status.ok() && failed_.ok()) failed_ = w.status;
    duplicates_ += w.duplicates;
    w.duplicates = 0;
  }
  return failed_;
}

absl::Status ReplayWorkers::Dispatch() {
  absl::Status s = Wait();
  if (!s.ok()) return s;
  Batch& b = batches_[filling_];
  if (b.count == 0) return absl::OkStatus();
  running_ = filling_;
  {
    std::lock_guard lock(mu_);
    ++round_;
    busy_ = threads_;
  }
  start_.notify_all();
  filling_ ^= 1;
  Batch& next = batches_[filling_];
  next.raw.clear();
  next.end.clear();
  next.seq.clear();
  next.engine.clear();
  for (auto& list : next.by_worker) list.clear();
  next.count = 0;
  return absl::OkStatus();
}

absl::Status ReplayWorkers::Drain() {
  absl::Status s = Dispatch();
  if (!s.ok()) return s;
  return Wait();
}

void ReplayWorkers::Work(int worker) {
  Worker& w = workers_state_[worker];
  if (!w.status.ok()) return;
  const Batch& b = batches_[running_];
  const std::vector<uint32_t>& list = b.by_worker[worker];
  for (size_t k = 0; k < list.size(); ++k) {
    const uint32_t i = list[k];
    // Parsed already: the next event's memory is loaded while this one is
    // applied.
    if (parse_here_ && k + 1 < list.size()) {
      b.engine[list[k + 1]]->Prefetch(b.events[list[k + 1]]);
    }
    const size_t begin = i == 0 ? 0 : b.end[i - 1];
    const std::string_view raw =
        std::string_view(b.raw).substr(begin, b.end[i] - begin);
    const Event* e = &w.event;
    if (parse_here_) {
      e = &b.events[i];
    } else if (absl::Status parsed = w.parser.Parse(raw, &w.event);
               !parsed.ok()) {
      w.status = Unparsable(b.seq[i], parsed);
      return;
    }
    Engine& engine = *b.engine[i];
    auto outcome = engine.ApplyWithOutcome(*e, raw);
    if (!outcome.ok()) {
      w.status = outcome.status();
      return;
    }
    if (*outcome != Engine::Outcome::kNewId) ++w.duplicates;
    if (engine.pending() >= commit_every_ || engine.OverStateBudget()) {
      std::lock_guard lock(commit_mu_);
      w.status = engine.Commit();
      if (!w.status.ok()) return;
    }
  }
}

void ReplayWorkers::WorkerLoop(int worker) {
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

}  // namespace chatkpi
