// Several RocksDB WriteBatches written as one (Store::WriteAll joins the
// commits of the file shards: docs/engine.md, "Parallel ingest"). The
// batches' records are appended to one representation as they are, a
// memcpy per batch, instead of being decoded and encoded again record by
// record (a WriteBatch::Handler calling Put): every record of a batch names
// its column family, so records of batches made for the same database mean
// the same in any batch.
//
// A batch's representation (WriteBatch::Data, RocksDB's documented WAL
// record format) is a 12-byte header — an 8-byte sequence number, set by
// the write, and the 4-byte little-endian count of its records — followed by
// the records. The joined batch is built from its representation, so that
// RocksDB works out what it contains (puts, deletes) from the records
// themselves rather than from flags of the batches it was joined from.
#ifndef CHATKPI_STORE_BATCH_JOIN_H_
#define CHATKPI_STORE_BATCH_JOIN_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "rocksdb/write_batch.h"

namespace chatkpi {

class BatchJoin {
 public:
  // The size of a representation's header.
  static constexpr size_t kHeader = 12;

  // `reserve`: the bytes expected, headers included (growing a large
  // representation by doubling would copy it while holding both).
  explicit BatchJoin(size_t reserve);

  // Appends the records of `batch`, in their order. False (nothing
  // appended) when its representation is not a plain one: shorter than a
  // header, with a count that differs from Count() or that would overflow.
  bool Append(const rocksdb::WriteBatch& batch);

  size_t size() const { return rep_.size(); }
  uint32_t count() const { return count_; }

  // The batch of every record appended, in order.
  rocksdb::WriteBatch Take();

 private:
  std::string rep_;
  uint32_t count_ = 0;
};

}  // namespace chatkpi

#endif  // CHATKPI_STORE_BATCH_JOIN_H_
