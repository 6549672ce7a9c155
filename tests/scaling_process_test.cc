// Scale-out on Kafka (docs/scaling.md): engines in one consumer group, each
// publishing its rows to the compacted changelog, and a query-only
// `chatkpi serve --from-changelog` that must answer for the whole group --
// also after a member dies and the others take its partitions over.
#include <signal.h>

#include <filesystem>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "tests/kafka_test_util.h"
#include "tests/test_util.h"

namespace chatkpi {
namespace {

using testing::ChildProcess;
using testing::Dataset;
using testing::MakeDataset;
using testing::MemberArgs;
using testing::SettledOwnership;
using testing::SmallMonth;
using testing::TempDir;
using testing::WaitUntil;

constexpr char kChangelog[] = "changelog";

std::vector<std::string> EngineArgs(const std::string& brokers,
                                    const std::string& db) {
  std::vector<std::string> args = MemberArgs(brokers, "scale", db);
  args.insert(args.end(), {"--changelog-topic", kChangelog});
  return args;
}

// True once the members' settled assignments cover all `partitions`, each
// once.
bool GroupSettled(const std::vector<ChildProcess*>& members, int partitions) {
  std::set<uint32_t> all;
  size_t total = 0;
  for (ChildProcess* m : members) {
    auto owned = SettledOwnership(m->Stderr());
    if (!owned.has_value()) return false;
    total += owned->size();
    all.insert(owned->begin(), owned->end());
  }
  return total == static_cast<size_t>(partitions) &&
         all.size() == static_cast<size_t>(partitions);
}

// A member running other rules than the query instance: its rows carry
// its rules version, and the query instance stops, exit 1, saying so,
// rather than add rows of two rule sets under its own label.
TEST(ScalingProcess, QueryInstanceRefusesRowsOfOtherRules) {
  const std::string dir = TempDir("scaling_rules");
  const testing::BrokerProcess broker(dir, 4,
                                      {"--changelog-topic", kChangelog});
  const std::string brokers = broker.bootstrap();
  ASSERT_FALSE(brokers.empty());
  GeneratorOptions o = SmallMonth(500, 73);
  const Dataset d = MakeDataset(dir, o);
  testing::Publish(brokers, d.lines);
  testing::WriteFile(dir + "/v2.json",
                     R"({"version": "v2", "response": {"slow_s": 10}})");
  std::vector<std::string> member = EngineArgs(brokers, dir + "/member");
  member.insert(member.end(),
                {"--rules", dir + "/v2.json", "--until-caught-up"});
  std::string err;
  ASSERT_EQ(testing::RunProgram(member, nullptr, &err), 0) << err;
  ChildProcess query(
      {CHATKPI_BINARY, "serve", "--from-changelog", "--brokers", brokers,
       "--changelog-topic", kChangelog, "--no-auth", "--port", "0"},
      dir + "/query.out", dir + "/query.err");
  const std::optional<int> code = query.Wait(absl::Seconds(60));
  ASSERT_TRUE(code.has_value()) << query.Stderr();
  EXPECT_EQ(*code, 1) << query.Stderr();
  EXPECT_NE(query.Stderr().find("holds rows computed under rules 'v2', but "
                                "this view is under 'default'"),
            std::string::npos)
      << query.Stderr();
}

// A second consumer group (a payroll group given the team's changelog from
// a shared config) published rows of its own owner epochs: its higher ones
// made the view drop the team's newer rows, and the view stood still with
// 200. The query instance takes the rows of one group and stops, exit 1,
// at another's.
TEST(ScalingProcess, QueryInstanceRefusesRowsOfASecondGroup) {
  const std::string dir = TempDir("scaling_groups");
  const testing::BrokerProcess broker(dir, 2,
                                      {"--changelog-topic", kChangelog});
  const std::string brokers = broker.bootstrap();
  ASSERT_FALSE(brokers.empty());
  const Dataset d = MakeDataset(dir, SmallMonth(300, 74));
  testing::Publish(brokers, d.lines);
  for (const char* group : {"team", "payroll"}) {
    std::vector<std::string> member =
        MemberArgs(brokers, group, absl::StrCat(dir, "/", group));
    member.insert(member.end(),
                  {"--changelog-topic", kChangelog, "--until-caught-up"});
    std::string err;
    ASSERT_EQ(testing::RunProgram(member, nullptr, &err), 0) << err;
  }
  ChildProcess query(
      {CHATKPI_BINARY, "serve", "--from-changelog", "--brokers", brokers,
       "--changelog-topic", kChangelog, "--no-auth", "--port", "0"},
      dir + "/query.out", dir + "/query.err");
  const std::optional<int> code = query.Wait(absl::Seconds(60));
  ASSERT_TRUE(code.has_value()) << query.Stderr();
  EXPECT_EQ(*code, 1) << query.Stderr();
  EXPECT_NE(query.Stderr().find("holds rows of consumer group 'payroll', but "
                                "this view takes group 'team''s"),
            std::string::npos)
      << query.Stderr();
}

TEST(ScalingProcess, QueryInstanceSeesTheWholeGroupAcrossAMemberDeath) {
  const std::string dir = TempDir("scaling");
  constexpr int kPartitions = 8;
  const testing::BrokerProcess broker(dir, kPartitions,
                                      {"--changelog-topic", kChangelog});
  const std::string brokers = broker.bootstrap();
  ASSERT_FALSE(brokers.empty());

  // No malformed lines: this test is about the rows (dead letters in the
  // team view: ScalingProcess.RandomOwnershipHistoriesKeepTheTeamViewExact).
  GeneratorOptions o = SmallMonth(4000, 71);
  o.malformed_rate = 0;
  const Dataset d = MakeDataset(dir, o);
  ASSERT_FALSE(d.snapshot_json.empty());
  testing::Publish(brokers, d.lines);

  std::vector<std::unique_ptr<ChildProcess>> engines;
  for (int i = 0; i < 3; ++i) {
    engines.push_back(std::make_unique<ChildProcess>(
        EngineArgs(brokers, absl::StrCat(dir, "/engine", i)),
        absl::StrCat(dir, "/engine", i, ".out"),
        absl::StrCat(dir, "/engine", i, ".err")));
  }
  ChildProcess query({CHATKPI_BINARY, "serve", "--from-changelog", "--brokers",
                      brokers, "--changelog-topic", kChangelog, "--db",
                      dir + "/query", "--no-auth", "--port", "0"},
                     dir + "/query.out", dir + "/query.err");
  const int port = testing::ListeningPort(query, absl::Seconds(15));
  ASSERT_NE(port, 0) << query.Stderr();

  auto all_engines = [&] {
    std::vector<ChildProcess*> v;
    for (auto& e : engines) {
      if (e != nullptr) v.push_back(e.get());
    }
    return v;
  };
  auto engine_logs = [&] {
    std::string s;
    for (ChildProcess* e : all_engines()) s += e->Stderr() + "\n----\n";
    return s;
  };
  ASSERT_TRUE(WaitUntil(absl::Seconds(40), [&] {
    return GroupSettled(all_engines(), kPartitions);
  })) << engine_logs();
  // Each of the three owns a share: the query view cannot come from one.
  for (ChildProcess* e : all_engines()) {
    EXPECT_FALSE(SettledOwnership(e->Stderr())->empty()) << e->Stderr();
  }
  // The query instance answers what one process would, within 20 s.
  auto expect_whole_group = [&] {
    std::string seen;
    EXPECT_TRUE(WaitUntil(absl::Seconds(20),
                          [&] {
                            seen = testing::MonthSnapshot(port);
                            return seen == d.snapshot_json;
                          }))
        << "query instance:\n"
        << seen << "\nsingle process:\n"
        << d.snapshot_json << "\n"
        << query.Stderr();
  };
  expect_whole_group();

  // A member dies. After its session times out, the others take its
  // partitions, rebuild them from the topics and publish their rows.
  const std::set<uint32_t> orphaned = *SettledOwnership(engines[0]->Stderr());
  engines[0]->Signal(SIGKILL);
  ASSERT_EQ(engines[0]->Wait(absl::Seconds(10)), 128 + SIGKILL);
  engines[0].reset();
  ASSERT_TRUE(WaitUntil(absl::Seconds(45), [&] {
    return GroupSettled(all_engines(), kPartitions);
  })) << engine_logs();
  // Each orphaned partition is rebuilt from the topics by its new owner --
  // unless that member owned it in a generation before the group settled
  // (a member that joined late, on a loaded machine): its store then
  // resumes at the offsets it committed when the partition was revoked.
  std::string assignments;
  for (uint32_t p : orphaned) {
    const std::string name = absl::StrCat("chat/", p, "@");
    bool rebuilt_or_resumed = false;
    for (ChildProcess* e : all_engines()) {
      const std::string err = e->Stderr();
      const size_t at = err.rfind("assigned ");
      const std::string last = err.substr(at, err.find('\n', at) - at);
      if (last.find(name) == std::string::npos) continue;
      assignments += last + "\n";
      rebuilt_or_resumed =
          last.find(name + "beginning") != std::string::npos ||
          err.substr(0, at).find(" " + name) != std::string::npos;
    }
    EXPECT_TRUE(rebuilt_or_resumed)
        << "partition " << p << " should be rebuilt from the topics\n"
        << assignments;
  }
  expect_whole_group();

  query.Signal(SIGTERM);
  EXPECT_EQ(query.Wait(absl::Seconds(15)), 0) << query.Stderr();
  for (auto& e : engines) {
    if (e != nullptr) e->Signal(SIGTERM);
  }
  for (auto& e : engines) {
    if (e != nullptr) {
      EXPECT_EQ(e->Wait(absl::Seconds(20)), 0) << e->Stderr();
    }
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace chatkpi
