#include "store/announced_write.h"

#include <utility>

#include "absl/hash/hash.h"
#include "absl/strings/string_view.h"

namespace chatkpi {

uint64_t AnnouncedWrite::KeyHash(int family, std::string_view key) {
  return absl::HashOf(family, absl::string_view(key.data(), key.size()));
}

void AnnouncedWrite::Announce(
    std::vector<const std::vector<uint64_t>*> written) {
  std::lock_guard lock(mu_);
  written_ = std::move(written);
  indexed_ = false;
  keys_.clear();
  pending_.store(true, std::memory_order_release);
}

void AnnouncedWrite::Landed() {
  if (!pending_.load(std::memory_order_acquire)) return;
  {
    std::lock_guard lock(mu_);
    pending_.store(false, std::memory_order_release);
    written_.clear();
    indexed_ = false;
    keys_.clear();
  }
  landed_.notify_all();
}

void AnnouncedWrite::WaitFor(int family, std::string_view key) {
  if (!pending_.load(std::memory_order_acquire)) return;
  std::unique_lock lock(mu_);
  if (!pending_.load(std::memory_order_relaxed)) return;
  if (!indexed_) {
    // Built once per write, by the first read that needs it: most commits
    // meet a few such reads, or none.
    size_t n = 0;
    for (const std::vector<uint64_t>* w : written_) n += w->size();
    keys_.reserve(n);
    for (const std::vector<uint64_t>* w : written_) {
      keys_.insert(w->begin(), w->end());
    }
    indexed_ = true;
  }
  if (!keys_.contains(KeyHash(family, key))) return;
  landed_.wait(lock, [&] { return !pending_.load(std::memory_order_relaxed); });
}

void AnnouncedWrite::WaitForAll() {
  if (!pending_.load(std::memory_order_acquire)) return;
  std::unique_lock lock(mu_);
  landed_.wait(lock, [&] { return !pending_.load(std::memory_order_relaxed); });
}

}  // namespace chatkpi
