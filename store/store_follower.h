// A read-only follower of a store that another process may be writing: a
// RocksDB secondary instance. It sees the store as of its last CatchUp(),
// always a whole number of commits, so the event log it shows is a prefix
// of the writer's. `chatkpi replay` reads the live generation through it.
#ifndef CHATKPI_STORE_STORE_FOLLOWER_H_
#define CHATKPI_STORE_STORE_FOLLOWER_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "store/store.h"

namespace chatkpi {

class StoreFollower {
 public:
  // `dir` is the store; `secondary_dir` is where the follower keeps its own
  // info log (created if missing; delete it when done). Only `families` are
  // followed: opening follows the writer's log, and records of the other
  // families are skipped, which is most of the cost of opening.
  static absl::StatusOr<std::unique_ptr<StoreFollower>> Open(
      const std::string& dir, const std::string& secondary_dir,
      const std::vector<Family>& families);
  ~StoreFollower();

  // Reads what the writer committed since the last call (or Open).
  absl::Status CatchUp();

  // Number of events in the log as of the last CatchUp (the next seq).
  absl::StatusOr<uint64_t> NextSeq();

  // Visits events with seq in [from, to) in order; the visitor returns
  // false to stop.
  absl::Status ScanEvents(
      uint64_t from, uint64_t to,
      const std::function<bool(uint64_t seq, std::string_view raw)>& visit);

  // Like Store::Scan; `f` must be followed.
  absl::Status Scan(Family f, std::string_view begin, std::string_view end,
                    const std::function<bool(std::string_view key,
                                             std::string_view value)>& visit);
  absl::StatusOr<std::optional<std::string>> Get(Family f,
                                                 std::string_view key);

 private:
  struct Impl;
  explicit StoreFollower(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace chatkpi

#endif  // CHATKPI_STORE_STORE_FOLLOWER_H_
