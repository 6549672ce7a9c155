// The events and ids families belong to the event log and the id index
// (store/store.h): a Commit that Puts or Deletes in them is refused whole,
// and Store::Scan of them is refused, so that no caller can put the log
// and the index out of step with each other.
#include <memory>
#include <optional>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "store/store.h"
#include "tests/test_util.h"

namespace chatkpi {
namespace {

class StoreFamilies : public ::testing::TestWithParam<Family> {
 protected:
  void SetUp() override {
    auto store = Store::Open(testing::TempDir("families") + "/db", {});
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
    Commit c(store_.get());
    ASSERT_TRUE(*c.AppendEvent("e1", "{\"id\":\"e1\"}"));
    ASSERT_TRUE(store_->Write(&c).ok());
  }

  // The commit is refused, nothing of it (the meta key beside) is stored,
  // and the store still takes the next commit.
  void ExpectRefused(Commit* c, std::string_view what) {
    c->Put(Family::kMeta, "beside", "x");
    absl::Status s = store_->Write(c);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
    EXPECT_TRUE(absl::StrContains(s.message(), std::string(what))) << s;
    EXPECT_TRUE(absl::StrContains(s.message(), FamilyName(GetParam()))) << s;
    auto beside = store_->Get(Family::kMeta, "beside");
    ASSERT_TRUE(beside.ok());
    EXPECT_FALSE(beside->has_value());
    EXPECT_EQ(store_->next_seq(), 1u);
    Commit next(store_.get());
    next.Put(Family::kMeta, "after", "y");
    ASSERT_TRUE(store_->Write(&next).ok());
    auto raw = store_->ReadEvent(0);
    ASSERT_TRUE(raw.ok()) << raw.status();
    EXPECT_EQ(*raw, "{\"id\":\"e1\"}");
  }

  std::unique_ptr<Store> store_;
};

TEST_P(StoreFamilies, PutIsRefused) {
  Commit c(store_.get());
  std::string key = "e1";
  if (GetParam() == Family::kEvents) key = std::string(8, '\0');  // seq 0
  c.Put(GetParam(), key, "forged");
  ExpectRefused(&c, "a Put");
}

TEST_P(StoreFamilies, DeleteIsRefused) {
  Commit c(store_.get());
  std::string key = "e1";
  if (GetParam() == Family::kEvents) key = std::string(8, '\0');
  c.Delete(GetParam(), key);
  ExpectRefused(&c, "a Delete");
}

TEST_P(StoreFamilies, ScanIsRefused) {
  int visited = 0;
  absl::Status s =
      store_->Scan(GetParam(), "", "", [&](std::string_view, std::string_view) {
        ++visited;
        return true;
      });
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  EXPECT_TRUE(absl::StrContains(s.message(), "a Scan")) << s;
  EXPECT_EQ(visited, 0);
}

INSTANTIATE_TEST_SUITE_P(EventsAndIds, StoreFamilies,
                         ::testing::Values(Family::kEvents, Family::kIds),
                         [](const ::testing::TestParamInfo<Family>& f) {
                           return std::string(FamilyName(f.param));
                         });

// Every other family stays open to Put, Delete and Scan.
TEST(StoreFamiliesOpen, MetaPutDeleteAndScan) {
  auto store = Store::Open(testing::TempDir("families_open") + "/db", {});
  ASSERT_TRUE(store.ok()) << store.status();
  Commit c(store->get());
  c.Put(Family::kMeta, "k1", "v1");
  c.Put(Family::kMeta, "k2", "v2");
  c.Delete(Family::kMeta, "k1");
  ASSERT_TRUE((*store)->Write(&c).ok());
  std::string seen;
  ASSERT_TRUE((*store)
                  ->Scan(Family::kMeta, "k", "l",
                         [&](std::string_view k, std::string_view v) {
                           absl::StrAppend(&seen, std::string(k), "=",
                                           std::string(v), ";");
                           return true;
                         })
                  .ok());
  EXPECT_EQ(seen, "k2=v2;");
}

}  // namespace
}  // namespace chatkpi
