#include "query/live_view.h"

#include <algorithm>
#include <climits>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/mutex.h"
#include "engine/engine.h"
#include "engine/local_day.h"
#include "engine/meta.h"
#include "engine/rules.h"
#include "engine/state.h"
#include "engine/thread_kpis.h"
#include "ingest/event.h"
#include "ingest/event_parser.h"
#include "store/coding.h"
#include "store/store.h"

namespace chatkpi {
namespace {

// The counters an hour of the chart carries: those of the questions opened
// in it. The others (consultations, first responses) are per day by
// definition and would not add up over hours.
constexpr Counter kHourCounters[] = {kQuestions, kAnswered, kUnanswered,
                                     kResponseMsSum, kSlow};

// State older than this is dropped at most this often.
constexpr absl::Duration kEvictEvery = absl::Minutes(10);

struct Contribution {
  std::string agent;
  size_t hour = 0;
  Counters c;
};

struct OpenQuestion {
  std::string agent;
  int64_t since_ms = 0;
};

// What a LiveView keeps between reads: LiveView::Impl holds it under its
// mutex, so every member here is read and changed with that mutex held.
struct ViewState {
  Store* store;
  LiveViewOptions options;

  std::optional<std::string> rules_text;  // as stored; nullopt: defaults
  bool have_rules = false;
  Rules rules;
  ChatParams chat;

  EventParser parser;
  bool started = false;
  uint64_t first = 0;  // first seq read since the last Reset
  uint64_t next = 0;   // next seq to read

  absl::flat_hash_map<std::string, BuyerState> buyers;
  // The buyer of each message held, by id: a later copy of an id in the
  // log replaces the one held (docs/engine.md, "Duplicates").
  absl::flat_hash_map<std::string, std::string> held;
  absl::flat_hash_set<std::string> dirty;  // buyers changed since Recount
  absl::flat_hash_map<std::string, std::vector<OpenQuestion>> open;

  // The day whose hours are kept: contributions of each buyer and their sum
  // per agent, kept by retract-and-recount like the engine's counters.
  int32_t day = INT32_MIN;
  std::vector<int64_t> hour_starts;  // hours + 1
  absl::flat_hash_map<std::string, std::vector<Contribution>> contrib;
  std::map<std::string, std::vector<Counters>> hours;

  absl::Time last_evict = absl::InfinitePast();
  // Messages before this were dropped (Evict): a day whose hours need them
  // is read again from the log (Read).
  int64_t evicted_before_ms = INT64_MIN;

  absl::Status LoadRules() {
    auto stored = ReadStoredRulesRecord(*store);
    if (!stored.ok()) return stored.status();
    std::optional<std::string> text;
    if (stored->has_value()) text = (*stored)->json;
    if (have_rules && text == rules_text) return absl::OkStatus();
    auto parsed = stored->has_value()
                      ? absl::StatusOr<Rules>(std::move((*stored)->rules))
                      : DefaultRules();
    if (!parsed.ok()) return parsed.status();
    // New rules (a replay switched them): every figure changes.
    const bool had_rules = have_rules;
    rules = std::move(*parsed);
    rules_text = std::move(text);
    have_rules = true;
    chat = ChatParamsOf(rules);
    if (had_rules) started = false;
    return absl::OkStatus();
  }

  void Reset(uint64_t end) {
    buyers.clear();
    held.clear();
    dirty.clear();
    open.clear();
    contrib.clear();
    hours.clear();
    day = INT32_MIN;
    next = end > options.backfill_events ? end - options.backfill_events : 0;
    first = next;
    started = true;
    evicted_before_ms = INT64_MIN;
  }

  // Takes in the log's next event. The log holds the copy of an id that
  // lost to a conflicting one before the copy that won (docs/engine.md,
  // "Duplicates"): the later copy replaces the earlier, whatever its
  // buyer, agent or type.
  void Take(const Event& e) {
    if (auto it = held.find(e.id); it != held.end()) {
      Remove(it->second, e.id);
      held.erase(it);
    }
    if (e.type == EventType::kChat) Insert(e);
  }

  void Remove(const std::string& buyer, std::string_view id) {
    auto it = buyers.find(buyer);
    if (it == buyers.end()) return;
    std::vector<Message>& messages = it->second.messages;
    auto m = std::find_if(messages.begin(), messages.end(),
                          [&](const Message& m) { return m.id == id; });
    if (m == messages.end()) return;
    messages.erase(m);
    dirty.insert(buyer);
  }

  void Insert(const Event& e) {
    if (IsAutomaticReply(e)) return;  // as in the engine
    BuyerState& b = buyers[e.buyer];
    Message m;
    m.ts = e.ts_ms;
    m.agent = b.AgentIndex(e.agent);
    m.id = e.id;
    m.flags = e.inbound ? Message::kIn : 0;
    auto pos = std::upper_bound(b.messages.begin(), b.messages.end(), m,
                                MessageBefore);
    if (pos != b.messages.begin() && (pos - 1)->ts == m.ts &&
        (pos - 1)->id == m.id) {
      return;  // read twice (cannot happen with an append-only log)
    }
    b.messages.insert(pos, std::move(m));
    held.emplace(e.id, e.buyer);
    dirty.insert(e.buyer);
  }

  absl::Status CatchUp() {
    const uint64_t end = store->next_seq();
    // Behind by more than a backfill (or the log was replaced): reading it
    // all would hold up the answer, and the backfill is what a new view
    // would read anyway.
    if (!started || end < next || end - next > options.backfill_events) {
      Reset(end);
    }
    if (next >= end) return absl::OkStatus();
    Event e;
    absl::Status s =
        store->ScanEvents(next, end, [&](uint64_t, std::string_view raw) {
          if (parser.Parse(raw, &e).ok()) Take(e);
          return true;
        });
    if (!s.ok()) return s;
    next = end;
    return absl::OkStatus();
  }

  void SetDay(int32_t d) {
    day = d;
    hour_starts.clear();
    const absl::CivilDay civil = DayFromNumber(d);
    for (absl::CivilHour h(civil); absl::CivilDay(h) == civil; ++h) {
      const int64_t t = absl::ToUnixMillis(absl::FromCivil(h, rules.timezone));
      // A skipped hour (daylight saving) maps onto the next one.
      if (hour_starts.empty() || t > hour_starts.back()) {
        hour_starts.push_back(t);
      }
    }
    hour_starts.push_back(
        absl::ToUnixMillis(absl::FromCivil(civil + 1, rules.timezone)));
    contrib.clear();
    hours.clear();
    for (const auto& [buyer, state] : buyers) dirty.insert(buyer);
  }

  void Add(const Contribution& c, int sign) {
    std::vector<Counters>& h = hours[c.agent];
    h.resize(hour_starts.size() - 1);
    for (Counter k : kHourCounters) h[c.hour][k] += sign * c.c[k];
  }

  void Recount(const std::string& buyer) {
    open.erase(buyer);
    if (auto it = contrib.find(buyer); it != contrib.end()) {
      for (const Contribution& c : it->second) Add(c, -1);
      contrib.erase(it);
    }
    auto it = buyers.find(buyer);
    if (it == buyers.end()) return;
    const BuyerState& b = it->second;

    // A thread has an open question when its last message is an `in`; it
    // opened at the first `in` after the last `out`.
    std::vector<int64_t> since(b.agents.size(), -1);
    for (const Message& m : b.messages) {
      if (!m.inbound()) {
        since[m.agent] = -1;
      } else if (since[m.agent] < 0) {
        since[m.agent] = m.ts;
      }
    }
    std::vector<OpenQuestion> q;
    for (size_t a = 0; a < since.size(); ++a) {
      if (since[a] >= 0) q.push_back({b.agents[a], since[a]});
    }
    if (!q.empty()) open.emplace(buyer, std::move(q));

    // Questions open at an `in`, so only hours holding an `in` of the
    // thread can have questions.
    const int64_t day_start = hour_starts.front(), day_end = hour_starts.back();
    auto first =
        std::lower_bound(b.messages.begin(), b.messages.end(), day_start,
                         [](const Message& m, int64_t t) { return m.ts < t; });
    std::vector<std::pair<uint32_t, size_t>> agent_hours;
    for (auto m = first; m != b.messages.end() && m->ts < day_end; ++m) {
      if (!m->inbound()) continue;
      const size_t h =
          std::upper_bound(hour_starts.begin(), hour_starts.end(), m->ts) -
          hour_starts.begin() - 1;
      agent_hours.emplace_back(m->agent, h);
    }
    std::sort(agent_hours.begin(), agent_hours.end());
    agent_hours.erase(std::unique(agent_hours.begin(), agent_hours.end()),
                      agent_hours.end());
    std::vector<Contribution> mine;
    for (const auto& [a, h] : agent_hours) {
      Counters c =
          ThreadDayCounters(b, a, hour_starts[h], hour_starts[h + 1], chat);
      Contribution k{b.agents[a], h, {}};
      bool any = false;
      for (Counter x : kHourCounters) {
        k.c[x] = c[x];
        any = any || c[x] != 0;
      }
      if (!any) continue;
      Add(k, +1);
      mine.push_back(std::move(k));
    }
    if (!mine.empty()) contrib.emplace(buyer, std::move(mine));
  }

  // Drops messages before `horizon` but each thread's newest one before it
  // (whether a later `in` opens a question depends on it: after an `in`
  // the thread is still open), and buyers left with nothing newer.
  void Evict(int64_t horizon) {
    evicted_before_ms = std::max(evicted_before_ms, horizon);
    for (auto it = buyers.begin(); it != buyers.end();) {
      BuyerState& b = it->second;
      if (b.messages.empty() || b.messages.back().ts < horizon) {
        for (const Message& m : b.messages)
          held.erase(std::string(m.id.view()));
        open.erase(it->first);
        contrib.erase(it->first);  // nothing of it is on a kept day
        dirty.erase(it->first);
        buyers.erase(it++);
        continue;
      }
      // Per thread, whether its newest message before the horizon is
      // kept yet. (Newer messages do not count: a thread open since before
      // the horizon must still look open.)
      std::vector<bool> seen_old(b.agents.size(), false);
      std::vector<bool> keep(b.messages.size(), false);
      for (size_t i = b.messages.size(); i-- > 0;) {
        const Message& m = b.messages[i];
        if (m.ts >= horizon) {
          keep[i] = true;
        } else {
          keep[i] = !seen_old[m.agent];
          seen_old[m.agent] = true;
        }
      }
      size_t w = 0;
      for (size_t i = 0; i < b.messages.size(); ++i) {
        if (keep[i]) {
          b.messages[w++] = std::move(b.messages[i]);
        } else {
          held.erase(std::string(b.messages[i].id.view()));
        }
      }
      b.messages.resize(w);
      ++it;
    }
  }
};

}  // namespace

struct LiveView::Impl {
  absl::Mutex mu;
  ViewState state ABSL_GUARDED_BY(mu);
};

LiveView::LiveView(Store* store, LiveViewOptions options)
    : impl_(std::make_unique<Impl>()) {
  absl::MutexLock l(&impl_->mu);
  impl_->state.store = store;
  impl_->state.options = options;
}

LiveView::~LiveView() = default;

absl::StatusOr<absl::CivilDay> LiveView::Today(absl::Time now) {
  absl::MutexLock l(&impl_->mu);
  ViewState& m = impl_->state;
  if (absl::Status s = m.LoadRules(); !s.ok()) return s;
  return absl::ToCivilDay(now, m.rules.timezone);
}

absl::StatusOr<LiveDay> LiveView::Read(std::optional<absl::CivilDay> day,
                                       absl::Time now) {
  absl::MutexLock l(&impl_->mu);
  ViewState& m = impl_->state;
  if (absl::Status s = m.LoadRules(); !s.ok()) return s;
  if (absl::Status s = m.CatchUp(); !s.ok()) return s;

  const absl::TimeZone tz = m.rules.timezone;
  const absl::CivilDay today = absl::ToCivilDay(now, tz);
  const absl::CivilDay shown = day.value_or(today);
  if (now - m.last_evict >= kEvictEvery) {
    // Keep yesterday (a wall screen left on past midnight still shows it
    // whole) and the day shown, with a response window before them.
    const absl::CivilDay oldest = std::min(today - 1, shown);
    m.Evict(absl::ToUnixMillis(absl::FromCivil(oldest, tz)) -
            m.chat.response_window_ms);
    m.last_evict = now;
  }
  if (absl::ToUnixMillis(absl::FromCivil(shown, tz)) -
          m.chat.response_window_ms <
      m.evicted_before_ms) {
    // A day older than what the view keeps (another day was shown since):
    // its messages were dropped, so the view starts over from the log,
    // as a new one would, rather than show it with hours missing.
    m.Reset(m.store->next_seq());
    if (absl::Status s = m.CatchUp(); !s.ok()) return s;
  }
  if (DayNumber(shown) != m.day) m.SetDay(DayNumber(shown));
  for (const std::string& buyer : m.dirty) m.Recount(buyer);
  m.dirty.clear();

  LiveDay out;
  out.day = shown;
  out.rules_version = m.rules.version;
  out.timezone = m.rules.timezone_name;
  out.response_window_ms = m.chat.response_window_ms;
  out.slow_ms = m.chat.slow_ms;
  out.hour_starts_ms = m.hour_starts;
  out.first_seq = m.first;
  out.next_seq = m.next;
  out.complete = m.first == 0;
  for (const auto& [agent, h] : m.hours) {
    bool any = false;
    for (const Counters& c : h) any = any || !c.IsZero();
    if (any) out.agents[agent].hours = h;
  }
  const int64_t now_ms = absl::ToUnixMillis(now);
  for (const auto& [buyer, questions] : m.open) {
    for (const OpenQuestion& q : questions) {
      // Older questions have become unanswered by the rules: the buyer is
      // no longer counted as waiting for this answer.
      if (now_ms - q.since_ms > m.chat.response_window_ms) continue;
      out.agents[q.agent].waiting_since_ms.push_back(q.since_ms);
    }
  }
  const size_t num_hours = m.hour_starts.size() - 1;
  for (auto& [agent, a] : out.agents) {
    a.hours.resize(num_hours);
    std::sort(a.waiting_since_ms.begin(), a.waiting_since_ms.end());
  }
  return out;
}

}  // namespace chatkpi
