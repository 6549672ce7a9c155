#include "engine/engine.h"

#include <algorithm>

#include "absl/container/inlined_vector.h"
#include "absl/hash/hash.h"
#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "base/checked_math.h"
#include "base/prefetch.h"
#include "engine/conflict_record.h"
#include "engine/dead_letter_value.h"
#include "engine/event_count.h"
#include "engine/event_hashes.h"
#include "engine/local_day.h"
#include "engine/shard_runs.h"
#include "engine/state_bytes.h"
#include "ingest/event_content.h"
#include "store/coding.h"

namespace chatkpi {
namespace {

// Debian's Abseil has its own string_view; its hash maps look up by it.
absl::string_view Key(std::string_view s) { return {s.data(), s.size()}; }

// A chat's or an order event's buyer, with the hash it was queued by.
HashedName BuyerOf(const Event& e) { return {e.buyer, ShardKeyHashOf(e)}; }

bool ContainsAny(const std::string& text, const std::vector<std::string>& kws) {
  for (const std::string& k : kws) {
    if (text.find(k) != std::string::npos) return true;
  }
  return false;
}

// Every assessment event of a key: "acand/" + key -> (order, value) pairs,
// each length-prefixed. Derived from the log (replay rebuilds them).
std::string AssessmentCandidatesKey(std::string_view key) {
  std::string k = kMetaAssessmentCandidatesPrefix;
  k.append(key);
  return k;
}

std::string EncodeAssessmentCandidates(
    const std::vector<std::pair<std::string, std::string>>& c) {
  std::string v;
  for (const auto& [order, value] : c) {
    PutLengthPrefixed(&v, order);
    PutLengthPrefixed(&v, value);
  }
  return v;
}

bool DecodeAssessmentCandidates(
    std::string_view v, std::vector<std::pair<std::string, std::string>>* c) {
  while (!v.empty()) {
    std::string_view order, value;
    if (!GetLengthPrefixed(&v, &order) || !GetLengthPrefixed(&v, &value)) {
      return false;
    }
    c->emplace_back(std::string(order), std::string(value));
  }
  return true;
}

// The record an order keeps of its event `e`.
OrderEventRecord OrderRecordOf(const Event& e) {
  OrderEventRecord rec;
  rec.ts = e.ts_ms;
  rec.id = e.id;
  rec.status = e.status;
  rec.amount_fen = e.amount_fen;
  rec.items = e.items;
  rec.buyer = e.buyer;
  return rec;
}

// Adds `rec` to order `o` in (ts, id) order.
void InsertOrderEvent(OrderState& o, OrderEventRecord rec) {
  o.last_ts = std::max(o.last_ts, rec.ts);
  o.events.insert(
      std::upper_bound(o.events.begin(), o.events.end(), rec, OrderEventBefore),
      std::move(rec));
}

// The index of event `e` among order `o`'s events; o.events.size() when it
// has none of that (ts, id).
size_t FindOrderEvent(const OrderState& o, const Event& e) {
  auto it = std::find_if(o.events.begin(), o.events.end(),
                         [&](const OrderEventRecord& r) {
                           return r.ts == e.ts_ms && r.id == e.id;
                         });
  return static_cast<size_t>(it - o.events.begin());
}

// Points buyer `b`'s reference to `order` at the order's creation time,
// adding the reference when `b` has none.
void SetOrderRef(BuyerState& b, std::string_view order, int64_t created) {
  auto ref = std::find_if(b.orders.begin(), b.orders.end(),
                          [&](const OrderRef& r) { return r.order == order; });
  if (ref == b.orders.end()) {
    b.orders.push_back(OrderRef{std::string(order), created});
  } else {
    ref->created_ts = created;
  }
}

void DropOrderRef(BuyerState& b, std::string_view order) {
  std::erase_if(b.orders, [&](const OrderRef& r) { return r.order == order; });
}

// Whether the stored canonical rules text `stored` states the same rules as
// `json`: equal text, or text that an older build wrote with other string
// escapes (control characters in keywords as \u00xx rather than \n \r \t)
// and that reads back as rules with canonical text `json`.
bool SameRulesText(const std::string& stored, const std::string& json) {
  if (stored == json) return true;
  auto parsed = ParseRules(stored);
  return parsed.ok() && parsed->ToJson() == json;
}

}  // namespace

std::string AssessmentKey(const Event& e) {
  std::string k = e.period;
  k.push_back('\0');
  k.append(e.agent);
  k.push_back('\0');
  k.append(e.metric);
  return k;
}

// ts is positive after validation, so its big-endian bytes sort numerically.
std::string AssessmentOrder(const Event& e) {
  std::string o;
  PutFixed64BE(&o, static_cast<uint64_t>(e.ts_ms));
  o.append(e.id);
  return o;
}

Engine::Engine(const Rules& rules, Store* store, const EngineOptions& opts)
    : rules_(rules),
      store_(store),
      opts_(opts),
      cal_(rules.timezone),
      commit_(store),
      writing_(store),
      cardinality_(store, opts.shard, opts.limits),
      evicted_states_(opts.evicted_states != nullptr
                          ? opts.evicted_states
                          : std::make_shared<EvictedStates>()),
      evicted_owner_(evicted_states_->NewOwner()) {
  // File shards write their commits on a writer thread of their own while
  // the shards apply the next batch: the log's compression goes there, off
  // the shard threads (docs/engine.md, "Parallel ingest").
  if (opts.siblings != nullptr) {
    commit_.CompressLogAtWrite();
    writing_.CompressLogAtWrite();
  }
  chat_ = ChatParamsOf(rules);
  attribution_.window_ms = rules.attribution_window_s * 1000;
  attribution_.model = rules.attribution_model;
  // Past this age a buyer's state is written out and dropped from memory: an
  // event that old is late, and late events load the state back.
  horizon_ms_ =
      std::max(chat_.response_window_ms, attribution_.window_ms) + 3600'000;
}

Engine::~Engine() = default;

absl::StatusOr<std::unique_ptr<Engine>> Engine::Open(
    const Rules& rules, Store* store, const EngineOptions& opts) {
  std::unique_ptr<Engine> e(new Engine(rules, store, opts));
  e->store_was_empty_ = store->next_seq() == 0;
  e->known_absent_valid_ = e->store_was_empty_;
  auto stored = store->Get(Family::kMeta, kMetaRules);
  if (!stored.ok()) return stored.status();
  const std::string json = rules.ToJson();
  if (!stored->has_value()) {
    chatkpi::Commit c(store);
    c.Put(Family::kMeta, kMetaRules, json);
    absl::Status s = store->Write(&c);
    if (!s.ok()) return s;
  } else if (!SameRulesText(**stored, json)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "--db ", store->dir(), " holds KPIs computed under other rules (",
        **stored, "); these rules are ", json,
        ". Recompute history with `chatkpi replay` instead."));
  }
  return e;
}

std::string Engine::StateKey(std::string_view name) const {
  std::string k;
  PutFixed32BE(&k, opts_.shard);
  k.append(name);
  return k;
}

// The hashes of the keys an engine evicted grow with the store's history,
// not with what is open: 2M of them (a set of at most 36 MiB) and the
// engine falls back to lookups, which the families' bloom filters keep
// cheap for absent keys (docs/engine.md, "Memory").
constexpr size_t kMaxKnown = size_t{2} << 20;

uint64_t KnownHash(Family f, std::string_view key) {
  return absl::HashOf(static_cast<int>(f), Key(key));
}

bool Engine::KnownAbsent(Family f, std::string_view key) const {
  if (!known_absent_valid_) return false;
  const uint64_t h = KnownHash(f, key);
  return !evicted_.contains(h);
}

void Engine::ForgetKnown(Family f, std::string_view key) {
  if (!known_absent_valid_) return;
  evicted_.insert(KnownHash(f, key));
  if (evicted_.size() > kMaxKnown) {
    known_absent_valid_ = false;
    evicted_.clear();
  }
}

template <typename Entry, typename State>
absl::StatusOr<Entry*> Engine::LoadState(StateMap<Entry>& states, Family f,
                                         HashedName hashed,
                                         bool (*decode)(std::string_view,
                                                        State*)) {
  auto it = states.find(hashed);
  if (it != states.end()) {
    it->second->touched = evict_round_;
    return it->second.get();
  }
  const std::string_view name = hashed.name;
  // A state this engine never evicted is in neither the pool nor the store
  // (KnownAbsent); one it evicted is clean, so the pool and the store hold
  // the same.
  const bool absent = KnownAbsent(f, name);
  std::unique_ptr<Entry> entry;
  size_t bytes = 0;
  if (!absent) {
    entry = evicted_states_->Take<Entry>(evicted_owner_, name, &bytes);
  }
  if (entry == nullptr) {
    entry = std::make_unique<Entry>();
    if (!absent) {
      auto stored = store_->Get(f, StateKey(name));
      if (!stored.ok()) return stored.status();
      if (stored->has_value() && !decode(**stored, &entry->state)) {
        return absl::DataLossError(
            absl::StrCat("state of ", f == Family::kBuyers ? "buyer" : "order",
                         " '", std::string(name), "' is corrupt"));
      }
    }
    bytes = StateBytes(name, entry->state);
  }
  entry->touched = evict_round_;
  entry->bytes = bytes;
  AddLiveStateBytes(bytes);
  Entry* raw = entry.get();
  // Inserted by the hash in hand: emplace would hash the name again.
  states.lazy_emplace(hashed, [&](const auto& construct) {
    construct(std::string(name), std::move(entry));
  });
  return raw;
}

size_t Engine::CountStateBytes() const {
  size_t bytes = 0;
  for (const auto& [name, entry] : buyers_) {
    bytes += StateBytes(name, entry->state);
  }
  for (const auto& [name, entry] : orders_) {
    bytes += StateBytes(name, entry->state);
  }
  return bytes;
}

size_t Engine::dirty_states() const {
  size_t n = 0;
  for (const auto& [name, entry] : buyers_) n += entry->dirty;
  for (const auto& [name, entry] : orders_) n += entry->dirty;
  return n;
}

absl::StatusOr<BuyerEntry*> Engine::LoadBuyer(HashedName buyer) {
  return LoadState(buyers_, Family::kBuyers, buyer, DecodeBuyerState);
}

absl::StatusOr<OrderEntry*> Engine::LoadOrder(HashedName order) {
  return LoadState(orders_, Family::kOrders, order, DecodeOrderState);
}

uint32_t Engine::AgentNumber(std::string_view name) {
  auto it = agent_numbers_.find(Key(name));
  if (it != agent_numbers_.end()) return it->second;
  uint32_t n;
  if (!free_agent_numbers_.empty()) {
    n = free_agent_numbers_.back();
    free_agent_numbers_.pop_back();
    agent_names_[n] = AgentName{std::string(name), 0, false};
  } else {
    n = static_cast<uint32_t>(agent_names_.size());
    agent_names_.push_back(AgentName{std::string(name), 0, false});
  }
  agent_numbers_.emplace(std::string(name), n);
  return n;
}

std::string Engine::RowStoreKey(Family f, uint32_t agent, int32_t slot) const {
  const std::string& name = agent_names_[agent].name;
  return f == Family::kRollups ? RollupKey(opts_.shard, slot, name)
                               : AggregateKey(opts_.shard, slot, name);
}

absl::StatusOr<Engine::RowEntry*> Engine::LoadRow(Family f, uint32_t agent,
                                                  int32_t slot) {
  auto load = [&](auto& rows) -> absl::StatusOr<RowEntry*> {
    auto [it, added] = rows.try_emplace(RowKeyOf(agent, slot));
    RowEntry& entry = it->second;
    if (added) {
      const std::string k = RowStoreKey(f, agent, slot);
      if (!KnownAbsent(f, k)) {
        auto stored = store_->Get(f, k);
        absl::Status s = stored.status();
        if (s.ok() && stored->has_value() &&
            !DecodeCounters(**stored, &entry.value)) {
          s = absl::DataLossError("aggregate row is corrupt");
        }
        if (!s.ok()) {
          rows.erase(it);
          return s;
        }
      }
      ++agent_names_[agent].rows;
    }
    entry.dirty = true;
    entry.touched = evict_round_;
    return &entry;
  };
  return f == Family::kRollups ? load(rollups_) : load(rows_);
}

absl::Status Engine::AddDelta(uint32_t agent, int32_t day,
                              const Counters& delta) {
  if (delta.IsZero()) return absl::OkStatus();
  auto loaded = LoadRow(Family::kAggregates, agent, day);
  if (!loaded.ok()) return loaded.status();
  RowEntry* row = *loaded;
  RowEntry* rollup = row->rollup;
  if (rollup == nullptr) {
    auto r = LoadRow(Family::kRollups, agent, MonthOfDay(day));
    if (!r.ok()) return r.status();
    rollup = *r;
    row->rollup = rollup;
  } else {
    rollup->dirty = true;
    rollup->touched = evict_round_;
  }
  // The day and its month move together or not at all. Add leaves a row
  // unchanged when it fails, and subtracting what was just added restores
  // it exactly; copies of the month's row (its histograms hold a bin per
  // second answered in) would cost more than the rest of the event.
  absl::Status s = row->value.Add(delta);
  if (s.ok()) {
    s = rollup->value.Add(delta);
    if (!s.ok()) row->value.Subtract(delta).IgnoreError();
  }
  if (!s.ok()) {
    // The engine refuses everything after a failed Apply, so nothing of the
    // batch that would wrap reaches the store.
    const std::string& name = agent_names_[agent].name;
    return absl::Status(
        s.code(),
        absl::StrCat(name.empty() ? std::string("unattributed orders")
                                  : absl::StrCat("agent '", name, "'"),
                     " on ", absl::FormatCivilTime(DayFromNumber(day)), ": ",
                     s.message(), "; the batch is not committed"));
  }
  return absl::OkStatus();
}

void Engine::Prefetch(const Event& e) const {
  commit_.PrefetchEventHash(IdHashOf(e));
  if (e.type == EventType::kChat) buyers_.prefetch(BuyerOf(e));
  if (e.type == EventType::kOrder) orders_.prefetch(HashedName(e.order));
}

namespace {

// What PrefetchStateData loads of a buyer's vectors, in cache lines. Its
// messages are searched and scanned around the new one's place, anywhere
// in shuffled input: their first lines, which the search starts from and
// which hold all of a small buyer's, paid as much as more of them.
constexpr size_t kMessageLines = 4;
constexpr size_t kAgentLines = 2;  // two agents' names a line
constexpr size_t kOrderLines = 1;

template <typename T>
void PrefetchArray(const std::vector<T>& v, size_t max_lines) {
  PrefetchBytes(v.data(), std::min(v.size() * sizeof(T), max_lines * 64));
}

// A state's vectors, the longest (messages, an order's events) up to
// `long_lines` cache lines.
void PrefetchVectors(const BuyerState& b, size_t long_lines) {
  PrefetchArray(b.agents, kAgentLines);
  PrefetchArray(b.messages, long_lines);
  PrefetchArray(b.orders, kOrderLines);
  PrefetchArray(b.order_counts, kOrderLines);
}
void PrefetchVectors(const OrderState& o, size_t long_lines) {
  PrefetchArray(o.events, long_lines);
}

}  // namespace

void Engine::PrefetchState(const Event& e) const {
  if (e.type == EventType::kChat) {
    if (IsAutomaticReply(e)) return;  // touches no state
    auto it = buyers_.find(BuyerOf(e));
    if (it != buyers_.end())
      PrefetchBytes(it->second.get(), sizeof(BuyerEntry));
  } else if (e.type == EventType::kOrder) {
    auto it = orders_.find(e.order);
    if (it != orders_.end())
      PrefetchBytes(it->second.get(), sizeof(OrderEntry));
  }
}

void Engine::PrefetchStateData(const Event& e) const {
  if (e.type == EventType::kChat) {
    if (IsAutomaticReply(e)) return;
    auto it = buyers_.find(BuyerOf(e));
    if (it != buyers_.end()) PrefetchVectors(it->second->state, kMessageLines);
  } else if (e.type == EventType::kOrder) {
    auto it = orders_.find(e.order);
    if (it != orders_.end()) PrefetchVectors(it->second->state, kMessageLines);
  }
}

absl::StatusOr<bool> Engine::Apply(const Event& e, std::string_view raw,
                                   EventPosition position) {
  auto outcome = ApplyWithOutcome(e, raw, position);
  if (!outcome.ok()) return outcome.status();
  return *outcome != Outcome::kNotApplied;
}

absl::StatusOr<Engine::Outcome> Engine::ApplyWithOutcome(
    const Event& e, std::string_view raw, EventPosition position) {
  if (!failed_.ok()) return failed_;
  auto outcome = ApplyUnchecked(e, raw, position);
  if (!outcome.ok()) failed_ = outcome.status();
  return outcome;
}

absl::StatusOr<Engine::Applied> Engine::ApplyBesideSiblings(
    const Event& e, std::string_view raw, EventPosition) {
  return ClaimBesideSiblings(e, raw, /*chat_later=*/false);
}

absl::StatusOr<Engine::Applied> Engine::ClaimChatForLater(const Event& e,
                                                          std::string_view raw,
                                                          EventPosition) {
  return ClaimBesideSiblings(e, raw, /*chat_later=*/true);
}

absl::StatusOr<Engine::Applied> Engine::ClaimBesideSiblings(
    const Event& e, std::string_view raw, bool chat_later) {
  if (!failed_.ok()) return failed_;
  if (opts_.siblings != nullptr && e.type == EventType::kOrder &&
      !HoldsOrder(e.order)) {
    auto owner = opts_.siblings->OrderShard(e.order, opts_.shard);
    if (!owner.ok()) {
      failed_ = owner.status();
      return failed_;
    }
    if (*owner != opts_.shard) return Applied::kDeferred;
  }
  Commit::HeldEvent held;
  auto claim = commit_.ClaimEvent(e.id, IdHashOf(e), raw, &held);
  if (!claim.ok()) {
    failed_ = claim.status();
    return failed_;
  }
  if (*claim == Commit::Claim::kRedelivery) {
    ++stats_.duplicates;
    return Applied::kDuplicate;
  }
  // Another copy: its resolution may read the log, commit, or retract in
  // another shard, none of which is safe beside the other threads.
  if (*claim == Commit::Claim::kOtherBytes) return Applied::kDeferred;
  absl::Status applied = ApplyClaimed(e, /*across_shards=*/false, chat_later);
  if (!applied.ok()) {
    failed_ = applied;
    return failed_;
  }
  return Applied::kNew;
}

bool Engine::HoldsOrder(std::string_view order) const {
  // Only the shard that holds an order's state ever loads it with events:
  // the holder applies and retracts its events, a buyer's chats load the
  // orders of that buyer of record, and a move leaves the state it
  // releases empty. So the shared map, and its lock, need not be asked.
  auto it = orders_.find(order);
  return it != orders_.end() && !it->second->state.events.empty();
}

absl::StatusOr<Engine::Outcome> Engine::ApplyUnchecked(const Event& e,
                                                       std::string_view raw,
                                                       EventPosition position) {
  // The store knows every id it holds and every id a pending commit on it
  // (this engine's or another shard's) has claimed.
  Commit::HeldEvent held;
  auto claim = commit_.ClaimEvent(e.id, IdHashOf(e), raw, &held);
  if (!claim.ok()) return claim.status();
  if (*claim != Commit::Claim::kNew) {
    bool replaces = false;
    if (*claim == Commit::Claim::kOtherBytes) {
      auto resolved = ResolveConflict(e, raw, position, held);
      if (!resolved.ok()) return resolved.status();
      replaces = *resolved;
    }
    if (!replaces) {
      ++stats_.duplicates;
      return Outcome::kNotApplied;
    }
  }
  // With siblings, Apply runs with every shard idle: an order event goes
  // to the shard that holds its order.
  absl::Status s = ApplyClaimed(e, opts_.siblings != nullptr);
  if (!s.ok()) return s;
  return *claim == Commit::Claim::kNew ? Outcome::kNewId
                                       : Outcome::kReplacedHeldCopy;
}

absl::Status Engine::ApplyClaimed(const Event& e, bool across_shards,
                                  bool chat_later) {
  newest_ts_ = std::max(newest_ts_, e.ts_ms);
  const bool observed = e.type != EventType::kAssessment;
  const int32_t day = observed ? cal_.DayOf(e.ts_ms) : 0;
  // A chat's or order's shard key is its buyer: its hash is at hand.
  if (observed) cardinality_.Prefetch(day, ShardKeyHashOf(e));
  absl::Status s;
  switch (e.type) {
    case EventType::kChat:
      if (!chat_later) s = ApplyChat(e);
      break;
    case EventType::kOrder:
      s = across_shards ? ChangeOrderAcrossShards(e, /*add=*/true).status()
                        : ApplyOrder(e);
      break;
    case EventType::kAssessment:
      s = ApplyAssessment(e);
      break;
  }
  if (!s.ok()) return s;
  if (observed) {
    s = cardinality_.Observe(day,
                             e.type == EventType::kChat
                                 ? std::string_view(e.agent)
                                 : std::string_view(),
                             e.buyer, ShardKeyHashOf(e));
    if (!s.ok()) return s;
  }
  AddLiveStateBytes(StateBytesOfEvent(e));
  ++pending_;
  ++stats_.accepted;
  return absl::OkStatus();
}

absl::StatusOr<bool> Engine::ResolveConflict(const Event& e,
                                             std::string_view raw,
                                             EventPosition position,
                                             Commit::HeldEvent held) {
  const std::string content = EventContent(e);
  const std::string here =
      position.prefix.empty()
          ? std::string("unknown")
          : absl::StrCat(std::string(position.prefix), position.number);
  if (!held.logged && opts_.siblings != nullptr) {
    // All shards are idle (ApplyBesideSiblings deferred this copy): the
    // held copy, in this or another shard's pending commit, is written
    // with all of them, so that it can be read back.
    absl::Status s = CommitPending();
    if (!s.ok()) return s;
    auto again = commit_.ClaimEvent(e.id, IdHashOf(e), raw, &held);
    if (!again.ok()) return again.status();
    if (*again == Commit::Claim::kRedelivery) return false;
    if (*again != Commit::Claim::kOtherBytes || !held.logged) {
      return absl::InternalError(
          absl::StrCat("event id '", e.id, "' changed under a commit"));
    }
  }
  if (!held.logged) {
    if (!held.this_commit) {
      // Another shard's commit, not yet written, claimed the id: its copy
      // cannot be read back or taken from its state. The first copy stays,
      // visibly (docs/engine.md, "Duplicates").
      absl::Status s =
          RecordConflict(e.id, content, /*resolved=*/false,
                         "another shard's pending commit", here, raw);
      if (!s.ok()) return s;
      return false;
    }
    // This engine's pending commit holds the other copy: written now, it
    // has a place in the log to be read back from. (Its events are in the
    // store then, ahead of the source position, which moves at the
    // caller's next commit; read again, they are redeliveries.)
    absl::Status s = CommitUnchecked();
    if (!s.ok()) return s;
    auto again = commit_.ClaimEvent(e.id, IdHashOf(e), raw, &held);
    if (!again.ok()) return again.status();
    if (*again != Commit::Claim::kOtherBytes || !held.logged) {
      return absl::InternalError(
          absl::StrCat("event id '", e.id, "' changed under a commit"));
    }
  }
  auto held_raw = store_->ReadEvent(held.seq);
  if (!held_raw.ok()) return held_raw.status();
  if (parser_ == nullptr) parser_ = std::make_unique<EventParser>();
  Event old;
  absl::Status parsed = parser_->Parse(*held_raw, &old);
  if (!parsed.ok() || old.id != e.id) {
    return absl::DataLossError(
        absl::StrCat("--db ", store_->dir(), ": event ", held.seq,
                     " of the log does not read back as event '", e.id, "'"));
  }
  const std::string old_content = EventContent(old);
  if (old_content == content) return false;  // the same event, other JSON
  const std::string held_position = absl::StrCat("log:", held.seq);
  if (old_content < content) {
    absl::Status s =
        RecordConflict(e.id, content, true, held_position, here, raw);
    if (!s.ok()) return s;
    return false;
  }
  absl::StatusOr<bool> retracted = false;
  const uint32_t old_shard =
      opts_.siblings != nullptr ? opts_.siblings->ShardOf(old) : opts_.shard;
  if (old.type == EventType::kOrder && opts_.siblings != nullptr) {
    // An order event counts in the shard that holds its order, whichever
    // buyer it names; taking it back may move the order.
    retracted = ChangeOrderAcrossShards(old, /*add=*/false);
  } else if (old_shard == opts_.shard) {
    retracted = Retract(old);
  } else {
    // The held copy was applied by another file shard, idle now: retracted
    // there, its commit and this one written together (CommitTogether).
    Engine* sibling = opts_.siblings->Sibling(old_shard);
    if (sibling == nullptr) {
      return absl::InternalError(
          absl::StrCat("no engine for file shard ", old_shard));
    }
    retracted = sibling->RetractForSibling(old);
  }
  if (!retracted.ok()) return retracted.status();
  if (!*retracted) {
    // Another shard applied the held copy: its state is that shard's.
    absl::Status s =
        RecordConflict(e.id, content, false, held_position, here, raw);
    if (!s.ok()) return s;
    return false;
  }
  absl::Status s = commit_.ReplaceEvent(e.id, raw);
  if (s.ok()) {
    ++new_superseded_;
    s = RecordConflict(e.id, old_content, true, here, held_position, *held_raw);
  }
  if (!s.ok()) return s;
  return true;
}

absl::Status Engine::RecordConflict(std::string_view id,
                                    std::string_view loser_content,
                                    bool resolved,
                                    std::string_view winner_position,
                                    std::string_view loser_position,
                                    std::string_view loser_raw) {
  if (!opts_.record_conflicts) return absl::OkStatus();
  std::string key = ConflictKey(id, loser_content);
  if (pending_conflicts_.contains(key)) return absl::OkStatus();
  // Each losing copy once, however often it comes again.
  auto stored = store_->Get(Family::kMeta, key);
  if (!stored.ok()) return stored.status();
  if (stored->has_value()) return absl::OkStatus();
  ConflictRecord r;
  r.resolved = resolved;
  r.winner_position = std::string(winner_position);
  r.loser_position = std::string(loser_position);
  pending_conflicts_.emplace(std::move(key), EncodeConflictValue(r, loser_raw));
  ++new_conflicts_;
  ++stats_.conflicts;
  ++pending_;
  return absl::OkStatus();
}

absl::StatusOr<bool> Engine::RetractForSibling(const Event& e) {
  if (!failed_.ok()) return failed_;
  auto retracted = Retract(e);
  if (!retracted.ok()) {
    failed_ = retracted.status();
  } else if (*retracted) {
    ++pending_;
  }
  return retracted;
}

absl::StatusOr<bool> Engine::Retract(const Event& e) {
  switch (e.type) {
    case EventType::kChat:
      // An automatic `out` counted nothing (ApplyChat).
      if (IsAutomaticReply(e)) return true;
      return RetractChat(e);
    case EventType::kOrder:
      return RetractOrder(e);
    case EventType::kAssessment: {
      absl::Status s = RetractAssessment(e);
      if (!s.ok()) return s;
      return true;
    }
  }
  return false;
}

absl::StatusOr<bool> Engine::RetractChat(const Event& e) {
  auto loaded = LoadBuyer(BuyerOf(e));
  if (!loaded.ok()) return loaded.status();
  BuyerEntry& entry = **loaded;
  BuyerState& b = entry.state;
  Message probe;
  probe.ts = e.ts_ms;
  probe.id = e.id;
  auto it = std::lower_bound(b.messages.begin(), b.messages.end(), probe,
                             MessageBefore);
  if (it == b.messages.end() || it->ts != e.ts_ms || it->id != e.id) {
    return false;
  }
  // ApplyChat backwards: the counters with the message, then without.
  const size_t pos = it - b.messages.begin();
  Message msg = std::move(*it);
  b.messages.erase(it);
  const ThreadDays days = AffectedThreadDays(b, msg.agent, pos, msg.ts, cal_);
  const uint32_t agent = msg.agent;
  const bool inbound = msg.inbound();
  b.messages.insert(b.messages.begin() + pos, std::move(msg));
  absl::Status s = RecountThread(b, agent, days, inbound, e.ts_ms, [&] {
    b.messages.erase(b.messages.begin() + pos);
  });
  if (!s.ok()) return s;
  entry.dirty = true;
  b.stored_records = kRewriteWhole;  // a record only adds messages
  return true;
}

absl::StatusOr<bool> Engine::RetractOrder(const Event& e) {
  auto loaded = LoadOrder(e.order);
  if (!loaded.ok()) return loaded.status();
  OrderEntry& oentry = **loaded;
  OrderState& o = oentry.state;
  const size_t at = FindOrderEvent(o, e);
  if (at == o.events.size()) return false;
  // ApplyOrder backwards: the order's contribution out, the event out, the
  // contribution of what is left in (under the buyer it now has).
  auto ob = LoadBuyer(o.buyer());
  if (!ob.ok()) return ob.status();
  BuyerEntry* old_buyer = *ob;
  absl::Status s =
      EmitOrder(old_buyer->state,
                ContributionOf(o, old_buyer->state, attribution_, cal_), -1);
  if (!s.ok()) return s;
  o.events.erase(o.events.begin() + at);
  oentry.dirty = true;
  auto drop_ref = [&](BuyerEntry* b) {
    DropOrderRef(b->state, e.order);
    b->dirty = true;
  };
  if (o.events.empty()) {
    drop_ref(old_buyer);
    return true;
  }
  auto nb = LoadBuyer(o.buyer());
  if (!nb.ok()) return nb.status();
  BuyerEntry* buyer = *nb;
  if (buyer != old_buyer) drop_ref(old_buyer);
  SetOrderRef(buyer->state, e.order, o.CreatedTs());
  buyer->dirty = true;
  s = EmitOrder(buyer->state,
                ContributionOf(o, buyer->state, attribution_, cal_), +1);
  if (!s.ok()) return s;
  return true;
}

absl::StatusOr<bool> Engine::ChangeOrderAcrossShards(const Event& e, bool add) {
  ShardSiblings& siblings = *opts_.siblings;
  auto owner = siblings.OrderShard(e.order, opts_.shard);
  if (!owner.ok()) return owner.status();
  Engine* holder = *owner == opts_.shard ? this : siblings.Sibling(*owner);
  if (holder == nullptr) {
    return absl::InternalError(
        absl::StrCat("no engine for file shard ", *owner));
  }
  auto loaded = holder->LoadOrder(e.order);
  if (!loaded.ok()) return loaded.status();
  const std::vector<OrderEventRecord>& events = (*loaded)->state.events;
  OrderEventRecord rec = OrderRecordOf(e);
  // The order's buyer of record once the change is made: the buyer of its
  // first event by (ts, id), docs/spec.md §3. Null: no event is left.
  const std::string* buyer = nullptr;
  size_t at = events.size();
  if (add) {
    buyer = events.empty() || OrderEventBefore(rec, events.front())
                ? &e.buyer
                : &events.front().buyer;
  } else {
    at = FindOrderEvent((*loaded)->state, e);
    if (at == events.size()) return false;
    if (events.size() > 1) {
      buyer = at == 0 ? &events[1].buyer : &events.front().buyer;
    }
  }
  // The order's state lives with its buyer of record's, which its
  // attribution reads.
  const uint32_t home =
      buyer == nullptr ? *owner : siblings.ShardOfBuyer(*buyer);
  if (home == *owner) {
    if (!add) return holder->RetractOrder(e);
    absl::Status s = holder->ApplyOrder(e);
    if (!s.ok()) return s;
    return true;
  }
  Engine* target = siblings.Sibling(home);
  if (target == nullptr) {
    return absl::InternalError(absl::StrCat("no engine for file shard ", home));
  }
  auto state = holder->ReleaseOrder(e.order);
  if (!state.ok()) return state.status();
  if (add) {
    InsertOrderEvent(*state, std::move(rec));
  } else {
    state->events.erase(state->events.begin() + at);
  }
  absl::Status s = target->AdoptOrder(e.order, std::move(*state));
  if (!s.ok()) return s;
  siblings.SetOrderShard(e.order, home);
  return true;
}

absl::StatusOr<OrderState> Engine::ReleaseOrder(std::string_view order) {
  auto loaded = LoadOrder(order);
  if (!loaded.ok()) return loaded.status();
  OrderEntry& entry = **loaded;
  OrderState state = std::move(entry.state);
  entry.state = OrderState();
  entry.dirty = true;  // an empty state is deleted at commit
  if (state.events.empty()) return state;
  auto b = LoadBuyer(state.buyer());
  if (!b.ok()) return b.status();
  BuyerState& buyer = (*b)->state;
  absl::Status s =
      EmitOrder(buyer, ContributionOf(state, buyer, attribution_, cal_), -1);
  if (!s.ok()) return s;
  DropOrderRef(buyer, order);
  (*b)->dirty = true;
  return state;
}

absl::Status Engine::AdoptOrder(std::string_view order, OrderState state) {
  auto loaded = LoadOrder(order);
  if (!loaded.ok()) return loaded.status();
  OrderEntry& entry = **loaded;
  if (!entry.state.events.empty()) {
    return absl::InternalError(absl::StrCat(
        "order '", std::string(order), "' has a state in two file shards, ",
        opts_.shard, " and the one it moves from"));
  }
  entry.state = std::move(state);
  entry.dirty = true;
  const OrderState& o = entry.state;
  if (o.events.empty()) return absl::OkStatus();
  auto b = LoadBuyer(o.buyer());
  if (!b.ok()) return b.status();
  BuyerState& buyer = (*b)->state;
  SetOrderRef(buyer, order, o.CreatedTs());
  buyer.last_ts = std::max(buyer.last_ts, o.last_ts);
  (*b)->dirty = true;
  return EmitOrder(buyer, ContributionOf(o, buyer, attribution_, cal_), +1);
}

absl::Status Engine::EmitOrder(BuyerState& b, const OrderContribution& c,
                               int sign) {
  const uint32_t agent =
      AgentNumber(c.agent == kNoAgent ? std::string_view() : b.agents[c.agent]);
  // A distinct-buyer counter moves when the buyer's count there crosses 0.
  auto step = [sign](int32_t& count) {
    const bool before = count > 0;
    count += sign;
    return static_cast<int>(count > 0) - static_cast<int>(before);
  };
  Counters created;
  created[kOrders] = sign;
  created[kOrderedBuyers] = step(b.CountAt(c.agent, c.created_day).ordered);
  absl::Status s = AddDelta(agent, c.created_day, created);
  if (s.ok() && c.paid) {
    Counters paid;
    paid[kPaidOrders] = sign;
    paid[kPaidItems] = sign * c.paid_items;
    paid[kSalesFen] = sign * c.paid_fen;
    paid[kPaidBuyers] = step(b.CountAt(c.agent, c.paid_day).paid);
    s = AddDelta(agent, c.paid_day, paid);
  }
  for (const OrderContribution::Refund& r : c.refunds) {
    if (!s.ok()) break;
    Counters refund;
    refund[kRefunds] = sign;
    refund[kRefundedItems] = sign * r.items;
    refund[kRefundFen] = sign * r.fen;
    s = AddDelta(agent, r.day, refund);
  }
  b.DropZeroCounts();
  return s;
}

absl::Status Engine::RecountThread(BuyerState& b, uint32_t agent,
                                   const ThreadDays& days, bool inbound,
                                   int64_t ts_ms,
                                   absl::FunctionRef<void()> change,
                                   const Message* inserted, size_t pos) {
  // Each day's difference: its counters before the change taken off here
  // and those after it added below; or, for the inserted message's day and
  // the days before it, folded at once.
  absl::InlinedVector<std::pair<int64_t, int64_t>, 3> bounds;  // [start, end)
  absl::InlinedVector<Counters, 3> deltas(days.size());
  absl::InlinedVector<bool, 3> folded(days.size(), false);
  for (size_t i = 0; i < days.size(); ++i) {
    bounds.emplace_back(cal_.DayStartMs(days[i]), cal_.DayStartMs(days[i] + 1));
    const auto [start, end] = bounds[i];
    if (inserted != nullptr && start <= inserted->ts) {
      AddInsertedThreadDayDelta(b, *inserted, pos, start, end, chat_,
                                &deltas[i]);
      folded[i] = true;
    } else {
      AddThreadDayCounters(b, agent, start, end, chat_, -1, &deltas[i]);
    }
  }
  // An `in` can attribute the buyer's orders created within the window
  // after it: their contributions come out before the change and go back in
  // after it, under whichever agent now earns them.
  OrderEntries affected;
  if (inbound) {
    absl::Status s = TakeOutOrders(
        b,
        [&](int64_t created_ts) {
          return created_ts >= ts_ms &&
                 created_ts - ts_ms <= attribution_.window_ms;
        },
        &affected);
    if (!s.ok()) return s;
  }
  change();
  uint32_t number = kNoAgent;  // the agent's AgentNumber, once needed
  for (size_t i = 0; i < days.size(); ++i) {
    Counters& delta = deltas[i];
    if (!folded[i]) {
      AddThreadDayCounters(b, agent, bounds[i].first, bounds[i].second, chat_,
                           1, &delta);
    }
    if (delta.IsZero()) continue;
    if (number == kNoAgent) number = AgentNumber(b.agents[agent]);
    absl::Status s = AddDelta(number, days[i], delta);
    if (!s.ok()) return s;
  }
  return PutBackOrders(b, affected);
}

absl::Status Engine::TakeOutOrders(
    BuyerState& b, absl::FunctionRef<bool(int64_t)> attributable,
    OrderEntries* affected) {
  for (const OrderRef& ref : b.orders) {
    if (!attributable(ref.created_ts)) continue;
    auto o = LoadOrder(ref.order);
    if (!o.ok()) return o.status();
    affected->push_back(*o);
  }
  for (OrderEntry* o : *affected) {
    absl::Status s =
        EmitOrder(b, ContributionOf(o->state, b, attribution_, cal_), -1);
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status Engine::PutBackOrders(BuyerState& b,
                                   const OrderEntries& affected) {
  for (OrderEntry* o : affected) {
    absl::Status s =
        EmitOrder(b, ContributionOf(o->state, b, attribution_, cal_), +1);
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status Engine::ApplyChat(const Event& e) {
  if (IsAutomaticReply(e)) return absl::OkStatus();  // changes no KPI
  auto loaded = LoadBuyer(BuyerOf(e));
  if (!loaded.ok()) return loaded.status();
  BuyerEntry& entry = **loaded;
  BuyerState& b = entry.state;

  Message msg = MessageOf(b, e);
  const size_t pos = std::upper_bound(b.messages.begin(), b.messages.end(), msg,
                                      MessageBefore) -
                     b.messages.begin();

  const ThreadDays days = AffectedThreadDays(b, msg.agent, pos, msg.ts, cal_);
  const uint32_t agent = msg.agent;
  ReserveOneMore(b.messages);
  // `msg` is read by RecountThread before the change moves it.
  absl::Status s = RecountThread(
      b, agent, days, e.inbound, e.ts_ms,
      [&] { b.messages.insert(b.messages.begin() + pos, std::move(msg)); },
      &msg, pos);
  if (!s.ok()) return s;
  b.last_ts = std::max(b.last_ts, e.ts_ms);
  entry.dirty = true;
  return absl::OkStatus();
}

Message Engine::MessageOf(BuyerState& b, const Event& e) const {
  Message msg;
  msg.ts = e.ts_ms;
  msg.agent = b.AgentIndex(e.agent);
  msg.id = e.id;
  msg.flags = Message::kUnwritten;
  if (e.inbound) {
    msg.flags |= Message::kIn;
  } else {
    if (ContainsAny(e.text, rules_.good_keywords)) msg.flags |= Message::kGood;
    if (ContainsAny(e.text, rules_.bad_keywords)) msg.flags |= Message::kBad;
  }
  return msg;
}

absl::Status Engine::ApplyChats(std::vector<const Event*>& chats) {
  if (!failed_.ok()) return failed_;
  absl::Status s;
  // Usually one buyer; else each buyer's chats, in order of buyer.
  auto by_buyer = [](const Event* a, const Event* b) {
    return a->buyer < b->buyer;
  };
  if (std::adjacent_find(chats.begin(), chats.end(),
                         [](const Event* a, const Event* b) {
                           return a->buyer != b->buyer;
                         }) != chats.end()) {
    std::stable_sort(chats.begin(), chats.end(), by_buyer);
  }
  for (size_t i = 0; s.ok() && i < chats.size();) {
    size_t j = i + 1;
    while (j < chats.size() && chats[j]->buyer == chats[i]->buyer) ++j;
    const absl::Span<const Event* const> group(chats.data() + i, j - i);
    s = group.size() == 1 ? ApplyChat(*group[0]) : ApplyBuyerChats(group);
    i = j;
  }
  if (!s.ok()) failed_ = s;
  return s;
}

absl::Status Engine::ApplyBuyerChats(absl::Span<const Event* const> chats) {
  // An automatic `out` counts nothing (ApplyChat).
  auto counts = [](const Event* e) { return !IsAutomaticReply(*e); };
  if (std::none_of(chats.begin(), chats.end(), counts)) {
    return absl::OkStatus();
  }
  auto loaded = LoadBuyer(BuyerOf(*chats[0]));
  if (!loaded.ok()) return loaded.status();
  BuyerEntry& entry = **loaded;
  BuyerState& b = entry.state;
  int64_t earliest = INT64_MAX;
  for (const Event* e : chats) {
    if (counts(e)) earliest = std::min(earliest, e->ts_ms);
  }
  if (!b.messages.empty() && earliest <= b.messages.back().ts) {
    // A late message: its own recount (ApplyChat) stops at its thread's
    // next `out`, where one of whole days from it on would step through
    // every message after it, twice.
    for (const Event* e : chats) {
      absl::Status s = ApplyChat(*e);
      if (!s.ok()) return s;
    }
    return absl::OkStatus();
  }
  // RecountThread for all the messages at once: every thread-day they can
  // change counted before and after, and every order an `in` among them
  // can attribute taken out before and put back after (docs/engine.md,
  // "Throughput"). They all come after the buyer's others.
  absl::InlinedVector<Message, 16> added;
  int64_t newest = b.last_ts;
  for (const Event* e : chats) {
    if (!counts(e)) continue;
    added.push_back(MessageOf(b, *e));
    added.back().flags |= Message::kApplying;
    newest = std::max(newest, e->ts_ms);
  }
  std::sort(added.begin(), added.end(), MessageBefore);
  // The orders first, from the state without the messages.
  OrderEntries affected;
  absl::Status s = TakeOutOrders(
      b,
      [&](int64_t created_ts) {
        return std::any_of(added.begin(), added.end(), [&](const Message& m) {
          return m.inbound() && created_ts >= m.ts &&
                 created_ts - m.ts <= attribution_.window_ms;
        });
      },
      &affected);
  if (!s.ok()) return s;
  // Then the messages in after the others, flagged.
  std::vector<Message>& m = b.messages;
  const size_t first = m.size();
  m.insert(m.end(), added.begin(), added.end());
  // The thread-days they change: the union of each one's with all in
  // (AffectedThreadDaysOf).
  absl::InlinedVector<std::pair<uint32_t, int32_t>, 8> days;
  for (size_t i = first; i < m.size(); ++i) {
    for (int32_t d : AffectedThreadDaysOf(b, i, cal_)) {
      const std::pair<uint32_t, int32_t> key(m[i].agent, d);
      if (std::find(days.begin(), days.end(), key) == days.end()) {
        days.push_back(key);
      }
    }
  }
  for (const auto& [agent, day] : days) {
    const int64_t start = cal_.DayStartMs(day);
    const int64_t end = cal_.DayStartMs(day + 1);
    Counters delta;
    AddThreadDayCounters(b, agent, start, end, chat_, -1, &delta,
                         Message::kApplying);
    AddThreadDayCounters(b, agent, start, end, chat_, 1, &delta);
    if (delta.IsZero()) continue;
    s = AddDelta(AgentNumber(b.agents[agent]), day, delta);
    if (!s.ok()) break;
  }
  for (size_t i = first; i < m.size(); ++i) {
    m[i].flags &= ~Message::kApplying;
  }
  if (!s.ok()) return s;
  s = PutBackOrders(b, affected);
  if (!s.ok()) return s;
  b.last_ts = newest;
  entry.dirty = true;
  return absl::OkStatus();
}

absl::Status Engine::ApplyOrder(const Event& e) {
  auto loaded = LoadOrder(e.order);
  if (!loaded.ok()) return loaded.status();
  OrderEntry& oentry = **loaded;
  OrderState& o = oentry.state;

  BuyerEntry* old_buyer = nullptr;
  if (!o.events.empty()) {
    auto b = LoadBuyer(o.buyer());
    if (!b.ok()) return b.status();
    old_buyer = *b;
    absl::Status s =
        EmitOrder(old_buyer->state,
                  ContributionOf(o, old_buyer->state, attribution_, cal_), -1);
    if (!s.ok()) return s;
  }

  InsertOrderEvent(o, OrderRecordOf(e));
  oentry.dirty = true;

  auto nb = LoadBuyer(o.buyer());
  if (!nb.ok()) return nb.status();
  BuyerEntry* buyer = *nb;
  if (old_buyer != nullptr && old_buyer != buyer) {
    // An earlier event named another buyer: the order moves.
    DropOrderRef(old_buyer->state, e.order);
    old_buyer->dirty = true;
  }
  SetOrderRef(buyer->state, e.order, o.CreatedTs());
  buyer->state.last_ts = std::max(buyer->state.last_ts, e.ts_ms);
  buyer->dirty = true;
  return EmitOrder(buyer->state,
                   ContributionOf(o, buyer->state, attribution_, cal_), +1);
}

absl::StatusOr<Engine::AssessmentSlot*> Engine::LoadAssessment(
    const std::string& key) {
  auto it = pending_assessments_.find(key);
  if (it != pending_assessments_.end()) return &it->second;
  AssessmentSlot slot;
  auto list = store_->Get(Family::kMeta, AssessmentCandidatesKey(key));
  if (!list.ok()) return list.status();
  if (list->has_value()) {
    if (!DecodeAssessmentCandidates(**list, &slot.candidates)) {
      return absl::DataLossError("assessment candidates are corrupt");
    }
  } else {
    // None yet, or a key of a build that kept only the winner.
    auto stored = store_->Get(Family::kAssessments, key);
    if (!stored.ok()) return stored.status();
    if (stored->has_value()) {
      std::string_view v = **stored, order;
      if (!GetLengthPrefixed(&v, &order)) {
        return absl::DataLossError("assessment record is corrupt");
      }
      slot.candidates.emplace_back(std::string(order), std::string(v));
      slot.complete = false;
    }
  }
  return &pending_assessments_.emplace(key, std::move(slot)).first->second;
}

absl::Status Engine::ApplyAssessment(const Event& e) {
  auto slot = LoadAssessment(AssessmentKey(e));
  if (!slot.ok()) return slot.status();
  (*slot)->candidates.emplace_back(AssessmentOrder(e), e.value_text);
  return absl::OkStatus();
}

absl::Status Engine::RetractAssessment(const Event& e) {
  auto slot = LoadAssessment(AssessmentKey(e));
  if (!slot.ok()) return slot.status();
  auto& c = (*slot)->candidates;
  const std::pair<std::string, std::string> mine(AssessmentOrder(e),
                                                 e.value_text);
  auto it = std::find(c.begin(), c.end(), mine);
  // Not listed: a key kept by an older build whose winner this was not,
  // so nothing of it counts now.
  if (it == c.end()) return absl::OkStatus();
  c.erase(it);
  if (!(*slot)->complete) {
    return absl::FailedPreconditionError(absl::StrCat(
        "--db ", store_->dir(), ": assessment '", e.id,
        "' has a conflicting copy that wins, and this store was built by a "
        "version that kept only the winning assessment of (",
        e.period, ", ", e.agent, ", ", e.metric,
        "), so the one that wins now is unknown. Run `chatkpi replay` with "
        "the store's rules once, then ingest again."));
  }
  return absl::OkStatus();
}

absl::Status Engine::AddDeadLetter(const DeadLetter& d) {
  if (!failed_.ok()) return failed_;
  auto stored = store_->Get(Family::kDead, d.position);
  if (!stored.ok()) {
    failed_ = stored.status();
    return failed_;
  }
  if (stored->has_value()) return absl::OkStatus();
  commit_.Put(Family::kDead, d.position,
              EncodeDeadLetterValue(d.reason, d.raw));
  // Positions in one commit are distinct (a source moves forward), so the
  // store lookup above is enough to count each position once.
  ++new_dead_letters_;
  ++stats_.dead_letters;
  ++pending_;
  return absl::OkStatus();
}

void Engine::SetPosition(std::string_view source, std::string_view value) {
  positions_[std::string(source)] = std::string(value);
}

absl::StatusOr<std::optional<std::string>> Engine::GetPosition(
    std::string_view source) {
  return store_->Get(Family::kMeta,
                     absl::StrCat(kMetaPositionPrefix, std::string(source)));
}

absl::Status Engine::Commit() {
  if (!failed_.ok()) return failed_;
  absl::Status s = CommitPending();
  if (!s.ok()) failed_ = s;
  return s;
}

absl::Status Engine::CommitPending() {
  if (opts_.siblings != nullptr) return opts_.siblings->CommitAll();
  return CommitUnchecked();
}

absl::Status Engine::CommitUnchecked() { return CommitTogether({this}); }

absl::Status Engine::CommitTogether(const std::vector<Engine*>& engines) {
  absl::Status s = BeginCommit(engines);
  for (Engine* e : engines) {
    if (!s.ok()) break;
    s = e->PrepareCommit(/*seal=*/false);
  }
  if (!s.ok()) return FailAll(engines, s);
  s = WritePrepared(engines);
  if (!s.ok()) return s;
  for (Engine* e : engines) e->Committed();
  return absl::OkStatus();
}

absl::Status Engine::FailAll(const std::vector<Engine*>& engines,
                             const absl::Status& s) {
  for (Engine* e : engines) {
    if (e->failed_.ok()) e->failed_ = s;
  }
  return s;
}

absl::Status Engine::BeginCommit(const std::vector<Engine*>& engines) {
  for (Engine* e : engines) {
    if (!e->failed_.ok()) return e->failed_;
  }
  uint64_t seq = engines.front()->store_->next_seq();
  for (Engine* e : engines) {
    e->commit_first_seq_ = seq;
    seq += e->commit_.num_events();
    // Here, not in PrepareCommit: it reads the other shards' days.
    e->cardinality_.AddTo(&e->commit_);
  }
  return absl::OkStatus();
}

absl::Status Engine::WritePrepared(const std::vector<Engine*>& engines) {
  absl::Status s = PutStoreCounters(engines);
  if (!s.ok()) return s;
  std::vector<chatkpi::Commit*> commits;
  for (Engine* e : engines) commits.push_back(&e->commit_);
  s = engines.front()->store_->WriteAll(commits);
  if (!s.ok()) return FailAll(engines, s);
  return absl::OkStatus();
}

absl::Status Engine::PutStoreCounters(const std::vector<Engine*>& engines) {
  Store* store = engines.front()->store_;
  auto fail = [&](const absl::Status& s) { return FailAll(engines, s); };
  int64_t dead_letters = 0;
  int64_t conflicts = 0;
  int64_t superseded = 0;
  for (Engine* e : engines) {
    if (!e->failed_.ok()) return fail(e->failed_);
    dead_letters += e->new_dead_letters_;
    conflicts += e->new_conflicts_;
    superseded += e->new_superseded_;
  }
  // The store-wide counters: read-modify-write at commit time rather than
  // totals kept since Open, since several engines (Kafka partitions, file
  // shards) share a store and its counters, and commit one after another.
  chatkpi::Commit& first = engines.front()->commit_;
  if (conflicts > 0) {
    auto total = ReadMetaCounter(*store, kMetaConflicts);
    if (!total.ok()) return fail(total.status());
    PutMetaCounter(&first, kMetaConflicts, *total + conflicts);
  }
  // Written by a store's first commit too (a store of an earlier build
  // counts it from its log, once), so that counting its events never has
  // to read the log again (engine/event_count.h).
  auto counted = ReadMetaCounterIfPresent(*store, kMetaSuperseded);
  if (!counted.ok()) return fail(counted.status());
  if (!counted->has_value() || superseded > 0) {
    auto held = counted->has_value() ? absl::StatusOr<int64_t>(**counted)
                                     : SupersededEntries(*store);
    if (!held.ok()) return fail(held.status());
    PutMetaCounter(&first, kMetaSuperseded, *held + superseded);
  }
  if (dead_letters > 0) {
    auto stored = ReadMetaCounter(*store, kMetaDeadLetters);
    if (!stored.ok()) return fail(stored.status());
    int64_t total = 0;
    if (!CheckedAdd(*stored, dead_letters, &total)) {
      return fail(OverflowError("the dead letter count"));
    }
    PutMetaCounter(&first, kMetaDeadLetters, total);
  }
  return absl::OkStatus();
}

namespace {

// The states a commit writes were last touched up to a batch ago and are
// cold: PrepareCommit loads each entry, then its vectors, a few states
// ahead of the one it encodes (docs/engine.md, "Throughput").
constexpr size_t kEntriesAhead = 8;
constexpr size_t kStateDataAhead = 4;
constexpr size_t kEncodeLines = 8;  // of a state's longest vector

template <typename Entry>
void PrefetchAhead(
    const std::vector<std::pair<std::string_view, Entry*>>& states, size_t i) {
  if (i + kEntriesAhead < states.size()) {
    PrefetchBytes(states[i + kEntriesAhead].second, sizeof(Entry));
  }
  if (i + kStateDataAhead < states.size()) {
    PrefetchVectors(states[i + kStateDataAhead].second->state, kEncodeLines);
  }
}

}  // namespace

absl::Status Engine::PrepareCommit(bool seal) {
  // Keys go into the batch sorted: the memtable skiplist then reuses its
  // insert position from one key to the next.
  std::vector<std::pair<std::string_view, BuyerEntry*>>& buyers =
      committing_buyers_;
  buyers.clear();
  for (auto& [name, entry] : buyers_) {
    if (entry->dirty) buyers.emplace_back(name, entry.get());
  }
  std::sort(buyers.begin(), buyers.end());
  // Each state is counted again as it is encoded (BuyerEntry::bytes), while
  // its vectors are in the cache.
  for (size_t i = 0; i < buyers.size(); ++i) {
    PrefetchAhead(buyers, i);
    auto [name, entry] = buyers[i];
    BuyerState& b = entry->state;
    // What the commit added is appended to the stored value; the state is
    // written whole when nothing is stored yet, when a message went, and
    // when the stored value has grown to kMaxStoredRecords records.
    if (b.stored_records == 0 || b.stored_records >= kMaxStoredRecords) {
      commit_.Put(Family::kBuyers, StateKey(name),
                  EncodeBuyerState(b, &encode_buffer_));
      b.stored_records = 1;
    } else {
      commit_.Append(Family::kBuyers, StateKey(name),
                     EncodeBuyerRecord(b, &encode_buffer_));
      ++b.stored_records;
    }
    for (Message& m : b.messages) m.flags &= ~Message::kUnwritten;
    entry->bytes = StateBytes(name, b);
  }
  std::vector<std::pair<std::string_view, OrderEntry*>>& orders =
      committing_orders_;
  orders.clear();
  for (auto& [name, entry] : orders_) {
    if (entry->dirty) orders.emplace_back(name, entry.get());
  }
  std::sort(orders.begin(), orders.end());
  for (size_t i = 0; i < orders.size(); ++i) {
    PrefetchAhead(orders, i);
    auto [name, entry] = orders[i];
    // An order with no event left, or moved to another file shard, has no
    // state here (FileShards::OrderShard looks for it by shard).
    if (entry->state.events.empty()) {
      commit_.Delete(Family::kOrders, StateKey(name));
    } else {
      commit_.Put(Family::kOrders, StateKey(name),
                  EncodeOrderState(entry->state, &encode_buffer_));
    }
    entry->bytes = StateBytes(name, entry->state);
  }
  std::vector<RowChange> changes;
  // Rows go in sorted by store key too: in hash-map order each was a
  // search of the skiplist from its top, among the versions of every row
  // the memtable holds (a shuffled commit rewrites most of a shard's rows).
  std::vector<std::pair<std::string, const RowEntry*>>& dirty =
      committing_rows_;
  auto put_rows = [&](Family f, auto& rows) {
    dirty.clear();
    for (auto& [key, entry] : rows) {
      if (!entry.dirty) continue;
      if (commit_listener_ && f == Family::kAggregates) {
        changes.push_back({opts_.shard, RowSlot(key),
                           agent_names_[RowAgent(key)].name, entry.value});
      }
      dirty.emplace_back(RowStoreKey(f, RowAgent(key), RowSlot(key)), &entry);
    }
    std::sort(dirty.begin(), dirty.end());
    for (const auto& [k, entry] : dirty) {
      if (entry->value.IsZero()) {
        commit_.Delete(f, k);
      } else {
        commit_.Put(f, k, EncodeCounters(entry->value));
      }
    }
  };
  put_rows(Family::kAggregates, rows_);
  put_rows(Family::kRollups, rollups_);
  for (auto& [key, slot] : pending_assessments_) {
    // docs/spec.md §1: of one (agent, period, metric) the greatest (ts, id)
    // wins.
    auto best =
        std::max_element(slot.candidates.begin(), slot.candidates.end());
    if (best == slot.candidates.end()) {
      commit_.Delete(Family::kAssessments, key);
    } else {
      std::string value;
      PutLengthPrefixed(&value, best->first);
      value.append(best->second);
      commit_.Put(Family::kAssessments, key, value);
    }
    if (slot.complete) {
      commit_.Put(Family::kMeta, AssessmentCandidatesKey(key),
                  EncodeAssessmentCandidates(slot.candidates));
    }
  }
  for (auto& [key, value] : pending_conflicts_) {
    commit_.Put(Family::kMeta, key, value);
  }
  for (auto& [source, value] : positions_) {
    commit_.Put(Family::kMeta, absl::StrCat(kMetaPositionPrefix, source),
                value);
  }
  if (opts_.shard != 0 && commit_.num_events() > 0) {
    // Replay re-applies each event in its shard (engine/shard_runs.h).
    commit_.Put(Family::kMeta, ShardRunKey(commit_first_seq_),
                ShardRunValue(opts_.shard, commit_.num_events()));
  }
  commit_changes_ = std::move(changes);
  if (seal) return commit_.SealLog(commit_first_seq_);
  return absl::OkStatus();
}

void Engine::Committed() {
  cardinality_.Committed();
  ++stats_.commits;
  // The dirty states are those PrepareCommit wrote: the others' entries
  // are not visited again.
  for (auto& [name, entry] : committing_buyers_) entry->dirty = false;
  for (auto& [name, entry] : committing_orders_) entry->dirty = false;
  committing_buyers_.clear();
  committing_orders_.clear();
  for (auto& [key, entry] : rows_) entry.dirty = false;
  for (auto& [key, entry] : rollups_) entry.dirty = false;
  pending_assessments_.clear();
  pending_conflicts_.clear();
  positions_.clear();
  new_dead_letters_ = 0;
  new_conflicts_ = 0;
  new_superseded_ = 0;
  pending_ = 0;
  if (!commit_changes_.empty()) commit_listener_(commit_changes_);
  commit_changes_.clear();
  Evict();
}

template <typename Entry>
size_t Engine::EvictWhere(StateMap<Entry>& states, Family f,
                          absl::FunctionRef<bool(const Entry&)> evict,
                          int64_t* evicted,
                          std::vector<HeldState>* kept_states) {
  // After a commit: every state is clean, so the store holds what goes to
  // evicted_states_. The map's nodes move there whole.
  size_t evicted_bytes = 0;
  for (auto it = states.begin(); it != states.end();) {
    const Entry& entry = *it->second;
    if (!evict(entry)) {
      if (kept_states != nullptr) {
        kept_states->push_back(
            {entry.touched, entry.state.last_ts, entry.bytes});
      }
      ++it;
      continue;
    }
    ForgetKnown(f, it->first);
    auto node = states.extract(it++);
    const size_t bytes = node.mapped()->bytes;
    evicted_bytes += bytes;
    evicted_states_->Put(evicted_owner_, std::move(node.key()),
                         std::move(node.mapped()), bytes);
    ++*evicted;
  }
  return evicted_bytes;
}

void Engine::Evict() {
  const int64_t cutoff = newest_ts_ - horizon_ms_;
  const uint32_t round = evict_round_;
  // Past the horizon, a state goes once a whole batch passed without
  // touching it. In time order that is a batch after its last event; in a
  // shuffled file, whose newest event time reaches the month's end at once,
  // it keeps the states the input keeps coming back to, which the horizon
  // alone would send to the pool after every commit and take back in the
  // next batch.
  const auto past_horizon = [&](const auto& e) {
    return e.state.last_ts < cutoff;
  };
  std::vector<HeldState> held;
  held.reserve(buyers_.size() + orders_.size());
  EvictWhere<BuyerEntry>(
      buyers_, Family::kBuyers,
      [&](const BuyerEntry& e) {
        return past_horizon(e) && e.touched != round;
      },
      &stats_.evicted_buyers, &held);
  EvictWhere<OrderEntry>(
      orders_, Family::kOrders,
      [&](const OrderEntry& e) {
        return past_horizon(e) && e.touched != round;
      },
      &stats_.evicted_orders, &held);
  size_t kept = 0;
  for (const HeldState& h : held) kept += h.bytes;
  const size_t keep = opts_.live_state_budget_bytes / 2;
  if (kept > keep) {
    // Over half the budget the engine is bound by it: every state past the
    // horizon goes, touched or not (kept, it would leave the next batch
    // less room, and so bring more commits, each writing its states again).
    kept -= EvictWhere<BuyerEntry>(buyers_, Family::kBuyers, past_horizon,
                                   &stats_.evicted_buyers, nullptr);
    kept -= EvictWhere<OrderEntry>(orders_, Family::kOrders, past_horizon,
                                   &stats_.evicted_orders, nullptr);
    std::erase_if(held, [&](const HeldState& h) { return h.last_ts < cutoff; });
  }
  if (kept > keep) {
    // Still over half (a dense day): the states idle longest go too —
    // untouched for the most batches, then those of the oldest last events
    // — until at most half is left, so that the budget leaves room for the
    // next batch's loads.
    std::sort(held.begin(), held.end());
    // Every state idle at least as long as `last` goes.
    HeldState last = held.back();
    size_t left = kept;
    for (const HeldState& h : held) {
      if (left <= keep) break;
      left -= h.bytes;
      last = h;
    }
    const auto idle = [&](const auto& e) {
      return std::pair(e.touched, e.state.last_ts) <=
             std::pair(last.touched, last.last_ts);
    };
    kept -= EvictWhere<BuyerEntry>(buyers_, Family::kBuyers, idle,
                                   &stats_.evicted_buyers, nullptr);
    kept -= EvictWhere<OrderEntry>(orders_, Family::kOrders, idle,
                                   &stats_.evicted_orders, nullptr);
  }
  live_state_bytes_.store(kept, std::memory_order_relaxed);
  const int32_t cutoff_day = cal_.DayOf(cutoff) - 1;
  cardinality_.Evict(cutoff_day);
  // Rows past the horizon go once a batch passed without touching them,
  // as states do (a shuffled file touches every day's rows in each batch).
  auto drop_row = [&](Family f, RowKey key) {
    ForgetKnown(f, RowStoreKey(f, RowAgent(key), RowSlot(key)));
    --agent_names_[RowAgent(key)].rows;
  };
  absl::erase_if(rows_, [&](const auto& kv) {
    if (RowSlot(kv.first) >= cutoff_day || kv.second.touched == round) {
      return false;
    }
    drop_row(Family::kAggregates, kv.first);
    return true;
  });
  const int32_t cutoff_month = MonthOfDay(cutoff_day) - 1;
  const size_t erased_rollups = absl::erase_if(rollups_, [&](const auto& kv) {
    if (RowSlot(kv.first) >= cutoff_month || kv.second.touched == round) {
      return false;
    }
    drop_row(Family::kRollups, kv.first);
    return true;
  });
  if (erased_rollups > 0) {
    for (auto& [key, entry] : rows_) entry.rollup = nullptr;
  }
  // The numbers of agents without rows are free again, so that the table
  // holds the agents of the rows held, not every agent ever seen.
  for (uint32_t n = 0; n < agent_names_.size(); ++n) {
    AgentName& agent = agent_names_[n];
    if (agent.free || agent.rows > 0) continue;
    agent_numbers_.erase(Key(agent.name));
    agent = AgentName{std::string(), 0, true};
    free_agent_numbers_.push_back(n);
  }
  ++evict_round_;
}

}  // namespace chatkpi
