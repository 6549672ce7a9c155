// A store write announced before it is made (Store::ExpectWrite). The file
// shards hand a commit to a writer thread and apply the next batch at once,
// with engines that have already let go of what the commit holds
// (docs/engine.md, "Parallel ingest"): until the write lands, no read may
// see the store without it.
//
// A read of a key that the write does not touch finds the same value before
// the write as after it, so only reads of the keys it writes (and scans,
// which may cross any of them) wait; the others go on at once. Each commit
// records the keys of its records as it takes them (KeyHash), and the first
// read that comes while the write is pending builds the set of them. With
// every read waiting, the shard threads stopped at each commit on their
// first read of a new day's row or day counts, and both cores waited for
// the writer (docs/engine.md, "Throughput").
//
// Thread-safe.
#ifndef CHATKPI_STORE_ANNOUNCED_WRITE_H_
#define CHATKPI_STORE_ANNOUNCED_WRITE_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_set.h"

namespace chatkpi {

class AnnouncedWrite {
 public:
  // What a record of `family` (Family as an int) under `key` is known by.
  // Equal keys hash alike within a process; two keys that happen to hash
  // alike only make a read wait that need not.
  static uint64_t KeyHash(int family, std::string_view key);

  // From now until Landed(), reads wait as above. `written` holds the
  // KeyHash of every record of the write, and must not change until
  // Landed() returns.
  void Announce(std::vector<const std::vector<uint64_t>*> written);
  // The announced write returned, written or failed: every read goes on.
  // Nothing to do when none is announced.
  void Landed();
  // Returns once no announced write may change `key` of `family`.
  void WaitFor(int family, std::string_view key);
  // Returns once no write is announced (before a scan).
  void WaitForAll();

 private:
  // Fast path of both waits: no lock while nothing is announced.
  std::atomic<bool> pending_ = false;
  std::mutex mu_;
  std::condition_variable landed_;
  std::vector<const std::vector<uint64_t>*> written_ ABSL_GUARDED_BY(mu_);
  bool indexed_ ABSL_GUARDED_BY(mu_) = false;
  absl::flat_hash_set<uint64_t> keys_ ABSL_GUARDED_BY(mu_);
};

}  // namespace chatkpi

#endif  // CHATKPI_STORE_ANNOUNCED_WRITE_H_
