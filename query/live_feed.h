// The "something was committed" signal of a process, from whatever commits
// (an ingest loop, or a follower that saw another process commit) to the
// dashboard's Server-Sent Events clients (docs/dashboard.md).
//
// It carries no data: a client woken by it reads the store afresh, so a
// notification can never disagree with what the API answers, and any number
// of commits between two reads cost one read.
//
//   LiveFeed feed;                       // shared by committer and server
//   ... engine->Commit(); feed.Notify(); // committer, after each commit
//   uint64_t seen = feed.version();      // a client
//   seen = feed.WaitForChange(seen, absl::Seconds(15));
#ifndef CHATKPI_QUERY_LIVE_FEED_H_
#define CHATKPI_QUERY_LIVE_FEED_H_

#include <cstdint>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace chatkpi {

class LiveFeed {
 public:
  LiveFeed() = default;
  LiveFeed(const LiveFeed&) = delete;
  LiveFeed& operator=(const LiveFeed&) = delete;

  // Tells waiting clients that the store changed. Thread-safe and cheap (no
  // I/O, no allocation), so it may be called after every commit.
  void Notify();

  // Bumped by each Notify; starts at 0.
  uint64_t version() const;

  // Blocks until version() differs from `seen`, Close() or Wake() is called,
  // or `timeout` passes; returns version().
  uint64_t WaitForChange(uint64_t seen, absl::Duration timeout);

  // Wakes every waiter once without a new version (e.g. to let them see a
  // server stopping).
  void Wake();

  // Wakes every waiter and makes later waits return at once: the process is
  // shutting down.
  void Close();
  bool closed() const;

 private:
  mutable absl::Mutex mu_;
  absl::CondVar cv_;
  uint64_t version_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t wakes_ ABSL_GUARDED_BY(mu_) = 0;
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace chatkpi

#endif  // CHATKPI_QUERY_LIVE_FEED_H_
