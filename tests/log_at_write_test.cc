// File shards leave the compression of their commits' event log blocks to
// the writer thread (Commit::CompressLogAtWrite, store/event_log.h): the
// blocks stored must be the very bytes of blocks compressed as they fill,
// and sealed commits joined into one write land where they were sealed.
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "rocksdb/write_batch.h"
#include "store/event_log.h"
#include "store/store.h"
#include "tests/test_util.h"

namespace chatkpi {
namespace {

// Events that make blocks cut by count, by size, and blocks LZ4 cannot
// shrink (stored as they are).
std::vector<std::pair<std::string, std::string>> SomeEvents() {
  std::vector<std::pair<std::string, std::string>> events;
  std::mt19937_64 rng(11);
  for (int n : {2500, 40, 1500}) {
    for (int i = 0; i < n; ++i) {
      std::string raw = absl::StrCat("{\"n\":", events.size(), "}");
      if (n == 40) raw.append(20000, 'x');
      for (int j = 0; n == 1500 && j < 200; ++j) {
        raw.push_back(static_cast<char>(rng()));
      }
      events.emplace_back(absl::StrCat("id", events.size()), raw);
    }
  }
  return events;
}

TEST(LogCompressedAtWrite, StoresTheBytesOfBlocksCompressedAsTheyFill) {
  const auto events = SomeEvents();
  EventBlockWriter as_they_fill, at_write;
  at_write.set_compress_at_write(true);
  for (const auto& [id, raw] : events) {
    as_they_fill.Append(id, raw);
    at_write.Append(id, raw);
  }
  EXPECT_EQ(at_write.num_events(), events.size());
  rocksdb::WriteBatch a, b;
  as_they_fill.WriteTo(&a, nullptr, 7);
  at_write.WriteTo(&b, nullptr, 7);
  // Blocks cut by count (1024 + 1024 of the 2500 small events), then by
  // size (the rest of them and 13 events of 20 kB, then 13, then 13), then
  // by count again (the last big one and 1023 random events, then 477).
  EXPECT_EQ(a.Count(), 7u);
  EXPECT_EQ(a.Count(), b.Count());
  EXPECT_TRUE(a.Data() == b.Data()) << "the stored blocks differ";
  // Compressed: far smaller than the events (the random ones aside).
  EXPECT_LT(b.GetDataSize(), at_write.bytes() / 2);
}

TEST(LogCompressedAtWrite, SealedCommitsJoinedLandWhereSealed) {
  const std::string dir = testing::TempDir("log_at_write") + "/db";
  const auto events = SomeEvents();
  {
    auto opened = Store::Open(dir, {});
    ASSERT_TRUE(opened.ok()) << opened.status();
    Store& store = **opened;
    // Three commits as three file shards make them: events, state puts
    // and a delete, sealed at their places, written as one.
    Commit c1(&store), c2(&store), c3(&store);
    for (Commit* c : {&c1, &c2, &c3}) c->CompressLogAtWrite();
    const size_t split1 = 1000, split2 = 2600;
    for (size_t i = 0; i < events.size(); ++i) {
      Commit& c = i < split1 ? c1 : i < split2 ? c2 : c3;
      ASSERT_TRUE(*c.AppendEvent(events[i].first, events[i].second));
    }
    c1.Put(Family::kBuyers, "b1", "state 1");
    c2.Put(Family::kBuyers, "b2", "state 2");
    c3.Put(Family::kMeta, "m", "v");
    ASSERT_TRUE(c3.SealLog(split2).ok());
    ASSERT_TRUE(c1.SealLog(0).ok());
    ASSERT_TRUE(c2.SealLog(split1).ok());
    ASSERT_TRUE(store.WriteAll({&c1, &c2, &c3}).ok());
    ASSERT_EQ(store.next_seq(), events.size());

    // Then one that deletes what the first put, with events of its own.
    Commit c4(&store);
    c4.CompressLogAtWrite();
    ASSERT_TRUE(*c4.AppendEvent("last", "{\"last\":1}"));
    c4.Delete(Family::kBuyers, "b1");
    ASSERT_TRUE(c4.SealLog(events.size()).ok());
    Commit c5(&store);
    ASSERT_TRUE(store.WriteAll({&c4, &c5}).ok());
    EXPECT_EQ(store.commits(), 2u);
  }
  auto opened = Store::Open(dir, {});
  ASSERT_TRUE(opened.ok()) << opened.status();
  Store& store = **opened;
  ASSERT_EQ(store.next_seq(), events.size() + 1);
  uint64_t expect = 0;
  ASSERT_TRUE(store
                  .ScanEvents(0, UINT64_MAX,
                              [&](uint64_t seq, std::string_view raw) {
                                EXPECT_EQ(seq, expect);
                                EXPECT_EQ(raw, seq < events.size()
                                                   ? events[seq].second
                                                   : "{\"last\":1}")
                                    << seq;
                                ++expect;
                                return true;
                              })
                  .ok());
  EXPECT_EQ(expect, events.size() + 1);
  EXPECT_FALSE(store.Get(Family::kBuyers, "b1")->has_value());
  EXPECT_EQ(**store.Get(Family::kBuyers, "b2"), "state 2");
  EXPECT_EQ(**store.Get(Family::kMeta, "m"), "v");
  EXPECT_TRUE(*store.ContainsId("id2999"));
  EXPECT_TRUE(*store.ContainsId("last"));
}

}  // namespace
}  // namespace chatkpi
