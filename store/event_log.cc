#include "store/event_log.h"

#include <lz4.h>

#include <algorithm>
#include <cstdint>
#include <memory>

#include "absl/strings/str_cat.h"
#include "rocksdb/write_batch.h"
#include "store/coding.h"
#include "store/rocksdb_status.h"

namespace chatkpi {
namespace {

void EncodeCount(uint32_t n, char* out) {
  out[0] = static_cast<char>(n >> 24);
  out[1] = static_cast<char>(n >> 16);
  out[2] = static_cast<char>(n >> 8);
  out[3] = static_cast<char>(n);
}

// The first seq and event count of a block, and whether the rest of
// `value` is compressed; false when malformed.
bool BlockHeader(std::string_view key, std::string_view* value, uint64_t* first,
                 uint32_t* count, bool* compressed) {
  if (!GetFixed64BE(&key, first) || !key.empty() ||
      !GetFixed32BE(value, count)) {
    return false;
  }
  *compressed = (*count & EventBlockWriter::kCompressed) != 0;
  *count &= ~EventBlockWriter::kCompressed;
  return true;
}

// The events' bytes of a block, decompressed into `buffer` if need be.
bool BlockEvents(std::string_view* value, bool compressed,
                 std::string* buffer) {
  if (!compressed) return true;
  uint64_t size;
  // A block holds at most kBlockEvents events of at most a line each; any
  // size past 1 GiB is damage, not data.
  if (!GetVarint64(value, &size) || size > (uint64_t{1} << 30)) return false;
  buffer->resize(size);
  const int n = LZ4_decompress_safe(value->data(), buffer->data(),
                                    static_cast<int>(value->size()),
                                    static_cast<int>(size));
  if (n < 0 || static_cast<uint64_t>(n) != size) return false;
  *value = *buffer;
  return true;
}

absl::Status BadBlock(std::string_view dir, uint64_t near) {
  return absl::DataLossError(
      absl::StrCat("--db ", std::string(dir),
                   " is corrupt: bad event log block near seq ", near));
}

}  // namespace

std::string SeqKey(uint64_t seq) {
  std::string k;
  PutFixed64BE(&k, seq);
  return k;
}

void EventBlockWriter::Append(std::string_view id, std::string_view raw) {
  if (!open_.empty() &&
      (counts_.back() >= kBlockEvents || open_.size() >= kBlockBytes)) {
    Close();
  }
  if (open_.empty()) {
    // A block kept for WriteTo takes its memory along: the next one starts
    // about as large as the last (blocks end at kBlockEvents, most often,
    // far below kBlockBytes).
    constexpr size_t kMost = kBlockBytes + kBlockBytes / 8;
    open_.reserve(
        last_block_bytes_ > 0
            ? std::min(last_block_bytes_ + last_block_bytes_ / 8, kMost)
            : kMost);
    open_.assign(4, '\0');  // the count, filled in when the block is closed
    counts_.push_back(0);
  }
  PutLengthPrefixed(&open_, id);
  PutLengthPrefixed(&open_, raw);
  ++counts_.back();
  ++num_events_;
  bytes_ += raw.size();
}

void EventBlockWriter::Close() {
  if (!compress_at_write_) {
    Seal();
    return;
  }
  EncodeCount(counts_.back(), open_.data());
  last_block_bytes_ = open_.size();
  blocks_.push_back(std::move(open_));
  open_ = std::string();
}

void EventBlockWriter::Seal() {
  EncodeCount(counts_.back(), open_.data());
  blocks_.emplace_back(Compress(open_, counts_.back()));
  open_.clear();
}

std::string_view EventBlockWriter::Compress(std::string_view block,
                                            uint32_t count) {
  const int events = static_cast<int>(block.size() - 4);
  compressed_.resize(4 + kMaxVarint64 + LZ4_compressBound(events));
  char* out = EncodeVarint64(compressed_.data() + 4, block.size() - 4);
  const int n = LZ4_compress_default(
      block.data() + 4, out, events,
      static_cast<int>(compressed_.data() + compressed_.size() - out));
  const size_t size = n > 0 ? (out - compressed_.data()) + n : SIZE_MAX;
  if (size >= block.size()) return block;
  EncodeCount(count | kCompressed, compressed_.data());
  return std::string_view(compressed_.data(), size);
}

void EventBlockWriter::WriteTo(rocksdb::WriteBatch* batch,
                               rocksdb::ColumnFamilyHandle* cf,
                               uint64_t first_seq) {
  if (!open_.empty()) Close();
  uint64_t seq = first_seq;
  for (size_t i = 0; i < blocks_.size(); ++i) {
    const std::string_view value = compress_at_write_
                                       ? Compress(blocks_[i], counts_[i])
                                       : std::string_view(blocks_[i]);
    batch->Put(cf, SeqKey(seq), rocksdb::Slice(value.data(), value.size()));
    seq += counts_[i];
  }
}

void EventBlockWriter::Clear() {
  blocks_.clear();
  open_.clear();
  counts_.clear();
  num_events_ = 0;
  bytes_ = 0;
}

absl::StatusOr<uint64_t> EventLogEnd(rocksdb::DB* db,
                                     rocksdb::ColumnFamilyHandle* cf,
                                     std::string_view dir) {
  std::unique_ptr<rocksdb::Iterator> it(
      db->NewIterator(rocksdb::ReadOptions(), cf));
  it->SeekToLast();
  uint64_t end = 0;
  if (it->Valid()) {
    std::string_view value(it->value().data(), it->value().size());
    uint64_t first;
    uint32_t count;
    bool compressed;
    if (!BlockHeader(std::string_view(it->key().data(), it->key().size()),
                     &value, &first, &count, &compressed)) {
      return BadBlock(dir, 0);
    }
    end = first + count;
  }
  if (!it->status().ok()) {
    return ToStatus(it->status(), absl::StrCat("--db ", std::string(dir),
                                               ": reading the event log"));
  }
  return end;
}

absl::Status ScanEventLog(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* cf,
                          std::string_view dir, uint64_t from, uint64_t to,
                          bool one_pass,
                          const std::function<bool(uint64_t, std::string_view,
                                                   std::string_view)>& visit) {
  if (from >= to) return absl::OkStatus();
  const std::string end = SeqKey(to);
  rocksdb::ReadOptions ro;
  rocksdb::Slice upper(end);
  ro.iterate_upper_bound = &upper;
  if (one_pass) {
    ro.fill_cache = false;
    ro.readahead_size = 2 << 20;
  }
  std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(ro, cf));
  // The block holding `from` starts at or before it.
  it->SeekForPrev(SeqKey(from));
  if (!it->Valid() && it->status().ok()) it->Seek(SeqKey(from));
  uint64_t expect = 0;  // the first seq of the next block; 0: any
  bool first_block = true;
  std::string buffer;  // a decompressed block
  for (; it->Valid(); it->Next()) {
    std::string_view value(it->value().data(), it->value().size());
    uint64_t seq;
    uint32_t count;
    bool compressed;
    if (!BlockHeader(std::string_view(it->key().data(), it->key().size()),
                     &value, &seq, &count, &compressed)) {
      return BadBlock(dir, expect);
    }
    if ((first_block && seq > from) || (!first_block && seq != expect)) {
      return absl::DataLossError(
          absl::StrCat("--db ", std::string(dir),
                       " is corrupt: the event log has a gap before seq ",
                       first_block ? from : expect));
    }
    first_block = false;
    expect = seq + count;
    if (!BlockEvents(&value, compressed, &buffer)) return BadBlock(dir, seq);
    for (uint32_t i = 0; i < count; ++i, ++seq) {
      std::string_view id, raw;
      if (!GetLengthPrefixed(&value, &id) || !GetLengthPrefixed(&value, &raw)) {
        return BadBlock(dir, seq);
      }
      if (seq < from) continue;
      if (seq >= to || !visit(seq, id, raw)) return absl::OkStatus();
    }
    if (!value.empty()) return BadBlock(dir, seq);
  }
  return ToStatus(it->status(), absl::StrCat("--db ", std::string(dir),
                                             ": reading the event log"));
}

}  // namespace chatkpi
