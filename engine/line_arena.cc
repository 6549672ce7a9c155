#include "engine/line_arena.h"

#include <algorithm>
#include <cstring>
#include <utility>

namespace chatkpi {

std::string_view LineArena::Append(std::string_view text) {
  if (text.empty()) return std::string_view();
  if (kept_.empty() || kept_.back().capacity - used_ < text.size()) {
    NewBlock(text.size());
  }
  char* at = kept_.back().data.get() + used_;
  std::memcpy(at, text.data(), text.size());
  used_ += text.size();
  bytes_ += text.size();
  return std::string_view(at, text.size());
}

void LineArena::NewBlock(size_t n) {
  // A free block large enough, the most recently used first (warm in cache).
  for (size_t i = free_.size(); i-- > 0;) {
    if (free_[i].capacity >= n) {
      kept_.push_back(std::move(free_[i]));
      free_.erase(free_.begin() + static_cast<std::ptrdiff_t>(i));
      used_ = 0;
      return;
    }
  }
  Block b;
  b.capacity = std::max(n, kBlockBytes);
  // Not zeroed: only appended bytes are ever read.
  b.data = std::make_unique_for_overwrite<char[]>(b.capacity);
  kept_.push_back(std::move(b));
  used_ = 0;
}

void LineArena::Retire(uint64_t until) {
  if (!kept_.empty()) {
    if (retired_.empty() || retired_.back().until != until) {
      retired_.push_back(Retired{until, {}});
    }
    for (Block& b : kept_) retired_.back().blocks.push_back(std::move(b));
  }
  kept_.clear();
  used_ = 0;
  bytes_ = 0;
}

void LineArena::Recycle() { Recycle(UINT64_MAX); }

void LineArena::Recycle(uint64_t reached) {
  size_t done = 0;
  while (done < retired_.size() && retired_[done].until <= reached) {
    for (Block& b : retired_[done].blocks) free_.push_back(std::move(b));
    ++done;
  }
  retired_.erase(retired_.begin(),
                 retired_.begin() + static_cast<std::ptrdiff_t>(done));
}

}  // namespace chatkpi
