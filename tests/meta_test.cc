// The typed readers of the meta family (engine/meta.h): each decodes what
// its writer stores, gives the documented value for an absent key, and
// refuses a stored value that does not decode with DataLoss naming the
// store and the key — never a default in its place.
#include "engine/meta.h"

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/time/civil_time.h"
#include "engine/owned_shards.h"
#include "gtest/gtest.h"
#include "query/dead_letters.h"
#include "query/roster.h"
#include "query/snapshot.h"
#include "store/coding.h"
#include "store/store.h"
#include "tests/test_util.h"

namespace chatkpi {
namespace {

class Meta : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::TempDir("meta") + "/db";
    auto store = Store::Open(dir_, {});
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
  }

  void Put(std::string_view key, std::string_view value) {
    Commit c(store_.get());
    c.Put(Family::kMeta, key, value);
    ASSERT_TRUE(store_->Write(&c).ok());
  }

  // `s` is DataLoss naming the store and `key`.
  void ExpectCorrupt(const absl::Status& s, std::string_view key) {
    EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << s;
    EXPECT_TRUE(absl::StrContains(s.message(), dir_)) << s;
    EXPECT_TRUE(absl::StrContains(
        s.message(), absl::StrCat("meta key \"", std::string(key), "\"")))
        << s;
  }

  std::string dir_;
  std::unique_ptr<Store> store_;
};

TEST_F(Meta, RulesRoundTripAndAbsentIsNullopt) {
  auto absent = ReadStoredRulesRecord(*store_);
  ASSERT_TRUE(absent.ok()) << absent.status();
  EXPECT_FALSE(absent->has_value());
  auto defaults = LiveRulesOrDefault(*store_);
  ASSERT_TRUE(defaults.ok());
  EXPECT_EQ(defaults->ToJson(), DefaultRules()->ToJson());

  Rules rules = testing::TestRules();
  rules.version = "v7";
  Commit c(store_.get());
  PutStoredRules(&c, rules);
  ASSERT_TRUE(store_->Write(&c).ok());
  auto stored = ReadStoredRulesRecord(*store_);
  ASSERT_TRUE(stored.ok()) << stored.status();
  ASSERT_TRUE(stored->has_value());
  EXPECT_EQ((*stored)->rules.version, "v7");
  EXPECT_EQ((*stored)->json, rules.ToJson());
}

TEST_F(Meta, DamagedRulesAreDataLossNotDefaults) {
  Put(kMetaRules, "{\"version\": \"v1\", \"response_thresholds_s\": [");
  ExpectCorrupt(ReadStoredRulesRecord(*store_).status(), kMetaRules);
  ExpectCorrupt(StoredRules(*store_).status(), kMetaRules);
  ExpectCorrupt(LiveRulesOrDefault(*store_).status(), kMetaRules);
  // A snapshot names the rules its figures are under: it fails rather than
  // say "default" for rules it cannot read.
  auto snap = ReadSnapshot(*store_, absl::CivilDay(2026, 11, 1),
                           absl::CivilDay(2026, 11, 30));
  ExpectCorrupt(snap.status(), kMetaRules);
}

TEST_F(Meta, EarlierRulesVersions) {
  auto none = ReadEarlierRulesVersions(*store_);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
  Rules a = testing::TestRules(), b = testing::TestRules();
  a.version = "a";
  b.version = "b";
  Put(absl::StrCat(kMetaRulesSeenPrefix, "b"), b.ToJson());
  Put(absl::StrCat(kMetaRulesSeenPrefix, "a"), a.ToJson());
  Put(kMetaRules, testing::TestRules().ToJson());  // sorts before: not listed
  auto versions = ReadEarlierRulesVersions(*store_);
  ASSERT_TRUE(versions.ok()) << versions.status();
  EXPECT_EQ(*versions, (std::vector<std::string>{"a", "b"}));

  Put(absl::StrCat(kMetaRulesSeenPrefix, "c"), "not json");
  ExpectCorrupt(ReadEarlierRulesVersions(*store_).status(),
                absl::StrCat(kMetaRulesSeenPrefix, "c"));
}

TEST_F(Meta, Counters) {
  auto absent = ReadMetaCounter(*store_, kMetaConflicts);
  ASSERT_TRUE(absent.ok());
  EXPECT_EQ(*absent, 0);
  {
    Commit c(store_.get());
    PutMetaCounter(&c, kMetaConflicts, 12345);
    ASSERT_TRUE(store_->Write(&c).ok());
  }
  auto n = ReadMetaCounter(*store_, kMetaConflicts);
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(*n, 12345);

  // A varint cut short (continuation bit set, no next byte).
  Put(kMetaDeadLetters, "\x80");
  ExpectCorrupt(ReadMetaCounter(*store_, kMetaDeadLetters).status(),
                kMetaDeadLetters);
  // The store's share of dead letters reads the same counter.
  ExpectCorrupt(ReadDeadLetterCount(*store_).status(), kMetaDeadLetters);
  // Trailing bytes after a whole varint: not one counter either.
  std::string two;
  PutVarsint64(&two, 3);
  PutVarsint64(&two, 4);
  Put(kMetaConflicts, two);
  ExpectCorrupt(ReadMetaCounter(*store_, kMetaConflicts).status(),
                kMetaConflicts);
}

TEST_F(Meta, SourcePositions) {
  Put("pos/a.jsonl", "120\tfnv\t4096\t0");
  Put("pos/kafka/chat/3", "77");
  Put("posx", "not a position");  // past the prefix: not read
  auto positions = ReadSourcePositions(*store_);
  ASSERT_TRUE(positions.ok()) << positions.status();
  EXPECT_EQ(*positions, (std::map<std::string, std::string>{
                            {"a.jsonl", "120"}, {"kafka/chat/3", "77"}}));
  Put("pos/b.jsonl", "twelve\tfnv");
  ExpectCorrupt(ReadSourcePositions(*store_).status(), "pos/b.jsonl");
}

TEST_F(Meta, ReplacedRecord) {
  auto absent = ReadReplacedRecord(*store_, "gen-1");
  ASSERT_TRUE(absent.ok());
  EXPECT_FALSE(absent->has_value());
  ReplacedRecord r;
  r.version = "q\"4\\";
  r.switched_at_ms = 1764547200000;
  r.events = 8000;
  Put(absl::StrCat(kMetaReplacedPrefix, "gen-1"), EncodeReplacedRecord(r));
  auto read = ReadReplacedRecord(*store_, "gen-1");
  ASSERT_TRUE(read.ok()) << read.status();
  ASSERT_TRUE(read->has_value());
  EXPECT_EQ((*read)->version, "q\"4\\");
  EXPECT_EQ((*read)->switched_at_ms, 1764547200000);
  EXPECT_EQ((*read)->events, 8000);

  Put(absl::StrCat(kMetaReplacedPrefix, "gen-2"),
      "{\"version\": \"v\", \"switched_at_ms\": \"soon\", \"events\": 1}");
  ExpectCorrupt(ReadReplacedRecord(*store_, "gen-2").status(),
                absl::StrCat(kMetaReplacedPrefix, "gen-2"));
}

TEST_F(Meta, KafkaStats) {
  auto absent = ReadKafkaStats(*store_);
  ASSERT_TRUE(absent.ok());
  EXPECT_FALSE(absent->has_value());
  Put(kMetaKafkaStats, "{\"group\": \"g\", \"lag_total\": 0}");
  auto stats = ReadKafkaStats(*store_);
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ(**stats, "{\"group\": \"g\", \"lag_total\": 0}");
  Put(kMetaKafkaStats, "{\"group\": \"g\", \"lag_tot");
  ExpectCorrupt(ReadKafkaStats(*store_).status(), kMetaKafkaStats);
}

TEST_F(Meta, OwnedShards) {
  Put(kMetaOwnedShards, "5,0,1");
  auto owned = ReadOwnedShards(*store_);
  ASSERT_TRUE(owned.ok()) << owned.status();
  ASSERT_TRUE(owned->has_value());
  EXPECT_EQ(**owned, (std::vector<uint32_t>{0, 1, 5}));
  Put(kMetaOwnedShards, "0,x");
  ExpectCorrupt(ReadOwnedShards(*store_).status(), kMetaOwnedShards);
}

TEST_F(Meta, ConflictRecords) {
  Put(absl::StrCat(kMetaConflictPrefix, "e1"), "k");
  ExpectCorrupt(ReadConflicts(*store_).status(),
                absl::StrCat(kMetaConflictPrefix, "e1"));
}

TEST_F(Meta, RosterKeys) {
  Put(absl::StrCat(kMetaRosterPrefix, "0000000x"), "");
  ExpectCorrupt(RosterVersions(*store_).status(),
                absl::StrCat(kMetaRosterPrefix, "0000000x"));
}

}  // namespace
}  // namespace chatkpi
