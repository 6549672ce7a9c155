#include "store/id_index.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <filesystem>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "rocksdb/sst_file_writer.h"
#include "store/coding.h"
#include "store/event_log.h"
#include "store/rocksdb_reads.h"
#include "store/rocksdb_status.h"
#include "store/stable_hash.h"

namespace chatkpi {
namespace {

constexpr char kIndexedTo[] = "ids.indexed_to";
// Not "*.sst": RocksDB may delete table-named files it does not know.
constexpr char kSpillFile[] = "ids-spill.tmp";
// A close's spill is written as this many tables at once (the tail of a
// run waits for it); other spills as one.
constexpr int kCloseSpillParts = 2;
constexpr char kFilterFile[] = "ids.filter";
// Below these a close leaves the ids in memory to be read back from the log,
// and the filter unsaved to be rebuilt: cheaper than a table or 16 MiB.
constexpr size_t kMinFlushedIds = 4096;
constexpr uint64_t kMinSavedFilter = 1 << 16;
constexpr size_t kArenaChunk = 256 << 10;
// The id filter is rebuilt larger past one id per kFilterBitsPerId bits,
// with at least kGrownBitsPerId (so it doubles as the store doubles: each
// id is read again a bounded number of times), up to 2^kMaxFilterLog2Bits
// bits (512 MiB, ~350M ids).
constexpr uint64_t kFilterBitsPerId = 12;
constexpr uint64_t kGrownBitsPerId = 16;
constexpr int kMaxFilterLog2Bits = 32;
constexpr uint32_t kLogOwner = 0;

absl::string_view Key(std::string_view s) { return {s.data(), s.size()}; }

// The spill file and the saved filter live in the store's directory.
std::string PathIn(const std::string& dir, std::string_view name) {
  return (std::filesystem::path(dir) / name).string();
}

std::string SpillFileName(size_t part) {
  return part == 0 ? kSpillFile : absl::StrCat(kSpillFile, ".", part);
}

// 32 bits per id of a full spill: with the filter's 4 probes, about one
// "maybe" in 5000 for an id it does not hold. 1 MiB at the default spill.
int RecentFilterBits(size_t spill_threshold) {
  int bits = 12;
  while (bits < 30 && (size_t{1} << bits) < 32 * spill_threshold) ++bits;
  return bits;
}

// The store-wide filter's "maybe" for an id it does not hold comes from
// other ids that fell on the same bits; the recent filter must not fall
// for the same ones, so it takes the hash remixed.
uint64_t RecentHash(uint64_t hash) {
  return Mix64(hash ^ 0x9e3779b97f4a7c15ull);
}

}  // namespace

uint64_t IdIndex::RawHash(std::string_view raw) { return StableBytesHash(raw); }

absl::string_view IdIndex::Arena::Copy(std::string_view s) {
  if (s.size() > left_) {
    // Ids are at most 128 bytes (docs/spec.md §1), far below a chunk; a longer
    // one (a caller that skipped validation) still gets a chunk of its own.
    if (chunk_ < chunks_.size() && s.size() <= kArenaChunk) {
      next_ = chunks_[chunk_++].get();
      left_ = kArenaChunk;
    } else {
      const size_t size = std::max(kArenaChunk, s.size());
      chunks_.insert(chunks_.begin() + chunk_, std::make_unique<char[]>(size));
      next_ = chunks_[chunk_++].get();
      left_ = size;
    }
  }
  std::memcpy(next_, s.data(), s.size());
  absl::string_view copy(next_, s.size());
  next_ += s.size();
  left_ -= s.size();
  return copy;
}

void IdIndex::Arena::Reset() {
  chunk_ = 0;
  next_ = nullptr;
  left_ = 0;
}

IdIndex::IdIndex(rocksdb::DB* db, const Families& cf, const std::string& dir,
                 size_t spill_threshold, int min_filter_log2_bits)
    : db_(db),
      cf_(cf),
      dir_(dir),
      spill_threshold_(spill_threshold),
      min_filter_log2_bits_(min_filter_log2_bits),
      live_(RecentFilterBits(spill_threshold)),
      frozen_(RecentFilterBits(spill_threshold)),
      writes_{1},
      claims_{0} {
  live_.entries.reserve(spill_threshold);
}

IdIndex::~IdIndex() {
  if (spiller_.joinable()) spiller_.join();
}

const IdIndex::Entry* IdIndex::Generation::Find(const HashedId& key) {
  if (!recent.MayContain(RecentHash(key.hash))) return nullptr;
  if (!indexed) {
    index.reserve(entries.size());
    for (uint32_t i = 0; i < entries.size(); ++i) {
      index.insert_or_assign(entries[i].key, i);
    }
    indexed = true;
  }
  auto it = index.find(key);
  return it == index.end() ? nullptr : &entries[it->second];
}

void IdIndex::Generation::Clear() {
  entries.clear();
  recent.Clear();
  index.clear();
  indexed = false;
  arena.Reset();
}

absl::StatusOr<std::unique_ptr<IdIndex>> IdIndex::Open(
    rocksdb::DB* db, const Families& cf, const std::string& dir,
    uint64_t log_end, size_t spill_threshold, int min_filter_log2_bits) {
  std::unique_ptr<IdIndex> index(
      new IdIndex(db, cf, dir, std::max<size_t>(1, spill_threshold),
                  std::clamp(min_filter_log2_bits, 12, kMaxFilterLog2Bits)));
  for (size_t part = 0; part < kCloseSpillParts; ++part) {
    std::error_code ec;
    std::filesystem::remove(PathIn(dir, SpillFileName(part)), ec);
  }
  auto stored = ReadValue(db, cf.meta, kIndexedTo, dir);
  if (!stored.ok()) return stored.status();
  uint64_t indexed_to = 0;
  if (stored->has_value()) {
    std::string_view v = **stored;
    if (!GetFixed64BE(&v, &indexed_to) || indexed_to > log_end) {
      return absl::DataLossError(
          absl::StrCat("--db ", dir, " is corrupt: bad event id index mark"));
    }
  }
  uint64_t filter_from = 0;
  absl::Status filter = index->OpenFilter(indexed_to, log_end, &filter_from);
  if (!filter.ok()) return filter;
  // One pass over the log: ids after filter_from go into the filter, ids
  // after indexed_to (not in the family) into the map.
  absl::Status scanned = ScanEventLog(
      db, cf.events, dir, std::min(filter_from, indexed_to), log_end,
      /*one_pass=*/true,
      [&](uint64_t seq, std::string_view id, std::string_view raw) {
        const HashedId key{Key(id), IdFilter::Hash(id)};
        if (seq >= filter_from) index->filter_->Add(key.hash);
        // A second copy of an id in the log replaced the first (Replace),
        // and comes later: the newest entry is the one an id names.
        if (seq >= indexed_to) {
          index->Insert(key, kLogOwner, RawHash(raw), seq);
        }
        return true;
      });
  if (!scanned.ok()) return scanned;
  // A filter saved by a smaller store (or an older build) may be too small.
  absl::Status grown = index->GrowFilter(log_end);
  if (!grown.ok()) return grown;
  return index;
}

int IdIndex::FilterBitsFor(uint64_t ids) const {
  int bits = min_filter_log2_bits_;
  while (bits < kMaxFilterLog2Bits &&
         (uint64_t{1} << bits) < kGrownBitsPerId * ids) {
    ++bits;
  }
  return bits;
}

absl::Status IdIndex::AddFamilyTo(IdFilter* filter) {
  rocksdb::ReadOptions ro;
  ro.fill_cache = false;
  ro.readahead_size = 2 << 20;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, cf_.ids));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    filter->Add(IdFilter::Hash({it->key().data(), it->key().size()}));
  }
  return ToStatus(it->status(),
                  absl::StrCat("--db ", dir_, ": reading the event id index"));
}

absl::Status IdIndex::GrowFilter(uint64_t log_end) {
  // One id per event: the log's length is how many the store holds.
  if (log_end * kFilterBitsPerId <= (uint64_t{1} << filter_->log2_bits())) {
    return absl::OkStatus();
  }
  const int bits = FilterBitsFor(log_end);
  if (bits <= filter_->log2_bits()) return absl::OkStatus();  // at the cap
  // Every id held or claimed is in the family or in memory (claims given
  // back since are rightly left out).
  auto grown = std::make_unique<IdFilter>(bits);
  absl::Status s = AddFamilyTo(grown.get());
  if (!s.ok()) return s;
  for (const Generation* g : {&live_, &frozen_}) {
    for (const Entry& e : g->entries) grown->Add(e.key.hash);
  }
  filter_ = std::move(grown);
  filter_saved_to_ = 0;  // the file holds the smaller filter
  SaveFilter(log_end);
  return absl::OkStatus();
}

void IdIndex::SaveFilter(uint64_t log_end) {
  if (log_end < kMinSavedFilter || log_end == filter_saved_to_) return;
  // An optimization only: if saving fails, the next open rebuilds it.
  if (filter_
          ->Save(PathIn(dir_, kFilterFile),
                 absl::StrCat(identity_, "\n", log_end))
          .ok()) {
    filter_saved_to_ = log_end;
  }
}

absl::Status IdIndex::OpenFilter(uint64_t indexed_to, uint64_t log_end,
                                 uint64_t* from) {
  rocksdb::Status s = db_->GetDbIdentity(identity_);
  if (!s.ok()) return ToStatus(s, absl::StrCat("--db ", dir_, ": identity"));
  const std::string path = PathIn(dir_, kFilterFile);
  std::string label;
  auto loaded = IdFilter::Load(path, &label);
  if (loaded.ok()) {
    // Usable when it is this store's and covers no more than the log holds
    // (a store restored from a backup may have a shorter log).
    const size_t cut = label.find('\n');
    uint64_t covered_to = 0;
    if (cut != std::string::npos &&
        std::string_view(label).substr(0, cut) == identity_ &&
        absl::SimpleAtoi(absl::string_view(label).substr(cut + 1),
                         &covered_to) &&
        covered_to <= log_end) {
      filter_ = std::move(*loaded);
      *from = covered_to;
      filter_saved_to_ = covered_to;
      return absl::OkStatus();
    }
  }
  // No file (a store from before filters were saved, or a crash before the
  // first spill), a damaged one, or another store's: rebuild. Every id the
  // family holds, then the log after it. An unusable file goes now: one
  // that covers more than a log cut short (power loss) would become usable
  // again once new events pass its seq, without theirs.
  if (loaded.ok() || !absl::IsNotFound(loaded.status())) {
    std::error_code ec;
    std::filesystem::remove(path, ec);
  }
  filter_ = std::make_unique<IdFilter>(FilterBitsFor(log_end));
  *from = indexed_to;
  if (indexed_to == 0) return absl::OkStatus();
  return AddFamilyTo(filter_.get());
}

uint32_t IdIndex::NewOwner() {
  if (!free_owners_.empty()) {
    const uint32_t owner = free_owners_.back();
    free_owners_.pop_back();
    return owner;
  }
  writes_.push_back(0);
  claims_.push_back(0);
  return static_cast<uint32_t>(writes_.size() - 1);
}

void IdIndex::Insert(const HashedId& id, uint32_t owner, uint64_t raw_hash,
                     uint64_t where) {
  // An id read back from the log is written already (write 0 of the log,
  // whose count is 1); a claim belongs to its owner's next write. A log id
  // tagged as unwritten would be left out of the next spill while the mark
  // moved past it: lost at the reopen after.
  const bool from_log = owner == kLogOwner;
  const Tag tag{owner, from_log ? 0 : writes_[owner]};
  // Callers have ruled the id out (but for a log read back twice at open,
  // which only wastes the copy: a spill writes an id once).
  const HashedId copy{live_.arena.Copy({id.id.data(), id.id.size()}), id.hash};
  live_.entries.push_back(
      {copy, tag, raw_hash, from_log ? where : uint64_t{claims_[owner]}});
  live_.recent.Add(RecentHash(id.hash));
  if (live_.indexed) {
    live_.index.insert_or_assign(
        copy, static_cast<uint32_t>(live_.entries.size() - 1));
  }
  if (!from_log) {
    ++claims_[owner];
    ++claimed_;
  }
}

const IdIndex::Entry* IdIndex::InMemory(const HashedId& key) {
  // The live generation's entries are newer: a copy that replaced one
  // being spilled is found first.
  if (const Entry* e = live_.Find(key)) return e;
  return frozen_.entries.empty() ? nullptr : frozen_.Find(key);
}

void IdIndex::Describe(const Entry& e, HeldCopy* held) const {
  held->raw_hash = e.raw_hash;
  held->logged = Written(e.tag);
  held->seq = held->logged ? e.where : 0;
  held->owner = e.tag.owner;
}

absl::StatusOr<bool> IdIndex::Held(const HashedId& key, HeldCopy* held,
                                   bool* known) {
  *known = true;
  if (const Entry* e = InMemory(key)) {
    Describe(*e, held);
    return true;
  }
  ++family_reads_;
  auto found = ReadValue(db_, cf_.ids, {key.id.data(), key.id.size()}, dir_);
  if (!found.ok()) return found.status();
  if (!found->has_value()) return false;
  // Raw hash and seq; empty when a build before them spilled the id.
  std::string_view v = **found;
  *known = GetFixed64BE(&v, &held->raw_hash) && GetFixed64BE(&v, &held->seq);
  held->logged = true;
  held->owner = kLogOwner;
  return true;
}

absl::StatusOr<IdIndex::ClaimResult> IdIndex::Claim(std::string_view id,
                                                    uint64_t id_hash,
                                                    uint64_t raw_hash,
                                                    uint32_t owner,
                                                    HeldCopy* held) {
  const HashedId key{Key(id), id_hash};
  // The filter holds every id held or ever claimed: "absent" is certain.
  if (filter_->AddAndTest(key.hash)) {
    bool known = true;
    auto found = Held(key, held, &known);
    if (!found.ok()) return found.status();
    if (*found) {
      return !known || held->raw_hash == raw_hash ? ClaimResult::kSame
                                                  : ClaimResult::kDiffers;
    }
  }
  Insert(key, owner, raw_hash);
  return ClaimResult::kNew;
}

void IdIndex::Replace(std::string_view id, uint64_t raw_hash, uint32_t owner) {
  // The filter has the id already; the new entry is the id's newest.
  Insert(HashedId{Key(id), IdFilter::Hash(id)}, owner, raw_hash);
}

void IdIndex::Prefetch(uint64_t hash) const {
  // Both filters a claim touches: the recent one is a megabyte or more,
  // which other work pushes out of the cache between two events.
  filter_->Prefetch(hash);
  live_.recent.Prefetch(RecentHash(hash));
}

absl::StatusOr<bool> IdIndex::Contains(std::string_view id) {
  const HashedId key{Key(id), IdFilter::Hash(id)};
  if (!filter_->MayContain(key.hash)) return false;
  HeldCopy held;
  bool known;
  return Held(key, &held, &known);
}

absl::Status IdIndex::Committed(uint32_t owner, uint64_t log_end) {
  // The write logged the owner's claims in claim order, ending at log_end:
  // each claim's place becomes its seq. They are the newest of its entries.
  const uint64_t first = log_end - claims_[owner];
  size_t left = claims_[owner];
  for (size_t i = live_.entries.size(); left > 0 && i-- > 0;) {
    Entry& e = live_.entries[i];
    if (e.tag.owner == owner && e.tag.write == writes_[owner]) {
      e.where += first;
      --left;
    }
  }
  ++writes_[owner];
  claimed_ -= claims_[owner];
  claims_[owner] = 0;
  // A spill that is done is reaped at once: its error stops the writer at
  // this commit, and lookups stop searching its generation.
  if (spiller_.joinable() && spill_done_.load(std::memory_order_acquire)) {
    absl::Status s = FinishSpill();
    if (!s.ok()) return s;
  }
  if (live_.entries.size() - claimed_ < spill_threshold_) {
    return absl::OkStatus();
  }
  absl::Status s = StartSpill(log_end);
  // 16 MiB or more each time: saved at every 8th spill only, which bounds
  // what an open after a crash adds back from the log (2M ids by default).
  if (s.ok() && log_end - filter_saved_to_ >= 8 * spill_threshold_) {
    SaveFilter(log_end);
  }
  // Checked at spills only: between two, the store grows by a spill's worth.
  if (s.ok()) s = GrowFilter(log_end);
  return s;
}

void IdIndex::Release(uint32_t owner) {
  if (claims_[owner] > 0) {
    // Claims are live only (Freeze keeps them there).
    std::erase_if(live_.entries, [&](const Entry& e) {
      return e.tag.owner == owner && !Written(e.tag);
    });
    // Rebuilt without them when next needed; the recent filter keeps their
    // bits, which costs at most a "maybe" too many.
    live_.index.clear();
    live_.indexed = false;
    claimed_ -= claims_[owner];
    claims_[owner] = 0;
  }
  // Claims made under the next number would look written otherwise.
  ++writes_[owner];
  free_owners_.push_back(owner);
}

absl::Status IdIndex::Flush(uint64_t log_end) {
  absl::Status s = FinishSpill();
  if (s.ok() && live_.entries.size() - claimed_ >= kMinFlushedIds) {
    Freeze();
    SpillInBackground(log_end, /*spill=*/true, /*save_filter=*/true);
    return FinishSpill();
  }
  SaveFilter(log_end);
  return s;
}

absl::Status IdIndex::StartFlush(uint64_t log_end) {
  absl::Status s = FinishSpill();
  if (!s.ok()) {
    SaveFilter(log_end);
    return s;
  }
  const bool spill = live_.entries.size() - claimed_ >= kMinFlushedIds;
  if (spill) Freeze();
  SpillInBackground(log_end, spill, /*save_filter=*/true);
  return absl::OkStatus();
}

void IdIndex::Freeze() {
  std::swap(live_, frozen_);
  // Indices into the vector the claims leave below.
  frozen_.index.clear();
  frozen_.indexed = false;
  // Claims not yet written go back to the live generation in the order
  // they came (their bytes copied out of the frozen arena, which stays as
  // it is until the spill is done), and out of the frozen one, which a
  // claim given back (Release) would otherwise still be found in.
  if (claimed_ > 0) {
    for (const Entry& e : frozen_.entries) {
      if (!Written(e.tag)) {
        live_.entries.push_back(
            {HashedId{live_.arena.Copy({e.key.id.data(), e.key.id.size()}),
                      e.key.hash},
             e.tag, e.raw_hash, e.where});
        live_.recent.Add(RecentHash(e.key.hash));
      }
    }
    std::erase_if(frozen_.entries,
                  [&](const Entry& e) { return !Written(e.tag); });
  }
}

absl::Status IdIndex::StartSpill(uint64_t log_end) {
  absl::Status s = FinishSpill();
  if (!s.ok()) return s;
  Freeze();
  SpillInBackground(log_end, /*spill=*/true, /*save_filter=*/false);
  return absl::OkStatus();
}

void IdIndex::SpillInBackground(uint64_t log_end, bool spill,
                                bool save_filter) {
  spill_done_.store(false, std::memory_order_relaxed);
  spiller_ = std::thread([this, log_end, spill, save_filter] {
    if (spill && save_filter) {
      // A close: nothing claims ids any more, so the filter is saved as
      // the spill is written, and the spill in several tables at once.
      std::thread saver([this, log_end] { SaveFilter(log_end); });
      spill_status_ = WriteSpill(log_end, kCloseSpillParts);
      saver.join();
    } else {
      if (spill) spill_status_ = WriteSpill(log_end, 1);
      if (save_filter) SaveFilter(log_end);
    }
    spill_done_.store(true, std::memory_order_release);
  });
}

absl::Status IdIndex::FinishSpill() {
  if (!spiller_.joinable()) return absl::OkStatus();
  spiller_.join();
  frozen_.Clear();
  return std::exchange(spill_status_, absl::OkStatus());
}

void IdIndex::SortSpill() {
  // Radix sort on the heads, least significant byte first, skipping the
  // bytes all ids share (a prefix such as "c-"): a few sequential passes
  // instead of std::sort's ~18 comparisons per id. Ties (ids that agree in
  // their first 8 bytes) are then put in order by the whole id.
  const size_t n = spill_.size();
  std::vector<std::array<size_t, 256>> counts(8);
  for (const SpillKey& k : spill_) {
    for (int b = 0; b < 8; ++b) ++counts[b][(k.head >> (8 * b)) & 0xff];
  }
  spill_tmp_.resize(n);
  for (int b = 0; b < 8 && n > 0; ++b) {
    std::array<size_t, 256>& at = counts[b];
    if (at[(spill_[0].head >> (8 * b)) & 0xff] == n) continue;
    size_t sum = 0;
    for (size_t& c : at) sum += std::exchange(c, sum);
    for (const SpillKey& k : spill_) {
      spill_tmp_[at[(k.head >> (8 * b)) & 0xff]++] = k;
    }
    spill_.swap(spill_tmp_);
  }
  for (size_t i = 0; i < n;) {
    size_t j = i + 1;
    while (j < n && spill_[j].head == spill_[i].head) ++j;
    if (j - i > 1) {
      // Copies of one id in the order they came: the newest last.
      std::sort(spill_.begin() + i, spill_.begin() + j,
                [this](const SpillKey& a, const SpillKey& b) {
                  const absl::string_view x = frozen_.entries[a.entry].key.id;
                  const absl::string_view y = frozen_.entries[b.entry].key.id;
                  return x != y ? x < y : a.entry < b.entry;
                });
    }
    i = j;
  }
}

absl::Status IdIndex::WriteSpill(uint64_t log_end, int parts) {
  // Every frozen entry is written (Freeze): writes_, which claims change
  // meanwhile, is not looked at here.
  const std::vector<Entry>& entries = frozen_.entries;
  spill_.clear();
  spill_.reserve(entries.size());
  for (uint32_t n = 0; n < entries.size(); ++n) {
    const Entry& e = entries[n];
    const absl::string_view id = e.key.id;
    uint64_t head = 0;
    for (size_t i = 0; i < 8; ++i) {
      head = head << 8 | (i < id.size() ? static_cast<uint8_t>(id[i]) : 0);
    }
    spill_.push_back({head, n});
  }
  SortSpill();
  // Cut into `parts` tables, never between two copies of one id: each
  // table writes an id's newest copy only (the last of them), and the
  // tables' key ranges are disjoint.
  const size_t n = spill_.size();
  if (n < 2 * kMinFlushedIds) parts = 1;
  std::vector<size_t> cuts = {0};
  for (int p = 1; p < parts; ++p) {
    size_t at = std::max(cuts.back(), n * p / parts);
    while (at > 0 && at < n &&
           entries[spill_[at - 1].entry].key.id ==
               entries[spill_[at].entry].key.id) {
      ++at;
    }
    if (at > cuts.back() && at < n) cuts.push_back(at);
  }
  cuts.push_back(n);
  std::vector<std::string> paths;
  for (size_t p = 0; p + 1 < cuts.size(); ++p) {
    paths.push_back(PathIn(dir_, SpillFileName(p)));
  }
  std::vector<rocksdb::Status> written(paths.size());
  {
    std::vector<std::thread> helpers;
    for (size_t p = 1; p < paths.size(); ++p) {
      helpers.emplace_back([&, p] {
        written[p] = WriteSpillTable(cuts[p], cuts[p + 1], paths[p]);
      });
    }
    written[0] = WriteSpillTable(cuts[0], cuts[1], paths[0]);
    for (std::thread& t : helpers) t.join();
  }
  rocksdb::Status s;
  for (const rocksdb::Status& w : written) {
    if (s.ok()) s = w;
  }
  if (s.ok()) {
    // Several files go in as one: all or none.
    rocksdb::IngestExternalFileOptions ingest;
    ingest.move_files = true;
    s = db_->IngestExternalFile(cf_.ids, paths, ingest);
  }
  if (s.ok()) {
    // Only now is the family complete up to log_end; a crash before this
    // reads these ids from the log again at the next open.
    std::string mark;
    PutFixed64BE(&mark, log_end);
    s = db_->Put(rocksdb::WriteOptions(), cf_.meta, kIndexedTo, mark);
  }
  if (!s.ok()) {
    for (const std::string& path : paths) {
      std::error_code ec;
      std::filesystem::remove(path, ec);
    }
    return ToStatus(
        s, absl::StrCat(
               "writing the event id index of --db ", dir_,
               " (free disk space or fix the I/O error, then run again)"));
  }
  return absl::OkStatus();
}

rocksdb::Status IdIndex::WriteSpillTable(size_t begin, size_t end,
                                         const std::string& path) const {
  const std::vector<Entry>& entries = frozen_.entries;
  const std::vector<SpillKey>& ids = spill_;
  rocksdb::Options options(db_->GetDBOptions(), db_->GetOptions(cf_.ids));
  // The file is ingested at once and compacted soon: no point in asking the
  // kernel to drop its pages as it is written.
  rocksdb::SstFileWriter writer(rocksdb::EnvOptions(), options, cf_.ids,
                                /*invalidate_page_cache=*/false);
  rocksdb::Status s = writer.Open(path);
  // Sorted, the entries and their ids are read from all over memory:
  // fetch a few ahead (the entry first, its id's bytes once it is there).
  constexpr size_t kAhead = 8;
  char value[16];
  for (size_t i = begin; s.ok() && i < end; ++i) {
    if (i + 2 * kAhead < end) {
      __builtin_prefetch(&entries[ids[i + 2 * kAhead].entry]);
    }
    if (i + kAhead < end) {
      __builtin_prefetch(entries[ids[i + kAhead].entry].key.id.data());
    }
    const Entry& e = entries[ids[i].entry];
    // Of an id's copies (one replaced another) the newest, the last.
    if (i + 1 < end && e.key.id == entries[ids[i + 1].entry].key.id) {
      continue;
    }
    EncodeFixed64BE(EncodeFixed64BE(value, e.raw_hash), e.where);
    s = writer.Put(rocksdb::Slice(e.key.id.data(), e.key.id.size()),
                   rocksdb::Slice(value, sizeof(value)));
  }
  if (s.ok()) s = writer.Finish();
  return s;
}

}  // namespace chatkpi
