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

namespace {

// ThreadDayCounters as a fold over the thread's messages from the day's
// start: Step takes them one by one, counting each question it closes;
// Finish adds what the end of the thread settles (a question still open,
// the consultation and its reply and courtesy). So the counters with one
// more message are the same fold with one more Step where it goes
// (InsertedThreadDayDelta).
class DayFold {
 public:
  // A fold of `agent`'s thread in `b` for the day [start, end), before its
  // first message.
  // Messages with any of the `skipped` flags are left out, as if not in
  // `b`.
  DayFold(const BuyerState& b, uint32_t agent, int64_t day_start_ms,
          int64_t day_end_ms, const ChatParams& p, uint8_t skipped = 0)
      : agent_(agent), skipped_(skipped), day_end_ms_(day_end_ms), p_(p) {
    const std::vector<Message>& m = b.messages;
    first_ =
        std::lower_bound(m.begin(), m.end(), day_start_ms,
                         [](const Message& x, int64_t t) { return x.ts < t; }) -
        m.begin();
    // A question is open entering the day iff the thread's previous message
    // is an `in` (stored `out`s are non-auto, and each closes what is open).
    for (size_t j = first_; j-- > 0;) {
      if (m[j].agent != agent || (m[j].flags & skipped) != 0) continue;
      earlier_question_open_ = m[j].inbound();
      break;
    }
  }

  // Takes the thread's next message `x` (of the fold's agent), adding
  // sign * what it closes to *c (when c is not null).
  void Step(const Message& x, int sign, Counters* c) {
    if (done_) return;
    const bool in_day = x.ts < day_end_ms_;
    if (!in_day && open_ < 0) {  // nothing of this day is still open
      done_ = true;
      return;
    }
    if (x.inbound()) {
      if (in_day && first_in_ < 0) first_in_ = x.ts;
      if (earlier_question_open_ || open_ >= 0) return;  // joins the question
      open_ = x.ts;                                      // in_day holds here
      return;
    }
    if (in_day) {
      last_out_ = x.ts;
      good_ |= (x.flags & Message::kGood) != 0;
      bad_ |= (x.flags & Message::kBad) != 0;
    }
    if (earlier_question_open_) {
      earlier_question_open_ = false;  // answers a question of an earlier day
      return;
    }
    if (open_ < 0) return;
    if (c != nullptr) CountQuestion(x.ts, sign, c);
    first_question_ = false;
    open_ = -1;
  }

  // Adds sign * what the thread's end settles, as the fold stands.
  void Finish(int sign, Counters* c) const {
    if (open_ >= 0) {  // still open at the end of the thread
      (*c)[kQuestions] += sign;
      (*c)[kUnanswered] += sign;
    }
    if (first_in_ >= 0) {
      (*c)[kConsultations] += sign;
      if (last_out_ >= first_in_) (*c)[kReplied] += sign;
      if (good_ && !bad_) (*c)[kCourteous] += sign;
      if (bad_) (*c)[kRude] += sign;
    }
  }

  // Steps the thread's messages among m[first_, end).
  void StepUntil(const std::vector<Message>& m, size_t end, int sign,
                 Counters* c) {
    for (size_t j = first_; j < end && !done_; ++j) {
      if (m[j].agent == agent_ && (m[j].flags & skipped_) == 0) {
        Step(m[j], sign, c);
      }
    }
  }

  // Steps every message of the thread from the day's start on.
  void StepAll(const std::vector<Message>& m, int sign, Counters* c) {
    StepUntil(m, m.size(), sign, c);
  }

  bool done() const { return done_; }

  // Whether the two folds are in the same state: the same messages from
  // here on then count the same in both, and so do their ends.
  bool SameStateAs(const DayFold& o) const {
    return earlier_question_open_ == o.earlier_question_open_ &&
           open_ == o.open_ && first_question_ == o.first_question_ &&
           first_in_ == o.first_in_ && last_out_ == o.last_out_ &&
           good_ == o.good_ && bad_ == o.bad_ && done_ == o.done_;
  }

 private:
  // Adds sign * the counts of the question open since open_, closed at
  // `close`.
  void CountQuestion(int64_t close, int sign, Counters* c) const {
    const int64_t response = p_.ResponseMs(open_, close);
    (*c)[kQuestions] += sign;
    if (response <= p_.response_window_ms) {
      const int64_t second = ResponseSeconds(response);
      (*c)[kAnswered] += sign;
      (*c)[kResponseMsSum] += sign * response;
      if (response > p_.slow_ms) (*c)[kSlow] += sign;
      c->response_s.Add(second, sign);
      if (first_question_) {
        (*c)[kFirstResponses] += sign;
        (*c)[kFirstResponseMsSum] += sign * response;
        c->first_response_s.Add(second, sign);
      }
    } else {
      (*c)[kUnanswered] += sign;
    }
  }

  const uint32_t agent_;
  const uint8_t skipped_;
  const int64_t day_end_ms_;
  const ChatParams& p_;
  size_t first_ = 0;
  bool earlier_question_open_ = false;
  int64_t open_ = -1;  // open time of a question opened this day
  bool first_question_ = true;
  int64_t first_in_ = -1;
  int64_t last_out_ = -1;
  bool good_ = false, bad_ = false;
  bool done_ = false;
};

}  // namespace

Counters ThreadDayCounters(const BuyerState& b, uint32_t agent,
                           int64_t day_start_ms, int64_t day_end_ms,
                           const ChatParams& p) {
  Counters c;
  AddThreadDayCounters(b, agent, day_start_ms, day_end_ms, p, 1, &c);
  return c;
}

void AddThreadDayCounters(const BuyerState& b, uint32_t agent,
                          int64_t day_start_ms, int64_t day_end_ms,
                          const ChatParams& p, int sign, Counters* c,
                          uint8_t skipped) {
  DayFold fold(b, agent, day_start_ms, day_end_ms, p, skipped);
  fold.StepAll(b.messages, sign, c);
  fold.Finish(sign, c);
}

Counters InsertedThreadDayDelta(const BuyerState& b, const Message& x,
                                size_t pos, int64_t day_start_ms,
                                int64_t day_end_ms, const ChatParams& p) {
  Counters d;
  AddInsertedThreadDayDelta(b, x, pos, day_start_ms, day_end_ms, p, &d);
  return d;
}

void AddInsertedThreadDayDelta(const BuyerState& b, const Message& x,
                               size_t pos, int64_t day_start_ms,
                               int64_t day_end_ms, const ChatParams& p,
                               Counters* c) {
  // With day_start_ms <= x.ts, the day's first message and the thread's
  // state entering the day are the same with and without `x`; so is every
  // step before `pos`, which therefore counts in neither.
  const std::vector<Message>& m = b.messages;
  DayFold with(b, x.agent, day_start_ms, day_end_ms, p);
  with.StepUntil(m, pos, 1, nullptr);
  DayFold without = with;
  with.Step(x, 1, c);
  for (size_t j = pos; j < m.size(); ++j) {
    if (m[j].agent != x.agent) continue;
    // Usually the thread's next non-auto `out`, which closes the question
    // in both.
    if (with.SameStateAs(without)) return;
    if (with.done() && without.done()) break;
    without.Step(m[j], -1, c);
    with.Step(m[j], 1, c);
  }
  if (with.SameStateAs(without)) return;
  without.Finish(-1, c);
  with.Finish(1, c);
}

namespace {

// AffectedThreadDays of a message of `agent` at `ts` between m[0, before)
// and m[after, end).
ThreadDays DaysAround(const std::vector<Message>& m, uint32_t agent,
                      size_t before, size_t after, int64_t ts,
                      LocalCalendar& cal) {
  ThreadDays days = {cal.DayOf(ts)};
  auto add = [&](int64_t t) {
    int32_t d = cal.DayOf(t);
    if (std::find(days.begin(), days.end(), d) == days.end()) days.push_back(d);
  };
  int64_t earliest_in_before = -1;
  for (size_t j = before; j-- > 0;) {
    if (m[j].agent != agent) continue;
    if (!m[j].inbound()) break;
    earliest_in_before = m[j].ts;
  }
  if (earliest_in_before >= 0) add(earliest_in_before);
  for (size_t j = after; j < m.size(); ++j) {
    if (m[j].agent != agent) continue;
    if (!m[j].inbound()) break;
    add(m[j].ts);
    break;
  }
  return days;
}

}  // namespace

ThreadDays AffectedThreadDays(const BuyerState& b, uint32_t agent, size_t pos,
                              int64_t ts, LocalCalendar& cal) {
  return DaysAround(b.messages, agent, pos, pos, ts, cal);
}

ThreadDays AffectedThreadDaysOf(const BuyerState& b, size_t at,
                                LocalCalendar& cal) {
  const Message& x = b.messages[at];
  return DaysAround(b.messages, x.agent, at, at + 1, x.ts, cal);
}

}  // namespace chatkpi
