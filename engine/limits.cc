#include "engine/limits.h"

#include <bit>
#include <cmath>
#include <cstring>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "engine/local_day.h"
#include "store/coding.h"
#include "store/stable_hash.h"

namespace chatkpi {
namespace {

constexpr uint8_t kWarnedAgents = 1;
constexpr uint8_t kWarnedBuyers = 2;
constexpr uint8_t kFormat = 0x10;  // high nibble: encoding version 1

std::string DayText(int32_t day) {
  return absl::FormatCivilTime(DayFromNumber(day));
}

}  // namespace

void DistinctSketch::Merge(const DistinctSketch& other) {
  for (size_t i = 0; i < kRegisters; ++i) {
    regs_[i] = std::max(regs_[i], other.regs_[i]);
  }
}

namespace {

// 2^-r for every rank a register can hold (at most 64 - kPrecision + 1),
// and up to 255 for a register read from a damaged store: exactly what
// std::ldexp(1.0, -r) gives (powers of two down to 2^-255 are normal
// doubles), without a libm call per register.
struct InversePowersOfTwo {
  std::array<double, 256> v;
  InversePowersOfTwo() {
    for (int r = 0; r < 256; ++r) v[r] = std::ldexp(1.0, -r);
  }
};

}  // namespace

int64_t DistinctSketch::Estimate() const {
  static const InversePowersOfTwo kInverse;
  const double m = kRegisters;
  double sum = 0;
  int zeros = 0;
  // The terms in register order, as ever: the same sum to the last bit.
  for (uint8_t r : regs_) {
    sum += kInverse.v[r];
    zeros += r == 0;
  }
  const double alpha = 0.7213 / (1 + 1.079 / m);
  double e = alpha * m * m / sum;
  // Small counts: linear counting of the empty registers is near exact.
  if (e <= 2.5 * m && zeros > 0) e = m * std::log(m / zeros);
  return std::llround(e);
}

std::string DayLoadKey(uint32_t shard, int32_t day) {
  std::string k = kMetaDayLoadPrefix;
  PutFixed32BE(&k, shard);
  PutFixed32BE(&k, static_cast<uint32_t>(day) ^ 0x80000000u);
  return k;
}

std::string EncodeDayLoad(const DayLoad& d) {
  std::string out;
  constexpr size_t n = DistinctSketch::kRegisters;
  out.resize(1 + 2 * n);
  out[0] = static_cast<char>(kFormat | (d.warned_agents ? kWarnedAgents : 0) |
                             (d.warned_buyers ? kWarnedBuyers : 0));
  std::memcpy(out.data() + 1, d.agents.registers().data(), n);
  std::memcpy(out.data() + 1 + n, d.buyers.registers().data(), n);
  return out;
}

bool DecodeDayLoad(std::string_view in, DayLoad* d) {
  if (in.size() != 1 + 2 * DistinctSketch::kRegisters) return false;
  const uint8_t flags = static_cast<uint8_t>(in[0]);
  if ((flags & 0xf0) != kFormat) return false;
  d->warned_agents = flags & kWarnedAgents;
  d->warned_buyers = flags & kWarnedBuyers;
  constexpr size_t n = DistinctSketch::kRegisters;
  std::memcpy(d->agents.registers().data(), in.data() + 1, n);
  std::memcpy(d->buyers.registers().data(), in.data() + 1 + n, n);
  return true;
}

DayCardinality::DayCardinality(Store* store, uint32_t shard,
                               CardinalityLimits limits)
    : store_(store), shard_(shard), limits_(std::move(limits)) {}

absl::Status DayCardinality::Observe(int32_t day, std::string_view agent,
                                     std::string_view buyer,
                                     uint64_t buyer_hash) {
  auto& [cached, last] = recent_[RecentSlot(day)];
  if (last == nullptr || cached != day) {
    auto it = days_.find(day);
    if (it == days_.end()) {
      Entry e;
      auto stored = store_->Get(Family::kMeta, DayLoadKey(shard_, day));
      if (!stored.ok()) return stored.status();
      if (stored->has_value() && !DecodeDayLoad(**stored, &e.load)) {
        return absl::DataLossError(absl::StrCat("--db ", store_->dir(),
                                                " is corrupt: day counts of ",
                                                DayText(day)));
      }
      it = days_.emplace(day, std::move(e)).first;
    }
    // std::map entries stay where they are until erased (Evict).
    last = &it->second;
    cached = day;
  }
  Entry& e = *last;
  bool changed = false;
  if (!agent.empty() && e.load.agents.Add(agent)) changed = true;
  if (!buyer.empty() && e.load.buyers.AddHash(buyer_hash)) changed = true;
  // The estimate costs a pass over the registers, so it is checked once per
  // commit (AddTo), not per event: a warning comes at most one commit late.
  if (changed) e.dirty = true;
  return absl::OkStatus();
}

DayLoad DayCardinality::Merged(int32_t day, const DayLoad& own) const {
  DayLoad merged = own;
  for (const DayCardinality* peer : peers_) {
    if (peer == this) continue;
    auto it = peer->days_.find(day);
    DayLoad stored;
    const DayLoad* load = nullptr;
    if (it != peer->days_.end()) {
      load = &it->second.load;
    } else {
      // Not in the peer's memory: as it committed it, if at all. (A read
      // that fails or a corrupt record leaves that shard out of a warning.)
      auto value = store_->Get(Family::kMeta, DayLoadKey(peer->shard_, day));
      if (value.ok() && value->has_value() && DecodeDayLoad(**value, &stored)) {
        load = &stored;
      }
    }
    if (load == nullptr) continue;
    merged.agents.Merge(load->agents);
    merged.buyers.Merge(load->buyers);
    merged.warned_agents = merged.warned_agents || load->warned_agents;
    merged.warned_buyers = merged.warned_buyers || load->warned_buyers;
  }
  return merged;
}

void DayCardinality::Check(int32_t day, Entry& e) {
  auto warn = [&](const std::string& what, int64_t n, int64_t limit) {
    std::string msg = absl::StrCat(
        "local day ", DayText(day), " has about ", n, " distinct ", what,
        ", over the limit of ", limit,
        " (still counted; check the input for hostile or misrouted events, "
        "or raise the limit: docs/limits.md)");
    if (limits_.warn) {
      limits_.warn(msg);
    } else {
      std::cerr << "chatkpi: warning: " << msg << "\n";
    }
  };
  if (e.load.warned_agents && e.load.warned_buyers) return;
  // With peers (file shards), what counts is the day over all of them; a
  // day a peer warned of was warned of.
  const DayLoad all = peers_.empty() ? DayLoad() : Merged(day, e.load);
  const DayLoad& load = peers_.empty() ? e.load : all;
  if (!peers_.empty()) {
    e.load.warned_agents = e.load.warned_agents || all.warned_agents;
    e.load.warned_buyers = e.load.warned_buyers || all.warned_buyers;
  }
  if (!e.load.warned_agents) {
    const int64_t n = load.agents.Estimate();
    if (n > limits_.max_agents_per_day) {
      e.load.warned_agents = true;
      warn("agents", n, limits_.max_agents_per_day);
    }
  }
  if (!e.load.warned_buyers) {
    const int64_t n = load.buyers.Estimate();
    if (n > limits_.max_buyers_per_day) {
      e.load.warned_buyers = true;
      warn("buyers", n, limits_.max_buyers_per_day);
    }
  }
}

void DayCardinality::AddTo(Commit* commit) {
  for (auto& [day, e] : days_) {
    if (!e.dirty) continue;
    Check(day, e);
    commit->Put(Family::kMeta, DayLoadKey(shard_, day), EncodeDayLoad(e.load));
  }
}

void DayCardinality::Committed() {
  for (auto& [day, e] : days_) {
    e.in_last_commit = e.dirty;
    e.dirty = false;
  }
}

void DayCardinality::Evict(int32_t day) {
  recent_.fill({0, nullptr});
  for (auto it = days_.begin(); it != days_.end() && it->first < day;) {
    if (it->second.dirty || it->second.in_last_commit) {
      ++it;
    } else {
      it = days_.erase(it);
    }
  }
}

absl::StatusOr<std::vector<DayOverLimit>> DaysOverLimits(
    Store& store, const CardinalityLimits& limits) {
  std::map<int32_t, DayLoad> merged;
  const std::string prefix = kMetaDayLoadPrefix;
  bool corrupt = false;
  absl::Status s = store.Scan(
      Family::kMeta, prefix, "", [&](std::string_view k, std::string_view v) {
        if (k.substr(0, prefix.size()) != prefix) return false;
        k.remove_prefix(prefix.size());
        uint32_t shard, d;
        DayLoad load;
        if (!GetFixed32BE(&k, &shard) || !GetFixed32BE(&k, &d) ||
            !DecodeDayLoad(v, &load)) {
          corrupt = true;
          return false;
        }
        DayLoad& m = merged[static_cast<int32_t>(d ^ 0x80000000u)];
        m.agents.Merge(load.agents);
        m.buyers.Merge(load.buyers);
        return true;
      });
  if (!s.ok()) return s;
  if (corrupt) {
    return absl::DataLossError(
        absl::StrCat("--db ", store.dir(), " is corrupt: bad day counts"));
  }
  std::vector<DayOverLimit> out;
  for (const auto& [day, load] : merged) {
    DayOverLimit d{day, load.agents.Estimate(), load.buyers.Estimate()};
    if (d.agents > limits.max_agents_per_day ||
        d.buyers > limits.max_buyers_per_day) {
      out.push_back(d);
    }
  }
  return out;
}

absl::StatusOr<std::string> DaysOverLimitsJson(Store& store,
                                               const CardinalityLimits& limits,
                                               size_t* days_over) {
  auto over = DaysOverLimits(store, limits);
  if (!over.ok()) return over.status();
  *days_over = over->size();
  std::string out =
      absl::StrCat("{\"max_agents_per_day\": ", limits.max_agents_per_day,
                   ", \"max_buyers_per_day\": ", limits.max_buyers_per_day,
                   ", \"days_over\": [");
  for (size_t i = 0; i < over->size(); ++i) {
    const DayOverLimit& d = (*over)[i];
    absl::StrAppend(&out, i ? ", " : "", "{\"day\": \"", DayText(d.day),
                    "\", \"agents\": ", d.agents, ", \"buyers\": ", d.buyers,
                    "}");
  }
  out.append("]}");
  return out;
}

}  // namespace chatkpi
