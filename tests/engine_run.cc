#include "tests/engine_run.h"

#include <utility>

#include "gtest/gtest.h"

namespace chatkpi::testing {

EngineRun::EngineRun(std::string dir, Rules rules, EngineOptions opts)
    : dir_(std::move(dir)), rules_(std::move(rules)), opts_(std::move(opts)) {
  Open();
}

EngineRun::~EngineRun() = default;

void EngineRun::Open() {
  auto store = Store::Open(dir_, StoreOptions());
  ASSERT_TRUE(store.ok()) << store.status();
  store_ = std::move(*store);
  auto engine = Engine::Open(rules_, store_.get(), opts_);
  ASSERT_TRUE(engine.ok()) << engine.status();
  engine_ = std::move(*engine);
}

void EngineRun::Restart() {
  engine_.reset();
  store_.reset();
  Open();
}

void EngineRun::Apply(const Event& e, std::string_view raw,
                      EventPosition position, size_t commit_every) {
  auto applied = engine_->Apply(e, raw, position);
  ASSERT_TRUE(applied.ok()) << applied.status();
  if (engine_->pending() >= commit_every || engine_->OverStateBudget()) {
    Commit();
  }
}

void EngineRun::Apply(const std::vector<Event>& events, size_t commit_every) {
  for (const Event& e : events) {
    Apply(e, e.id, {}, commit_every);
    if (::testing::Test::HasFatalFailure()) return;
  }
  Commit();
}

void EngineRun::Commit() {
  absl::Status s = engine_->Commit();
  ASSERT_TRUE(s.ok()) << s;
}

PeriodSnapshot EngineRun::Snapshot(absl::CivilDay from, absl::CivilDay to) {
  auto s = ReadSnapshot(*store_, from, to);
  EXPECT_TRUE(s.ok()) << s.status();
  return s.ok() ? *s : PeriodSnapshot();
}

}  // namespace chatkpi::testing
