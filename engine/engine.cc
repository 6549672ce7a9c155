#include "engine/engine.h"

#include <algorithm>

#include "absl/container/inlined_vector.h"
#include "absl/hash/hash.h"
#include "absl/strings/str_cat.h"
#include "engine/shard_runs.h"
#include "store/coding.h"

namespace chatkpi {
namespace {

// Debian's Abseil has its own string_view; its hash maps look up by it.
absl::string_view Key(std::string_view s) { return {s.data(), s.size()}; }

bool ContainsAny(const std::string& text, const std::vector<std::string>& kws) {
  for (const std::string& k : kws) {
    if (text.find(k) != std::string::npos) return true;
  }
  return false;
}

std::string AssessmentKey(const Event& e) {
  std::string k = e.period;
  k.push_back('\0');
  k.append(e.agent);
  k.push_back('\0');
  k.append(e.metric);
  return k;
}

// (ts, id) as bytes that compare like the tuple: ts is positive after
// validation, so big-endian bytes sort numerically.
std::string AssessmentOrder(const Event& e) {
  std::string o;
  PutFixed64BE(&o, static_cast<uint64_t>(e.ts_ms));
  o.append(e.id);
  return o;
}

}  // namespace

absl::StatusOr<std::optional<Rules>> StoredRules(Store& store) {
  auto stored = store.Get(Family::kMeta, kMetaRules);
  if (!stored.ok()) return stored.status();
  if (!stored->has_value()) return std::optional<Rules>();
  auto rules = ParseRules(**stored);
  if (!rules.ok()) return rules.status();
  return std::optional<Rules>(std::move(*rules));
}

Engine::Engine(const Rules& rules, Store* store, const EngineOptions& opts)
    : rules_(rules),
      store_(store),
      opts_(opts),
      cal_(rules.timezone),
      commit_(store),
      cardinality_(store, opts.shard, opts.limits),
      evicted_states_(opts.evicted_states != nullptr
                          ? opts.evicted_states
                          : std::make_shared<EvictedStates>()),
      evicted_owner_(evicted_states_->NewOwner()) {
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
  } else if (**stored != json) {
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

constexpr size_t kMaxKnown = size_t{16} << 20;

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
absl::StatusOr<Entry*> Engine::LoadState(
    absl::flat_hash_map<std::string, std::unique_ptr<Entry>>& states, Family f,
    std::string_view name, bool (*decode)(std::string_view, State*)) {
  auto it = states.find(Key(name));
  if (it != states.end()) return it->second.get();
  // A state this engine never evicted is in neither the pool nor the store
  // (KnownAbsent); one it evicted is clean, so the pool and the store hold
  // the same.
  const bool absent = KnownAbsent(f, name);
  std::unique_ptr<Entry> entry;
  if (!absent) entry = evicted_states_->Take<Entry>(evicted_owner_, name);
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
  }
  Entry* raw = entry.get();
  states.emplace(std::string(name), std::move(entry));
  return raw;
}

absl::StatusOr<BuyerEntry*> Engine::LoadBuyer(std::string_view buyer) {
  return LoadState(buyers_, Family::kBuyers, buyer, DecodeBuyerState);
}

absl::StatusOr<OrderEntry*> Engine::LoadOrder(std::string_view order) {
  return LoadState(orders_, Family::kOrders, order, DecodeOrderState);
}

absl::StatusOr<Counters*> Engine::LoadRow(Family f, std::string_view agent,
                                          int32_t slot) {
  auto& rows = f == Family::kRollups ? rollups_ : rows_;
  RowKey key(std::string(agent), slot);
  auto it = rows.find(key);
  if (it == rows.end()) {
    RowEntry entry;
    const std::string k = f == Family::kRollups
                              ? RollupKey(opts_.shard, slot, agent)
                              : AggregateKey(opts_.shard, slot, agent);
    if (!KnownAbsent(f, k)) {
      auto stored = store_->Get(f, k);
      if (!stored.ok()) return stored.status();
      if (stored->has_value() && !DecodeCounters(**stored, &entry.value)) {
        return absl::DataLossError("aggregate row is corrupt");
      }
    }
    it = rows.emplace(std::move(key), entry).first;
  }
  it->second.dirty = true;
  return &it->second.value;
}

absl::Status Engine::AddDelta(std::string_view agent, int32_t day,
                              const Counters& delta) {
  if (delta.IsZero()) return absl::OkStatus();
  auto row = LoadRow(Family::kAggregates, agent, day);
  if (!row.ok()) return row.status();
  **row += delta;
  auto rollup = LoadRow(Family::kRollups, agent, MonthOfDay(day));
  if (!rollup.ok()) return rollup.status();
  **rollup += delta;
  return absl::OkStatus();
}

void Engine::Prefetch(const Event& e) const {
  commit_.PrefetchEvent(e.id);
  if (e.type == EventType::kChat) buyers_.prefetch(Key(e.buyer));
  if (e.type == EventType::kOrder) orders_.prefetch(Key(e.order));
}

absl::StatusOr<bool> Engine::Apply(const Event& e, std::string_view raw) {
  if (!failed_.ok()) return failed_;
  auto applied = ApplyUnchecked(e, raw);
  if (!applied.ok()) failed_ = applied.status();
  return applied;
}

absl::StatusOr<bool> Engine::ApplyUnchecked(const Event& e,
                                            std::string_view raw) {
  // The store knows every id it holds and every id a pending commit on it
  // (this engine's or another shard's) has claimed.
  auto fresh = commit_.AppendEvent(e.id, raw);
  if (!fresh.ok()) return fresh.status();
  if (!*fresh) {
    ++stats_.duplicates;
    return false;
  }
  newest_ts_ = std::max(newest_ts_, e.ts_ms);
  absl::Status s;
  switch (e.type) {
    case EventType::kChat:
      s = ApplyChat(e);
      break;
    case EventType::kOrder:
      s = ApplyOrder(e);
      break;
    case EventType::kAssessment:
      s = ApplyAssessment(e);
      break;
  }
  if (!s.ok()) return s;
  if (e.type != EventType::kAssessment) {
    s = cardinality_.Observe(cal_.DayOf(e.ts_ms),
                             e.type == EventType::kChat
                                 ? std::string_view(e.agent)
                                 : std::string_view(),
                             e.buyer);
    if (!s.ok()) return s;
  }
  ++pending_;
  ++stats_.accepted;
  return true;
}

absl::Status Engine::EmitOrder(BuyerState& b, const OrderContribution& c,
                               int sign) {
  const std::string& agent =
      c.agent == kNoAgent ? std::string() : b.agents[c.agent];
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

absl::Status Engine::ApplyChat(const Event& e) {
  // An `in` is a question whatever its `auto` flag says (SPEC: auto is only
  // meaningful on `out`); an automatic `out` changes no KPI.
  if (!e.inbound && e.auto_reply) return absl::OkStatus();
  auto loaded = LoadBuyer(e.buyer);
  if (!loaded.ok()) return loaded.status();
  BuyerEntry& entry = **loaded;
  BuyerState& b = entry.state;

  Message msg;
  msg.ts = e.ts_ms;
  msg.agent = b.AgentIndex(e.agent);
  msg.id = e.id;
  if (e.inbound) {
    msg.flags = Message::kIn;
  } else {
    if (ContainsAny(e.text, rules_.good_keywords)) msg.flags |= Message::kGood;
    if (ContainsAny(e.text, rules_.bad_keywords)) msg.flags |= Message::kBad;
  }
  const size_t pos = std::upper_bound(b.messages.begin(), b.messages.end(), msg,
                                      MessageBefore) -
                     b.messages.begin();

  const ThreadDays days = AffectedThreadDays(b, msg.agent, pos, msg.ts, cal_);
  absl::InlinedVector<Counters, 3> before;
  for (int32_t d : days) {
    before.push_back(ThreadDayCounters(b, msg.agent, cal_.DayStartMs(d),
                                       cal_.DayStartMs(d + 1), chat_));
  }
  // An `in` can attribute the buyer's orders created within the window
  // after it.
  absl::InlinedVector<OrderEntry*, 4> affected;
  if (e.inbound) {
    for (const OrderRef& ref : b.orders) {
      if (ref.created_ts < msg.ts ||
          ref.created_ts - msg.ts > attribution_.window_ms) {
        continue;
      }
      auto o = LoadOrder(ref.order);
      if (!o.ok()) return o.status();
      affected.push_back(*o);
    }
    for (OrderEntry* o : affected) {
      absl::Status s =
          EmitOrder(b, ContributionOf(o->state, b, attribution_, cal_), -1);
      if (!s.ok()) return s;
    }
  }

  b.messages.insert(b.messages.begin() + pos, std::move(msg));
  const uint32_t agent = b.messages[pos].agent;

  for (size_t i = 0; i < days.size(); ++i) {
    Counters after = ThreadDayCounters(b, agent, cal_.DayStartMs(days[i]),
                                       cal_.DayStartMs(days[i] + 1), chat_);
    after -= before[i];
    absl::Status s = AddDelta(b.agents[agent], days[i], after);
    if (!s.ok()) return s;
  }
  for (OrderEntry* o : affected) {
    absl::Status s =
        EmitOrder(b, ContributionOf(o->state, b, attribution_, cal_), +1);
    if (!s.ok()) return s;
  }
  b.last_ts = std::max(b.last_ts, e.ts_ms);
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

  OrderEventRecord rec;
  rec.ts = e.ts_ms;
  rec.id = e.id;
  rec.status = e.status;
  rec.amount_fen = e.amount_fen;
  rec.items = e.items;
  rec.buyer = e.buyer;
  o.events.insert(
      std::upper_bound(o.events.begin(), o.events.end(), rec, OrderEventBefore),
      std::move(rec));
  o.last_ts = std::max(o.last_ts, e.ts_ms);
  oentry.dirty = true;

  auto nb = LoadBuyer(o.buyer());
  if (!nb.ok()) return nb.status();
  BuyerEntry* buyer = *nb;
  if (old_buyer != nullptr && old_buyer != buyer) {
    // An earlier event named another buyer: the order moves.
    std::erase_if(old_buyer->state.orders,
                  [&](const OrderRef& r) { return r.order == e.order; });
    old_buyer->dirty = true;
  }
  const int64_t created = o.CreatedTs();
  auto ref =
      std::find_if(buyer->state.orders.begin(), buyer->state.orders.end(),
                   [&](const OrderRef& r) { return r.order == e.order; });
  if (ref == buyer->state.orders.end()) {
    buyer->state.orders.push_back(OrderRef{e.order, created});
  } else {
    ref->created_ts = created;
  }
  buyer->state.last_ts = std::max(buyer->state.last_ts, e.ts_ms);
  buyer->dirty = true;
  return EmitOrder(buyer->state,
                   ContributionOf(o, buyer->state, attribution_, cal_), +1);
}

absl::Status Engine::ApplyAssessment(const Event& e) {
  std::string key = AssessmentKey(e);
  std::string order = AssessmentOrder(e);
  auto it = pending_assessments_.find(key);
  if (it == pending_assessments_.end()) {
    auto stored = store_->Get(Family::kAssessments, key);
    if (!stored.ok()) return stored.status();
    if (stored->has_value()) {
      std::string_view v = **stored, stored_order;
      if (!GetLengthPrefixed(&v, &stored_order)) {
        return absl::DataLossError("assessment record is corrupt");
      }
      if (stored_order >= order) return absl::OkStatus();
    }
  } else if (it->second.first >= order) {
    return absl::OkStatus();
  }
  std::string value;
  PutLengthPrefixed(&value, order);
  value.append(e.value_text);
  pending_assessments_[key] = {std::move(order), std::move(value)};
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
  std::string value = d.reason;
  value.push_back('\0');
  value.append(d.raw);
  commit_.Put(Family::kDead, d.position, value);
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
  absl::Status s = CommitUnchecked();
  if (!s.ok()) failed_ = s;
  return s;
}

absl::Status Engine::CommitUnchecked() {
  // Keys go into the batch sorted: the memtable skiplist then reuses its
  // insert position from one key to the next.
  std::vector<std::pair<std::string_view, BuyerEntry*>> buyers;
  for (auto& [name, entry] : buyers_) {
    if (entry->dirty) buyers.emplace_back(name, entry.get());
  }
  std::sort(buyers.begin(), buyers.end());
  for (auto& [name, entry] : buyers) {
    commit_.Put(Family::kBuyers, StateKey(name),
                EncodeBuyerState(entry->state));
  }
  std::vector<std::pair<std::string_view, OrderEntry*>> orders;
  for (auto& [name, entry] : orders_) {
    if (entry->dirty) orders.emplace_back(name, entry.get());
  }
  std::sort(orders.begin(), orders.end());
  for (auto& [name, entry] : orders) {
    commit_.Put(Family::kOrders, StateKey(name),
                EncodeOrderState(entry->state));
  }
  std::vector<RowChange> changes;
  for (Family f : {Family::kAggregates, Family::kRollups}) {
    for (auto& [key, entry] : f == Family::kRollups ? rollups_ : rows_) {
      if (!entry.dirty) continue;
      if (commit_listener_ && f == Family::kAggregates) {
        changes.push_back({opts_.shard, key.second, key.first, entry.value});
      }
      const std::string k =
          f == Family::kRollups
              ? RollupKey(opts_.shard, key.second, key.first)
              : AggregateKey(opts_.shard, key.second, key.first);
      if (entry.value.IsZero()) {
        commit_.Delete(f, k);
      } else {
        commit_.Put(f, k, EncodeCounters(entry.value));
      }
    }
  }
  for (auto& [key, value] : pending_assessments_) {
    commit_.Put(Family::kAssessments, key, value.second);
  }
  for (auto& [source, value] : positions_) {
    commit_.Put(Family::kMeta, absl::StrCat(kMetaPositionPrefix, source),
                value);
  }
  if (new_dead_letters_ > 0) {
    // Read-modify-write at commit time rather than a total kept since Open:
    // several engines (one per Kafka partition) share a store and its one
    // counter, and they commit one after another on one thread.
    int64_t total = 0;
    auto stored = store_->Get(Family::kMeta, kMetaDeadLetters);
    if (!stored.ok()) return stored.status();
    if (stored->has_value()) {
      std::string_view v = **stored;
      if (!GetVarsint64(&v, &total)) {
        return absl::DataLossError("dead letter counter is corrupt");
      }
    }
    std::string dead;
    PutVarsint64(&dead, total + new_dead_letters_);
    commit_.Put(Family::kMeta, kMetaDeadLetters, dead);
  }

  cardinality_.AddTo(&commit_);
  if (opts_.shard != 0 && commit_.num_events() > 0) {
    // Replay re-applies each event in its shard (engine/shard_runs.h).
    commit_.Put(Family::kMeta, ShardRunKey(store_->next_seq()),
                ShardRunValue(opts_.shard, commit_.num_events()));
  }
  absl::Status s = store_->Write(&commit_);
  if (!s.ok()) return s;
  cardinality_.Committed();
  ++stats_.commits;
  for (auto& [name, entry] : buyers_) entry->dirty = false;
  for (auto& [name, entry] : orders_) entry->dirty = false;
  for (auto& [key, entry] : rows_) entry.dirty = false;
  for (auto& [key, entry] : rollups_) entry.dirty = false;
  pending_assessments_.clear();
  positions_.clear();
  new_dead_letters_ = 0;
  pending_ = 0;
  if (!changes.empty()) commit_listener_(changes);
  Evict();
  return absl::OkStatus();
}

void Engine::Evict() {
  const int64_t cutoff = newest_ts_ - horizon_ms_;
  // After a commit: every state is clean, so the store holds what goes to
  // evicted_states_. The map's nodes move there whole.
  auto evict = [&](auto& states, Family f) {
    int64_t evicted = 0;
    for (auto it = states.begin(); it != states.end();) {
      if (it->second->state.last_ts >= cutoff) {
        ++it;
        continue;
      }
      ForgetKnown(f, it->first);
      auto node = states.extract(it++);
      evicted_states_->Put(evicted_owner_, std::move(node.key()),
                           std::move(node.mapped()));
      ++evicted;
    }
    return evicted;
  };
  stats_.evicted_buyers += evict(buyers_, Family::kBuyers);
  stats_.evicted_orders += evict(orders_, Family::kOrders);
  const int32_t cutoff_day = cal_.DayOf(cutoff) - 1;
  cardinality_.Evict(cutoff_day);
  absl::erase_if(rows_, [&](const auto& kv) {
    if (kv.first.second >= cutoff_day) return false;
    ForgetKnown(Family::kAggregates,
                AggregateKey(opts_.shard, kv.first.second, kv.first.first));
    return true;
  });
  const int32_t cutoff_month = MonthOfDay(cutoff_day) - 1;
  absl::erase_if(rollups_, [&](const auto& kv) {
    if (kv.first.second >= cutoff_month) return false;
    ForgetKnown(Family::kRollups,
                RollupKey(opts_.shard, kv.first.second, kv.first.first));
    return true;
  });
}

}  // namespace chatkpi
