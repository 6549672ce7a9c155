// The event log in blocks (store/event_log.h): every event comes back once,
// in order, with its raw bytes, from any starting point, across block and
// commit boundaries and a reopen.
#include "store/event_log.h"

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "store/store.h"
#include "tests/raw_store.h"
#include "tests/test_util.h"

namespace chatkpi {
namespace {

std::vector<std::string> Read(Store& store, uint64_t from, uint64_t to) {
  std::vector<std::string> out;
  uint64_t expect = from;
  absl::Status s =
      store.ScanEvents(from, to, [&](uint64_t seq, std::string_view raw) {
        EXPECT_EQ(seq, expect++);
        out.emplace_back(raw);
        return true;
      });
  EXPECT_TRUE(s.ok()) << s;
  return out;
}

TEST(EventLog, ReadsBackEveryEventFromAnySeq) {
  const std::string dir = testing::TempDir("eventlog") + "/db";
  std::vector<std::string> all;
  {
    auto store = Store::Open(dir, {});
    ASSERT_TRUE(store.ok()) << store.status();
    // Commits of 1, 3000 (several blocks by count) and 40 big events
    // (blocks cut by size), then an empty one, then 1500 events of random
    // bytes (blocks LZ4 cannot shrink are stored as they are: a full one,
    // compressed as the next begins, and the last, at the write).
    std::mt19937_64 rng(7);
    for (int n : {1, 3000, 40, 0, 1500}) {
      Commit c(store->get());
      for (int i = 0; i < n; ++i) {
        std::string raw = absl::StrCat("{\"n\":", all.size(), "}");
        if (n == 40) raw.append(20000, 'x');
        for (int j = 0; n == 1500 && j < 200; ++j) {
          raw.push_back(static_cast<char>(rng()));
        }
        ASSERT_TRUE(*c.AppendEvent(absl::StrCat("id", all.size()), raw));
        all.push_back(raw);
      }
      ASSERT_TRUE((*store)->Write(&c).ok());
    }
    EXPECT_EQ((*store)->next_seq(), all.size());
    EXPECT_EQ(Read(**store, 0, UINT64_MAX), all);
  }
  auto store = Store::Open(dir, {});
  ASSERT_TRUE(store.ok()) << store.status();
  ASSERT_EQ((*store)->next_seq(), all.size());
  for (uint64_t from :
       {0, 1, 2, 1023, 1024, 1025, 2048, 3000, 3001, 3020, 3041, 3300}) {
    for (uint64_t to : {from, from + 1, from + 700, uint64_t{all.size()}}) {
      if (to < from) continue;
      const uint64_t end = std::min<uint64_t>(to, all.size());
      EXPECT_EQ(Read(**store, from, to),
                std::vector<std::string>(all.begin() + std::min(from, end),
                                         all.begin() + end))
          << from << ".." << to;
    }
  }
  // Stop early.
  int visited = 0;
  ASSERT_TRUE(
      (*store)
          ->ScanEvents(
              5, 100, [&](uint64_t, std::string_view) { return ++visited < 3; })
          .ok());
  EXPECT_EQ(visited, 3);
  // Ids are indexed one by one.
  EXPECT_TRUE(*(*store)->ContainsId("id2500"));
  EXPECT_FALSE(*(*store)->ContainsId("id99999"));
  store->reset();

  // A follower (replay's reader) sees the same log.
  StoreOptions fo;
  fo.secondary_dir = dir + ".follower";
  fo.followed = {Family::kEvents, Family::kMeta};
  auto follower = Store::Open(dir, fo);
  ASSERT_TRUE(follower.ok()) << follower.status();
  EXPECT_EQ((*follower)->next_seq(), all.size());
  std::vector<std::string> seen;
  ASSERT_TRUE((*follower)
                  ->ScanEvents(1500, 1600,
                               [&](uint64_t, std::string_view raw) {
                                 seen.emplace_back(raw);
                                 return true;
                               })
                  .ok());
  EXPECT_EQ(seen,
            std::vector<std::string>(all.begin() + 1500, all.begin() + 1600));
}

}  // namespace
}  // namespace chatkpi

namespace chatkpi {
namespace {

// Stores of format 3 (blocks never compressed) and 4 (buyers never
// appended to) are read as they are, and marked 5 when opened to write; a
// format this build does not know is refused by name.
TEST(EventLog, OlderFormatsAreReadAndMarkedFiveWhenWritten) {
  const std::string dir = testing::TempDir("format3") + "/db";
  auto format = [&](Store& store) {
    auto v = store.Get(Family::kMeta, "chatkpi.format");
    return v.ok() && v->has_value() ? **v : std::string("?");
  };
  {
    auto store = Store::Open(dir, {});
    ASSERT_TRUE(store.ok()) << store.status();
    EXPECT_EQ(format(**store), "5");
    Commit c(store->get());
    ASSERT_TRUE(*c.AppendEvent("a", "{\"a\":1}"));
    ASSERT_TRUE((*store)->Write(&c).ok());
  }
  for (const char* older : {"3", "4"}) {
    {
      auto store = Store::Open(dir, {});
      ASSERT_TRUE(store.ok()) << store.status();
      Commit c(store->get());
      c.Put(Family::kMeta, "chatkpi.format", older);
      ASSERT_TRUE((*store)->Write(&c).ok());
    }
    {
      StoreOptions ro;
      ro.read_only = true;
      auto store = Store::Open(dir, ro);
      ASSERT_TRUE(store.ok()) << store.status();
      EXPECT_EQ(format(**store), older);
      EXPECT_EQ(Read(**store, 0, 1), std::vector<std::string>{"{\"a\":1}"});
    }
    auto store = Store::Open(dir, {});
    ASSERT_TRUE(store.ok()) << store.status();
    EXPECT_EQ(format(**store), "5") << older;
    EXPECT_EQ(Read(**store, 0, 1), std::vector<std::string>{"{\"a\":1}"});
  }
  {
    auto store = Store::Open(dir, {});
    ASSERT_TRUE(store.ok()) << store.status();
    Commit c(store->get());
    c.Put(Family::kMeta, "chatkpi.format", "6");
    ASSERT_TRUE((*store)->Write(&c).ok());
  }
  auto store = Store::Open(dir, {});
  ASSERT_FALSE(store.ok());
  EXPECT_NE(store.status().message().find("has chatkpi format 6"),
            std::string::npos)
      << store.status();
}

// A compressed block that does not decompress to the size it names is
// damage: reported as DataLoss, never read as events.
TEST(EventLog, DamagedCompressedBlockIsDataLoss) {
  const std::string dir = testing::TempDir("badblock") + "/db";
  {
    auto store = Store::Open(dir, {});
    ASSERT_TRUE(store.ok()) << store.status();
    Commit c(store->get());
    ASSERT_TRUE(*c.AppendEvent("a", "{\"a\":1}"));
    ASSERT_TRUE((*store)->Write(&c).ok());
  }
  // Block at seq 1: 2 events, compressed, 100 bytes, then garbage (written
  // past the store: Commit::Put refuses the events family).
  std::string block = {'\x80', '\0', '\0', '\2', 100};
  block.append("not lz4 at all");
  ASSERT_TRUE(
      testing::PutRawStoreValue(dir, Family::kEvents, SeqKey(1), block).ok());
  {
    StoreOptions read_only;
    read_only.read_only = true;
    auto store = Store::Open(dir, read_only);
    ASSERT_TRUE(store.ok()) << store.status();
    std::vector<std::string> first;
    absl::Status s =
        (*store)->ScanEvents(0, 3, [&](uint64_t, std::string_view raw) {
          first.emplace_back(raw);
          return true;
        });
    EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << s;
    EXPECT_NE(s.message().find("bad event log block"), std::string::npos) << s;
    EXPECT_EQ(first, std::vector<std::string>{"{\"a\":1}"});
  }
  // Opening to write reads the log's tail back (the id index): refused.
  auto store = Store::Open(dir, {});
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), absl::StatusCode::kDataLoss)
      << store.status();
}

}  // namespace
}  // namespace chatkpi
