#include "tests/test_util.h"

#include <atomic>
#include <filesystem>

#include "absl/time/civil_time.h"
#include "engine/engine.h"
#include "gtest/gtest.h"
#include "store/store.h"

namespace chatkpi::testing {

Rules TestRules() {
  auto r = DefaultRules();
  EXPECT_TRUE(r.ok()) << r.status();
  return *r;
}

int64_t Local(const std::string& civil) {
  absl::CivilSecond cs;
  EXPECT_TRUE(
      absl::ParseCivilTime(civil.substr(0, 10) + "T" + civil.substr(11), &cs))
      << civil;
  absl::TimeZone tz;
  EXPECT_TRUE(absl::LoadTimeZone("Asia/Shanghai", &tz));
  return absl::ToUnixMillis(absl::FromCivil(cs, tz));
}

Event Chat(const std::string& id, int64_t ts, const std::string& buyer,
           const std::string& agent, bool inbound, const std::string& text,
           bool auto_reply) {
  Event e;
  e.type = EventType::kChat;
  e.id = id;
  e.ts_ms = ts;
  e.buyer = buyer;
  e.agent = agent;
  e.inbound = inbound;
  e.text = text;
  e.auto_reply = auto_reply;
  return e;
}

Event In(const std::string& id, int64_t ts, const std::string& buyer,
         const std::string& agent) {
  return Chat(id, ts, buyer, agent, true);
}

Event Out(const std::string& id, int64_t ts, const std::string& buyer,
          const std::string& agent, const std::string& text) {
  return Chat(id, ts, buyer, agent, false, text);
}

Event Order(const std::string& id, int64_t ts, const std::string& order,
            const std::string& buyer, OrderStatus status, int64_t fen,
            int64_t items) {
  Event e;
  e.type = EventType::kOrder;
  e.id = id;
  e.ts_ms = ts;
  e.order = order;
  e.buyer = buyer;
  e.status = status;
  e.amount_fen = fen;
  e.items = items;
  return e;
}

std::string TempDir(const std::string& name) {
  static std::atomic<int> counter{0};
  std::string dir = ::testing::TempDir() + "chatkpi_" + name + "_" +
                    std::to_string(getpid()) + "_" + std::to_string(counter++);
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

PeriodSnapshot RunEngine(const std::vector<Event>& events, const Rules& rules,
                         absl::CivilDay from, absl::CivilDay to,
                         size_t commit_every) {
  std::string dir = TempDir("engine");
  auto store = Store::Open(dir + "/db", StoreOptions());
  EXPECT_TRUE(store.ok()) << store.status();
  auto engine = Engine::Open(rules, store->get());
  EXPECT_TRUE(engine.ok()) << engine.status();
  for (const Event& e : events) {
    auto applied = (*engine)->Apply(e, e.id);
    EXPECT_TRUE(applied.ok()) << applied.status();
    if ((*engine)->pending() >= commit_every) {
      EXPECT_TRUE((*engine)->Commit().ok());
    }
  }
  EXPECT_TRUE((*engine)->Commit().ok());
  auto snap = ReadSnapshot(**store, from, to);
  EXPECT_TRUE(snap.ok()) << snap.status();
  engine->reset();
  store->reset();
  std::filesystem::remove_all(dir);
  return *snap;
}

const AgentRow* FindAgent(const PeriodSnapshot& s, const std::string& agent) {
  for (const AgentRow& r : s.agents) {
    if (r.agent == agent) return &r;
  }
  return nullptr;
}

}  // namespace chatkpi::testing
