// The HTTP API over real sockets: an in-process HttpServer on a free port
// over a store built by `chatkpi ingest` from a hand-written JSONL file, and
// `chatkpi serve` as a whole process. Expected figures are worked out from
// docs/spec.md §3 in the comments, not read off the engine.
#include "query/http_server.h"

#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <regex>
#include <string>
#include <string_view>
#include <thread>
#include <tuple>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "query/http_api.h"
#include "query/http_auth.h"
#include "query/metrics.h"
#include "query/snapshot.h"
#include "store/store.h"
#include "tests/process_util.h"
#include "tests/raw_connection.h"
#include "tests/subprocess.h"
#include "tests/test_util.h"

namespace chatkpi {
namespace {

using testing::ChatkpiBinary;
using testing::RawConnection;
using testing::ReadFile;
using testing::RunProcess;
using testing::SourceDir;
using testing::StartProcess;
using testing::TempDir;
using testing::WaitProcess;
using testing::WriteFile;

const char kToken[] = "test-token-0123456789abcdef";

// Times are Asia/Shanghai (UTC+8):
//   1794272400000 = 2026-11-10 09:00:00    1794376800000 = 2026-11-11 14:00:00
// shop:a, 11-10: u1 asks 09:00:00, answered 30 s later with 亲 (courteous);
//   u2 asks 09:10:00, answered 120 s later with 您好 (slow: > 40 s).
//   u1 orders o1 at 10:00:00 (attributed to shop:a), pays 100.00 at 10:01.
// shop:b, 11-11: u3 asks 14:00:00, answered 10 s later, no keyword.
// 店铺:小王, 11-11: u4 asks 14:00:00, never answered.
// u9 orders o2 with no chat (unattributed), pays 58.00 on 11-11.
// One line is not JSON: a dead letter.
const char kEvents[] =
    R"({"type":"chat","id":"c1","ts":1794272400000,"buyer":"u1","agent":"shop:a","dir":"in","text":"在吗"}
{"type":"chat","id":"c2","ts":1794272430000,"buyer":"u1","agent":"shop:a","dir":"out","text":"亲，在的"}
{"type":"chat","id":"c3","ts":1794273000000,"buyer":"u2","agent":"shop:a","dir":"in","text":"有货吗"}
{"type":"chat","id":"c4","ts":1794273120000,"buyer":"u2","agent":"shop:a","dir":"out","text":"您好，有的"}
{"type":"order","id":"o1c","ts":1794276000000,"order":"o1","buyer":"u1","status":"created","amount":100.00,"items":1}
{"type":"order","id":"o1p","ts":1794276060000,"order":"o1","buyer":"u1","status":"paid","amount":100.00,"items":1}
{"type":"chat","id":"c5","ts":1794376800000,"buyer":"u3","agent":"shop:b","dir":"in","text":"发什么快递"}
{"type":"chat","id":"c6","ts":1794376810000,"buyer":"u3","agent":"shop:b","dir":"out","text":"圆通"}
{"type":"chat","id":"c7","ts":1794376800000,"buyer":"u4","agent":"店铺:小王","dir":"in","text":"?"}
not json at all
{"type":"order","id":"o2c","ts":1794380400000,"order":"o2","buyer":"u9","status":"created","amount":58,"items":1}
{"type":"order","id":"o2p","ts":1794382200000,"order":"o2","buyer":"u9","status":"paid","amount":58,"items":1}
)";

// Builds the store with the real `ingest` command.
std::string MakeDb(const std::string& name) {
  const std::string dir = TempDir(name);
  WriteFile(dir + "/events.jsonl", kEvents);
  auto r = RunProcess(
      {ChatkpiBinary(), "ingest", "--db", dir + "/db", dir + "/events.jsonl"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return dir + "/db";
}

std::string Cli(const std::vector<std::string>& argv) {
  auto r = testing::Chatkpi(argv);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return r.out;
}

void ExpectJsonError(const httplib::Response& r, int status,
                     const std::string& needle) {
  EXPECT_EQ(r.status, status) << r.body;
  EXPECT_TRUE(
      absl::StartsWith(r.get_header_value("Content-Type"), "application/json"));
  EXPECT_TRUE(absl::StartsWith(r.body, "{\"error\": \"")) << r.body;
  EXPECT_NE(r.body.find(needle), std::string::npos) << r.body;
}

class HttpServerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    db_ = new std::string(MakeDb("http_server"));
    StoreOptions so;
    so.read_only = true;
    auto store = Store::Open(*db_, so);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = store->release();
    metrics_ = new MetricsRegistry();
    IngestLagMetric(*metrics_, "orders/0")->Set(7);
    HttpServerOptions opts;
    opts.tokens.emplace_back(kToken, Role::kAdmin);
    opts.metrics = metrics_;
    opts.schemes_dir = SourceDir() + "/query/schemes";
    // These tests send far more than 40 requests with one token; the limits
    // are tested on servers of their own (HttpLimits).
    opts.rate_limit.rate = 0;
    server_ = new HttpServer(store_, opts);
    absl::Status s = server_->Start(0);
    ASSERT_TRUE(s.ok()) << s;
  }
  static void TearDownTestSuite() {
    delete server_;
    delete metrics_;
    delete store_;
    delete db_;
  }

  static httplib::Client Client(bool with_token = true) {
    httplib::Client c("127.0.0.1", server_->port());
    c.set_connection_timeout(std::chrono::seconds(5));
    c.set_read_timeout(std::chrono::seconds(30));
    if (with_token) c.set_bearer_token_auth(kToken);
    return c;
  }

  // GET with the right token; fails the test on a transport error.
  static httplib::Response Get(const std::string& path) {
    auto c = Client();
    auto r = c.Get(path);
    EXPECT_TRUE(r) << path << ": " << httplib::to_string(r.error());
    return r ? r.value() : httplib::Response();
  }

  static std::string* db_;
  static Store* store_;
  static MetricsRegistry* metrics_;
  static HttpServer* server_;
};

std::string* HttpServerTest::db_ = nullptr;
Store* HttpServerTest::store_ = nullptr;
MetricsRegistry* HttpServerTest::metrics_ = nullptr;
HttpServer* HttpServerTest::server_ = nullptr;

TEST_F(HttpServerTest, HealthNeedsNoToken) {
  auto c = Client(false);
  auto r = c.Get("/api/health");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_TRUE(absl::StartsWith(r->body, "{\"status\": \"ok\"")) << r->body;
}

TEST_F(HttpServerTest, MissingTokenIs401WithChallenge) {
  for (const char* path :
       {"/api/snapshot?from=2026-11-01&to=2026-11-30",
        "/api/agents/shop:a/days?from=2026-11-01&to=2026-11-30",
        "/api/score?month=2026-11&scheme=kpi100", "/metrics"}) {
    auto c = Client(false);
    auto r = c.Get(path);
    ASSERT_TRUE(r) << path;
    ExpectJsonError(*r, 401, "bearer token is required");
    EXPECT_EQ(r->get_header_value("WWW-Authenticate"),
              "Bearer realm=\"chatkpi\"")
        << path;
  }
}

TEST_F(HttpServerTest, WrongTokenIs401) {
  const std::string path = "/api/snapshot?from=2026-11-01&to=2026-11-30";
  for (const std::string& header :
       {std::string("Bearer wrong-token-0123456789abcdef"),
        absl::StrCat("Bearer ", kToken, "x"),
        absl::StrCat("Bearer ", std::string(kToken).substr(1)),
        absl::StrCat("Basic ", kToken), std::string(kToken),
        std::string("Bearer ")}) {
    auto c = Client(false);
    auto r = c.Get(path, {{"Authorization", header}});
    ASSERT_TRUE(r) << header;
    EXPECT_EQ(r->status, 401) << header;
    EXPECT_TRUE(absl::StartsWith(r->get_header_value("WWW-Authenticate"),
                                 "Bearer realm=\"chatkpi\""))
        << header;
  }
  // A token in the query string is not a credential.
  auto c = Client(false);
  auto r = c.Get(absl::StrCat(path, "&access_token=", kToken));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 401);
}

TEST_F(HttpServerTest, RightTokenIs200) {
  auto r = Get("/api/snapshot?from=2026-11-01&to=2026-11-30");
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.get_header_value("Cache-Control"), "no-store");
  // The scheme name is case-insensitive (RFC 7235).
  auto c = Client(false);
  auto lower =
      c.Get("/metrics", {{"Authorization", absl::StrCat("bearer ", kToken)}});
  ASSERT_TRUE(lower);
  EXPECT_EQ(lower->status, 200);
}

TEST_F(HttpServerTest, SnapshotIsTheCliSnapshot) {
  auto r = Get("/api/snapshot?from=2026-11-01&to=2026-11-30");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_TRUE(
      absl::StartsWith(r.get_header_value("Content-Type"), "application/json"));
  EXPECT_EQ(r.body, Cli({"snapshot", "--db", *db_, "--from", "2026-11-01",
                         "--to", "2026-11-30"}));
  // Hand-computed: shop:a answered 2 questions in 30 s + 120 s.
  EXPECT_NE(r.body.find("\"response_ms_sum\": 150000"), std::string::npos);
  EXPECT_NE(r.body.find("\"agent\": \"店铺:小王\""), std::string::npos);
  EXPECT_NE(r.body.find("\"dead_letters\": 1"), std::string::npos);
}

TEST_F(HttpServerTest, SnapshotCsv) {
  auto r =
      Get("/api/snapshot?from=2026-11-01&to=2026-11-30&format=csv&lang=zh");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_TRUE(absl::StartsWith(r.get_header_value("Content-Type"), "text/csv"));
  EXPECT_EQ(r.get_header_value("Content-Disposition"),
            "attachment; filename=\"chatkpi-snapshot-2026-11-01-2026-11-30."
            "csv\"");
  EXPECT_EQ(r.body,
            Cli({"snapshot", "--db", *db_, "--from", "2026-11-01", "--to",
                 "2026-11-30", "--format", "csv", "--lang", "zh"}));
  EXPECT_TRUE(absl::StartsWith(r.body, "\xEF\xBB\xBF客服,咨询人数"));
}

TEST_F(HttpServerTest, BadDatesAre400) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"from=2026-13-01&to=2026-11-30", "`from` must be a date"},
      {"from=2026-02-30&to=2026-03-30", "`from` must be a date"},
      {"from=2026-11-1&to=2026-11-30", "`from` must be a date"},
      {"from=yesterday&to=2026-11-30", "`from` must be a date"},
      {"from=2026-11-01&to=2026-11-31", "`to` must be a date"},
      {"from=2026-11-01", "`to` is required"},
      {"to=2026-11-01", "`from` is required"},
      {"from=&to=2026-11-01", "`from` is required"},
      {"from=1970-01-01&to=2026-11-01", "`from` must be between"},
      {"from=2026-11-01&to=9999-12-31", "`to` must be between"},
      {"from=2026-11-01&to=2026-11-30&format=xml",
       "`format` must be json or csv"},
      {"from=2026-11-01&to=2026-11-30&lang=fr", "`lang` must be en or zh"},
      {"form=2026-11-01&to=2026-11-30", "unknown parameter 'form'"},
      {"from=2026-11-01&from=2026-11-02&to=2026-11-30", "more than once"},
      // httplib read the value after a part's last '=', and dropped a part
      // repeated byte for byte: each of these was answered 200 for
      // 2026-11-01..02.
      {"from=2026-11-01&to=2026-11-30;to=2026-11-02", "with one '='"},
      {"from=2026-11-01&to=2026-11-30=2026-11-02", "with one '='"},
      {"from=2026-11-01&to=2026-11-02&to=2026-11-02", "more than once"},
      {"from=2026-11-01&to", "with one '='"},
  };
  for (const auto& [query, message] : cases) {
    SCOPED_TRACE(query);
    ExpectJsonError(Get("/api/snapshot?" + query), 400, message);
  }
  ExpectJsonError(Get("/api/agents/shop:a/days?from=2026-11-01&to=2026/11/30"),
                  400, "`to` must be a date");
  ExpectJsonError(Get("/api/score?month=2026-11&scheme=kpi100;scheme=ecom10"),
                  400, "with one '='");
  // A '=' of a value sent as %3D is the value's.
  ExpectJsonError(Get("/api/snapshot?from=2026-11-01&to=2026%3D11"), 400,
                  "`to` must be a date YYYY-MM-DD, not '2026=11'");
}

TEST_F(HttpServerTest, ReversedRangeIs400) {
  ExpectJsonError(Get("/api/snapshot?from=2026-11-30&to=2026-11-01"), 400,
                  "`to` is before `from`");
  ExpectJsonError(Get("/api/agents/shop:a/days?from=2026-11-30&to=2026-11-01"),
                  400, "`to` is before `from`");
  // One day is a range.
  EXPECT_EQ(Get("/api/snapshot?from=2026-11-10&to=2026-11-10").status, 200);
}

TEST_F(HttpServerTest, PeriodWithNoData) {
  auto r = Get("/api/snapshot?from=2025-01-01&to=2025-01-31");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.body.find("\"agents\": []"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("\"sales_fen\": 0"), std::string::npos);
  // Dead letters are the store's, whatever the period.
  EXPECT_NE(r.body.find("\"dead_letters\": 1"), std::string::npos);
  EXPECT_EQ(r.body, Cli({"snapshot", "--db", *db_, "--from", "2025-01-01",
                         "--to", "2025-01-31"}));
}

TEST_F(HttpServerTest, AgentDays) {
  auto r = Get("/api/agents/shop:a/days?from=2026-11-09&to=2026-11-11");
  ASSERT_EQ(r.status, 200) << r.body;
  const std::string& b = r.body;
  EXPECT_TRUE(absl::StartsWith(
      b,
      "{\"agent\": \"shop:a\", \"from\": \"2026-11-09\", \"to\": "
      "\"2026-11-11\""))
      << b;
  // Three days, zeros on 11-09 and 11-11; 11-10 as worked out above.
  const size_t d9 = b.find("{\"day\": \"2026-11-09\", \"consultations\": 0,");
  const size_t d10 = b.find(
      "{\"day\": \"2026-11-10\", \"consultations\": 2, \"replied\": 2, "
      "\"questions\": 2, \"answered\": 2, \"unanswered\": 0, "
      "\"response_ms_sum\": 150000, \"slow\": 1, \"first_responses\": 2, "
      "\"first_response_ms_sum\": 150000, \"courteous\": 2, \"rude\": 0, "
      "\"orders\": 1, \"ordered_buyers\": 1, \"paid_orders\": 1, "
      "\"paid_buyers\": 1, \"paid_items\": 1, \"sales_fen\": 10000, "
      "\"refunds\": 0, \"refunded_items\": 0, \"refund_fen\": 0, "
      "\"reply_rate\": 1, \"avg_response_s\": 75, ");
  const size_t d11 = b.find("{\"day\": \"2026-11-11\", \"consultations\": 0,");
  EXPECT_NE(d9, std::string::npos) << b;
  EXPECT_NE(d10, std::string::npos) << b;
  EXPECT_NE(d11, std::string::npos) << b;
  EXPECT_LT(d9, d10);
  EXPECT_LT(d10, d11);
  EXPECT_NE(b.find("\"avg_order_value\": null"), std::string::npos);  // 11-09
  // Response figures of 11-10 (docs/spec.md §3): seconds {30, 120}, both
  // first questions of the 2 consultations. Within 30 s and 60 s: 1, within
  // 180 s: 2; rates over 2 questions / 2 consultations; nearest-rank median
  // rank 1 -> 30, p90 rank ceil(1.8) = 2 -> 120.
  const std::string figures =
      "\"answered_within_30s\": 1, \"answered_within_60s\": 1, "
      "\"answered_within_180s\": 2, \"first_answered_within_30s\": 1, "
      "\"first_answered_within_60s\": 1, \"first_answered_within_180s\": 2, "
      "\"response_rate_30s\": 0.5, \"response_rate_60s\": 0.5, "
      "\"response_rate_180s\": 1, \"first_response_rate_30s\": 0.5, "
      "\"first_response_rate_60s\": 0.5, \"first_response_rate_180s\": 1, "
      "\"median_response_s\": 30, \"p90_response_s\": 120, "
      "\"median_first_response_s\": 30, \"p90_first_response_s\": 120}";
  const size_t d10_figures = b.find(figures, d10);
  EXPECT_NE(d10_figures, std::string::npos) << b;
  EXPECT_LT(d10_figures, d11);
  auto day = Get("/api/snapshot?from=2026-11-10&to=2026-11-10");
  ASSERT_EQ(day.status, 200);
  EXPECT_NE(day.body.find(figures), std::string::npos) << day.body;
  // 11-11 beside 11-10: shop:a had 2 consultations on 11-10, none on 11-11.
  auto compared =
      Get("/api/snapshot?from=2026-11-11&to=2026-11-11&compare_from=2026-11-10&"
          "compare_to=2026-11-10");
  ASSERT_EQ(compared.status, 200) << compared.body;
  EXPECT_NE(compared.body.find("\"compare_from\": \"2026-11-10\""),
            std::string::npos);
  const size_t a_row = compared.body.find(
      "{\"agent\": \"shop:a\", "
      "\"consultations\": 0,");
  ASSERT_NE(a_row, std::string::npos) << compared.body;
  EXPECT_NE(compared.body.find("\"change\": {\"consultations\": -2,", a_row),
            std::string::npos)
      << compared.body;
  EXPECT_EQ(Get("/api/snapshot?from=2026-11-11&to=2026-11-11&"
                "compare_from=2026-11-10")
                .status,
            400);

  // The total is the agent's snapshot row, field for field.
  auto snap = ReadSnapshot(*store_, absl::CivilDay(2026, 11, 9),
                           absl::CivilDay(2026, 11, 11));
  ASSERT_TRUE(snap.ok());
  const std::string snap_json = SnapshotToJson(*snap);
  const size_t row = snap_json.find("{\"agent\": \"shop:a\"");
  ASSERT_NE(row, std::string::npos);
  const std::string agent_row =
      snap_json.substr(row, snap_json.find('}', row) - row + 1);
  EXPECT_NE(b.find("\"total\": " + agent_row), std::string::npos)
      << agent_row << "\n"
      << b;
}

TEST_F(HttpServerTest, AgentDaysOfNonAsciiAgent) {
  // The client percent-encodes the UTF-8 path; the server decodes it.
  auto r = Get("/api/agents/店铺:小王/days?from=2026-11-11&to=2026-11-11");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.body.find("\"agent\": \"店铺:小王\""), std::string::npos);
  EXPECT_NE(r.body.find("\"unanswered\": 1"), std::string::npos) << r.body;
  // ':' sent as %3A is the same agent.
  EXPECT_EQ(
      Get("/api/agents/shop%3Ab/days?from=2026-11-11&to=2026-11-11").status,
      200);
}

TEST_F(HttpServerTest, UnknownAgentIs404) {
  ExpectJsonError(
      Get("/api/agents/shop:nobody/days?from=2026-11-01&to=2026-11-30"), 404,
      "unknown agent 'shop:nobody'");
  // A prefix or extension of a real id is another agent.
  ExpectJsonError(Get("/api/agents/shop:/days?from=2026-11-01&to=2026-11-30"),
                  404, "unknown agent");
  ExpectJsonError(Get("/api/agents/shop:aa/days?from=2026-11-01&to=2026-11-30"),
                  404, "unknown agent");
  // A known agent in a period without its rows is zeros, not 404.
  auto r = Get("/api/agents/shop:a/days?from=2026-11-20&to=2026-11-21");
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.body.find("\"consultations\": 0"), std::string::npos);
}

TEST_F(HttpServerTest, AgentDaysRangeIsBounded) {
  ExpectJsonError(Get("/api/agents/shop:a/days?from=2025-01-01&to=2026-12-31"),
                  400, "at most 367 days");
  EXPECT_EQ(Get("/api/agents/shop:a/days?from=2025-11-10&to=2026-11-10").status,
            200);
}

TEST_F(HttpServerTest, SnapshotPeriodIsBounded) {
  // 366 days, both ends included, is the most one request may ask for: a
  // year, leap or not.
  EXPECT_EQ(Get("/api/snapshot?from=2025-11-11&to=2026-11-11").status, 200);
  EXPECT_EQ(Get("/api/snapshot?from=2024-01-01&to=2024-12-31").status, 200);
  ExpectJsonError(Get("/api/snapshot?from=2025-11-10&to=2026-11-11"), 400,
                  "a snapshot covers at most 366 days");
  ExpectJsonError(Get("/api/snapshot?from=2000-01-01&to=2099-12-31&format=csv"),
                  400, "not 36525: ask for a shorter period");
}

TEST_F(HttpServerTest, UnknownEndpointAndMethod) {
  ExpectJsonError(Get("/api/nothing"), 404, "no such endpoint");
  ExpectJsonError(Get("/api/agents/shop:a"), 404, "no such endpoint");
  auto c = Client();
  auto r = c.Post("/api/snapshot", "{}", "application/json");
  ASSERT_TRUE(r);
  ExpectJsonError(*r, 405, "every endpoint is GET");
  EXPECT_EQ(r->get_header_value("Allow"), "GET, HEAD");
}

TEST_F(HttpServerTest, RequestLimits) {
  auto c = Client();
  auto big = c.Post("/api/snapshot", std::string(1 << 20, 'x'), "text/plain");
  ASSERT_TRUE(big);
  EXPECT_EQ(big->status, 413);
  auto long_uri = c.Get("/api/snapshot?from=" + std::string(9000, '1'));
  ASSERT_TRUE(long_uri);
  EXPECT_EQ(long_uri->status, 414);
}

TEST_F(HttpServerTest, Metrics) {
  // A request of its own: ctest runs each test alone. A request is counted
  // once its worker has logged it, just after the answer went out, so the
  // count may lag the answer by a moment.
  ASSERT_EQ(Get("/api/health").status, 200);
  httplib::Response r;
  for (int i = 0; i < 200; ++i) {
    r = Get("/metrics");
    if (r.body.find("handler=\"health\"") != std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_TRUE(absl::StartsWith(r.get_header_value("Content-Type"),
                               "text/plain; version=0.0.4"));
  // 11 valid lines are 11 events; the line that is not JSON a dead letter.
  EXPECT_NE(r.body.find("\nchatkpi_events_total 11\n"), std::string::npos)
      << r.body;
  EXPECT_NE(r.body.find("\nchatkpi_dead_letters_total 1\n"), std::string::npos);
  EXPECT_NE(r.body.find("\nchatkpi_store_up 1\n"), std::string::npos);
  EXPECT_NE(
      r.body.find("\nchatkpi_ingest_lag_messages{source=\"orders/0\"} 7\n"),
      std::string::npos);
  EXPECT_NE(r.body.find("# TYPE chatkpi_http_requests_total counter\n"),
            std::string::npos);
  EXPECT_NE(r.body.find("chatkpi_http_requests_total{handler=\"health\","
                        "code=\"200\"}"),
            std::string::npos);
}

TEST_F(HttpServerTest, ConcurrentClientsGetIdenticalAnswers) {
  const std::string path = "/api/snapshot?from=2026-11-01&to=2026-11-30";
  const std::string want = Get(path).body;
  ASSERT_FALSE(want.empty());
  constexpr int kThreads = 8, kRequests = 50;
  std::vector<int> ok(kThreads, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      auto c = Client();
      c.set_keep_alive(t % 2 == 0);  // half reuse connections, half do not
      for (int i = 0; i < kRequests; ++i) {
        auto r = c.Get(i % 5 == 0 ? "/api/health" : path);
        if (!r) continue;
        if (i % 5 == 0) {
          ok[t] += r->status == 200;
        } else {
          ok[t] += r->status == 200 && r->body == want;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(ok[t], kRequests) << t;
}

TEST_F(HttpServerTest, ScoreParameters) {
  ExpectJsonError(Get("/api/score?month=2026-13&scheme=kpi100"), 400,
                  "`month` must be a month YYYY-MM");
  ExpectJsonError(Get("/api/score?scheme=kpi100"), 400, "`month` is required");
  ExpectJsonError(Get("/api/score?month=2026-11"), 400, "`scheme` is required");
  for (const char* scheme :
       {"../kpi100", "%2Fetc%2Fpasswd", "kpi100.scheme", "a%00b"}) {
    SCOPED_TRACE(scheme);
    ExpectJsonError(
        Get(absl::StrCat("/api/score?month=2026-11&scheme=", scheme)), 400,
        "`scheme` must be a scheme name");
  }
  ExpectJsonError(Get("/api/score?month=2026-11&scheme=nosuch"), 404,
                  "no scheme 'nosuch'");
}

TEST_F(HttpServerTest, ScoreIsTheCliScore) {
  auto r = Get("/api/score?month=2026-11&scheme=kpi100");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_TRUE(absl::StartsWith(r.body, "{\"month\": \"2026-11\"")) << r.body;
  EXPECT_NE(r.body.find("\"agent\": \"shop:a\""), std::string::npos);
  EXPECT_EQ(r.body, Cli({"score", "--db", *db_, "--month", "2026-11",
                         "--scheme", "kpi100"}));
  auto csv = Get("/api/score?month=2026-11&scheme=ecom10&format=csv&lang=zh");
  ASSERT_EQ(csv.status, 200) << csv.body;
  EXPECT_TRUE(
      absl::StartsWith(csv.get_header_value("Content-Type"), "text/csv"));
  EXPECT_EQ(csv.get_header_value("Content-Disposition"),
            "attachment; filename=\"chatkpi-score-2026-11-ecom10.csv\"");
  EXPECT_EQ(csv.body,
            Cli({"score", "--db", *db_, "--month", "2026-11", "--scheme",
                 "ecom10", "--format", "csv", "--lang", "zh"}));
}

TEST_F(HttpServerTest, NeverCompresses) {
  // httplib would pick brotli at its slowest setting for text answers.
  auto c = Client();
  c.set_decompress(false);
  for (const char* path :
       {"/api/snapshot?from=2026-11-01&to=2026-11-30&format=csv", "/metrics",
        "/api/snapshot?from=2026-11-01&to=2026-11-30"}) {
    auto r = c.Get(path, {{"Accept-Encoding", "gzip, deflate, br"}});
    ASSERT_TRUE(r) << path;
    EXPECT_EQ(r->status, 200) << path;
    EXPECT_FALSE(r->has_header("Content-Encoding")) << path;
  }
}

TEST(HttpServerStart, RefusesWithoutTokenUnlessNoAuth) {
  const std::string dir = TempDir("http_start");
  auto store = Store::Open(dir + "/db", StoreOptions());
  ASSERT_TRUE(store.ok());
  {
    HttpServer server(store->get(), HttpServerOptions());
    absl::Status s = server.Start(0);
    EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << s;
    EXPECT_NE(s.message().find("--no-auth"), std::string_view::npos);
  }
  {
    HttpServerOptions opts;
    opts.tokens.emplace_back("short", Role::kAdmin);
    HttpServer server(store->get(), opts);
    EXPECT_EQ(server.Start(0).code(), absl::StatusCode::kInvalidArgument);
  }
  HttpServerOptions opts;
  opts.allow_no_auth = true;
  HttpServer server(store->get(), opts);
  ASSERT_TRUE(server.Start(0).ok());
  httplib::Client c("127.0.0.1", server.port());
  auto r = c.Get("/api/snapshot?from=2026-11-01&to=2026-11-30");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  // A second server cannot take the same port.
  HttpServerOptions again = opts;
  HttpServer other(store->get(), again);
  EXPECT_EQ(other.Start(server.port()).code(), absl::StatusCode::kUnavailable);
  server.Stop();
  server.Stop();  // idempotent
  EXPECT_FALSE(c.Get("/api/health"));
}

TEST(HttpAuth, BearerHeader) {
  TokenAuthenticator auth;
  ASSERT_TRUE(auth.AddToken(kToken, Role::kAdmin).ok());
  EXPECT_EQ(auth.Authenticate(absl::StrCat("Bearer ", kToken)), Role::kAdmin);
  EXPECT_EQ(auth.Authenticate(absl::StrCat("BEARER  ", kToken, " ")),
            Role::kAdmin);
  EXPECT_EQ(auth.Authenticate(""), std::nullopt);
  EXPECT_EQ(auth.Authenticate("Bearer"), std::nullopt);
  EXPECT_EQ(auth.Authenticate(kToken), std::nullopt);
  EXPECT_EQ(auth.Authenticate(absl::StrCat("Bearer ", kToken, "0")),
            std::nullopt);
  EXPECT_FALSE(auth.AddToken(kToken, Role::kAdmin).ok());  // twice
  EXPECT_FALSE(auth.AddToken("has space 0123456789", Role::kAdmin).ok());
  EXPECT_FALSE(auth.AddToken("0123456789abcde", Role::kAdmin).ok());  // 15
}

TEST(HttpAuth, LoadAdminToken) {
  const std::string dir = TempDir("http_token");
  WriteFile(dir + "/token", absl::StrCat("  ", kToken, "  \nsecond line\n"));
  WriteFile(dir + "/empty", "\n");
  auto t = LoadAdminToken(dir + "/token");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(**t, kToken);
  EXPECT_FALSE(LoadAdminToken(dir + "/empty").ok());
  EXPECT_FALSE(LoadAdminToken(dir + "/missing").ok());
}

TEST(HttpMetrics, PrometheusText) {
  MetricsRegistry r;
  r.GetCounter("t_events_total", "Events.\nTwo lines")->Increment(3);
  r.GetCounter("t_events_total", "ignored", {{"src", "a\"b\\c"}})->Increment();
  r.GetGauge("t_lag", "Lag.")->Set(2.5);
  MetricHistogram* h =
      r.GetHistogram("t_latency_seconds", "Latency.", {0.1, 1});
  h->Observe(0.05);
  h->Observe(0.1);
  h->Observe(3);
  EXPECT_EQ(r.GetGauge("t_lag", "Lag."), r.GetGauge("t_lag", "other help"));
  std::string out;
  r.AppendPrometheusText(&out);
  EXPECT_EQ(out,
            "# HELP t_events_total Events.\\nTwo lines\n"
            "# TYPE t_events_total counter\n"
            "t_events_total 3\n"
            "t_events_total{src=\"a\\\"b\\\\c\"} 1\n"
            "# HELP t_lag Lag.\n"
            "# TYPE t_lag gauge\n"
            "t_lag 2.5\n"
            "# HELP t_latency_seconds Latency.\n"
            "# TYPE t_latency_seconds histogram\n"
            "t_latency_seconds_bucket{le=\"0.1\"} 2\n"
            "t_latency_seconds_bucket{le=\"1\"} 2\n"
            "t_latency_seconds_bucket{le=\"+Inf\"} 3\n"
            "t_latency_seconds_sum 3.15\n"
            "t_latency_seconds_count 3\n");
}

TEST(HttpMetrics, ConcurrentUpdates) {
  MetricsRegistry r;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10000; ++i) {
        r.GetCounter("c_total", "C.", {{"k", i % 2 ? "odd" : "even"}})
            ->Increment();
        CommitLatencyMetric(r)->Observe(0.001);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(r.GetCounter("c_total", "C.", {{"k", "odd"}})->value(), 20000);
  EXPECT_EQ(CommitLatencyMetric(r)->CumulativeCounts().back(), 40000u);
}

// `chatkpi serve` as a process: flags, the token rules, SIGTERM.
class HttpServeProcess : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* env = getenv("CHATKPI_TOKEN");
    if (env != nullptr) saved_env_ = env;
    unsetenv("CHATKPI_TOKEN");
  }
  void TearDown() override {
    if (saved_env_.has_value()) setenv("CHATKPI_TOKEN", saved_env_->c_str(), 1);
  }
  std::optional<std::string> saved_env_;
};

TEST_F(HttpServeProcess, RefusesToStartWithoutToken) {
  const std::string db = MakeDb("http_serve_refuse");
  auto r = RunProcess({ChatkpiBinary(), "serve", "--db", db, "--port", "0"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--no-auth"), std::string::npos) << r.err;

  const std::string dir = TempDir("http_serve_refuse_token");
  WriteFile(dir + "/token", kToken);
  r = RunProcess({ChatkpiBinary(), "serve", "--db", db, "--port", "0",
                  "--token-file", dir + "/token", "--no-auth"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("choose one"), std::string::npos) << r.err;

  WriteFile(dir + "/short", "abc\n");
  r = RunProcess({ChatkpiBinary(), "serve", "--db", db, "--port", "0",
                  "--token-file", dir + "/short"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("at least 16 bytes"), std::string::npos) << r.err;
}

// Waits for "listening on http://HOST:PORT" in the server's stderr.
int WaitForPort(const std::string& err_file) {
  const std::regex listening("listening on http://[^:]+:([0-9]+)");
  for (int i = 0; i < 1000; ++i) {
    std::smatch m;
    const std::string err = ReadFile(err_file);
    if (std::regex_search(err, m, listening)) return std::stoi(m[1].str());
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return -1;
}

TEST_F(HttpServeProcess, ServesAndStopsOnSigterm) {
  const std::string db = MakeDb("http_serve");
  const std::string dir = TempDir("http_serve_run");
  WriteFile(dir + "/token", absl::StrCat(kToken, "\n"));
  const pid_t pid =
      StartProcess({ChatkpiBinary(), "serve", "--db", db, "--port", "0",
                    "--token-file", dir + "/token", "--access-log"},
                   "", dir + "/err");
  const int port = WaitForPort(dir + "/err");
  ASSERT_GT(port, 0) << ReadFile(dir + "/err");

  httplib::Client c("127.0.0.1", port);
  auto health = c.Get("/api/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  auto refused = c.Get("/api/snapshot?from=2026-11-01&to=2026-11-30");
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 401);
  c.set_bearer_token_auth(kToken);
  auto snap = c.Get("/api/snapshot?from=2026-11-01&to=2026-11-30");
  ASSERT_TRUE(snap);
  EXPECT_EQ(snap->status, 200);
  // serve opens the store read-only, so the CLI can read it meanwhile.
  EXPECT_EQ(snap->body, Cli({"snapshot", "--db", db, "--from", "2026-11-01",
                             "--to", "2026-11-30"}));

  ASSERT_EQ(kill(pid, SIGTERM), 0);
  EXPECT_EQ(WaitProcess(pid), 0);
  const std::string err = ReadFile(dir + "/err");
  // The access log names path and status, never the token.
  EXPECT_NE(err.find("GET /api/snapshot 200 "), std::string::npos) << err;
  EXPECT_NE(err.find("GET /api/snapshot 401 "), std::string::npos) << err;
  EXPECT_EQ(err.find(kToken), std::string::npos) << err;
}

TEST_F(HttpServeProcess, LimitFlags) {
  const std::string db = MakeDb("http_serve_limits");
  const std::string dir = TempDir("http_serve_limits_run");
  WriteFile(dir + "/token", absl::StrCat(kToken, "\n"));
  for (const auto& [flag, value, range] :
       std::vector<std::tuple<std::string, std::string, std::string>>{
           {"--rate-limit", "-1", "0..1000000"},
           {"--rate-limit-burst", "0", "1..1000000"},
           {"--rate-limit-clients", "0", "1..10000000"},
           {"--max-live-clients", "-1", "0..1024"},
           {"--max-snapshot-days", "0", "1..36600"},
           {"--read-timeout-ms", "5", "100..600000"},
           {"--write-timeout-ms", "x", "must be an integer"}}) {
    SCOPED_TRACE(flag);
    auto r = RunProcess({ChatkpiBinary(), "serve", "--db", db, "--port", "0",
                         "--token-file", dir + "/token", flag, value});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find(flag), std::string::npos) << r.err;
    EXPECT_NE(r.err.find(range), std::string::npos) << r.err;
  }
  // `run` takes the same flags, with --port.
  auto r =
      RunProcess({ChatkpiBinary(), "run", "--brokers", "mock", "--db",
                  TempDir("http_run_limits") + "/db", "--rate-limit", "5"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--rate-limit needs --port"), std::string::npos)
      << r.err;

  // The flags reach the server: one request a second, bursts of 2, and
  // snapshots of a week at most.
  const pid_t pid =
      StartProcess({ChatkpiBinary(), "serve", "--db", db, "--port", "0",
                    "--token-file", dir + "/token", "--rate-limit", "1",
                    "--rate-limit-burst", "2", "--max-snapshot-days", "7"},
                   "", dir + "/err");
  const int port = WaitForPort(dir + "/err");
  ASSERT_GT(port, 0) << ReadFile(dir + "/err");
  httplib::Client c("127.0.0.1", port);
  c.set_bearer_token_auth(kToken);
  auto week = c.Get("/api/snapshot?from=2026-11-01&to=2026-11-08");
  ASSERT_TRUE(week);
  ExpectJsonError(*week, 400, "at most 7 days");
  // Five requests at once hold at most 2 + the seconds they take: some
  // are refused unless they took three seconds.
  int refused = 0;
  for (int i = 0; i < 5; ++i) {
    auto snap = c.Get("/api/snapshot?from=2026-11-01&to=2026-11-07");
    ASSERT_TRUE(snap);
    if (snap->status == 429) {
      ++refused;
      EXPECT_FALSE(snap->get_header_value("Retry-After").empty());
    } else {
      EXPECT_EQ(snap->status, 200) << snap->body;
    }
  }
  EXPECT_GE(refused, 1);
  ASSERT_EQ(kill(pid, SIGTERM), 0);
  EXPECT_EQ(WaitProcess(pid), 0);
}

// The limits of docs/limits.md over real sockets, each on a server of its
// own over one store.
class HttpLimits : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    db_ = new std::string(MakeDb("http_limits"));
    StoreOptions so;
    so.read_only = true;
    auto store = Store::Open(*db_, so);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = store->release();
  }
  static void TearDownTestSuite() {
    delete store_;
    delete db_;
  }

  static HttpServerOptions Options() {
    HttpServerOptions o;
    o.tokens.emplace_back(kToken, Role::kAdmin);
    o.tokens.emplace_back(kToken2, Role::kAdmin);
    o.schemes_dir = SourceDir() + "/query/schemes";
    return o;
  }

  static std::unique_ptr<HttpServer> Start(const HttpServerOptions& o) {
    auto server = std::make_unique<HttpServer>(store_, o);
    absl::Status s = server->Start(0);
    EXPECT_TRUE(s.ok()) << s;
    return server;
  }

  static httplib::Client Client(const HttpServer& server,
                                const std::string& token) {
    httplib::Client c("127.0.0.1", server.port());
    c.set_connection_timeout(std::chrono::seconds(5));
    c.set_read_timeout(std::chrono::seconds(30));
    if (!token.empty()) c.set_bearer_token_auth(token);
    return c;
  }

  static constexpr char kToken2[] = "second-token-0123456789abcdef";
  static constexpr char kMonth[] =
      "/api/snapshot?from=2026-11-01&to=2026-11-30";
  static std::string* db_;
  static Store* store_;
};

std::string* HttpLimits::db_ = nullptr;
Store* HttpLimits::store_ = nullptr;

// A clock that stands still unless a test moves it, so that no request is
// refilled behind the test's back, however slow the machine.
struct FrozenClock {
  std::atomic<int64_t> ms{1'000'000};
  std::function<absl::Time()> Fn() {
    return [this] { return absl::FromUnixMillis(ms.load()); };
  }
};

// Opens /api/live with `token` and reads the response head (and, for a
// stream, its first board).
std::unique_ptr<RawConnection> OpenLive(int port, const std::string& token) {
  auto c = testing::RequestLive(port, token);
  EXPECT_TRUE(c->connected());
  EXPECT_TRUE(c->ReadUntil("\r\n\r\n")) << c->received();
  if (c->status() == 200) {
    EXPECT_TRUE(c->ReadUntil("event: today")) << c->received();
  }
  return c;
}

TEST_F(HttpLimits, RateLimitAnswers429PerToken) {
  FrozenClock clock;
  HttpServerOptions o = Options();  // 20 a second, bursts of 40
  o.rate_limit.clock = clock.Fn();
  auto server = Start(o);
  auto a = Client(*server, kToken);
  for (int i = 0; i < 40; ++i) {
    auto r = a.Get(kMonth);
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200) << i << " " << r->body;
  }
  auto refused = a.Get(kMonth);
  ASSERT_TRUE(refused);
  ExpectJsonError(*refused, 429, "too many requests");
  // The next request is due in 1/20 s, announced in whole seconds.
  EXPECT_EQ(refused->get_header_value("Retry-After"), "1");
  EXPECT_NE(refused->body.find("at most 20 a second per client (bursts of 40)"),
            std::string::npos)
      << refused->body;
  // Every endpoint and method counts against the token...
  ExpectJsonError(*a.Get("/metrics"), 429, "too many requests");
  ExpectJsonError(*a.Post("/api/snapshot", "", "text/plain"), 429,
                  "too many requests");
  // ...but probes never do.
  EXPECT_EQ(a.Get("/api/health")->status, 200);
  EXPECT_EQ(Client(*server, "").Get("/api/health")->status, 200);

  // Another token, from the same address, has a bucket of its own.
  auto b = Client(*server, kToken2);
  EXPECT_EQ(b.Get(kMonth)->status, 200);

  // 50 ms later the first token may make one request more.
  clock.ms += 50;
  EXPECT_EQ(a.Get(kMonth)->status, 200);
  EXPECT_EQ(a.Get(kMonth)->status, 429);
  clock.ms += 2000;  // full again
  for (int i = 0; i < 40; ++i) ASSERT_EQ(a.Get(kMonth)->status, 200) << i;
}

TEST_F(HttpLimits, RateLimitCountsUnknownTokensAgainstTheAddress) {
  FrozenClock clock;
  HttpServerOptions o = Options();
  o.rate_limit.clock = clock.Fn();
  o.rate_limit.burst = 5;
  auto server = Start(o);
  // Made-up tokens are refused, and each counts against 127.0.0.1, so
  // guessing is limited too and cannot grow the table.
  for (int i = 0; i < 5; ++i) {
    auto guess =
        Client(*server, absl::StrCat("guessed-token-", i, "-0123456789abcdef"));
    EXPECT_EQ(guess.Get(kMonth)->status, 401) << i;
  }
  auto guess = Client(*server, "guessed-token-5-0123456789abcdef");
  ExpectJsonError(*guess.Get(kMonth), 429, "too many requests");
  // No token at all is the same address.
  EXPECT_EQ(Client(*server, "").Get(kMonth)->status, 429);
  // A valid token from the same address is its own client.
  EXPECT_EQ(Client(*server, kToken).Get(kMonth)->status, 200);
}

TEST_F(HttpLimits, LiveStreamsAreCappedAndReleased) {
  HttpServerOptions o = Options();
  o.rate_limit.rate = 0;  // this test is about streams, not rates
  o.threads = 4;
  o.max_live_clients = 2;
  auto server = Start(o);
  const int port = server->port();

  auto first = OpenLive(port, kToken);
  auto second = OpenLive(port, kToken2);
  ASSERT_EQ(first->status(), 200) << first->received();
  ASSERT_EQ(second->status(), 200) << second->received();
  // The third is turned away while two are open.
  auto third = OpenLive(port, kToken);
  EXPECT_EQ(third->status(), 503) << third->received();
  EXPECT_NE(third->received().find("Retry-After: "), std::string::npos);
  EXPECT_NE(third->received().find("Content-Type: application/json"),
            std::string::npos);
  EXPECT_TRUE(third->ReadUntil("at most 2 live dashboards at a time"))
      << third->received();
  third.reset();
  // The rest of the API still answers.
  EXPECT_EQ(Client(*server, kToken).Get(kMonth)->status, 200);

  // A stream that closes gives its place back: the server sees the closed
  // socket at the stream's next turn (within about a second).
  first->Close();
  std::unique_ptr<RawConnection> again;
  for (int attempt = 0; attempt < 1000; ++attempt) {
    again = OpenLive(port, kToken);
    if (again->status() != 503) break;
    again.reset();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(again->status(), 200) << again->received();
  // Still two at most.
  EXPECT_EQ(OpenLive(port, kToken2)->status(), 503);
}

TEST_F(HttpLimits, RequestBodyOver64KiBIs413) {
  HttpServerOptions o = Options();
  o.rate_limit.rate = 0;
  auto server = Start(o);
  auto c = Client(*server, kToken);
  // 64 KiB is read (then refused: no endpoint takes a POST)...
  auto at_limit =
      c.Post("/api/snapshot", std::string(64 << 10, 'x'), "text/plain");
  ASSERT_TRUE(at_limit);
  ExpectJsonError(*at_limit, 405, "every endpoint is GET");
  // ...a byte more is not.
  auto over =
      c.Post("/api/snapshot", std::string((64 << 10) + 1, 'x'), "text/plain");
  ASSERT_TRUE(over);
  ExpectJsonError(*over, 413, "request too large");
  // Nor a body of unannounced length, which httplib would read whole,
  // however long: chunked is 413 and a POST without a Content-Length 405,
  // both unread, and the connection closes.
  RawConnection chunked(server->port());
  ASSERT_TRUE(chunked.Send(
      "POST /api/snapshot HTTP/1.1\r\nHost: 127.0.0.1\r\n"
      "Transfer-Encoding: chunked\r\nContent-Type: text/plain\r\n\r\n"));
  const std::string chunk =
      absl::StrCat("10000\r\n", std::string(1 << 16, 'x'), "\r\n");
  for (int i = 0; i < 4; ++i) {
    if (!chunked.Send(chunk)) break;  // the server may have closed already
  }
  EXPECT_TRUE(chunked.ReadToEnd());
  EXPECT_EQ(chunked.status(), 413) << chunked.received();
  EXPECT_NE(chunked.received().find("Connection: close"), std::string::npos);
  EXPECT_NE(chunked.received().find("unannounced length"), std::string::npos);

  RawConnection no_length(server->port());
  ASSERT_TRUE(
      no_length.Send("POST /api/snapshot HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));
  for (int i = 0; i < 4; ++i) {
    if (!no_length.Send(std::string(1 << 16, 'x'))) break;
  }
  EXPECT_TRUE(no_length.ReadToEnd());
  EXPECT_EQ(no_length.status(), 405) << no_length.received();
  EXPECT_NE(no_length.received().find("Allow: GET, HEAD"), std::string::npos);
}

TEST_F(HttpLimits, RequestHeadIsBounded) {
  HttpServerOptions o = Options();
  auto server = Start(o);
  // A request line that never ends: httplib alone would keep all of it in
  // memory. The server reads 64 KiB of head, then closes the connection.
  RawConnection endless(server->port());
  ASSERT_TRUE(endless.Send("GET /api/snapshot?from="));
  const std::string mib(1 << 20, '1');
  int sent = 0;
  while (sent < 64 && endless.Send(mib)) ++sent;
  EXPECT_LT(sent, 64) << "the server took 64 MiB of request line";
  EXPECT_TRUE(endless.ReadToEnd());
  // So do endless headers.
  RawConnection headers(server->port());
  ASSERT_TRUE(headers.Send("GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\n"));
  const std::string header_lines = [] {
    std::string h;
    for (int i = 0; i < 1000; ++i) absl::StrAppend(&h, "X-Pad-", i, ": 1\r\n");
    return h;
  }();  // 12 KiB or so
  sent = 0;
  while (sent < 5000 && headers.Send(header_lines)) ++sent;
  EXPECT_LT(sent, 5000) << "the server took 60 MiB of headers";
  EXPECT_TRUE(headers.ReadToEnd());
  // A head of normal size is served.
  EXPECT_EQ(Client(*server, "").Get("/api/health")->status, 200);
}

TEST_F(HttpLimits, ReadTimeoutEndsAStalledRequest) {
  HttpServerOptions o = Options();
  o.read_timeout = absl::Milliseconds(200);
  auto server = Start(o);
  // A request line and half a header block, then nothing: the server gives
  // up on it and closes the connection (30 s without that fails the test).
  RawConnection stalled(server->port());
  ASSERT_TRUE(stalled.Send("GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\n"));
  EXPECT_TRUE(stalled.ReadToEnd()) << stalled.received();
  EXPECT_NE(stalled.status(), 200) << stalled.received();
  // The server serves on.
  EXPECT_EQ(Client(*server, "").Get("/api/health")->status, 200);
}

TEST_F(HttpLimits, ReadTimeoutBoundsAWholeRequest) {
  HttpServerOptions o = Options();
  o.read_timeout = absl::Milliseconds(300);
  auto server = Start(o);
  // A byte every 20 ms: each read is quick, but the request would take a
  // minute to arrive. The server closes it once its read_timeout has gone
  // by since the first byte (the test gives up after 3,000 bytes).
  RawConnection trickle(server->port());
  const std::string request =
      "GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\n" +
      std::string(3000, 'X');
  size_t sent = 0;
  while (sent < request.size() && !trickle.ClosedByServer()) {
    if (!trickle.Send(request.substr(sent, 1))) break;
    ++sent;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_LT(sent, request.size()) << "the server waited a minute";
  EXPECT_TRUE(trickle.ReadToEnd());
  EXPECT_NE(trickle.status(), 200) << trickle.received();
}

// Idle and slow connections wait without a worker (query/bounded_server.h):
// with 200 connections that never send, 40 that drip a request head byte
// by byte and 20 idle keep-alive connections open on a 16-thread server,
// /api/health and an authorized snapshot still answer. Before, each such
// connection held one of the 16 workers for up to 5 s, so the probe waited
// about (260 / 16) * 5 s, past its 10 s timeout.
TEST_F(HttpLimits, IdleAndSlowConnectionsDoNotStallTheServer) {
  HttpServerOptions o = Options();
  o.rate_limit.rate = 0;
  // Long enough for the dripping heads on a loaded machine.
  o.read_timeout = absl::Seconds(60);
  auto server = Start(o);
  std::vector<std::unique_ptr<RawConnection>> idle, drip, kept;
  for (int i = 0; i < 200; ++i) {
    idle.push_back(std::make_unique<RawConnection>(server->port()));
    ASSERT_TRUE(idle.back()->connected()) << i;
  }
  for (int i = 0; i < 20; ++i) {
    kept.push_back(std::make_unique<RawConnection>(server->port()));
    ASSERT_TRUE(kept.back()->Send(
        "GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));
    ASSERT_TRUE(kept.back()->ReadUntil("\"ok\"")) << kept.back()->received();
  }
  const std::string head = "GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\n";
  for (int i = 0; i < 40; ++i) {
    drip.push_back(std::make_unique<RawConnection>(server->port()));
    ASSERT_TRUE(drip.back()->Send(head.substr(0, 5)));
  }
  for (size_t at = 5; at < 12; ++at) {
    for (auto& c : drip) c->Send(head.substr(at, 1));
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  for (int probe = 0; probe < 3; ++probe) {
    httplib::Client c("127.0.0.1", server->port());
    c.set_connection_timeout(std::chrono::seconds(10));
    c.set_read_timeout(std::chrono::seconds(10));
    auto health = c.Get("/api/health");
    ASSERT_TRUE(health) << "probe " << probe << ": " << health.error();
    EXPECT_EQ(health->status, 200);
    c.set_bearer_token_auth(kToken);
    auto snap = c.Get(kMonth);
    ASSERT_TRUE(snap) << snap.error();
    EXPECT_EQ(snap->status, 200);
  }
  // The dripping clients finish their requests and are answered too.
  for (auto& c : drip) {
    ASSERT_TRUE(c->Send(head.substr(12) + "\r\n"));
    EXPECT_TRUE(c->ReadUntil("\"ok\"")) << c->received();
  }
  server->Stop();
}

}  // namespace
}  // namespace chatkpi
