// The index of event ids a store holds: the redelivery check every event
// makes (docs/spec.md §5, idempotence).
//
// Written per event into the commit's WriteBatch, the index would cost a
// memtable skiplist insert per event, the largest single cost of ingest.
// Instead it is derived from the event log, which is committed atomically
// with the state: ids of recent events are kept in memory, exactly, and
// every `spill_threshold` of them are written out sorted as one table file
// ingested into the `ids` family, after which the meta key "ids.indexed_to"
// records up to which seq the family is complete. Opening a store reads the ids
// of the events after that seq back from the log, so a crash at any instant
// loses nothing: at worst some ids are indexed twice, which is harmless.
//
// Ids of events not yet committed are in memory too, claimed by the commit
// that will write them (an owner): every engine on the store sees them, so
// an id cannot be taken twice by two engines (Kafka partitions) whose
// commits are both pending. Only claims whose commit was written are ever
// spilled; the claims of a commit that is dropped unwritten are released.
//
// A Bloom filter (IdFilter) of every id held or claimed answers "certainly
// absent" without a read, so that a new id costs no lookup. It grows with
// the store: once it holds more than one id per 12 bits (a "maybe" for
// ~0.7% of new ids, each a lookup) it is built again, twice the size, from
// the family and the ids in memory. At a fixed size it would answer "maybe"
// for most new ids once the store held a few times its capacity (80% at
// 100M ids for 16 MiB): a lookup per event. It is saved
// beside the store ("ids.filter") at the close and every 8th spill, labelled
// with the store's identity and the seq it covers; an open loads it and adds
// the ids logged after that seq, or, without a usable file, rebuilds it from
// the family and the log. A clean close spills what is left, so the next open
// reads nothing back from the log.
//
// A spill is written on a thread of its own, so that neither the commit
// that reaches the threshold nor the claims of the next events wait for it
// (docs/engine.md, "Throughput"): the written ids move, as they are, to a
// frozen generation that lookups still search, and the spill thread sorts
// and writes that generation while new ids gather in the live one. The
// next spill, or a close, first waits for it; its error stops the writer at
// the next commit, as a spill's always did. "ids.indexed_to" moves only
// once the table is in the family, so a crash mid-spill still reads those
// ids back from the log.
//
// Not thread-safe: every call holds the store's lock of the index (the
// spill thread touches only the frozen generation, which nothing changes
// while it runs, and the database).
#ifndef CHATKPI_STORE_ID_INDEX_H_
#define CHATKPI_STORE_ID_INDEX_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "rocksdb/db.h"
#include "store/id_filter.h"

namespace chatkpi {

class IdIndex {
 public:
  struct Families {
    rocksdb::ColumnFamilyHandle* ids;
    rocksdb::ColumnFamilyHandle* events;
    rocksdb::ColumnFamilyHandle* meta;
  };
  // Reads the ids logged after the last spill; `log_end` is the log's next
  // seq. `dir` is the store's directory (spill files are written there).
  // `min_filter_log2_bits`: the filter's smallest size, 2^N bits.
  // Waits for a spill still being written.
  ~IdIndex();

  static absl::StatusOr<std::unique_ptr<IdIndex>> Open(
      rocksdb::DB* db, const Families& cf, const std::string& dir,
      uint64_t log_end, size_t spill_threshold, int min_filter_log2_bits);

  // A number for a commit that will claim ids; Release gives it back.
  uint32_t NewOwner();

  // What the index knows of the copy it holds of an id: the hash of its raw
  // bytes (RawHash) and where it is. A copy that another copy with the same
  // id but other bytes meets is read back from there, so that the engine can
  // tell a redelivery from a conflicting duplicate (docs/engine.md,
  // "Duplicates").
  struct HeldCopy {
    uint64_t raw_hash = 0;
    bool logged = false;  // in the log at `seq`; else claimed by `owner`
    uint64_t seq = 0;
    uint32_t owner = 0;
  };
  enum class ClaimResult {
    kNew,      // claimed for the owner's next write
    kSame,     // held with the same raw bytes (or by a build that kept no
               // hash, which counted such copies as redeliveries): a
               // redelivery
    kDiffers,  // held with other raw bytes: *held says where
  };
  // Claims `id` for `owner`'s next write unless the store holds it or some
  // owner has claimed it: then nothing is claimed. `raw_hash`: RawHash of
  // the copy's bytes. The hot path (a new id) costs what it did without the
  // hash; the held copy's hash is looked at only when the id is present.
  absl::StatusOr<ClaimResult> Claim(std::string_view id, uint64_t raw_hash,
                                    uint32_t owner, HeldCopy* held) {
    return Claim(id, IdFilter::Hash(id), raw_hash, owner, held);
  }
  // The same with `id_hash` = IdFilter::Hash(id) from the caller.
  absl::StatusOr<ClaimResult> Claim(std::string_view id, uint64_t id_hash,
                                    uint64_t raw_hash, uint32_t owner,
                                    HeldCopy* held);
  // Claims `id` for `owner`'s next write although it is held: the copy that
  // write logs replaces the held one (a conflicting duplicate that wins).
  void Replace(std::string_view id, uint64_t raw_hash, uint32_t owner);
  // The hash of an event's raw bytes kept beside its id; the same in every
  // process (it is stored).
  static uint64_t RawHash(std::string_view raw);
  // A hint that `id` is claimed soon: its filter line is loaded meanwhile.
  void Prefetch(std::string_view id) const { Prefetch(IdFilter::Hash(id)); }
  // The same by `id_hash` = IdFilter::Hash(id).
  void Prefetch(uint64_t id_hash) const;
  // Whether the id is held or claimed; claims nothing.
  absl::StatusOr<bool> Contains(std::string_view id);
  // `owner`'s claims were written to the log, which now ends before
  // `log_end`. Spills when enough ids have gathered; an error leaves the
  // store consistent (the ids are still in the log) but should stop the
  // writer.
  absl::Status Committed(uint32_t owner, uint64_t log_end);
  // Drops `owner`'s unwritten claims; the number may be handed out again.
  void Release(uint32_t owner);
  // A clean close: spills the written ids still in memory when there are
  // enough to be worth a table, and saves the filter, so that the next open
  // reads little or nothing back from the log.
  absl::Status Flush(uint64_t log_end);
  // Flush's work started on the spill thread: the store is closed next
  // and nothing is written meanwhile (Store::BeginClose). The Flush that
  // follows waits for it and finds nothing left to do. Returns the error
  // of a spill before, if any (then only the filter is saved, as Flush).
  absl::Status StartFlush(uint64_t log_end);

  // Lookups of the family so far: how often the filter said "maybe".
  uint64_t family_reads() const { return family_reads_; }

 private:
  // Which write of which owner an id belongs to: written once the owner's
  // write count has passed `write`.
  struct Tag {
    uint32_t owner;
    uint32_t write;
  };
  // The bytes of the ids in memory, in chunks that never move; Reset keeps
  // the chunks for the next ids.
  class Arena {
   public:
    absl::string_view Copy(std::string_view s);
    void Reset();

   private:
    std::vector<std::unique_ptr<char[]>> chunks_;
    size_t chunk_ = 0;  // the chunk being filled
    char* next_ = nullptr;
    size_t left_ = 0;
  };
  // An id and its hash, computed once per event for both the filter and
  // the map, which then never reads an id's bytes again to rehash it.
  struct HashedId {
    absl::string_view id;
    uint64_t hash;
  };
  struct HashOf {
    size_t operator()(const HashedId& k) const { return k.hash; }
  };
  struct SameId {
    bool operator()(const HashedId& a, const HashedId& b) const {
      return a.id == b.id;
    }
  };
  struct Entry {
    HashedId key;
    Tag tag;
    uint64_t raw_hash;
    // Written: the seq of the copy in the log. A claim: its place among the
    // owner's claims of its write, made a seq when that write lands.
    uint64_t where;
  };
  // Each id in memory -> its newest entry (an id may have several: a copy
  // that replaced another).
  using Set = absl::flat_hash_map<HashedId, uint32_t, HashOf, SameId>;
  // An id to spill, its first 8 bytes as a big-endian integer in front:
  // the family's bytewise order is that integer's, then the whole id's.
  // The rest is its entry's (16 bytes a key: the sort moves little).
  struct SpillKey {
    uint64_t head;
    uint32_t entry;  // in frozen_.entries
  };

  // Ids in memory: the live generation, where new ids go, or the frozen
  // one, being spilled.
  //
  // The ids written but not yet in the family, or claimed, in the order
  // they came. A hash set of them would cost every id a random write into a
  // table of megabytes; yet it is needed only when the store-wide filter
  // says "maybe", which for a new id is rare. So the ids also go into a
  // filter of their own (`recent`, a megabyte, which stays in cache), and
  // the set (`index`) is built only when both filters say "maybe": a
  // redelivery, or false positives of both. Once built it is kept up to
  // date until the generation is spilled.
  struct Generation {
    explicit Generation(int recent_log2_bits) : recent(recent_log2_bits) {}
    // The newest entry of the id, or null.
    const Entry* Find(const HashedId& key);
    // Empties it; the vector's and the arena's memory are kept for the
    // next ids (a new allocation would fault in every page again).
    void Clear();

    Arena arena;
    std::vector<Entry> entries;
    IdFilter recent;
    Set index;
    bool indexed = false;
  };

  IdIndex(rocksdb::DB* db, const Families& cf, const std::string& dir,
          size_t spill_threshold, int min_filter_log2_bits);
  bool Written(const Tag& t) const { return t.write < writes_[t.owner]; }
  // `where`: the seq of an id read back from the log (kLogOwner).
  void Insert(const HashedId& id, uint32_t owner, uint64_t raw_hash,
              uint64_t where = 0);
  // The newest entry of the id in memory (live, then frozen), or null.
  const Entry* InMemory(const HashedId& key);
  // Whether the id is in memory (written or claimed) or in the family, and
  // if so (with `held`) what is known of its copy.
  absl::StatusOr<bool> Held(const HashedId& key, HeldCopy* held, bool* known);
  void Describe(const Entry& e, HeldCopy* held) const;
  // Moves the written ids of the live generation to the frozen one, which
  // must be empty; claims not yet written stay live.
  void Freeze();
  // Freezes the written ids and starts writing them on the spill thread,
  // after the spill before (its error, if any, is returned instead).
  absl::Status StartSpill(uint64_t log_end);
  // Starts the spill thread on what StartSpill and StartFlush leave it:
  // the frozen generation's spill when `spill`, then the filter saved when
  // `save_filter`. No spill thread may be running.
  void SpillInBackground(uint64_t log_end, bool spill, bool save_filter);
  // Waits for the spill thread, if any, empties the frozen generation and
  // returns the spill's status.
  absl::Status FinishSpill();
  // Writes the frozen generation to the family as `parts` tables of
  // disjoint key ranges, written side by side and ingested together, then
  // marks the family complete up to `log_end`. Runs on the spill thread.
  absl::Status WriteSpill(uint64_t log_end, int parts);
  // Writes spill_[begin, end) as the table file `path`.
  rocksdb::Status WriteSpillTable(size_t begin, size_t end,
                                  const std::string& path) const;
  // Sorts spill_ into the family's order.
  void SortSpill();
  // Fills `filter_` for a store whose family holds ids up to `indexed_to`;
  // sets `*from` to the first seq whose ids the filter still needs.
  absl::Status OpenFilter(uint64_t indexed_to, uint64_t log_end,
                          uint64_t* from);
  // Saves the filter as covering the ids up to `log_end`, unless the store
  // is too small to need it (an open rebuilds that in no time).
  void SaveFilter(uint64_t log_end);
  // The filter size for a store of `ids` ids: 16 bits each or more.
  int FilterBitsFor(uint64_t ids) const;
  // Adds every id of the family to `filter`.
  absl::Status AddFamilyTo(IdFilter* filter);
  // Builds the filter anew, larger, if it holds more ids than it is sized
  // for; `log_end` ids are held, in the family and in memory.
  absl::Status GrowFilter(uint64_t log_end);

  rocksdb::DB* db_;
  Families cf_;
  std::string dir_;
  size_t spill_threshold_;
  int min_filter_log2_bits_;
  Generation live_;
  Generation frozen_;
  // The spill thread writing frozen_ (joinable while it has not been
  // waited for), whether it is done, and its result.
  std::thread spiller_;
  std::atomic<bool> spill_done_{false};
  absl::Status spill_status_;
  // Kept from one spill to the next: 6 MiB each, which freed and allocated
  // again would fault in every page at every spill. The spill thread's.
  std::vector<SpillKey> spill_, spill_tmp_;
  // Per owner: writes so far, and claims since the last one. Owner 0 is
  // the log itself (ids read back at open), always written.
  std::vector<uint32_t> writes_;
  std::vector<size_t> claims_;
  std::vector<uint32_t> free_owners_;
  size_t claimed_ = 0;  // claims not yet written, all owners
  std::unique_ptr<IdFilter> filter_;
  std::string identity_;  // the RocksDB identity: which store a filter is of
  uint64_t filter_saved_to_ = 0;
  uint64_t family_reads_ = 0;
};

}  // namespace chatkpi

#endif  // CHATKPI_STORE_ID_INDEX_H_
