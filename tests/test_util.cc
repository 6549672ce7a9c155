#include "tests/test_util.h"

#include <atomic>
#include <filesystem>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/time/civil_time.h"
#include "base/json_text.h"
#include "engine/engine.h"
#include "engine/local_day.h"
#include "gtest/gtest.h"
#include "ingest/event_parser.h"
#include "store/store.h"
#include "tests/reference_model.h"
#include "tests/subprocess.h"

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

std::string EventJson(const Event& e) {
  std::string j = "{\"type\":";
  static const char* kTypes[] = {"chat", "order", "assessment"};
  static const char* kStatus[] = {"created", "paid", "refunded", "closed"};
  AppendJsonString(&j, kTypes[static_cast<int>(e.type)]);
  j.append(",\"id\":");
  AppendJsonString(&j, e.id);
  absl::StrAppend(&j, ",\"ts\":", e.ts_ms);
  auto field = [&](const char* name, const std::string& v) {
    absl::StrAppend(&j, ",\"", name, "\":");
    AppendJsonString(&j, v);
  };
  switch (e.type) {
    case EventType::kChat:
      field("buyer", e.buyer);
      field("agent", e.agent);
      field("dir", e.inbound ? "in" : "out");
      field("text", e.text);
      if (e.auto_reply) j.append(",\"auto\":true");
      break;
    case EventType::kOrder:
      field("order", e.order);
      field("buyer", e.buyer);
      field("status", kStatus[static_cast<int>(e.status)]);
      // A `closed` event may leave both out (docs/spec.md §1: items >= 1 if
      // given).
      if (e.status == OrderStatus::kClosed && e.items == 0) break;
      absl::StrAppend(&j, ",\"amount\":", e.amount_fen / 100, ".",
                      absl::StrFormat("%02d", e.amount_fen % 100),
                      ",\"items\":", e.items);
      break;
    case EventType::kAssessment:
      field("agent", e.agent);
      field("period", e.period);
      field("metric", e.metric);
      absl::StrAppend(&j, ",\"value\":", e.value_text);
      break;
  }
  j.append("}");
  return j;
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

PeriodSnapshot StoredSnapshot(const std::string& db, absl::CivilDay from,
                              absl::CivilDay to) {
  StoreOptions so;
  so.read_only = true;
  auto store = Store::Open(db, so);
  EXPECT_TRUE(store.ok()) << store.status();
  if (!store.ok()) return PeriodSnapshot();
  auto snap = ReadSnapshot(**store, from, to);
  EXPECT_TRUE(snap.ok()) << snap.status();
  return snap.ok() ? *std::move(snap) : PeriodSnapshot();
}

const AgentRow* FindAgent(const PeriodSnapshot& s, const std::string& agent) {
  for (const AgentRow& r : s.agents) {
    if (r.agent == agent) return &r;
  }
  return nullptr;
}

std::vector<Event> ParseJsonlFile(const std::string& path, int64_t* bad_lines) {
  EventParser parser;
  std::vector<Event> events;
  *bad_lines = 0;
  for (absl::string_view piece : absl::StrSplit(ReadFile(path), '\n')) {
    std::string_view line(piece.data(), piece.size());
    if (line.empty()) continue;
    Event e;
    if (parser.Parse(line, &e).ok()) {
      events.push_back(e);
    } else {
      ++*bad_lines;
    }
  }
  return events;
}

void ExpectStoreMatchesReference(const std::string& db, const std::string& file,
                                 absl::CivilDay from, absl::CivilDay to) {
  int64_t bad = 0;
  std::vector<Event> events = ParseJsonlFile(file, &bad);
  RefSnapshot want =
      ReferenceSnapshot(events, TestRules(), DayNumber(from), DayNumber(to));
  const PeriodSnapshot got = StoredSnapshot(db, from, to);
  ExpectSameAsReference(got, want);
  EXPECT_EQ(got.dead_letters, bad);
}

void ExpectSameAsReference(const PeriodSnapshot& got, const RefSnapshot& want) {
  std::map<std::string, Counters> agents;
  for (const AgentRow& r : got.agents) agents[r.agent] = r.counters;
  EXPECT_EQ(agents.size(), want.agents.size());
  for (const auto& [agent, c] : want.agents) {
    auto it = agents.find(agent);
    if (it == agents.end()) {
      ADD_FAILURE() << "no row for " << agent;
      continue;
    }
    for (int i = 0; i < kNumCounters; ++i) {
      EXPECT_EQ(it->second[i], c[i]) << agent << " " << kCounterNames[i];
    }
  }
  for (int i = 0; i < kNumCounters; ++i) {
    EXPECT_EQ(got.unattributed[i], want.unattributed[i])
        << "unattributed " << kCounterNames[i];
  }
}

}  // namespace chatkpi::testing
