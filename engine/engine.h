// The incremental KPI engine. Apply() takes one validated event, updates the
// state of the buyer (and order) it belongs to, and turns what changed into
// signed deltas on the (agent, day) counters. Commit() writes all of it —
// event log, state, counters, dead letters, source positions — as one atomic
// store commit, then drops state that is too old to be touched again soon.
//
// The engine is not thread-safe: one engine per shard (input partition).
#ifndef CHATKPI_ENGINE_ENGINE_H_
#define CHATKPI_ENGINE_ENGINE_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/container/inlined_vector.h"
#include "absl/container/node_hash_map.h"
#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "engine/counters.h"
#include "engine/evicted_states.h"
#include "engine/limits.h"
#include "engine/local_day.h"
#include "engine/meta.h"
#include "engine/order_kpis.h"
#include "engine/rules.h"
#include "engine/state.h"
#include "engine/state_map.h"
#include "engine/thread_kpis.h"
#include "ingest/event.h"
#include "ingest/event_parser.h"
#include "store/store.h"

namespace chatkpi {

class Engine;

// Where an assessment event's input is stored (Family::kAssessments): the
// key "period \0 agent \0 metric", whose value is the winning input's order
// (length-prefixed) then its value as written. Of one key the greatest
// (ts, id) wins (docs/spec.md §1); AssessmentOrder is that tuple as bytes
// that compare like it.
std::string AssessmentKey(const Event& e);
std::string AssessmentOrder(const Event& e);

// The engines of one store's file shards, which the file ingest runs on
// several threads (engine/file_shards.h, docs/engine.md "Parallel ingest").
// An engine given one can retract a copy another shard applied, and knows
// which shard holds an order's state: the shard of the order's buyer of
// record (docs/spec.md §3), to which the engine moves the order when an
// event changes that buyer.
class ShardSiblings {
 public:
  virtual ~ShardSiblings() = default;
  // The shard whose engine applies `e`.
  virtual uint32_t ShardOf(const Event& e) const = 0;
  // The shard of buyer `buyer`'s state (ShardOf of the buyer's events).
  virtual uint32_t ShardOfBuyer(std::string_view buyer) const = 0;
  // The engine of `shard`.
  virtual Engine* Sibling(uint32_t shard) = 0;
  // The shard that holds the state of order `order`, or `shard` (which then
  // holds it from now on) when none does.
  virtual absl::StatusOr<uint32_t> OrderShard(std::string_view order,
                                              uint32_t shard) = 0;
  // Order `order`'s state has moved to `shard` (with every shard idle).
  virtual void SetOrderShard(std::string_view order, uint32_t shard) = 0;
  // Writes every shard's pending commit together (no source positions).
  virtual absl::Status CommitAll() = 0;
};

// The default of EngineOptions::live_state_budget_bytes.
inline constexpr size_t kDefaultLiveStateBudgetBytes = size_t{64} << 20;

struct EngineOptions {
  uint32_t shard = 0;
  // Non-null for file shards: see ShardSiblings. Must outlive the engine.
  ShardSiblings* siblings = nullptr;
  // Distinct agents/buyers per day past which a warning is given.
  CardinalityLimits limits;
  // Where evicted buyer and order states wait in case they are needed
  // again; engines of one process share one, so that its budget bounds
  // them all. Null: the engine makes its own with the default budget.
  std::shared_ptr<EvictedStates> evicted_states;
  // The buyer and order states the engine holds in memory, as
  // live_state_bytes() counts them: past this its caller commits
  // (OverStateBudget), and after each commit the states that went longest
  // without an event are evicted until what stays is at most half of it.
  // So a shuffled month, which touches most of its buyers between two
  // commits, holds no more than an ordered one (docs/engine.md, "Memory").
  size_t live_state_budget_bytes = kDefaultLiveStateBudgetBytes;
  // Whether conflicting duplicates are recorded and counted
  // (engine/conflict_record.h). Replay resolves them as ingest did but
  // copies the live store's records, which name the copies' positions.
  bool record_conflicts = true;
};

// Where an event was read, "<prefix><number>": "file:" and a line number,
// "topic/partition/" and an offset. Formatted only when needed (a conflict
// record), so that a caller passes it at no cost per event.
struct EventPosition {
  std::string_view prefix;
  int64_t number = 0;
};

// One (agent, day) aggregate row as a commit left it: its whole value, so
// that whoever copies it (the Kafka changelog) can overwrite, not add.
struct RowChange {
  uint32_t shard = 0;
  int32_t day = 0;
  std::string agent;
  Counters value;  // all zero: the row was deleted
};

struct EngineStats {
  // Events applied, a conflicting copy that replaced the held one included
  // (ApplyWithOutcome tells the two apart, for the summaries of a run).
  int64_t accepted = 0;
  int64_t duplicates = 0;  // redelivered ids, and conflicting copies that lost
  int64_t conflicts = 0;   // conflicting duplicates recorded
  int64_t dead_letters = 0;
  int64_t commits = 0;
  int64_t evicted_buyers = 0;
  int64_t evicted_orders = 0;
};

class Engine {
 public:
  // Checks that `store` was built under `rules` (or is new, and records
  // them); a store built under other rules is refused: use replay.
  static absl::StatusOr<std::unique_ptr<Engine>> Open(
      const Rules& rules, Store* store, const EngineOptions& opts = {});
  ~Engine();

  // Applies a validated event; `raw` is what goes to the event log and
  // `position` where it was read (for the record of a conflict). Returns
  // false when the id was seen before with the same content (a redelivery:
  // nothing changes), or with other content that loses to the held copy.
  // A copy with other content that wins replaces the held one: what the
  // held copy counted is retracted and the new one counted (docs/engine.md,
  // "Duplicates"); the held copy's commit, if not yet written, is written
  // first so that it can be read back.
  //
  // After any failure of Apply, AddDeadLetter or Commit (a store read or
  // write error) the engine refuses all further calls with that error: its
  // memory may hold half an event or a commit the store never took, so the
  // only way on is a new engine on a reopened store, which resumes at the
  // last commit.
  absl::StatusOr<bool> Apply(const Event& e, std::string_view raw,
                             EventPosition position = {});
  // Apply, saying whether the event's id was new to the store. A copy that
  // wins over the held one is applied, but its id was held: summaries of
  // what a run read count it with the duplicates, so that they are the same
  // whatever the arrival order and the number of threads.
  enum class Outcome { kNewId, kReplacedHeldCopy, kNotApplied };
  absl::StatusOr<Outcome> ApplyWithOutcome(const Event& e, std::string_view raw,
                                           EventPosition position = {});
  // Apply for an engine that runs beside its siblings on another thread
  // (EngineOptions::siblings): an event that involves another shard — a
  // copy of an id held with other bytes, an order whose state another
  // shard holds — is not applied and changes nothing (kDeferred); the
  // caller applies it with Apply once every shard is idle, where it is
  // resolved across shards.
  enum class Applied { kNew, kDuplicate, kDeferred };
  absl::StatusOr<Applied> ApplyBesideSiblings(const Event& e,
                                              std::string_view raw,
                                              EventPosition position = {});
  // ApplyBesideSiblings for a chat that `ApplyChats` counts later with the
  // buyer's other chats of a batch: a chat it returns kNew for is claimed
  // and logged, but its message is not in its buyer's state until then.
  // The event must outlive that call.
  absl::StatusOr<Applied> ClaimChatForLater(const Event& e,
                                            std::string_view raw,
                                            EventPosition position);
  // Counts chats of one buyer that ClaimChatForLater took, in any order:
  // the same counters as applying them one by one, from one recount of
  // each thread-day they change when all come after the buyer's stored
  // messages, else one by one (docs/engine.md, "Throughput"). Chats of
  // other buyers among them (a caller that grouped by hash) are counted
  // with their own buyer's. Reorders `chats`.
  absl::Status ApplyChats(std::vector<const Event*>& chats);
  // A hint that Apply(e, ...) follows soon: the memory it will look at
  // first (its id's filter line, its buyer's or order's slot) is loaded
  // meanwhile. Callers that parse one event ahead hide those misses behind
  // the work of the event before.
  void Prefetch(const Event& e) const;
  // Two later hints for a caller that runs several events ahead of Apply
  // (FileShards): once Prefetch's hash slot is loaded, PrefetchState loads
  // the entry of the buyer (order) it holds there, if held, and once that
  // is loaded PrefetchStateData loads what the entry points to: the
  // buyer's messages, agents and orders (the order's events). Both only
  // read: no state is loaded, taken back or stamped as touched.
  void PrefetchState(const Event& e) const;
  void PrefetchStateData(const Event& e) const;

  // Takes back what `e`, which this engine applied, counted: for a sibling
  // whose copy of `e`'s id wins (ShardSiblings). False when this engine
  // does not hold it.
  absl::StatusOr<bool> RetractForSibling(const Event& e);

  // Records a dead letter; the same position twice is kept once.
  absl::Status AddDeadLetter(const DeadLetter& d);

  // The source position to store with the next commit.
  void SetPosition(std::string_view source, std::string_view value);
  absl::StatusOr<std::optional<std::string>> GetPosition(
      std::string_view source);

  absl::Status Commit();
  // Writes the pending commits of `engines` (of one store, distinct) as one
  // atomic store write: each commit of the file shards, whose state may
  // depend on each other's (a copy retracted in one, its winner counted in
  // another).
  static absl::Status CommitTogether(const std::vector<Engine*>& engines);

  // Called after each successful Commit with the (agent, day) rows it
  // changed (month rollups are derived from these and not listed). Runs on
  // the committing thread; a commit without row changes does not call it.
  using CommitListener = std::function<void(const std::vector<RowChange>&)>;
  void set_commit_listener(CommitListener listener) {
    commit_listener_ = std::move(listener);
  }

  // Events applied (or dead letters added) since the last commit.
  size_t pending() const { return pending_; }
  const EngineStats& stats() const { return stats_; }
  // About the memory of the buyer and order states held (engine/
  // state_bytes.h): counted exactly at each commit, plus the states loaded
  // since and what the events applied since add to them. Safe to read from
  // another thread (a caller deciding when to commit).
  size_t live_state_bytes() const {
    return live_state_bytes_.load(std::memory_order_relaxed);
  }
  // Whether the states held exceed EngineOptions::live_state_budget_bytes:
  // the caller should commit, after which they are back under half of it.
  bool OverStateBudget() const {
    return live_state_bytes() >= opts_.live_state_budget_bytes;
  }
  // The StateBytes of the states held, each walked anew: right after a
  // commit, what live_state_bytes() counts from the bytes it kept per state
  // (BuyerEntry::bytes).
  size_t CountStateBytes() const;
  // The states changed since the last commit: none right after one.
  size_t dirty_states() const;
  size_t cached_buyers() const { return buyers_.size(); }
  size_t cached_orders() const { return orders_.size(); }
  Store* store() const { return store_; }
  // File shards: each day's cardinality limits are checked over these
  // engines' together (DayCardinality::set_peers).
  void ShareCardinalityWith(const std::vector<Engine*>& engines) {
    std::vector<const DayCardinality*> peers;
    for (const Engine* e : engines) peers.push_back(&e->cardinality_);
    cardinality_.set_peers(std::move(peers));
  }
  const Rules& rules() const { return rules_; }
  const EngineOptions& options() const { return opts_; }

 private:
  struct RowEntry {
    Counters value;
    bool dirty = false;
    uint32_t touched = 0;  // as BuyerEntry::touched
    // A day's row: its month's rollup row once found (rollups_ keeps its
    // entries in place; Evict forgets these before it drops a rollup).
    RowEntry* rollup = nullptr;
  };
  // (agent number, day or month): a row is found by two integers, without
  // hashing or comparing its agent's name (AgentNumber).
  using RowKey = uint64_t;
  static RowKey RowKeyOf(uint32_t agent, int32_t slot) {
    return uint64_t{agent} << 32 | static_cast<uint32_t>(slot);
  }
  static uint32_t RowAgent(RowKey k) { return static_cast<uint32_t>(k >> 32); }
  static int32_t RowSlot(RowKey k) {
    return static_cast<int32_t>(static_cast<uint32_t>(k));
  }

  Engine(const Rules& rules, Store* store, const EngineOptions& opts);

  absl::StatusOr<Outcome> ApplyUnchecked(const Event& e, std::string_view raw,
                                         EventPosition position);
  // Counts `e`, whose id this engine's commit has just claimed. With
  // `across_shards` (every sibling idle) an order event is applied where
  // its order's state lives, which may move it (ChangeOrderAcrossShards);
  // without, the caller has made sure that this engine holds the order.
  // With `chat_later`, a chat's message is left to ApplyChats.
  absl::Status ApplyClaimed(const Event& e, bool across_shards,
                            bool chat_later = false);
  absl::StatusOr<Applied> ClaimBesideSiblings(const Event& e,
                                              std::string_view raw,
                                              bool chat_later);
  // A copy of an id the store holds with other raw bytes: true when it
  // replaces the held copy (retracted by then), false when it loses or is
  // the same event.
  absl::StatusOr<bool> ResolveConflict(const Event& e, std::string_view raw,
                                       EventPosition position,
                                       Commit::HeldEvent held);
  // Takes back what `e`, applied earlier by this engine, counted. False
  // when this engine's state does not hold it (another shard applied it).
  absl::StatusOr<bool> Retract(const Event& e);
  absl::StatusOr<bool> RetractChat(const Event& e);
  absl::StatusOr<bool> RetractOrder(const Event& e);
  // File shards, every one idle: adds (`add`) or takes back the order event
  // `e` in the shard that holds its order's state, and moves that state to
  // the shard of its buyer of record when the change gives the order a
  // buyer of another shard (docs/engine.md, "Parallel ingest"). False:
  // taking back an event the order does not hold.
  absl::StatusOr<bool> ChangeOrderAcrossShards(const Event& e, bool add);
  // The two halves of a move. Release takes back everything order `order`
  // contributes here and hands over its state, leaving none (deleted from
  // the store at the next commit); Adopt takes a released state in, under
  // its buyer of record, whose state this engine holds, and counts it.
  absl::StatusOr<OrderState> ReleaseOrder(std::string_view order);
  absl::Status AdoptOrder(std::string_view order, OrderState state);
  absl::Status RetractAssessment(const Event& e);
  absl::Status RecordConflict(std::string_view id,
                              std::string_view loser_content, bool resolved,
                              std::string_view winner_position,
                              std::string_view loser_position,
                              std::string_view loser_raw);
  absl::Status CommitUnchecked();
  // CommitTogether in steps, so that FileShards runs the per-engine ones on
  // the shards' own threads (docs/engine.md, "Parallel ingest"):
  // * BeginCommit, on one thread: gives each engine's events their place
  //   in the log (commit_first_seq_), and puts each one's day cardinality
  //   (which reads the others').
  // * PrepareCommit, per engine, beside the others: puts what is pending
  //   into commit_; with `seal` its log is fixed at its place in the
  //   store's log too (Commit::SealLog; a file shard's log blocks are
  //   compressed by the write), which needs the store's log to stay where
  //   BeginCommit found it until WritePrepared.
  // * WritePrepared, on one thread: the store-wide counters and the one
  //   store write of them all; after a failure every engine refuses.
  // * Committed, per engine, beside the others: clears what was written
  //   and evicts.
  static absl::Status BeginCommit(const std::vector<Engine*>& engines);
  absl::Status PrepareCommit(bool seal);
  static absl::Status WritePrepared(const std::vector<Engine*>& engines);
  void Committed();
  // WritePrepared in two, for FileShards, which writes the commits on
  // another thread while the engines apply their next batch: the
  // store-wide counters put into the first engine's commit, then each
  // engine's prepared commit handed over (it takes its next events into a
  // commit of its own meanwhile, with claims of their own in the id
  // index). The engines are Committed before the write lands: their
  // memory holds what it writes, and the caller makes the store's readers
  // wait for it (Store::ExpectWrite). FileShards' engines have no commit
  // listener.
  static absl::Status PutStoreCounters(const std::vector<Engine*>& engines);
  chatkpi::Commit* HandOverCommit() {
    std::swap(commit_, writing_);
    return &writing_;
  }
  static absl::Status FailAll(const std::vector<Engine*>& engines,
                              const absl::Status& s);
  friend class FileShards;
  // Writes what is pending: with siblings all of theirs too, so that the
  // shards' commits land together.
  absl::Status CommitPending();
  // The entry of `name` in `states`: kept, taken back from the evicted
  // states, read from the store (family `f`), or new.
  template <typename Entry, typename State>
  absl::StatusOr<Entry*> LoadState(StateMap<Entry>& states, Family f,
                                   HashedName name,
                                   bool (*decode)(std::string_view, State*));
  // File shards: whether this engine holds order `order`'s state (loaded,
  // with events), so that no other shard can (ShardSiblings::OrderShard).
  bool HoldsOrder(std::string_view order) const;
  absl::StatusOr<BuyerEntry*> LoadBuyer(HashedName buyer);
  absl::StatusOr<BuyerEntry*> LoadBuyer(std::string_view buyer) {
    return LoadBuyer(HashedName(buyer));
  }
  absl::StatusOr<OrderEntry*> LoadOrder(HashedName order);
  absl::StatusOr<OrderEntry*> LoadOrder(std::string_view order) {
    return LoadOrder(HashedName(order));
  }
  // The number of agent `name` in this engine's rows ("" for the
  // unattributed row). A number stays the agent's while a row of it is
  // held; Evict frees the numbers of agents without rows.
  uint32_t AgentNumber(std::string_view name);
  // Adds `delta` to the (agent, day) row and to its month's rollup row;
  // `agent` is an AgentNumber.
  absl::Status AddDelta(uint32_t agent, int32_t day, const Counters& delta);
  absl::StatusOr<RowEntry*> LoadRow(Family f, uint32_t agent, int32_t slot);
  // The store key of row (`agent`, `slot`) of family `f` (kAggregates: a
  // day; kRollups: a month).
  std::string RowStoreKey(Family f, uint32_t agent, int32_t slot) const;

  absl::Status ApplyChat(const Event& e);
  // The message of chat `e` in `b` (its agent added to b's).
  Message MessageOf(BuyerState& b, const Event& e) const;
  // ApplyChats for chats of one buyer, two or more.
  absl::Status ApplyBuyerChats(absl::Span<const Event* const> chats);
  // The thread-day counters of `agent` for `days`, and the orders an `in`
  // at `ts_ms` can attribute, counted before and after `change` (which adds
  // or removes one message of `b`): the difference is what is added.
  // `inserted`, when not null, is the message `change` inserts at index
  // `pos`: the differences of its own day and the days before it are then
  // folded from one pass each (InsertedThreadDayDelta).
  absl::Status RecountThread(BuyerState& b, uint32_t agent,
                             const ThreadDays& days, bool inbound,
                             int64_t ts_ms, absl::FunctionRef<void()> change,
                             const Message* inserted = nullptr, size_t pos = 0);
  absl::Status ApplyOrder(const Event& e);
  absl::Status ApplyAssessment(const Event& e);
  // Every assessment event of one (period, agent, metric) this store holds:
  // retracting the winner needs the runner-up.
  struct AssessmentSlot {
    std::vector<std::pair<std::string, std::string>> candidates;  // (order,
                                                                  // value)
    // False for a key written by a build that kept only the winner.
    bool complete = true;
  };
  absl::StatusOr<AssessmentSlot*> LoadAssessment(const std::string& key);

  // Adds sign * (what the order contributes) to the counters.
  absl::Status EmitOrder(BuyerState& b, const OrderContribution& c, int sign);
  // The orders of `b` created when `attributable` says (within the window
  // after an `in` that a change adds or takes away): loaded into
  // *affected, and their contributions taken out as `b` is now.
  using OrderEntries = absl::InlinedVector<OrderEntry*, 4>;
  absl::Status TakeOutOrders(BuyerState& b,
                             absl::FunctionRef<bool(int64_t)> attributable,
                             OrderEntries* affected);
  // Their contributions put back in, as `b` is after the change.
  absl::Status PutBackOrders(BuyerState& b, const OrderEntries& affected);
  // After a commit: moves the states past the horizon that the batch just
  // committed did not touch, then (over half the state budget) the longest
  // idle ones, to the evicted pool; drops rows past the horizon.
  void Evict();
  // A state Evict keeps, as its budget orders them: idle longest first.
  struct HeldState {
    uint32_t touched = 0;  // BuyerEntry::touched
    int64_t last_ts = 0;
    size_t bytes = 0;
    bool operator<(const HeldState& o) const {
      return std::pair(touched, last_ts) < std::pair(o.touched, o.last_ts);
    }
  };
  // Moves the states of `states` that `evict` picks to the evicted pool;
  // returns their bytes, and lists those kept in `kept_states` when it is
  // not null.
  template <typename Entry>
  size_t EvictWhere(StateMap<Entry>& states, Family f,
                    absl::FunctionRef<bool(const Entry&)> evict,
                    int64_t* evicted, std::vector<HeldState>* kept_states);
  void AddLiveStateBytes(size_t n) {
    live_state_bytes_.store(live_state_bytes() + n, std::memory_order_relaxed);
  }

  std::string StateKey(std::string_view name) const;
  // True when the store cannot hold `key` (of the given family), so the
  // lookup can be skipped; see known_absent_.
  bool KnownAbsent(Family f, std::string_view key) const;
  void ForgetKnown(Family f, std::string_view key);

  Rules rules_;
  Store* store_;
  EngineOptions opts_;
  LocalCalendar cal_;
  ChatParams chat_;
  AttributionParams attribution_;
  int64_t horizon_ms_;

  chatkpi::Commit commit_;
  chatkpi::Commit writing_;  // handed over, being written (HandOverCommit)
  DayCardinality cardinality_;
  absl::Status failed_;  // the first failure; see Apply
  StateMap<BuyerEntry> buyers_;
  std::shared_ptr<EvictedStates> evicted_states_;
  uint64_t evicted_owner_ = 0;  // this engine's number there
  StateMap<OrderEntry> orders_;
  absl::flat_hash_map<RowKey, RowEntry> rows_;     // (agent, day)
  absl::node_hash_map<RowKey, RowEntry> rollups_;  // (agent, month)
  // AgentNumber's table: by number, the agent's name and how many entries
  // of rows_ and rollups_ are under it; free numbers are reused.
  struct AgentName {
    std::string name;
    uint32_t rows = 0;
    bool free = false;
  };
  std::vector<AgentName> agent_names_;
  absl::flat_hash_map<std::string, uint32_t> agent_numbers_;
  std::vector<uint32_t> free_agent_numbers_;
  absl::flat_hash_map<std::string, AssessmentSlot>
      pending_assessments_;  // keys changed since the last commit
  absl::flat_hash_map<std::string, std::string> pending_conflicts_;
  std::unique_ptr<EventParser> parser_;  // reads held copies back
  absl::flat_hash_map<std::string, std::string> positions_;
  CommitListener commit_listener_;
  std::vector<RowChange> commit_changes_;  // PrepareCommit -> Committed
  uint64_t commit_first_seq_ = 0;          // BeginCommit -> PrepareCommit
  // A store that was empty when this engine opened holds only what this
  // engine wrote under its shard. Then state or a row it never evicted
  // cannot be in the store, and the point lookup is skipped. (Event ids are
  // shared by all shards; the store answers for them:
  // Commit::AppendEvent.) Hashes only: a collision costs a lookup, never a
  // wrong answer. Past kMaxKnown hashes the engine falls back to lookups.
  bool store_was_empty_ = false;
  bool known_absent_valid_ = false;
  absl::flat_hash_set<uint64_t> evicted_;
  // Counts the Evict calls: a state's `touched` is the round in which it
  // was last loaded or looked up.
  uint32_t evict_round_ = 0;
  int64_t newest_ts_ = 0;
  int64_t new_dead_letters_ = 0;  // added since the last commit
  int64_t new_conflicts_ = 0;
  int64_t new_superseded_ = 0;  // log entries the commit's copies replace
  size_t pending_ = 0;
  // Reused by PrepareCommit for every state it encodes.
  std::string encode_buffer_;
  // The dirty states PrepareCommit wrote, by name (viewing the maps' keys):
  // Committed marks them clean.
  std::vector<std::pair<std::string_view, BuyerEntry*>> committing_buyers_;
  std::vector<std::pair<std::string_view, OrderEntry*>> committing_orders_;
  // The dirty rows of one family by store key, reused from commit to commit.
  std::vector<std::pair<std::string, const RowEntry*>> committing_rows_;
  // See live_state_bytes(); written by the engine's thread only.
  std::atomic<size_t> live_state_bytes_ = 0;
  EngineStats stats_;
};

}  // namespace chatkpi

#endif  // CHATKPI_ENGINE_ENGINE_H_
