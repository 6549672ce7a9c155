// The RocksDB layout of chatkpi. The store deals in bytes: the engine owns the
// encoding of its state, the store owns keys, column families and atomicity.
//
// Column families (one per access pattern):
//   events      seq (8-byte big endian) -> a block of raw     replay, in order
//               events from that seq on, LZ4-compressed
//               (store/event_log.h)
//   ids         event id -> raw hash, seq (or "", before)   dedup (bloom),
//               derived from the log (store/id_index.h)
//   buyers      buyer nick -> engine state                    point lookups
//   orders      order id -> engine state                      point lookups
//   aggregates  shard(4) day(4) agent -> counters             range by day
//   assessments period \0 agent \0 metric -> value            scoring inputs
//   dead        position -> reason \0 raw                     dead letters
//   meta        name -> value (positions, rules, stats)
//   rollups     shard(4) month(4) agent -> counters          whole months
//
// Every change reaches disk through one Commit: a WriteBatch carrying state,
// aggregates and source positions together, so a crash at any instant leaves
// either all of a commit or none of it.
//
// Beside RocksDB's files the directory holds `ids.filter`, the saved filter
// of the id index (store/id_index.h): derived, rebuilt when missing; and
// chatkpi's marker and commit record (store/store_files.h).
#ifndef CHATKPI_STORE_STORE_H_
#define CHATKPI_STORE_STORE_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace chatkpi {

enum class Family : int {
  kEvents = 0,
  kIds,
  kBuyers,
  kOrders,
  kAggregates,
  kAssessments,
  kDead,
  kMeta,
  kRollups,
  kNumFamilies
};

// The RocksDB column family name of `f` (part of the on-disk format).
const char* FamilyName(Family f);

// Aggregate rows are keyed by (shard, day, agent). A shard is an input
// partition (0 for files); the snapshot sums shards.
std::string AggregateKey(uint32_t shard, int32_t day, std::string_view agent);
bool ParseAggregateKey(std::string_view key, uint32_t* shard, int32_t* day,
                       std::string* agent);
// Month rollups: the same counters summed per (shard, local month, agent),
// so that a month's snapshot reads one row per agent instead of one per day.
// `month` counts months since 1970-01.
std::string RollupKey(uint32_t shard, int32_t month, std::string_view agent);
bool ParseRollupKey(std::string_view key, uint32_t* shard, int32_t* month,
                    std::string* agent);

// A set of writes applied atomically by Store::Write.
class Store;

class Commit {
 public:
  // A commit writes to the store it was made for.
  explicit Commit(Store* store);
  ~Commit();
  Commit(Commit&&) noexcept;
  Commit& operator=(Commit&&) noexcept;

  // Commits of engines on several threads (file shards) may claim ids at
  // once: the store's id index takes one at a time. A Commit itself is
  // used by one thread.
  //
  // Appends an event to the log and claims its id, unless the store holds
  // that id or a commit not yet written (this one or another on the same
  // store) claimed it: then it returns false and appends nothing (a
  // redelivery, docs/spec.md §5). Sequence numbers are assigned by the store at
  // Write time, in call order. A commit dropped unwritten gives its claims
  // back, so it must not outlive its store.
  absl::StatusOr<bool> AppendEvent(std::string_view id, std::string_view raw);
  // AppendEvent telling apart what it refuses: the store (or a commit not
  // yet written) holds the id with the same raw bytes — a redelivery — or
  // with other bytes, which may be a conflicting duplicate (docs/engine.md,
  // "Duplicates"): then `held` says where that copy is.
  struct HeldEvent {
    bool logged = false;  // in the log at `seq` (Store::ReadEvent)
    uint64_t seq = 0;
    bool this_commit = false;  // else claimed by this commit, unwritten
  };
  enum class Claim { kNew, kRedelivery, kOtherBytes };
  absl::StatusOr<Claim> ClaimEvent(std::string_view id, std::string_view raw,
                                   HeldEvent* held);
  // The same with `id_hash` = StableHash(id) (store/stable_hash.h) from the
  // caller, who had it already: not hashed again.
  absl::StatusOr<Claim> ClaimEvent(std::string_view id, uint64_t id_hash,
                                   std::string_view raw, HeldEvent* held);
  // Appends an event whose id the store holds: this copy replaces the held
  // one as what the id names (the engine has retracted the held copy).
  absl::Status ReplaceEvent(std::string_view id, std::string_view raw);
  // A hint that AppendEvent(id, ...) follows soon: what it will look at is
  // loaded into the cache meanwhile (one memory miss per new event less).
  void PrefetchEvent(std::string_view id) const;
  // The same by `id_hash` = StableHash(id).
  void PrefetchEventHash(uint64_t id_hash) const;
  // Writes of any family but events and ids, which only the event log and
  // the id index write (through AppendEvent and ReplaceEvent): a Put or
  // Delete of those makes Store::Write refuse the whole commit with
  // InvalidArgument.
  void Put(Family f, std::string_view key, std::string_view value);
  void Delete(Family f, std::string_view key);
  // Appends `value` to the key's stored value (store/concat_merge.h): the
  // buyers family only; elsewhere the commit is refused as above.
  void Append(Family f, std::string_view key, std::string_view value);
  // Fixes the events appended so far as log blocks from sequence number
  // `first_seq` on: WriteAll then refuses the commit unless its events
  // start at `first_seq`, and until it is written no event may be
  // appended. Unless CompressLogAtWrite, the blocks are compressed
  // (store/event_log.h) into the commit here, so that Store::WriteAll only
  // copies them. Thread-safe beside other commits of the store being
  // sealed.
  absl::Status SealLog(uint64_t first_seq);
  // Leaves the compression of every block of the log to Store::WriteAll,
  // for a commit that a thread of its own writes while the thread that
  // appends to it goes on (the file shards' writer: docs/engine.md,
  // "Parallel ingest"). The bytes stored are the same. Called before the
  // first event is appended.
  void CompressLogAtWrite();
  size_t num_events() const;
  size_t ApproximateBytes() const;
  bool empty() const;

 private:
  friend class Store;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

class FaultInjection;  // store/fault_injection.h

struct StoreOptions {
  bool create_if_missing = true;
  bool read_only = false;
  bool sync = false;  // fsync the WAL per commit (power loss, not just crash)
  // Tests only: the store's files are written through this, which can make
  // writes fail (store/fault_injection.h).
  std::shared_ptr<FaultInjection> fault_injection;
  // Non-empty: open as a follower (a RocksDB secondary instance, read-only)
  // of a store that another process writes, keeping its own info log in
  // this directory (created if missing). It sees the writer's commits as
  // of its last CatchUp(), each whole or not at all.
  std::string secondary_dir;
  // Followers only: the families followed; empty follows them all. Opening
  // and catching up replay the writer's log for these alone, which is most
  // of their cost (`chatkpi replay` needs three of nine); reading another
  // family fails. The events and meta families are always followed: the
  // open reads them.
  std::vector<Family> followed;
  // Ids kept in memory before the id index is written out (tests make it
  // small to exercise that; store/id_index.h).
  size_t id_spill_threshold = size_t{1} << 18;
  // The id filter's smallest size, 2^N bits (16 MiB); it grows with the
  // store (store/id_index.h). Tests make it small to exercise that.
  int id_filter_log2_bits = 27;
  // Commits skip RocksDB's write-ahead log: a crash loses every commit not
  // yet flushed to table files. Only for a store that a crash makes
  // worthless anyway — a replay's new generation, which the next replay
  // deletes (docs/replay.md) — and which is then made durable by Persist()
  // before anyone else may open it. It writes each commit once instead of
  // twice (the log, then the table). Any other open of a generation marked
  // as being built is refused (FailedPrecondition).
  bool unlogged = false;
};

class Store {
 public:
  // Opens or creates a chatkpi store. A directory that exists but is not a
  // chatkpi store, or is corrupt, is refused with a message that says so
  // (DataLoss for a corrupt one).
  static absl::StatusOr<std::unique_ptr<Store>> Open(const std::string& dir,
                                                     const StoreOptions& opts);
  // A writable store that saw no failed write is closed cleanly: the id
  // index and the memtables are written out, so that the next open (of any
  // kind) replays nothing.
  ~Store();
  // The last write is done and the store is closed next (a command about to
  // exit, a replay about to switch): starts what the destructor writes out
  // in the background — the memtables' flush, the id index's last spill and
  // its filter — so that it runs beside what the caller frees meanwhile
  // (docs/engine.md, "The end of a run"). The destructor waits for it and
  // finishes the close. Every write after this is refused
  // (FailedPrecondition). Nothing to do for a read-only store or after a
  // failed write.
  void BeginClose();
  // Starts flushing every memtable in the background and returns: a writer
  // whose input has ended calls it while its last commits are still being
  // written, so that the close finds less to flush (docs/engine.md, "The
  // end of a run"). What is written after goes to new memtables. Nothing
  // to do for a read-only store.
  void FlushInBackground();
  // Writes out everything committed so far — the id index and every
  // memtable — and waits for it: once it returns OK, the store holds every
  // commit without its write-ahead log (StoreOptions::unlogged). An error
  // means some commit may not be on disk. Allowed after BeginClose() (it
  // waits for what that started).
  absl::Status Persist();

  // Applies all of `commit` or nothing. After a failure the store refuses
  // further writes (RocksDB stops on a failed write) until reopened. A
  // commit that wrote the events or ids family with Put or Delete is
  // refused (InvalidArgument) and the store stays writable.
  absl::Status Write(Commit* commit);
  // Applies all of `commits` (at least one, each for this store) or none,
  // as one write: their events take sequence numbers in the order given.
  // Commits of several engines (file shards) that must land together.
  absl::Status WriteAll(const std::vector<Commit*>& commits);
  // Announces the next WriteAll, of `commits`, which another thread is
  // about to make (file shards write a commit while their next batch is
  // applied: docs/engine.md, "Parallel ingest"): from now until that
  // WriteAll returns, whether it succeeds or not, a Get of a key it writes
  // and every scan (Scan, ScanEvents, ReadEvent, Checkpoint) waits for it,
  // so that no reader sees the store without it (store/announced_write.h).
  // Nothing may be added to `commits` until then.
  void ExpectWrite(const std::vector<Commit*>& commits);

  // Point reads; nullopt when absent.
  absl::StatusOr<std::optional<std::string>> Get(Family f,
                                                 std::string_view key);
  // Whether an event with this id is in the log or claimed by a commit not
  // yet written (store/id_index.h). Needs a writable store.
  absl::StatusOr<bool> ContainsId(std::string_view id);

  // Lookups of the event id index in RocksDB so far: ids its in-memory
  // filter could not rule out (store/id_index.h). 0 for a read-only store.
  uint64_t id_family_reads() const;

  // Visits the logged events with seq in [from, to) in order, with their
  // raw bytes; the visitor returns false to stop.
  absl::Status ScanEvents(
      uint64_t from, uint64_t to,
      const std::function<bool(uint64_t seq, std::string_view raw)>& visit);

  // The raw bytes of the logged event `seq`.
  absl::StatusOr<std::string> ReadEvent(uint64_t seq);

  // Visits keys in [begin, end) in order ("" end = to the last key). The
  // visitor returns false to stop. InvalidArgument for the events and ids
  // families: read them with ScanEvents, ReadEvent and ContainsId.
  absl::Status Scan(Family f, std::string_view begin, std::string_view end,
                    const std::function<bool(std::string_view key,
                                             std::string_view value)>& visit);

  // Follower stores (StoreOptions::secondary_dir): reads what the writer
  // committed since the last call; true when that was anything. Safe beside
  // reads on other threads; after the writer flushed, it opens the instance
  // anew with them held off (store/secondary_instance.h). Waits for every
  // ReadHold to end.
  absl::StatusOr<bool> CatchUp();

  // While it lives, the Get and Scan calls of the thread that made it see
  // the store at one commit: a request that reads many rows (one scan per
  // shard, one per day) never shows a commit in some rows and not in
  // others. A follower's CatchUp waits for it to end; in the writer's
  // process, commits go on and the hold reads from before them (a RocksDB
  // snapshot). Hold it for one request, not longer. A hold made while the
  // thread holds one (of any store) does nothing.
  class ReadHold {
   public:
    struct State;  // store.cc
    ReadHold(ReadHold&& other) noexcept;
    ReadHold& operator=(ReadHold&&) = delete;
    ~ReadHold();

   private:
    friend class Store;
    explicit ReadHold(std::unique_ptr<State> state);
    std::unique_ptr<State> state_;
  };
  ReadHold HoldReads();

  // Number of events in the log (the next sequence number). Atomic: a
  // dashboard thread reads it while the writer or CatchUp advances it.
  uint64_t next_seq() const {
    return next_seq_.load(std::memory_order_acquire);
  }

  const std::string& dir() const { return dir_; }

  // Commits written to the store since its creation, as of its opening and
  // this process's commits since (0 for stores of earlier builds until
  // their first commit here).
  uint64_t commits() const;

  // Writes the store as this instance sees it (a follower: as of its last
  // CatchUp) to `to`, which must not exist, with RocksDB's Checkpoint:
  // table files hard-linked when `to` is on the same file system, copied
  // otherwise. RocksDB's files only; store/backup.h makes a store of it.
  absl::Status Checkpoint(const std::string& to);
  // Reads every table file of the store whole and checks each block's
  // checksum (RocksDB's VerifyChecksum): a copy's damage is found before the
  // copy is trusted, not by the first command that reads the damaged block.
  absl::Status VerifyChecksums();

 private:
  friend class Commit;
  struct Impl;
  absl::Status WriteAllUnannounced(const std::vector<Commit*>& commits);
  Store(std::string dir, std::unique_ptr<Impl> impl, uint64_t next_seq);
  std::string dir_;
  std::unique_ptr<Impl> impl_;
  std::atomic<uint64_t> next_seq_;
};

}  // namespace chatkpi

#endif  // CHATKPI_STORE_STORE_H_
