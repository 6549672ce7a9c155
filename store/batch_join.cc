#include "store/batch_join.h"

#include <algorithm>
#include <limits>
#include <utility>

namespace chatkpi {
namespace {

uint32_t DecodeFixed32LE(const char* p) {
  const auto* u = reinterpret_cast<const unsigned char*>(p);
  return static_cast<uint32_t>(u[0]) | (static_cast<uint32_t>(u[1]) << 8) |
         (static_cast<uint32_t>(u[2]) << 16) |
         (static_cast<uint32_t>(u[3]) << 24);
}

void EncodeFixed32LE(uint32_t v, char* p) {
  p[0] = static_cast<char>(v);
  p[1] = static_cast<char>(v >> 8);
  p[2] = static_cast<char>(v >> 16);
  p[3] = static_cast<char>(v >> 24);
}

}  // namespace

BatchJoin::BatchJoin(size_t reserve) {
  rep_.reserve(std::max(reserve, kHeader));
  rep_.assign(kHeader, '\0');
}

bool BatchJoin::Append(const rocksdb::WriteBatch& batch) {
  const std::string& rep = batch.Data();
  if (rep.size() < kHeader) return false;
  const uint32_t count = DecodeFixed32LE(rep.data() + 8);
  if (count != batch.Count() ||
      count > std::numeric_limits<uint32_t>::max() - count_) {
    return false;
  }
  rep_.append(rep, kHeader, std::string::npos);
  count_ += count;
  return true;
}

rocksdb::WriteBatch BatchJoin::Take() {
  EncodeFixed32LE(count_, rep_.data() + 8);
  rocksdb::WriteBatch batch(std::move(rep_));
  rep_.assign(kHeader, '\0');
  count_ = 0;
  return batch;
}

}  // namespace chatkpi
