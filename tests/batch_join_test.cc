// Store::WriteAll joins the file shards' commits into one write by
// appending their batches' records as they are (store/batch_join.h): the
// joined batch must hold every record of every batch, in order, in its
// column family, and tell RocksDB what it holds (here: deletes) from the
// records themselves.
#include "store/batch_join.h"

#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "rocksdb/db.h"
#include "rocksdb/options.h"
#include "rocksdb/write_batch.h"
#include "tests/test_util.h"

namespace chatkpi {
namespace {

struct Db {
  std::unique_ptr<rocksdb::DB> db;
  std::vector<rocksdb::ColumnFamilyHandle*> cfs;  // default, "other"
  ~Db() {
    for (auto* h : cfs) db->DestroyColumnFamilyHandle(h);
  }
  std::string Get(int cf, const std::string& key) {
    std::string value;
    rocksdb::Status s = db->Get(rocksdb::ReadOptions(), cfs[cf], key, &value);
    if (s.IsNotFound()) return "<none>";
    EXPECT_TRUE(s.ok()) << s.ToString();
    return value;
  }
};

std::unique_ptr<Db> OpenDb(const std::string& dir) {
  rocksdb::DBOptions o;
  o.create_if_missing = true;
  o.create_missing_column_families = true;
  std::vector<rocksdb::ColumnFamilyDescriptor> families = {
      {rocksdb::kDefaultColumnFamilyName, {}}, {"other", {}}};
  auto db = std::make_unique<Db>();
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(o, dir, families, &db->cfs, &raw);
  EXPECT_TRUE(s.ok()) << s.ToString();
  if (!s.ok()) return nullptr;
  db->db.reset(raw);
  return db;
}

TEST(BatchJoin, HoldsEveryRecordOfEveryBatchInOrder) {
  const std::string dir = testing::TempDir("batch_join") + "/db";
  {
    std::unique_ptr<Db> db = OpenDb(dir);
    ASSERT_NE(db, nullptr);
    rocksdb::WriteBatch before;
    before.Put(db->cfs[0], "gone", "x");
    before.Put(db->cfs[1], "gone too", "y");
    ASSERT_TRUE(db->db->Write(rocksdb::WriteOptions(), &before).ok());

    // Three batches as three shards' commits make them: puts only, then
    // deletes, then a put of a key the first one put (the later wins, as
    // in one batch).
    rocksdb::WriteBatch a, b, c;
    a.Put(db->cfs[0], "k1", "a1");
    a.Put(db->cfs[1], "k1", "a1 other");
    a.Put(db->cfs[1], "k2", "a2 other");
    b.Delete(db->cfs[0], "gone");
    b.Delete(db->cfs[1], "gone too");
    c.Put(db->cfs[1], "k2", "c2 other");
    rocksdb::WriteBatch empty;

    BatchJoin join(a.GetDataSize() + b.GetDataSize() + c.GetDataSize());
    for (const rocksdb::WriteBatch* batch : {&a, &empty, &b, &c}) {
      ASSERT_TRUE(join.Append(*batch));
    }
    EXPECT_EQ(join.count(), 6u);  // 3 + 0 + 2 + 1
    // The records' bytes once, one header: 3 headers fewer.
    EXPECT_EQ(join.size(), a.GetDataSize() + b.GetDataSize() + c.GetDataSize() +
                               empty.GetDataSize() - 3 * BatchJoin::kHeader);
    rocksdb::WriteBatch joined = join.Take();
    EXPECT_EQ(joined.Count(), 6u);
    // What it holds is read from its records, not from the first batch's
    // flags (puts only).
    EXPECT_TRUE(joined.HasPut());
    EXPECT_TRUE(joined.HasDelete());
    ASSERT_TRUE(db->db->Write(rocksdb::WriteOptions(), &joined).ok());
    EXPECT_EQ(db->Get(0, "k1"), "a1");
    EXPECT_EQ(db->Get(1, "k1"), "a1 other");
    EXPECT_EQ(db->Get(1, "k2"), "c2 other");
    EXPECT_EQ(db->Get(0, "gone"), "<none>");
    EXPECT_EQ(db->Get(1, "gone too"), "<none>");
    // Taken, the join starts again empty.
    EXPECT_EQ(join.count(), 0u);
    EXPECT_EQ(join.size(), BatchJoin::kHeader);
  }
  // The write's log record is the joined batch: replayed on open (no
  // flush happened), it gives the same.
  std::unique_ptr<Db> db = OpenDb(dir);
  ASSERT_NE(db, nullptr);
  EXPECT_EQ(db->Get(0, "k1"), "a1");
  EXPECT_EQ(db->Get(1, "k2"), "c2 other");
  EXPECT_EQ(db->Get(0, "gone"), "<none>");
  EXPECT_EQ(db->Get(1, "gone too"), "<none>");
}

}  // namespace
}  // namespace chatkpi
