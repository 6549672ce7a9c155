#include "engine/live_store.h"

#include <filesystem>

#include "absl/strings/str_cat.h"

namespace chatkpi {

absl::StatusOr<std::unique_ptr<LiveStore>> LiveStore::Open(
    const std::string& db, const StoreOptions& opts) {
  std::unique_ptr<LiveStore> live(
      new LiveStore(GenerationPaths::For(db), opts));
  live->db_arg_ = db;
  std::error_code ec;
  const bool had_lock_file = std::filesystem::exists(live->paths_.lock, ec);
  auto lock = LockGenerations(live->paths_);
  if (!lock.ok()) return lock.status();
  absl::Status s = RepairLayout(live->paths_);
  if (s.ok()) s = live->OpenLocked();
  // A replay waits for the writer of this plain DIR to move it into the
  // generation layout; this is the writer now.
  if (s.ok() && live->ConvertRequested()) s = live->Reopen();
  if (!s.ok()) {
    // A refused --db (someone else's directory, a damaged store) is left
    // without even a lock file beside it; nobody else can be using one
    // that was made just now for a store nobody can open.
    if (!had_lock_file) std::filesystem::remove(live->paths_.lock, ec);
    return s;
  }
  return live;
}

LiveStore::~LiveStore() {
  // The store closes before the lock is released.
  store_.reset();
}

absl::Status LiveStore::OpenLocked() {
  auto ref = ResolveLive(paths_);
  const bool create = absl::IsNotFound(ref.status()) &&
                      opts_.create_if_missing && !opts_.read_only;
  if (!ref.ok() && !create) return ref.status();
  // A plain DIR keeps the name it was given, for the store's messages.
  const std::string dir = ref.ok() && !ref->plain ? ref->path : db_arg_;
  auto store = Store::Open(dir, opts_);
  if (!store.ok()) return store.status();
  if (create) {
    ref = ResolveLive(paths_);
    if (!ref.ok()) return ref.status();
  }
  store_ = std::move(*store);
  generation_ = *ref;
  return absl::OkStatus();
}

bool LiveStore::ConvertRequested() const {
  return generation_.plain && MarkerExists(paths_.ConvertRequest());
}

absl::StatusOr<bool> LiveStore::LockForCommit() {
  auto lock = LockGenerations(paths_);
  if (!lock.ok()) return lock.status();
  auto now = ResolveLive(paths_);
  if (absl::IsNotFound(now.status())) {
    // A replay that converted DIR crashed halfway; put DIR back first.
    absl::Status s = RepairLayout(paths_);
    if (!s.ok()) return s;
    now = ResolveLive(paths_);
  }
  if (!now.ok()) return now.status();
  lock_ = std::move(*lock);
  return !now->SameAs(generation_) || ConvertRequested();
}

absl::Status LiveStore::Reopen() {
  if (ConvertRequested()) {
    // Only this process writes DIR, so only it can move DIR safely: a
    // store opened by the name DIR must be closed before DIR is repointed.
    auto rules = StoredRules(*store_);
    if (!rules.ok()) return rules.status();
    const std::string version =
        rules->has_value() ? (*rules)->version : std::string("default");
    store_.reset();
    auto converted = ConvertLayout(paths_, version);
    if (!converted.ok()) return converted.status();
  }
  store_.reset();
  absl::Status s = OpenLocked();
  if (!s.ok()) return s;
  // The generation just closed may be waiting to be deleted; do it unless a
  // replay is running (it deletes it itself).
  std::error_code ec;
  if (std::filesystem::is_directory(paths_.generations, ec)) {
    auto replay = FileLock::Acquire(paths_.ReplayLock(), /*wait=*/false);
    if (replay.ok()) CollectGenerations(paths_).IgnoreError();
  }
  return absl::OkStatus();
}

bool LiveStore::Switched() const {
  auto now = ResolveLive(paths_);
  return (now.ok() && !now->SameAs(generation_)) || ConvertRequested();
}

absl::StatusOr<std::unique_ptr<LiveEngine>> LiveEngine::Open(
    const std::string& db, const std::optional<Rules>& rules,
    const EngineOptions& engine_opts, const StoreOptions& store_opts,
    std::function<void(const std::string&)> log) {
  std::unique_ptr<LiveEngine> e(new LiveEngine());
  auto live = LiveStore::Open(db, store_opts);
  if (!live.ok()) return live.status();
  e->live_ = std::move(*live);
  if (rules.has_value()) {
    e->rules_ = *rules;
  } else {
    auto current = LiveRulesOrDefault(e->live_->store());
    if (!current.ok()) return current.status();
    e->rules_ = std::move(*current);
  }
  e->engine_opts_ = engine_opts;
  e->log_ = std::move(log);
  auto engine = Engine::Open(e->rules_, &e->live_->store(), engine_opts);
  if (!engine.ok()) return engine.status();
  e->engine_ = std::move(*engine);
  return e;
}

LiveEngine::~LiveEngine() {
  engine_.reset();
  live_.reset();
}

absl::StatusOr<Engine*> LiveEngine::Enter(bool* replaced) {
  *replaced = false;
  auto switched = live_->LockForCommit();
  if (!switched.ok()) return switched.status();
  if (!*switched) return engine_.get();
  // (A new engine may well get the old one's address: hence `replaced`.)
  *replaced = true;
  // Replay switched DIR: what this engine holds since its last commit was
  // built on the old generation and is dropped; the caller applies it again.
  if (before_replace_) before_replace_();
  engine_.reset();
  absl::Status s = live_->Reopen();
  absl::StatusOr<std::optional<Rules>> stored =
      s.ok() ? StoredRules(live_->store())
             : absl::StatusOr<std::optional<Rules>>(s);
  if (stored.ok() && stored->has_value()) rules_ = **stored;
  if (stored.ok()) {
    auto engine = Engine::Open(rules_, &live_->store(), engine_opts_);
    if (engine.ok()) {
      engine_ = std::move(*engine);
    } else {
      stored = engine.status();
    }
  }
  if (!stored.ok()) {
    live_->Unlock();
    return stored.status();
  }
  if (log_) {
    log_(absl::StrCat("--db ", live_->paths().db,
                      " was switched to generation ", live_->generation().name,
                      " (rules version ", rules_.version,
                      "); continuing there"));
  }
  return engine_.get();
}

void LiveEngine::Leave() { live_->Unlock(); }

}  // namespace chatkpi
