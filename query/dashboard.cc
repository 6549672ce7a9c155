#include "query/dashboard.h"

#include <algorithm>
#include <map>
#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "base/json_text.h"
#include "base/number_text.h"
#include "engine/counters.h"
#include "query/response_figures.h"

namespace chatkpi {
namespace {

void AppendCounters(std::string* out, const Counters& c,
                    const std::vector<int64_t>& thresholds_s) {
  for (int i = 0; i < kNumCounters; ++i) {
    out->push_back(',');
    AppendJsonString(out, kCounterNames[i]);
    absl::StrAppend(out, ":", c[i]);
  }
  for (int r = 0; r < kNumRatios; ++r) {
    out->push_back(',');
    AppendJsonString(out, kRatioNames[r]);
    out->push_back(':');
    AppendJsonDouble(out, ComputeRatio(c, static_cast<Ratio>(r)));
  }
  for (const ResponseFigure& f : ResponseFigures(c, thresholds_s)) {
    out->push_back(',');
    AppendJsonString(out, f.key);
    out->push_back(':');
    if (f.whole && f.value.has_value()) {
      absl::StrAppend(out, static_cast<int64_t>(*f.value));
    } else {
      AppendJsonDouble(out, f.value);
    }
  }
}

// The rules' thresholds and 180 s: a card shows the 3-minute rate whatever
// the rules list.
std::vector<int64_t> BoardThresholds(const PeriodSnapshot& day) {
  std::vector<int64_t> t = day.thresholds_s;
  if (std::find(t.begin(), t.end(), 180) == t.end()) {
    t.push_back(180);
    std::sort(t.begin(), t.end());
  }
  return t;
}

// ,"last_week":{figures} of `agent` ("" for the team) a week before.
void AppendLastWeek(std::string* out, const PeriodSnapshot* last_week,
                    const std::string* agent,
                    const std::vector<int64_t>& thresholds_s) {
  if (last_week == nullptr) return;
  Counters c;
  if (agent == nullptr) {
    c = last_week->team;
  } else {
    for (const AgentRow& r : last_week->agents) {
      if (r.agent == *agent) c = r.counters;
    }
  }
  out->append(",\"last_week\":{");
  std::string figures;
  AppendCounters(&figures, c, thresholds_s);
  out->append(figures.substr(1));  // without the leading comma
  out->push_back('}');
}

template <typename T, typename F>
void AppendArray(std::string* out, const std::vector<T>& v, F each) {
  out->push_back('[');
  for (size_t i = 0; i < v.size(); ++i) {
    if (i > 0) out->push_back(',');
    each(v[i]);
  }
  out->push_back(']');
}

std::optional<double> AvgResponseS(const Counters& c) {
  return ComputeRatio(c, kAvgResponseS);
}

// The waiting part of an agent (or the team): count and open times, or
// nulls when unknown.
void AppendWaiting(std::string* out, const std::vector<int64_t>* since,
                   bool known) {
  if (!known) {
    out->append(",\"waiting\":null,\"waiting_since_ms\":null");
    return;
  }
  static const std::vector<int64_t> kNone;
  const std::vector<int64_t>& s = since != nullptr ? *since : kNone;
  absl::StrAppend(out, ",\"waiting\":", s.size(), ",\"waiting_since_ms\":");
  // The oldest few are what a screen shows; the count is exact.
  constexpr size_t kMaxListed = 50;
  std::vector<int64_t> listed(s.begin(),
                              s.begin() + std::min(s.size(), kMaxListed));
  AppendArray(out, listed, [&](int64_t t) { absl::StrAppend(out, t); });
}

}  // namespace

absl::StatusOr<std::string> DayBoardJson(const PeriodSnapshot& day,
                                         const LiveDay& live,
                                         bool waiting_known, absl::Time now,
                                         const PeriodSnapshot* last_week) {
  const std::vector<int64_t> thresholds = BoardThresholds(day);
  const size_t num_hours = live.hour_starts_ms.size() - 1;
  // Agents: today's rows, and anyone with buyers waiting.
  std::map<std::string, Counters> rows;
  for (const AgentRow& r : day.agents) rows[r.agent] = r.counters;
  for (const auto& [agent, a] : live.agents) {
    if (!a.waiting_since_ms.empty() && waiting_known) rows[agent];
  }

  std::string out;
  out.reserve(1024 + rows.size() * 1200);
  out.append("{\"day\":");
  AppendJsonString(&out, absl::FormatCivilTime(live.day));
  out.append(",\"timezone\":");
  AppendJsonString(&out, live.timezone);
  out.append(",\"rules_version\":");
  AppendJsonString(&out, day.rules_version);
  absl::StrAppend(&out, ",\"now_ms\":", absl::ToUnixMillis(now),
                  ",\"seq\":", live.next_seq,
                  ",\"response_window_s\":", live.response_window_ms / 1000,
                  ",\"slow_s\":", live.slow_ms / 1000,
                  ",\"waiting_known\":", waiting_known ? "true" : "false",
                  ",\"hours_complete\":", live.complete ? "true" : "false",
                  ",\"dead_letters\":", day.dead_letters);
  if (last_week != nullptr) {
    out.append(",\"last_week_day\":");
    AppendJsonString(&out, absl::FormatCivilTime(last_week->from));
  }
  out.append(",\"hour_starts_ms\":");
  AppendArray(&out, live.hour_starts_ms,
              [&](int64_t t) { absl::StrAppend(&out, t); });

  // The team: the sum of the agent rows, hour by hour too.
  const Counters& team = day.team;
  std::vector<Counters> team_hours(num_hours);
  std::vector<int64_t> team_waiting;
  for (const auto& [agent, a] : live.agents) {
    for (size_t h = 0; h < num_hours && h < a.hours.size(); ++h) {
      absl::Status s = team_hours[h].Add(a.hours[h]);
      if (!s.ok()) return s;
    }
    team_waiting.insert(team_waiting.end(), a.waiting_since_ms.begin(),
                        a.waiting_since_ms.end());
  }
  std::sort(team_waiting.begin(), team_waiting.end());
  out.append(",\"team\":{\"agents\":");
  absl::StrAppend(&out, day.agents.size());
  AppendCounters(&out, team, thresholds);
  AppendLastWeek(&out, last_week, nullptr, thresholds);
  AppendWaiting(&out, &team_waiting, waiting_known);
  out.append(",\"hours\":");
  AppendArray(&out, team_hours, [&](const Counters& c) {
    absl::StrAppend(&out, "{\"questions\":", c[kQuestions],
                    ",\"answered\":", c[kAnswered], ",\"slow\":", c[kSlow],
                    ",\"response_ms_sum\":", c[kResponseMsSum],
                    ",\"avg_response_s\":");
    AppendJsonDouble(&out, AvgResponseS(c));
    out.push_back('}');
  });
  out.append("}");

  out.append(",\"agents\":[");
  bool first = true;
  for (const auto& [agent, c] : rows) {
    if (!first) out.push_back(',');
    first = false;
    out.append("{\"agent\":");
    AppendJsonString(&out, agent);
    AppendCounters(&out, c, thresholds);
    AppendLastWeek(&out, last_week, &agent, thresholds);
    auto it = live.agents.find(agent);
    const AgentLive* a = it != live.agents.end() ? &it->second : nullptr;
    AppendWaiting(&out, a != nullptr ? &a->waiting_since_ms : nullptr,
                  waiting_known);
    // Compact per-hour series: a card draws a sparkline from them.
    std::vector<Counters> hours(num_hours);
    if (a != nullptr) {
      std::copy_n(a->hours.begin(), std::min(num_hours, a->hours.size()),
                  hours.begin());
    }
    out.append(",\"hours_answered\":");
    AppendArray(&out, hours, [&](const Counters& h) {
      absl::StrAppend(&out, h[kAnswered]);
    });
    out.append(",\"hours_avg_response_s\":");
    AppendArray(&out, hours, [&](const Counters& h) {
      AppendJsonDouble(&out, AvgResponseS(h));
    });
    out.push_back('}');
  }
  out.append("]}");
  return out;
}

std::string LeaderboardJson(const ScoreReport& report,
                            const std::vector<std::string>& schemes) {
  std::string out = "{\"month\":";
  AppendJsonString(&out, report.month);
  out.append(",\"scheme\":");
  AppendJsonString(&out, report.scheme);
  out.append(",\"rules_version\":");
  AppendJsonString(&out, report.rules_version);
  out.append(",\"schemes\":");
  AppendArray(&out, schemes,
              [&](const std::string& s) { AppendJsonString(&out, s); });
  out.append(",\"items\":");
  AppendArray(&out, report.columns, [&](const ItemColumn& c) {
    out.append("{\"name\":");
    AppendJsonString(&out, c.name);
    out.append(",\"title\":");
    AppendJsonString(&out, c.title);
    out.push_back('}');
  });
  out.append(",\"agents\":");
  AppendArray(&out, report.agents, [&](const AgentScore& a) {
    out.append("{\"agent\":");
    AppendJsonString(&out, a.agent);
    absl::StrAppend(&out, ",\"assessed\":", a.assessed ? "true" : "false",
                    ",\"rank\":", a.rank, ",\"total\":");
    out.append(CentiText(a.total_centi));
    out.append(",\"grade\":");
    AppendJsonString(&out, a.grade);
    // The page shows what is still to be entered instead of a grade made
    // from missing inputs (docs/dashboard.md).
    out.append(",\"missing_inputs\":");
    AppendArray(&out, a.missing_inputs,
                [&](const std::string& m) { AppendJsonString(&out, m); });
    out.append(",\"points\":");
    AppendArray(&out, a.items, [&](const ItemScore& i) {
      out.append(CentiText(i.points_centi));
    });
    out.push_back('}');
  });
  out.append("}\n");
  return out;
}

}  // namespace chatkpi
