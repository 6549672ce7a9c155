// The live dashboard's server side (docs/dashboard.md): LiveFeed, the
// LiveView's hours and waiting questions against the engine's own counters,
// store followers, the dashboard role, the page's files and the /api/live
// event stream. The browser side is tests/dashboard_e2e_test.cc.
#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/civil_time.h"
#include "engine/engine.h"
#include "engine/rules.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "ingest/event_parser.h"
#include "query/http_server.h"
#include "query/live_feed.h"
#include "query/live_view.h"
#include "query/snapshot.h"
#include "store/store.h"
#include "tests/engine_run.h"
#include "tests/subprocess.h"
#include "tests/test_util.h"
#include "tools/generator.h"

namespace chatkpi {
namespace {

using testing::ChatkpiBinary;
using testing::Local;
using testing::RunProcess;
using testing::TempDir;
using testing::WriteFile;
using testing::WriteLines;

const char kAdmin[] = "dash-test-admin-token-0123456789";
const char kDash[] = "dash-test-wall-token-0123456789a";

std::string ChatJson(const std::string& id, int64_t ts,
                     const std::string& buyer, const std::string& agent,
                     bool in, bool automatic = false) {
  return absl::StrCat(R"({"type":"chat","id":")", id, R"(","ts":)", ts,
                      R"(,"buyer":")", buyer, R"(","agent":")", agent,
                      R"(","dir":")", in ? "in" : "out",
                      automatic ? R"(","auto":true})" : R"("})");
}

// Parses and applies one JSON event, as the ingest loops do.
void Apply(Engine& engine, const std::string& json) {
  EventParser parser;
  Event e;
  ASSERT_TRUE(parser.Parse(json, &e).ok()) << json;
  ASSERT_TRUE(engine.Apply(e, json).ok());
}

TEST(LiveFeed, NotifyWakesWaiters) {
  LiveFeed feed;
  EXPECT_EQ(feed.version(), 0u);
  uint64_t seen = 0;
  std::thread waiter([&] { seen = feed.WaitForChange(0, absl::Seconds(10)); });
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  const auto start = std::chrono::steady_clock::now();
  feed.Notify();
  waiter.join();
  EXPECT_EQ(seen, 1u);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(1));
  // Nothing new: the wait times out with the same version.
  EXPECT_EQ(feed.WaitForChange(1, absl::Milliseconds(10)), 1u);
  feed.Close();
  EXPECT_TRUE(feed.closed());
  EXPECT_EQ(feed.WaitForChange(1, absl::Seconds(10)), 1u);  // at once
}

// The hours of every day sum to the engine's day counters, agent by agent:
// the view follows the engine's question rules, and shuffled input (late
// messages) changes nothing.
TEST(LiveView, HoursSumToTheEnginesDays) {
  GeneratorOptions g;
  g.seed = 11;
  g.agents = 4;
  g.buyers = 120;
  g.shuffle = true;
  auto lines = GenerateJsonl(g);
  ASSERT_TRUE(lines.ok());
  const std::string dir = TempDir("live_view_days");
  WriteLines(dir + "/events.jsonl", *lines);
  auto r = RunProcess(
      {ChatkpiBinary(), "ingest", "--db", dir + "/db", dir + "/events.jsonl"});
  ASSERT_EQ(r.exit_code, 0) << r.err;

  StoreOptions so;
  so.read_only = true;
  auto store = Store::Open(dir + "/db", so);
  ASSERT_TRUE(store.ok()) << store.status();
  LiveView view(store->get());
  const absl::TimeZone tz = absl::FixedTimeZone(8 * 3600);
  const absl::Time now = absl::FromCivil(absl::CivilDay(2026, 12, 1), tz);
  int days_with_questions = 0;
  auto expect_days_hours = [&](LiveView& view, absl::CivilDay d) {
    auto live = view.Read(d, now);
    ASSERT_TRUE(live.ok()) << live.status();
    EXPECT_TRUE(live->complete);
    EXPECT_EQ(live->hour_starts_ms.size(), 25u);
    auto snap = ReadSnapshot(**store, d, d);
    ASSERT_TRUE(snap.ok());
    for (const AgentRow& row : snap->agents) {
      Counters sum;
      auto it = live->agents.find(row.agent);
      if (it != live->agents.end()) {
        for (const Counters& h : it->second.hours) {
          ASSERT_TRUE(sum.Add(h).ok());
        }
      }
      for (Counter c :
           {kQuestions, kAnswered, kUnanswered, kResponseMsSum, kSlow}) {
        EXPECT_EQ(sum[c], row.counters[c])
            << absl::FormatCivilTime(d) << " " << row.agent << " "
            << kCounterNames[c];
      }
      days_with_questions += row.counters[kQuestions] > 0;
    }
  };
  for (absl::CivilDay d(2026, 11, 1); d <= absl::CivilDay(2026, 11, 30); ++d) {
    expect_days_hours(view, d);
  }
  EXPECT_GT(days_with_questions, 20);
  // Newest day first: each read keeps the days from the one shown on, so
  // an older day's messages were dropped when it is asked for; it is read
  // again from the log, not shown with its hours missing.
  LiveView backwards(store->get());
  for (absl::CivilDay d(2026, 11, 30); d >= absl::CivilDay(2026, 11, 1); --d) {
    expect_days_hours(backwards, d);
  }

  // A view that reads only the newest events says so.
  LiveView partial(store->get(), LiveViewOptions{.backfill_events = 100});
  auto live = partial.Read(absl::CivilDay(2026, 11, 30), now);
  ASSERT_TRUE(live.ok());
  EXPECT_FALSE(live->complete);
  EXPECT_EQ(live->first_seq, (*store)->next_seq() - 100);
}

TEST(LiveView, WaitingQuestions) {
  const std::string dir = TempDir("live_view_waiting");
  testing::EngineRun run(dir + "/db", testing::TestRules());
  const int64_t now = Local("2026-11-20 15:00:00");
  // b1 asked twice, the second joining the first: waiting since the first.
  Apply(run.engine(), ChatJson("1", now - 50'000, "b1", "shop:a", true));
  Apply(run.engine(), ChatJson("2", now - 20'000, "b1", "shop:a", true));
  // b2 was answered.
  Apply(run.engine(), ChatJson("3", now - 40'000, "b2", "shop:a", true));
  Apply(run.engine(), ChatJson("4", now - 30'000, "b2", "shop:a", false));
  // b3 asked shop:b two hours ago: past the response window, no longer
  // waiting for this answer.
  Apply(run.engine(), ChatJson("5", now - 7'200'000, "b3", "shop:b", true));
  // b4 asked shop:b, which answered after a later question of b4 arrived
  // late... in log order: the answer first, then the question before it.
  Apply(run.engine(), ChatJson("6", now - 5'000, "b4", "shop:b", false));
  Apply(run.engine(), ChatJson("7", now - 9'000, "b4", "shop:b", true));
  // b5 asked shop:b 10 s ago: waiting.
  Apply(run.engine(), ChatJson("8", now - 10'000, "b5", "shop:b", true));
  run.Commit();

  LiveView view(&run.store());
  auto live = view.Read(std::nullopt, absl::FromUnixMillis(now));
  ASSERT_TRUE(live.ok()) << live.status();
  EXPECT_EQ(absl::FormatCivilTime(live->day), "2026-11-20");
  EXPECT_EQ(live->agents["shop:a"].waiting_since_ms,
            std::vector<int64_t>{now - 50'000});
  EXPECT_EQ(live->agents["shop:b"].waiting_since_ms,
            std::vector<int64_t>{now - 10'000});
  // Hour 14:00-15:00 holds every question but b3's (13:00).
  EXPECT_EQ(live->agents["shop:a"].hours[14][kQuestions], 2);
  EXPECT_EQ(live->agents["shop:a"].hours[14][kAnswered], 1);
  EXPECT_EQ(live->agents["shop:a"].hours[14][kResponseMsSum], 10'000);
  EXPECT_EQ(live->agents["shop:b"].hours[13][kQuestions], 1);
  EXPECT_EQ(live->agents["shop:b"].hours[14][kAnswered], 1);

  // b1 gets an answer: an incremental read drops the wait.
  Apply(run.engine(), ChatJson("9", now + 1'000, "b1", "shop:a", false));
  run.Commit();
  live = view.Read(std::nullopt, absl::FromUnixMillis(now + 2'000));
  ASSERT_TRUE(live.ok());
  EXPECT_TRUE(live->agents["shop:a"].waiting_since_ms.empty());
  EXPECT_EQ(live->agents["shop:a"].hours[14][kAnswered], 2);
}

// A conflicting duplicate that wins over a copy already logged is logged
// after it (docs/engine.md, "Duplicates"). The view counted both copies:
// the losing reply answered b1's second question, and the losing copy of
// another agent took b3's answer and its hour.
TEST(LiveView, ALaterCopyOfAnIdReplacesTheEarlier) {
  const std::string dir = TempDir("live_view_conflict");
  testing::EngineRun run(dir + "/db", testing::TestRules());
  const int64_t now = Local("2026-11-20 15:00:00");
  Apply(run.engine(), ChatJson("1", now - 60'000, "b1", "shop:a", true));
  Apply(run.engine(), ChatJson("2", now - 40'000, "b1", "shop:a", true));
  Apply(run.engine(), ChatJson("X", now - 30'000, "b1", "shop:a", false));
  Apply(run.engine(), ChatJson("3", now - 25'000, "b3", "shop:a", true));
  Apply(run.engine(), ChatJson("Y", now - 10'000, "b3", "shop:b", false));
  run.Commit();
  // The winning copies: X earlier (it answers the first question, in 5 s),
  // Y of the same time by shop:a (agent shop:a sorts before shop:b).
  Apply(run.engine(), ChatJson("X", now - 55'000, "b1", "shop:a", false));
  Apply(run.engine(), ChatJson("Y", now - 10'000, "b3", "shop:a", false));
  run.Commit();

  LiveView view(&run.store());
  auto live = view.Read(std::nullopt, absl::FromUnixMillis(now));
  ASSERT_TRUE(live.ok()) << live.status();
  const std::vector<Counters>& a = live->agents["shop:a"].hours;
  EXPECT_EQ(a[14][kQuestions], 3);
  EXPECT_EQ(a[14][kAnswered], 2);
  EXPECT_EQ(a[14][kResponseMsSum], 5'000 + 15'000);
  // b1's second question is open; b3 was answered.
  EXPECT_EQ(live->agents["shop:a"].waiting_since_ms,
            std::vector<int64_t>{now - 40'000});
  EXPECT_FALSE(live->agents.contains("shop:b"));
  // The hours add up to the engine's day.
  auto snap = ReadSnapshot(run.store(), live->day, live->day);
  ASSERT_TRUE(snap.ok());
  ASSERT_EQ(snap->agents.size(), 1u);
  for (Counter c : {kQuestions, kAnswered, kResponseMsSum}) {
    EXPECT_EQ(snap->agents[0].counters[c], a[14][c]) << kCounterNames[c];
  }
}

// docs/spec.md §1: `auto` on an `in` is ignored, so the view, as the
// engine, counts such an `in` as a question. b1 asked at 14:59:30 (marked
// automatic): waiting. b2 asked at 14:59:20 (marked automatic), was sent an
// automatic reply at 14:59:25 (which answers nothing) and a human one at
// 14:59:35: answered in 15 s.
TEST(LiveView, AutoFlagOnAnInIsAQuestion) {
  const std::string dir = TempDir("live_view_auto_in");
  testing::EngineRun run(dir + "/db", testing::TestRules());
  const int64_t now = Local("2026-11-20 15:00:00");
  Apply(run.engine(), ChatJson("1", now - 30'000, "b1", "shop:a", true, true));
  Apply(run.engine(), ChatJson("2", now - 40'000, "b2", "shop:a", true, true));
  Apply(run.engine(), ChatJson("3", now - 35'000, "b2", "shop:a", false, true));
  Apply(run.engine(), ChatJson("4", now - 25'000, "b2", "shop:a", false));
  run.Commit();

  LiveView view(&run.store());
  auto live = view.Read(std::nullopt, absl::FromUnixMillis(now));
  ASSERT_TRUE(live.ok()) << live.status();
  EXPECT_EQ(live->agents["shop:a"].waiting_since_ms,
            std::vector<int64_t>{now - 30'000});
  EXPECT_EQ(live->agents["shop:a"].hours[14][kQuestions], 2);
  EXPECT_EQ(live->agents["shop:a"].hours[14][kAnswered], 1);
  EXPECT_EQ(live->agents["shop:a"].hours[14][kResponseMsSum], 15'000);
  std::filesystem::remove_all(dir);
}

// A thread open since the day before yesterday: the view drops old
// messages but must keep what says the thread is still open, or today's
// next `in` looks like a new question. Shop:a's buyer asked on 11-18 09:00
// and 09:05 (never answered: unanswered on 11-18); on 11-20 10:00 it writes
// again, which joins the open thread rather than opening a question, and
// is answered at 10:00:30; at 10:01 it asks anew, answered at 10:01:40. So
// 11-20 has 1 question, answered in 40 s, in the engine's day counters and
// in the view's hours alike (before the fix the hours said 2 questions
// answered, 30 s + 40 s = 70 s).
TEST(LiveView, ThreadOpenSinceBeforeYesterdayMatchesTheDay) {
  const std::string dir = TempDir("live_view_old_thread");
  {
    testing::EngineRun run(dir + "/db", testing::TestRules());
    const int64_t t = Local("2026-11-20 10:00:00");
    Apply(run.engine(),
          ChatJson("1", Local("2026-11-18 09:00:00"), "b1", "shop:a", true));
    Apply(run.engine(),
          ChatJson("2", Local("2026-11-18 09:05:00"), "b1", "shop:a", true));
    Apply(run.engine(), ChatJson("3", t, "b1", "shop:a", true));
    Apply(run.engine(), ChatJson("4", t + 30'000, "b1", "shop:a", false));
    Apply(run.engine(), ChatJson("5", t + 60'000, "b1", "shop:a", true));
    Apply(run.engine(), ChatJson("6", t + 100'000, "b1", "shop:a", false));
    run.Commit();
  }
  StoreOptions so;
  so.read_only = true;
  auto store = Store::Open(dir + "/db", so);
  ASSERT_TRUE(store.ok());
  const absl::CivilDay day(2026, 11, 20);
  auto snap = ReadSnapshot(**store, day, day);
  ASSERT_TRUE(snap.ok());
  ASSERT_EQ(snap->agents.size(), 1u);
  const Counters& counters = snap->agents[0].counters;
  EXPECT_EQ(counters[kQuestions], 1);
  EXPECT_EQ(counters[kAnswered], 1);
  EXPECT_EQ(counters[kResponseMsSum], 40'000);
  LiveView view(store->get());
  auto live =
      view.Read(day, absl::FromUnixMillis(Local("2026-11-20 12:00:00")));
  ASSERT_TRUE(live.ok()) << live.status();
  Counters sum;
  for (const Counters& h : live->agents["shop:a"].hours) {
    ASSERT_TRUE(sum.Add(h).ok());
  }
  for (Counter c :
       {kQuestions, kAnswered, kUnanswered, kResponseMsSum, kSlow}) {
    EXPECT_EQ(sum[c], counters[c]) << kCounterNames[c];
  }
}

TEST(HttpAuth, DashboardRole) {
  EXPECT_TRUE(RoleAllows(Role::kDashboard, Permission::kReadDashboard));
  EXPECT_FALSE(RoleAllows(Role::kDashboard, Permission::kReadKpis));
  EXPECT_FALSE(RoleAllows(Role::kDashboard, Permission::kReadScores));
  EXPECT_FALSE(RoleAllows(Role::kDashboard, Permission::kReadMetrics));
  EXPECT_TRUE(RoleAllows(Role::kAdmin, Permission::kReadDashboard));
  EXPECT_EQ(RoleName(Role::kDashboard), "dashboard");
}

// Reads an /api/live stream on a thread of its own.
class SseReader {
 public:
  SseReader(int port, std::string path)
      : cli_(std::make_unique<httplib::Client>("127.0.0.1", port)) {
    cli_->set_read_timeout(std::chrono::seconds(30));
    thread_ = std::thread([this, path] {
      auto res = cli_->Get(path.c_str(), [this](const char* data, size_t len) {
        absl::MutexLock l(&mu_);
        text_.append(data, len);
        cv_.SignalAll();
        return !stop_;
      });
      absl::MutexLock l(&mu_);
      ended_ = true;
      if (res) status_ = res->status;
      cv_.SignalAll();
    });
  }
  ~SseReader() {
    {
      absl::MutexLock l(&mu_);
      stop_ = true;
    }
    cli_->stop();  // a stream may be silent for seconds: close it now
    thread_.join();
  }
  // Waits until the stream holds `n` events of type `event`; returns the
  // data of the n-th, or "" on timeout.
  std::string WaitForEvent(const std::string& event, int n,
                           std::chrono::milliseconds timeout) {
    absl::MutexLock l(&mu_);
    const absl::Time deadline = absl::Now() + absl::FromChrono(timeout);
    for (;;) {
      std::string found = Nth(event, n);
      if (!found.empty() || ended_) return found;
      if (cv_.WaitWithDeadline(&mu_, deadline)) return Nth(event, n);
    }
  }
  bool WaitForEnd(std::chrono::milliseconds timeout) {
    absl::MutexLock l(&mu_);
    const absl::Time deadline = absl::Now() + absl::FromChrono(timeout);
    while (!ended_) {
      if (cv_.WaitWithDeadline(&mu_, deadline)) break;  // timed out
    }
    return ended_;
  }
  std::string text() {
    absl::MutexLock l(&mu_);
    return text_;
  }

 private:
  std::string Nth(const std::string& event, int n)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    const std::string head = absl::StrCat("event: ", event, "\ndata: ");
    size_t pos = 0;
    for (int i = 0; i < n; ++i) {
      pos = text_.find(head, pos);
      if (pos == std::string::npos) return "";
      pos += head.size();
    }
    const size_t end = text_.find("\n\n", pos);
    return end == std::string::npos ? "" : text_.substr(pos, end - pos);
  }

  std::unique_ptr<httplib::Client> cli_;
  absl::Mutex mu_;
  absl::CondVar cv_;
  std::string text_ ABSL_GUARDED_BY(mu_);
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  bool ended_ ABSL_GUARDED_BY(mu_) = false;
  int status_ ABSL_GUARDED_BY(mu_) = 0;
  std::thread thread_;
};

// The dashboard served by the process that commits, as `chatkpi run` does:
// a writer store, an engine, a feed notified after each commit.
class DashboardServer : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = TempDir("dashboard_server");
    auto store = Store::Open(dir_ + "/db", StoreOptions());
    ASSERT_TRUE(store.ok());
    store_ = std::move(*store);
    auto rules = DefaultRules();
    auto engine = Engine::Open(*rules, store_.get());
    ASSERT_TRUE(engine.ok());
    engine_ = std::move(*engine);
    now_ = absl::ToUnixMillis(absl::Now());
    Apply(*engine_, ChatJson("q1", now_ - 60'000, "b1", "shop:a", true));
    Apply(*engine_, ChatJson("a1", now_ - 45'000, "b1", "shop:a", false));
    Apply(*engine_, ChatJson("q2", now_ - 10'000, "b2", "shop:a", true));
    ASSERT_TRUE(engine_->Commit().ok());

    HttpServerOptions o;
    o.tokens = {{kAdmin, Role::kAdmin}, {kDash, Role::kDashboard}};
    o.schemes_dir = std::string(CHATKPI_SOURCE_DIR) + "/query/schemes";
    o.live_feed = &feed_;
    o.live_waiting = true;
    o.threads = 4;
    o.max_live_clients = 2;
    server_ = std::make_unique<HttpServer>(store_.get(), o);
    ASSERT_TRUE(server_->Start(0).ok());
  }

  httplib::Result Get(const std::string& path, const std::string& token) {
    httplib::Client cli("127.0.0.1", server_->port());
    httplib::Headers h;
    if (!token.empty()) h.emplace("Authorization", "Bearer " + token);
    return cli.Get(path.c_str(), h);
  }

  std::string dir_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<Engine> engine_;
  LiveFeed feed_;
  std::unique_ptr<HttpServer> server_;
  int64_t now_ = 0;
};

TEST_F(DashboardServer, DashboardTokenReadsTheDashboardOnly) {
  for (const char* path :
       {"/api/today", "/api/leaderboard", "/api/leaderboard?scheme=ecom10"}) {
    auto r = Get(path, kDash);
    ASSERT_TRUE(r) << path;
    EXPECT_EQ(r->status, 200) << path << " " << r->body;
  }
  for (const char* path :
       {"/api/snapshot?from=2026-11-01&to=2026-11-02",
        "/api/agents/shop%3Aa/days?from=2026-11-01&to=2026-11-02",
        "/api/score?month=2026-11&scheme=kpi100", "/metrics"}) {
    auto r = Get(path, kDash);
    ASSERT_TRUE(r) << path;
    EXPECT_EQ(r->status, 403) << path;
  }
  EXPECT_EQ(Get("/api/today", kAdmin)->status, 200);
  EXPECT_EQ(Get("/api/today", "")->status, 401);
  // The query-string token is for /api/live alone.
  EXPECT_EQ(Get(absl::StrCat("/api/today?access_token=", kDash), "")->status,
            401);
  EXPECT_EQ(Get("/api/today?day=2026-13-01", kDash)->status, 400);
  EXPECT_EQ(Get("/api/leaderboard?scheme=../x", kDash)->status, 400);
  EXPECT_EQ(Get("/api/leaderboard?scheme=nope", kDash)->status, 404);
  // The leaderboard shows no pay.
  auto lb = Get("/api/leaderboard?scheme=ecom10", kDash);
  EXPECT_FALSE(absl::StrContains(lb->body, "_fen")) << lb->body;
  EXPECT_TRUE(absl::StrContains(lb->body, "\"agent\":\"shop:a\""));
}

TEST_F(DashboardServer, TodayBoard) {
  auto r = Get("/api/today", kDash);
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200);
  const std::string& b = r->body;
  EXPECT_TRUE(absl::StrContains(b, "\"waiting_known\":true")) << b;
  EXPECT_TRUE(absl::StrContains(b, "\"seq\":3")) << b;
  // shop:a: two consultations, one answered in 15 s, b2 waiting since
  // now - 10 s.
  EXPECT_TRUE(absl::StrContains(b, "\"agent\":\"shop:a\",\"consultations\":2"))
      << b;
  EXPECT_TRUE(absl::StrContains(b, "\"avg_response_s\":15,")) << b;
  EXPECT_TRUE(absl::StrContains(
      b,
      absl::StrCat("\"waiting\":1,\"waiting_since_ms\":[", now_ - 10'000, "]")))
      << b;
  EXPECT_EQ(b.find('\n'), b.size() - 1);  // one line: fits an SSE data line
}

TEST_F(DashboardServer, ResponseFiguresAndTheSameDayLastWeek) {
  // Today (fixture): shop:a answered q1 in 15 s, q2 still open: questions
  // 2, median of {15} = 15, within 180 s 1 of 2 = 0.5.
  // The same weekday a week ago, at noon: one question answered in 30 s.
  const absl::TimeZone tz = DefaultRules()->timezone;
  const absl::CivilDay last_week =
      absl::ToCivilDay(absl::FromUnixMillis(now_), tz) - 7;
  const int64_t noon = absl::ToUnixMillis(
      absl::FromCivil(absl::CivilSecond(last_week) + 12 * 3600, tz));
  Apply(*engine_, ChatJson("w1", noon, "b9", "shop:a", true));
  Apply(*engine_, ChatJson("w2", noon + 30'000, "b9", "shop:a", false));
  ASSERT_TRUE(engine_->Commit().ok());
  auto r = Get("/api/today", kDash);
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200);
  const std::string& b = r->body;
  EXPECT_TRUE(absl::StrContains(
      b, absl::StrCat("\"last_week_day\":\"", absl::FormatCivilTime(last_week),
                      "\"")))
      << b;
  EXPECT_TRUE(absl::StrContains(b, "\"median_response_s\":15,")) << b;
  EXPECT_TRUE(absl::StrContains(b, "\"response_rate_180s\":0.5,")) << b;
  // The team's week-ago figures, and shop:a's.
  const size_t team = b.find("\"team\":{");
  const size_t team_last = b.find("\"last_week\":{\"consultations\":1,", team);
  ASSERT_NE(team_last, std::string::npos) << b;
  EXPECT_LT(team_last, b.find("\"agents\":["));
  EXPECT_TRUE(absl::StrContains(b.substr(team_last), "\"avg_response_s\":30,"))
      << b;
  EXPECT_NE(
      b.find("\"last_week\":{\"consultations\":1,", b.find("\"agents\":[")),
      std::string::npos)
      << b;
  EXPECT_EQ(b.find('\n'), b.size() - 1);
}

TEST_F(DashboardServer, PageIsServedFromTheBinary) {
  auto r = Get("/", "");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 302);
  EXPECT_EQ(r->get_header_value("Location"), "/dashboard/");
  for (const char* path :
       {"/dashboard/", "/dashboard/app.js", "/dashboard/style.css"}) {
    r = Get(path, "");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200) << path;
    EXPECT_FALSE(r->body.empty());
    EXPECT_TRUE(absl::StrContains(
        r->get_header_value("Content-Security-Policy"), "default-src 'none'"));
  }
  EXPECT_TRUE(absl::StartsWith(
      Get("/dashboard/", "")->get_header_value("Content-Type"), "text/html"));
  EXPECT_EQ(Get("/dashboard/nope.js", "")->status, 404);
  EXPECT_EQ(Get("/dashboard/..%2Fhttp_api.md", "")->status, 404);
}

TEST_F(DashboardServer, LivePushesAfterEachCommit) {
  SseReader sse(server_->port(),
                absl::StrCat("/api/live?access_token=", kDash));
  const std::string first =
      sse.WaitForEvent("today", 1, std::chrono::seconds(5));
  ASSERT_TRUE(absl::StrContains(first, "\"seq\":3")) << sse.text();
  EXPECT_TRUE(absl::StrContains(sse.text(), "retry: "));

  const auto start = std::chrono::steady_clock::now();
  Apply(*engine_, ChatJson("a2", now_, "b2", "shop:a", false));
  ASSERT_TRUE(engine_->Commit().ok());
  feed_.Notify();
  const std::string second =
      sse.WaitForEvent("today", 2, std::chrono::seconds(5));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(1));
  EXPECT_TRUE(absl::StrContains(second, "\"seq\":4")) << second;
  EXPECT_TRUE(absl::StrContains(second, "\"waiting\":0,")) << second;
}

TEST_F(DashboardServer, LiveNeedsTheTokenAndIsBounded) {
  EXPECT_EQ(Get("/api/live", "")->status, 401);
  EXPECT_EQ(Get("/api/live?access_token=wrong-token-0123456789", "")->status,
            401);
  EXPECT_EQ(
      Get(absl::StrCat("/api/live?access_token=", kDash, "&x=1"), "")->status,
      400);
  // Two streams at most (max_live_clients); a third is turned away.
  SseReader a(server_->port(), absl::StrCat("/api/live?access_token=", kDash));
  SseReader b(server_->port(), absl::StrCat("/api/live?access_token=", kDash));
  ASSERT_FALSE(a.WaitForEvent("today", 1, std::chrono::seconds(5)).empty());
  ASSERT_FALSE(b.WaitForEvent("today", 1, std::chrono::seconds(5)).empty());
  auto r = Get(absl::StrCat("/api/live?access_token=", kDash), "");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 503);
  // The API still answers beside the open streams.
  EXPECT_EQ(Get("/api/today", kDash)->status, 200);
  // Stop ends open streams promptly.
  const auto start = std::chrono::steady_clock::now();
  server_->Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(3));
  EXPECT_TRUE(a.WaitForEnd(std::chrono::seconds(3)));
}

}  // namespace
}  // namespace chatkpi
