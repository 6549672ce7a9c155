// A member given a partition it never had reads it from the beginning; when
// retention already deleted the partition's start, the events are missing
// from its KPIs, and it must say so (docs/scaling.md, "What retention the
// input topics need").
#include <filesystem>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tests/kafka_test_util.h"
#include "tests/test_util.h"

namespace chatkpi {
namespace {

TEST(RetentionProcess, AFreshMemberWarnsThatThePartitionsStartIsGone) {
  const std::string dir = testing::TempDir("retention_fresh");
  testing::BrokerProcess broker(dir, 1);
  ASSERT_FALSE(broker.bootstrap().empty());
  // Far more than the embedded broker keeps of one partition (~5 MiB): the
  // oldest are deleted before any member reads them.
  const testing::Dataset d =
      testing::MakeDataset(dir, testing::SmallMonth(60000, 5));
  testing::Publish(broker.bootstrap(), d.lines);
  std::vector<std::string> run =
      testing::MemberArgs(broker.bootstrap(), "fresh", dir + "/db");
  run.push_back("--until-caught-up");
  std::string err;
  ASSERT_EQ(testing::RunProgram(run, nullptr, &err), 0) << err;
  EXPECT_NE(err.find("chat/0@beginning"), std::string::npos) << err;
  EXPECT_NE(err.find("warning: chat/0 offsets 0.."), std::string::npos) << err;
  EXPECT_NE(err.find("were never delivered"), std::string::npos) << err;
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace chatkpi
