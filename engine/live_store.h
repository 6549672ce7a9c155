// Writing `--db DIR` while `chatkpi replay` may switch DIR to a new
// generation (store/generations.h, docs/replay.md).
//
// The protocol, for every process that commits to a store:
//   1. open DIR's live generation under the generation lock (LiveStore::Open);
//   2. around every commit, hold the generation lock (LockForCommit ..
//      Unlock); replay holds it for its final catch-up and the switch, so a
//      commit lands either before the catch-up (and is copied) or after the
//      switch;
//   3. when LockForCommit reports a switch, drop everything built on the old
//      store (engines and their uncommitted work), Reopen(), rebuild on the
//      new store — under the rules stored in it — and redo the uncommitted
//      work from the positions stored there, then commit.
// `chatkpi ingest` does this through LiveEngine (a file-ingest CommitGate);
// `chatkpi run` does the same with one engine per partition.
#ifndef CHATKPI_ENGINE_LIVE_STORE_H_
#define CHATKPI_ENGINE_LIVE_STORE_H_

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "engine/engine.h"
#include "engine/file_ingest.h"
#include "engine/rules.h"
#include "store/generations.h"
#include "store/store.h"

namespace chatkpi {

class LiveStore {
 public:
  // Opens (creating if `opts` allow) the store DIR stands for. Resolution
  // and open happen under the generation lock: no switch falls between.
  static absl::StatusOr<std::unique_ptr<LiveStore>> Open(
      const std::string& db, const StoreOptions& opts = {});
  ~LiveStore();

  Store& store() { return *store_; }
  const GenerationRef& generation() const { return generation_; }
  const GenerationPaths& paths() const { return paths_; }

  // Takes the generation lock (blocking) for one commit. Returns true when
  // DIR no longer stands for the open store, or when the store is a plain
  // DIR that a replay asks to move into the generation layout: then drop
  // everything that uses store() and call Reopen() before committing. On
  // success the lock is held until Unlock() (or destruction); on error it
  // is not held.
  absl::StatusOr<bool> LockForCommit();
  // Closes the store (moving a plain DIR into the generation layout if
  // asked) and opens the one DIR stands for now. Call with the lock held,
  // after LockForCommit returned true.
  absl::Status Reopen();
  void Unlock() { lock_.Release(); }

  // What LockForCommit would report, without the lock: a cheap check for
  // idle writers, which should then commit (noticing and reopening) so
  // that a replay waiting for them can go on.
  bool Switched() const;

 private:
  LiveStore(GenerationPaths paths, StoreOptions opts)
      : paths_(std::move(paths)), opts_(std::move(opts)) {}
  absl::Status OpenLocked();
  bool ConvertRequested() const;

  GenerationPaths paths_;
  std::string db_arg_;  // DIR as given, for messages of a plain store
  StoreOptions opts_;
  GenerationRef generation_;
  std::unique_ptr<Store> store_;
  FileLock lock_;
};

// A LiveStore with one engine, as a file-ingest CommitGate: on a switch the
// engine is rebuilt on the new generation under the rules stored there
// (the replay's rules), and `log` says so.
class LiveEngine : public CommitGate {
 public:
  // `rules` nullopt: the rules stored in the live generation (the last
  // replay's), or the defaults for a new store.
  static absl::StatusOr<std::unique_ptr<LiveEngine>> Open(
      const std::string& db, const std::optional<Rules>& rules,
      const EngineOptions& engine_opts = {},
      const StoreOptions& store_opts = {},
      std::function<void(const std::string&)> log = nullptr);
  ~LiveEngine() override;

  Engine& engine() { return *engine_; }
  LiveStore& live() { return *live_; }
  const Rules& rules() const { return rules_; }

  absl::StatusOr<Engine*> Enter(bool* replaced) override;
  void Leave() override;

 private:
  LiveEngine() = default;

  std::unique_ptr<LiveStore> live_;
  std::unique_ptr<Engine> engine_;
  Rules rules_;
  EngineOptions engine_opts_;
  std::function<void(const std::string&)> log_;
};

}  // namespace chatkpi

#endif  // CHATKPI_ENGINE_LIVE_STORE_H_
