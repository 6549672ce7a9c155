// Reading dead letters back (docs/engine.md, "Dead letters"): `chatkpi
// dead-letters` as a whole process and GET /api/dead-letters over a real
// socket, on a store built by `chatkpi ingest` from lines whose raw bytes
// need escaping — quotes, a comma, control characters, bytes that are not
// UTF-8 — and one past the 64 KiB a dead letter keeps.
#include <cctype>
#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "base/json_text.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "query/http_server.h"
#include "store/store.h"
#include "tests/subprocess.h"
#include "tests/test_util.h"

namespace chatkpi {
namespace {

using testing::ChatkpiBinary;
using testing::RunProcess;
using testing::TempDir;
using testing::WriteFile;

const char kToken[] = "dead-letters-token-0123456789";
const char kDashboardToken[] = "dead-letters-dash-0123456789";

// Lines of in.jsonl (1-based), and the reason each gets:
//   1 a valid chat event
//   2 ts out of range; the text holds quotes and a comma: "hi", "there"
//   3 not JSON, with control characters: \x01 and ESC [31m
//   4 a chat whose text is GBK (你好 = C4 E3 BA C3): not UTF-8
//   5 70,000 'x': not JSON, longer than the 64 KiB a dead letter keeps
const std::string kLine2 =
    R"({"type":"chat","id":"q1","ts":5,"buyer":"u1","agent":"shop:a","dir":"in","text":"say \"hi\", \"there\""})";
const std::string kLine3 = "oops\x01 \x1b[31m red";
const std::string kLine4 =
    "{\"type\":\"chat\",\"id\":\"g1\",\"ts\":1794272400000,\"buyer\":\"u1\","
    "\"agent\":\"shop:a\",\"dir\":\"in\",\"text\":\"\xc4\xe3\xba\xc3\"}";
const std::string kLine5(70000, 'x');

std::string MakeDb(const std::string& name) {
  const std::string dir = TempDir(name);
  WriteFile(
      dir + "/in.jsonl",
      absl::StrCat(
          R"({"type":"chat","id":"c1","ts":1794272400000,"buyer":"u1","agent":"shop:a","dir":"in"})",
          "\n", kLine2, "\n", kLine3, "\n", kLine4, "\n", kLine5, "\n"));
  auto r = RunProcess(
      {ChatkpiBinary(), "ingest", "--db", dir + "/db", dir + "/in.jsonl"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return dir;
}

// The JSON listing's row of each dead letter, written out by hand: the
// escapes are what is being tested.
std::string Row2(const std::string& dir);
std::string Row3(const std::string& dir);
std::string Row4(const std::string& dir);
std::string Row5(const std::string& dir);

std::string Count(size_t n) { return absl::StrCat("], \"count\": ", n, ","); }

std::string PercentEncoded(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      absl::StrAppend(&out, "%", absl::Hex(c, absl::kZeroPad2));
    }
  }
  return out;
}

std::string Position(const std::string& dir, int line) {
  return absl::StrCat(dir, "/in.jsonl:", line);
}

std::string Row2(const std::string& dir) {
  return absl::StrCat(
      R"({"position": ")", Position(dir, 2),
      R"(", "reason": "out of range 'ts'", "raw": "{\"type\":\"chat\",\"id\":\"q1\",\"ts\":5,\"buyer\":\"u1\",\"agent\":\"shop:a\",\"dir\":\"in\",\"text\":\"say \\\"hi\\\", \\\"there\\\"\"}", "raw_bytes": )",
      kLine2.size(), R"(, "raw_cut": false, "raw_utf8": true})");
}

std::string Row3(const std::string& dir) {
  // 15 bytes: "oops" \x01 " " \x1b "[31m red".
  return absl::StrCat(
      R"({"position": ")", Position(dir, 3),
      R"(", "reason": "invalid json", "raw": "oops\u0001 \u001b[31m red", "raw_bytes": 15, "raw_cut": false, "raw_utf8": true})");
}

std::string Row4(const std::string& dir) {
  // C4 E3 BA C3 is no UTF-8 sequence at any byte: four U+FFFD.
  const std::string fffd = "\xEF\xBF\xBD";
  return absl::StrCat(
      R"({"position": ")", Position(dir, 4),
      R"(", "reason": "invalid utf-8", "raw": "{\"type\":\"chat\",\"id\":\"g1\",\"ts\":1794272400000,\"buyer\":\"u1\",\"agent\":\"shop:a\",\"dir\":\"in\",\"text\":\")",
      fffd, fffd, fffd, fffd, R"(\"}", "raw_bytes": )", kLine4.size(),
      R"(, "raw_cut": false, "raw_utf8": false, "raw_base64": ")",
      absl::Base64Escape(kLine4), R"("})");
}

std::string Row5(const std::string& dir) {
  return absl::StrCat(
      R"({"position": ")", Position(dir, 5),
      R"(", "reason": "invalid json", "raw": ")", std::string(64 << 10, 'x'),
      R"(", "raw_bytes": 70000, "raw_cut": true, "raw_utf8": true})");
}

TEST(DeadLettersCommand, ListsPositionReasonAndRawBytes) {
  const std::string dir = MakeDb("dead_letters_cli");
  auto r = RunProcess({ChatkpiBinary(), "dead-letters", "--db", dir + "/db"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // In position order as text: lines 2, 3, 4, 5.
  EXPECT_EQ(r.out,
            absl::StrCat("{\"dead_letters\": [\n  ", Row2(dir), ",\n  ",
                         Row3(dir), ",\n  ", Row4(dir), ",\n  ", Row5(dir),
                         "\n], \"count\": 4, "
                         "\"next_after\": null}\n"));

  // --reason: a whole reason or its category (the text before the quote).
  for (const auto& [reason, rows] :
       std::vector<std::pair<std::string, std::vector<std::string>>>{
           {"invalid utf-8", {Row4(dir)}},
           {"invalid json", {Row3(dir), Row5(dir)}},
           {"out of range", {Row2(dir)}},
           {"out of range 'ts'", {Row2(dir)}},
           {"missing field", {}}}) {
    auto f = RunProcess({ChatkpiBinary(), "dead-letters", "--db", dir + "/db",
                         "--reason", reason});
    ASSERT_EQ(f.exit_code, 0) << f.err;
    EXPECT_NE(f.out.find(Count(rows.size())), std::string::npos) << reason;
    for (const std::string& row : rows) {
      EXPECT_NE(f.out.find(row), std::string::npos) << reason;
    }
  }

  // CSV: RFC 4180 quoting by the project's writer; control characters as
  // they are inside the field; not-UTF-8 bytes as U+FFFD plus base64.
  auto csv = RunProcess({ChatkpiBinary(), "dead-letters", "--db", dir + "/db",
                         "--format", "csv", "--reason", "out of range"});
  ASSERT_EQ(csv.exit_code, 0) << csv.err;
  // The line holds quotes and a comma: quoted, each quote doubled.
  std::string quoted = "\"";
  for (char c : kLine2) quoted.append(c == '"' ? "\"\"" : std::string(1, c));
  quoted.push_back('"');
  EXPECT_EQ(csv.out,
            absl::StrCat("position,reason,raw_bytes,raw_cut,raw,raw_base64\n",
                         Position(dir, 2), ",out of range 'ts',", kLine2.size(),
                         ",false,", quoted, ",\n"));
  auto utf = RunProcess({ChatkpiBinary(), "dead-letters", "--db", dir + "/db",
                         "--format", "csv", "--reason", "invalid utf-8"});
  ASSERT_EQ(utf.exit_code, 0) << utf.err;
  EXPECT_TRUE(absl::EndsWith(
      utf.out, absl::StrCat(",", absl::Base64Escape(kLine4), "\n")))
      << utf.out;
  EXPECT_EQ(utf.out.find('\xc4'), std::string::npos);

  // Usage errors are exit 2 and say why.
  auto bad = RunProcess({ChatkpiBinary(), "dead-letters", "--db", dir + "/db",
                         "--format", "xml"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("--format"), std::string::npos) << bad.err;
  auto none =
      RunProcess({ChatkpiBinary(), "dead-letters", "--db", dir + "/nowhere"});
  EXPECT_NE(none.exit_code, 0);
  EXPECT_FALSE(std::filesystem::exists(dir + "/nowhere"));
}

TEST(DeadLettersHttp, ListsPagesAndNeedsTheAdminToken) {
  const std::string dir = MakeDb("dead_letters_http");
  StoreOptions so;
  so.read_only = true;
  auto store = Store::Open(dir + "/db", so);
  ASSERT_TRUE(store.ok()) << store.status();
  HttpServerOptions opts;
  opts.tokens.emplace_back(kToken, Role::kAdmin);
  opts.tokens.emplace_back(kDashboardToken, Role::kDashboard);
  opts.rate_limit.rate = 0;
  HttpServer server(store->get(), opts);
  ASSERT_TRUE(server.Start(0).ok());
  auto get = [&](const std::string& path, const char* token) {
    httplib::Client c("127.0.0.1", server.port());
    c.set_read_timeout(std::chrono::seconds(30));
    if (token != nullptr) c.set_bearer_token_auth(token);
    auto r = c.Get(path);
    EXPECT_TRUE(r) << path;
    return r ? r.value() : httplib::Response();
  };

  EXPECT_EQ(get("/api/dead-letters", nullptr).status, 401);
  // Raw lines are buyers' messages: not for a wall screen's token.
  EXPECT_EQ(get("/api/dead-letters", kDashboardToken).status, 403);

  auto all = get("/api/dead-letters", kToken);
  ASSERT_EQ(all.status, 200) << all.body;
  EXPECT_EQ(all.body,
            absl::StrCat("{\"dead_letters\": [\n  ", Row2(dir), ",\n  ",
                         Row3(dir), ",\n  ", Row4(dir), ",\n  ", Row5(dir),
                         "\n], \"count\": 4, \"next_after\": null}\n"));

  // Pages: two, then the rest after the last position of the first.
  auto page1 = get("/api/dead-letters?limit=2", kToken);
  ASSERT_EQ(page1.status, 200) << page1.body;
  EXPECT_EQ(page1.body,
            absl::StrCat("{\"dead_letters\": [\n  ", Row2(dir), ",\n  ",
                         Row3(dir), "\n], \"count\": 2, \"next_after\": \"",
                         Position(dir, 3), "\"}\n"));
  auto page2 = get(absl::StrCat("/api/dead-letters?limit=2&after=",
                                PercentEncoded(Position(dir, 3))),
                   kToken);
  ASSERT_EQ(page2.status, 200) << page2.body;
  EXPECT_EQ(
      page2.body,
      absl::StrCat("{\"dead_letters\": [\n  ", Row4(dir), ",\n  ", Row5(dir),
                   "\n], \"count\": 2, \"next_after\": null}\n"));

  auto utf = get("/api/dead-letters?reason=invalid%20utf-8&format=csv", kToken);
  ASSERT_EQ(utf.status, 200);
  EXPECT_TRUE(
      absl::StartsWith(utf.get_header_value("Content-Type"), "text/csv"));
  EXPECT_TRUE(absl::StartsWith(
      utf.body, "position,reason,raw_bytes,raw_cut,raw,raw_base64\n"));
  EXPECT_NE(utf.body.find(absl::Base64Escape(kLine4)), std::string::npos);

  EXPECT_EQ(get("/api/dead-letters?limit=0", kToken).status, 400);
  EXPECT_EQ(get("/api/dead-letters?limit=1001", kToken).status, 400);
  EXPECT_EQ(get("/api/dead-letters?format=xml", kToken).status, 400);
  EXPECT_EQ(get("/api/dead-letters?reasn=x", kToken).status, 400);
}

// Two files, each with one copy of o1p (100.00 / 1 item against 80.00 / 2
// items; 8000 < 10000 fen wins, docs/engine.md "Duplicates"), taken in
// both orders by the real binary: the same snapshot, one conflict listed
// with both positions.
// Each of 200 chats comes first from one buyer, then, further on, under the
// same id from another buyer a second earlier: that copy wins, and the log
// holds both. Whatever the thread count, the run says 200 new events and
// 200 duplicates, and `stats`, a replay and `stats` again say 200 events.
TEST(ConflictingDuplicatesProcess, EventsAreDistinctIdsWhateverTheThreads) {
  const std::string dir = TempDir("conflicts_events");
  std::string losers, winners;
  for (int i = 0; i < 200; ++i) {
    const int64_t ts = 1794276000000 + i * 60000;
    absl::StrAppend(&losers, R"({"type":"chat","id":"c)", i, R"(","ts":)",
                    ts + 1000, R"(,"buyer":"late)", i,
                    R"(","agent":"shop:a","dir":"in","text":"在吗"})", "\n");
    absl::StrAppend(&winners, R"({"type":"chat","id":"c)", i, R"(","ts":)", ts,
                    R"(,"buyer":"early)", i,
                    R"(","agent":"shop:a","dir":"in","text":"在吗"})", "\n");
  }
  WriteFile(dir + "/in.jsonl", losers + winners);
  for (const char* threads : {"1", "2", "4"}) {
    const std::string db = absl::StrCat(dir, "/db", threads);
    auto r = RunProcess({ChatkpiBinary(), "ingest", "--db", db, "--threads",
                         threads, dir + "/in.jsonl"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.err.find("200 new events, 200 duplicates"), std::string::npos)
        << threads << " threads: " << r.err;
    for (const char* step : {"ingest", "replay"}) {
      if (std::string(step) == "replay") {
        WriteFile(dir + "/rules.json", R"({"version": "v2"})");
        auto replay = RunProcess({ChatkpiBinary(), "replay", "--db", db,
                                  "--rules", dir + "/rules.json"});
        ASSERT_EQ(replay.exit_code, 0) << replay.err;
        EXPECT_NE(replay.out.find("\"events\": 200,"), std::string::npos)
            << replay.out;
      }
      auto stats = RunProcess({ChatkpiBinary(), "stats", "--db", db});
      ASSERT_EQ(stats.exit_code, 0) << stats.err;
      EXPECT_TRUE(absl::StartsWith(stats.out, "{\"events\": 200,"))
          << threads << " threads, after " << step << ": " << stats.out;
    }
  }
}

TEST(ConflictingDuplicatesProcess, StatsCountAndListBothPositions) {
  const std::string dir = TempDir("conflicts_cli");
  const std::string created =
      R"({"type":"order","id":"o1c","ts":1794276000000,"order":"o1","buyer":"u1","status":"created","amount":100.00,"items":1})";
  const std::string paid_a =
      R"({"type":"order","id":"o1p","ts":1794276060000,"order":"o1","buyer":"u1","status":"paid","amount":100.00,"items":1})";
  const std::string paid_b =
      R"({"type":"order","id":"o1p","ts":1794276060000,"order":"o1","buyer":"u1","status":"paid","amount":80.00,"items":2})";
  WriteFile(dir + "/a.jsonl", absl::StrCat(created, "\n", paid_a, "\n"));
  WriteFile(dir + "/b.jsonl", absl::StrCat(paid_b, "\n"));
  std::string snapshots[2];
  for (int order = 0; order < 2; ++order) {
    const std::string db = absl::StrCat(dir, "/db", order);
    std::vector<std::string> files = {dir + "/a.jsonl", dir + "/b.jsonl"};
    if (order == 1) std::swap(files[0], files[1]);
    for (const std::string& f : files) {
      auto r = RunProcess({ChatkpiBinary(), "ingest", "--db", db, f});
      ASSERT_EQ(r.exit_code, 0) << r.err;
    }
    auto snap = RunProcess({ChatkpiBinary(), "snapshot", "--db", db, "--from",
                            "2026-11-10", "--to", "2026-11-10"});
    ASSERT_EQ(snap.exit_code, 0) << snap.err;
    snapshots[order] = snap.out;
    // The unattributed row: the winner's 80.00 and 2 items.
    EXPECT_NE(snap.out.find("\"paid_items\": 2, \"sales_fen\": 8000"),
              std::string::npos)
        << snap.out;
    auto stats = RunProcess({ChatkpiBinary(), "stats", "--db", db});
    ASSERT_EQ(stats.exit_code, 0) << stats.err;
    EXPECT_NE(stats.out.find("\"conflicting_duplicates\": 1,"),
              std::string::npos)
        << stats.out;
    auto list = RunProcess(
        {ChatkpiBinary(), "dead-letters", "--db", db, "--conflicts"});
    ASSERT_EQ(list.exit_code, 0) << list.err;
    // a.jsonl first: the loser is its line 2, in the log as event 1; the
    // winner is b.jsonl:1. b.jsonl first: the winner is event 0 of the log.
    const std::string winner = order == 0 ? dir + "/b.jsonl:1" : "log:0";
    const std::string loser = order == 0 ? "log:1" : dir + "/a.jsonl:2";
    std::string raw;
    AppendJsonString(&raw, paid_a);
    EXPECT_NE(
        list.out.find(absl::StrCat("{\"id\": \"o1p\", \"resolved\": true, "
                                   "\"winner_position\": \"",
                                   winner, "\", \"loser_position\": \"", loser,
                                   "\", \"loser_raw\": ", raw)),
        std::string::npos)
        << list.out;
    EXPECT_NE(list.out.find("\"count\": 1}"), std::string::npos) << list.out;
    auto csv = RunProcess({ChatkpiBinary(), "dead-letters", "--db", db,
                           "--conflicts", "--format", "csv"});
    ASSERT_EQ(csv.exit_code, 0) << csv.err;
    EXPECT_TRUE(absl::StartsWith(
        csv.out,
        absl::StrCat("id,resolved,winner_position,loser_position,"
                     "loser_raw_bytes,loser_raw,loser_raw_base64\no1p,true,",
                     winner, ",", loser, ",", paid_a.size(), ",\"")))
        << csv.out;
  }
  EXPECT_EQ(snapshots[0], snapshots[1]);
}

}  // namespace
}  // namespace chatkpi
