// The event log's layout in the `events` column family, shared by the store
// and its followers. Events are stored in blocks: key = the sequence number
// of the block's first event (8 bytes big endian), value = a 4-byte big
// endian count, then per event its length-prefixed id and raw bytes (the id
// so that the id index can be rebuilt from the log: store/id_index.h). One
// RocksDB entry per block instead of per event is what makes appending to the
// log cheap; blocks are small enough (kBlockEvents, kBlockBytes) that reading
// from the middle of the log decodes little it does not need.
//
// A block whose count has the top bit set (kCompressed, store format 4)
// holds, after the count, the varint size of the events' bytes and then
// those bytes compressed with LZ4. Compressing here rather than in RocksDB's
// table files shrinks what every later step copies (the write batch, the
// WAL, the memtable, the flush) to about a quarter; the family's tables are
// then not compressed again. Blocks that LZ4 would not shrink, and blocks
// of format 3 stores, are stored as they are.
//
// A block is compressed as soon as it is full, by the thread that appends
// to it (an engine of a Kafka partition on its own thread), so that a write
// made under a lock that the other engines wait for compresses only the
// last block. A writer whose commits are written by a thread of their own
// while the appending threads go on (the file shards' writer thread,
// docs/engine.md "Parallel ingest") leaves every block to WriteTo instead
// (set_compress_at_write): the compression is then off the threads that
// append. Either way the bytes stored are the same.
#ifndef CHATKPI_STORE_EVENT_LOG_H_
#define CHATKPI_STORE_EVENT_LOG_H_

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "rocksdb/db.h"

namespace chatkpi {

std::string SeqKey(uint64_t seq);

// Builds the blocks of one commit.
class EventBlockWriter {
 public:
  static constexpr uint32_t kBlockEvents = 1024;
  static constexpr size_t kBlockBytes = 256 << 10;
  static constexpr uint32_t kCompressed = 0x80000000u;

  // Whether the blocks are compressed by WriteTo rather than as each fills
  // (false, the default). Set while no block is held.
  void set_compress_at_write(bool at_write) { compress_at_write_ = at_write; }
  bool compress_at_write() const { return compress_at_write_; }

  // Compresses the block before if this event starts a new one (unless
  // compress_at_write): not to be called under a lock that other threads
  // wait for.
  void Append(std::string_view id, std::string_view raw);
  // Puts the blocks into `batch`, the first event numbered `first_seq`,
  // compressing those not compressed yet.
  void WriteTo(rocksdb::WriteBatch* batch, rocksdb::ColumnFamilyHandle* cf,
               uint64_t first_seq);
  size_t num_events() const { return num_events_; }
  size_t bytes() const { return bytes_; }
  void Clear();

 private:
  // Ends the open block: sealed now, or kept as it is for WriteTo.
  void Close();
  // Turns the open block into its stored value, at the end of blocks_.
  void Seal();
  // The stored value of `block` (its count, then its events), compressed
  // when that is smaller: a view of `block` or of compressed_.
  std::string_view Compress(std::string_view block, uint32_t count);

  // The full blocks: their stored values (compressed when that is
  // smaller), or with compress_at_write their count and events as
  // appended, compressed by WriteTo.
  std::vector<std::string> blocks_;
  // The block being filled: a 4-byte count to be filled in, then its
  // events; empty when no block is open. Its memory is reused by the next.
  std::string open_;
  std::vector<uint32_t> counts_;  // of every block, the open one last
  std::string compressed_;        // one block's value at a time, reused
  size_t num_events_ = 0;
  size_t bytes_ = 0;
  bool compress_at_write_ = false;
  size_t last_block_bytes_ = 0;  // the size of the last block closed
};

// The next sequence number of the log in `cf` (0 when empty).
absl::StatusOr<uint64_t> EventLogEnd(rocksdb::DB* db,
                                     rocksdb::ColumnFamilyHandle* cf,
                                     std::string_view dir);

// Visits the events with seq in [from, to) in order, with their ids and raw
// bytes; the visitor returns false to stop. `one_pass`: a scan of much of the
// log, kept out of the block cache. A gap in the sequence is reported as
// DataLoss.
absl::Status ScanEventLog(
    rocksdb::DB* db, rocksdb::ColumnFamilyHandle* cf, std::string_view dir,
    uint64_t from, uint64_t to, bool one_pass,
    const std::function<bool(uint64_t seq, std::string_view id,
                             std::string_view raw)>& visit);

}  // namespace chatkpi

#endif  // CHATKPI_STORE_EVENT_LOG_H_
