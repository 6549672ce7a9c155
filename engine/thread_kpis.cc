#include "engine/thread_kpis.h"

#include <algorithm>

namespace chatkpi {

ChatParams ChatParamsOf(const Rules& rules) {
  ChatParams p;
  p.response_window_ms = rules.response_window_s * 1000;
  p.slow_ms = rules.response_slow_s * 1000;
  if (!rules.service_hours.AlwaysOpen()) {
    p.business = std::make_shared<const BusinessClock>(rules.service_hours,
                                                       rules.timezone);
  }
  return p;
}

Counters ThreadDayCounters(const BuyerState& b, uint32_t agent,
                           int64_t day_start_ms, int64_t day_end_ms,
                           const ChatParams& p) {
  const std::vector<Message>& m = b.messages;
  size_t i =
      std::lower_bound(m.begin(), m.end(), day_start_ms,
                       [](const Message& x, int64_t t) { return x.ts < t; }) -
      m.begin();

  // A question is open entering the day iff the thread's previous message is
  // an `in` (stored `out`s are non-auto, and each closes what is open).
  bool earlier_question_open = false;
  for (size_t j = i; j-- > 0;) {
    if (m[j].agent != agent) continue;
    earlier_question_open = m[j].inbound();
    break;
  }

  Counters c;
  int64_t open = -1;  // open time of a question opened this day
  bool first_question = true;
  int64_t first_in = -1;
  int64_t last_out = -1;
  bool good = false, bad = false;
  for (size_t j = i; j < m.size(); ++j) {
    const Message& x = m[j];
    if (x.agent != agent) continue;
    const bool in_day = x.ts < day_end_ms;
    if (!in_day && open < 0) break;  // nothing of this day is still open
    if (x.inbound()) {
      if (in_day && first_in < 0) first_in = x.ts;
      if (earlier_question_open || open >= 0) continue;  // joins the question
      open = x.ts;                                       // in_day holds here
      continue;
    }
    if (in_day) {
      last_out = x.ts;
      good |= (x.flags & Message::kGood) != 0;
      bad |= (x.flags & Message::kBad) != 0;
    }
    if (earlier_question_open) {
      earlier_question_open = false;  // answers a question of an earlier day
      continue;
    }
    if (open < 0) continue;
    const int64_t response = p.ResponseMs(open, x.ts);
    ++c[kQuestions];
    if (response <= p.response_window_ms) {
      ++c[kAnswered];
      c[kResponseMsSum] += response;
      if (response > p.slow_ms) ++c[kSlow];
      c.response_s.Add(ResponseSeconds(response), 1);
      if (first_question) {
        ++c[kFirstResponses];
        c[kFirstResponseMsSum] += response;
        c.first_response_s.Add(ResponseSeconds(response), 1);
      }
    } else {
      ++c[kUnanswered];
    }
    first_question = false;
    open = -1;
  }
  if (open >= 0) {  // still open at the end of the thread
    ++c[kQuestions];
    ++c[kUnanswered];
  }
  if (first_in >= 0) {
    c[kConsultations] = 1;
    if (last_out >= first_in) c[kReplied] = 1;
    if (good && !bad) c[kCourteous] = 1;
    if (bad) c[kRude] = 1;
  }
  return c;
}

ThreadDays AffectedThreadDays(const BuyerState& b, uint32_t agent, size_t pos,
                              int64_t ts, LocalCalendar& cal) {
  const std::vector<Message>& m = b.messages;
  ThreadDays days = {cal.DayOf(ts)};
  auto add = [&](int64_t t) {
    int32_t d = cal.DayOf(t);
    if (std::find(days.begin(), days.end(), d) == days.end()) days.push_back(d);
  };
  int64_t earliest_in_before = -1;
  for (size_t j = pos; j-- > 0;) {
    if (m[j].agent != agent) continue;
    if (!m[j].inbound()) break;
    earliest_in_before = m[j].ts;
  }
  if (earliest_in_before >= 0) add(earliest_in_before);
  for (size_t j = pos; j < m.size(); ++j) {
    if (m[j].agent != agent) continue;
    if (!m[j].inbound()) break;
    add(m[j].ts);
    break;
  }
  return days;
}

}  // namespace chatkpi
