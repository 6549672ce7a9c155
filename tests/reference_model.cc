#include "tests/reference_model.h"

#include <algorithm>
#include <set>
#include <tuple>

#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "engine/local_day.h"
#include "gtest/gtest.h"

namespace chatkpi {
namespace {

// Deliberately not LocalCalendar: the model must not inherit the engine's
// caching, only the day numbering both sides report in.
int32_t Day(int64_t ts_ms, const absl::TimeZone& tz) {
  return DayNumber(absl::ToCivilDay(absl::FromUnixMillis(ts_ms), tz));
}

bool ByTsId(const Event* a, const Event* b) {
  return std::tie(a->ts_ms, a->id) < std::tie(b->ts_ms, b->id);
}

bool ContainsAny(const std::string& text,
                 const std::vector<std::string>& words) {
  for (const std::string& w : words) {
    if (text.find(w) != std::string::npos) return true;
  }
  return false;
}

// Business time (§3) the slow, obvious way: walk [open, close) one local
// minute at a time and count the minutes the shop is open. Service-hour
// boundaries are whole local minutes, and the zones the tests use are whole
// minutes off UTC, so a minute is either all open or all closed. Stops once
// past `cap_ms`: only "within the window or not" matters beyond it.
bool OpenAt(absl::CivilMinute m, const ServiceHours& h) {
  const absl::CivilDay day(m);
  for (absl::CivilDay closed : h.closed_dates) {
    if (closed == day) return false;
  }
  if (!h.has_hours) return true;
  const int minute_of_day = m.hour() * 60 + m.minute();
  for (const DailyWindow& w : h.week[static_cast<int>(absl::GetWeekday(day))]) {
    if (w.start_min <= minute_of_day && minute_of_day < w.end_min) return true;
  }
  return false;
}

int64_t ResponseMs(int64_t open_ms, int64_t close_ms, const Rules& rules,
                   int64_t cap_ms) {
  const ServiceHours& h = rules.service_hours;
  if (!h.has_hours && h.closed_dates.empty()) return close_ms - open_ms;
  int64_t sum = 0;
  for (int64_t t = open_ms; t < close_ms && sum <= cap_ms;) {
    const int64_t next = std::min(close_ms, (t / 60000 + 1) * 60000);
    if (OpenAt(absl::ToCivilMinute(absl::FromUnixMillis(t), rules.timezone),
               h)) {
      sum += next - t;
    }
    t = next;
  }
  return sum;
}

struct Question {
  int64_t open_ms = 0;
  bool answered = false;
  int64_t response_ms = 0;
};

// The §3 walk over one thread, sorted by (ts, id).
std::vector<Question> WalkQuestions(const std::vector<const Event*>& thread,
                                    const Rules& rules) {
  const int64_t window_ms = rules.response_window_s * 1000;
  std::vector<Question> questions;
  bool open = false;
  int64_t open_ms = 0;
  for (const Event* e : thread) {
    if (e->inbound) {
      if (!open) open_ms = e->ts_ms;
      open = true;
      continue;
    }
    if (e->auto_reply || !open) continue;
    const int64_t ms = ResponseMs(open_ms, e->ts_ms, rules, window_ms);
    questions.push_back({open_ms, ms <= window_ms, ms});
    open = false;
  }
  if (open) questions.push_back({open_ms, false, 0});
  return questions;
}

void CountThread(const std::string& agent,
                 const std::vector<const Event*>& thread, const Rules& rules,
                 RefDays& days) {
  const absl::TimeZone& tz = rules.timezone;
  const std::vector<Question> questions = WalkQuestions(thread, rules);

  for (const Question& q : questions) {
    Counters& c = days[{agent, Day(q.open_ms, tz)}];
    c[kQuestions] += 1;
    if (q.answered) {
      c[kAnswered] += 1;
      c[kResponseMsSum] += q.response_ms;
      if (q.response_ms > rules.response_slow_s * 1000) c[kSlow] += 1;
      // Whole seconds, rounded up: 30 000 ms is within 30 s, 30 001 is not.
      c.response_s.Add((q.response_ms + 999) / 1000, 1);
    } else {
      c[kUnanswered] += 1;
    }
  }

  std::set<int32_t> consultation_days;
  for (const Event* e : thread) {
    if (e->inbound) consultation_days.insert(Day(e->ts_ms, tz));
  }
  for (int32_t day : consultation_days) {
    Counters& c = days[{agent, day}];
    c[kConsultations] += 1;

    int64_t first_in_ms = 0;
    for (const Event* e : thread) {
      if (e->inbound && Day(e->ts_ms, tz) == day) {
        first_in_ms = e->ts_ms;
        break;
      }
    }

    bool replied = false, good = false, bad = false;
    for (const Event* e : thread) {
      if (e->inbound || e->auto_reply || Day(e->ts_ms, tz) != day) continue;
      if (e->ts_ms >= first_in_ms) replied = true;
      if (ContainsAny(e->text, rules.good_keywords)) good = true;
      if (ContainsAny(e->text, rules.bad_keywords)) bad = true;
    }
    if (replied) c[kReplied] += 1;
    if (good && !bad) c[kCourteous] += 1;
    if (bad) c[kRude] += 1;

    // Questions come out of the walk in order of their open time, so the
    // first one opened on this day is the consultation's first question.
    for (const Question& q : questions) {
      if (Day(q.open_ms, tz) != day) continue;
      if (q.answered) {
        c[kFirstResponses] += 1;
        c[kFirstResponseMsSum] += q.response_ms;
        c.first_response_s.Add((q.response_ms + 999) / 1000, 1);
      }
      break;
    }
  }
}

}  // namespace

namespace {

// What ReferenceWinners compares, field by field.
using Text = std::pair<size_t, std::string>;  // length first, then bytes
using Content = std::tuple<int64_t, int, std::vector<Text>,
                           std::vector<int64_t>, std::vector<Text>>;

Content ContentOf(const Event& e) {
  auto text = [](const std::string& s) { return Text(s.size(), s); };
  Content c{e.ts_ms, static_cast<int>(e.type), {}, {}, {}};
  auto& [ts, type, first, numbers, last] = c;
  switch (e.type) {
    case EventType::kChat:  // buyer, agent, dir, auto, text
      first = {text(e.buyer), text(e.agent)};
      numbers = {e.inbound ? 1 : 0, e.auto_reply ? 1 : 0};
      last = {text(e.text)};
      break;
    case EventType::kOrder:  // order, buyer, status, amount, items
      first = {text(e.order), text(e.buyer)};
      numbers = {static_cast<int64_t>(e.status), e.amount_fen, e.items};
      break;
    case EventType::kAssessment:  // agent, period, metric, value
      first = {text(e.agent), text(e.period), text(e.metric),
               text(e.value_text)};
      break;
  }
  return c;
}

}  // namespace

std::vector<Event> ReferenceWinners(const std::vector<Event>& events) {
  std::map<std::string, size_t> slot;  // id -> index in `out`
  std::vector<Event> out;
  for (const Event& e : events) {
    auto [it, fresh] = slot.emplace(e.id, out.size());
    if (fresh) {
      out.push_back(e);
    } else if (ContentOf(e) < ContentOf(out[it->second])) {
      out[it->second] = e;
    }
  }
  return out;
}

int64_t ReferenceConflicts(const std::vector<Event>& events) {
  std::map<std::string, std::set<Content>> contents;
  for (const Event& e : events) contents[e.id].insert(ContentOf(e));
  int64_t n = 0;
  for (const auto& [id, set] : contents) n += set.size() - 1;
  return n;
}

RefDays ReferenceDays(const std::vector<Event>& events, const Rules& rules) {
  const absl::TimeZone& tz = rules.timezone;

  std::set<std::string> seen_ids;
  std::map<std::pair<std::string, std::string>, std::vector<const Event*>>
      threads;  // (agent, buyer)
  std::map<std::string, std::vector<const Event*>> inbound_by_buyer;
  std::map<std::string, std::vector<const Event*>> orders;
  for (const Event& e : events) {
    if (!seen_ids.insert(e.id).second) continue;
    if (e.type == EventType::kChat) {
      threads[{e.agent, e.buyer}].push_back(&e);
      if (e.inbound) inbound_by_buyer[e.buyer].push_back(&e);
    } else if (e.type == EventType::kOrder) {
      orders[e.order].push_back(&e);
    }
  }

  RefDays days;
  for (auto& [key, thread] : threads) {
    std::sort(thread.begin(), thread.end(), ByTsId);
    CountThread(key.first, thread, rules, days);
  }

  for (auto& [buyer, ins] : inbound_by_buyer) {
    std::sort(ins.begin(), ins.end(), ByTsId);
  }
  std::map<RefKey, std::set<std::string>> ordered_buyers, paid_buyers;
  const int64_t window_ms = rules.attribution_window_s * 1000;
  for (auto& [order_id, order_events] : orders) {
    std::sort(order_events.begin(), order_events.end(), ByTsId);
    // Sorted by ts, so the first event has the smallest ts.
    int64_t created_ms = order_events.front()->ts_ms;
    for (const Event* e : order_events) {
      if (e->status == OrderStatus::kCreated) {
        created_ms = e->ts_ms;
        break;
      }
    }
    const std::string& buyer = order_events.front()->buyer;

    const Event* credited = nullptr;
    for (const Event* in : inbound_by_buyer[buyer]) {
      if (in->ts_ms < created_ms - window_ms || in->ts_ms > created_ms) {
        continue;
      }
      if (rules.attribution_model == AttributionModel::kFirst) {
        credited = in;
        break;
      }
      credited = in;  // kLast: keep the latest
    }
    const std::string agent = credited ? credited->agent : "";

    const RefKey created_key{agent, Day(created_ms, tz)};
    days[created_key][kOrders] += 1;
    ordered_buyers[created_key].insert(buyer);

    for (const Event* e : order_events) {
      if (e->status != OrderStatus::kPaid) continue;
      const RefKey paid_key{agent, Day(e->ts_ms, tz)};
      Counters& c = days[paid_key];
      c[kPaidOrders] += 1;
      c[kPaidItems] += e->items;
      c[kSalesFen] += e->amount_fen;
      paid_buyers[paid_key].insert(buyer);
      break;
    }
    for (const Event* e : order_events) {
      if (e->status != OrderStatus::kRefunded) continue;
      Counters& c = days[{agent, Day(e->ts_ms, tz)}];
      c[kRefunds] += 1;
      c[kRefundedItems] += e->items;
      c[kRefundFen] += e->amount_fen;
    }
  }
  for (const auto& [key, buyers] : ordered_buyers) {
    days[key][kOrderedBuyers] += static_cast<int64_t>(buyers.size());
  }
  for (const auto& [key, buyers] : paid_buyers) {
    days[key][kPaidBuyers] += static_cast<int64_t>(buyers.size());
  }
  return days;
}

RefSnapshot ReferencePeriod(const RefDays& days, int32_t from_day,
                            int32_t to_day) {
  RefSnapshot snapshot;
  std::map<std::string, Counters> sums;
  for (const auto& [key, counters] : days) {
    const auto& [agent, day] = key;
    if (day < from_day || day > to_day) continue;
    if (agent.empty()) {
      EXPECT_TRUE(snapshot.unattributed.Add(counters).ok());
    } else {
      EXPECT_TRUE(sums[agent].Add(counters).ok());
    }
  }
  for (const auto& [agent, counters] : sums) {
    if (!counters.IsZero()) snapshot.agents[agent] = counters;
  }
  return snapshot;
}

}  // namespace chatkpi
