// An engine on a store in a directory of its own, as the engine tests drive
// it: events applied with commits at a chosen cadence, a restart that loses
// what was not committed, the period snapshot read back.
#ifndef CHATKPI_TESTS_ENGINE_RUN_H_
#define CHATKPI_TESTS_ENGINE_RUN_H_

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/time/civil_time.h"
#include "engine/engine.h"
#include "engine/rules.h"
#include "ingest/event.h"
#include "query/snapshot.h"
#include "store/store.h"

namespace chatkpi::testing {

class EngineRun {
 public:
  // Opens (or creates) the store in `dir` and an engine on it.
  EngineRun(std::string dir, Rules rules, EngineOptions opts = {});
  ~EngineRun();

  // Simulates a restart: what was not committed is lost.
  void Restart();

  // Applies `e`, stored as `raw` from `position`, and commits once
  // `commit_every` events are pending or the engine is over its state
  // budget (as the file ingest does).
  void Apply(const Event& e, std::string_view raw, EventPosition position,
             size_t commit_every);
  // Applies `events` in order, each stored as its id, committing after
  // every `commit_every` and at the end.
  void Apply(const std::vector<Event>& events, size_t commit_every);
  void Commit();

  PeriodSnapshot Snapshot(absl::CivilDay from, absl::CivilDay to);
  Engine& engine() { return *engine_; }
  Store& store() { return *store_; }

 private:
  void Open();

  std::string dir_;
  Rules rules_;
  EngineOptions opts_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<Engine> engine_;
};

}  // namespace chatkpi::testing

#endif  // CHATKPI_TESTS_ENGINE_RUN_H_
