#include "query/period_awards.h"

#include <algorithm>
#include <map>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/csv_text.h"
#include "base/json_text.h"
#include "base/number_text.h"

namespace chatkpi {
namespace {

constexpr int64_t kMillion = 1000000;

}  // namespace

absl::StatusOr<PeriodAwards> ComputePeriodAwards(
    const Scheme& scheme, const std::string& period,
    const std::vector<ScoreReport>& months) {
  if (months.empty()) {
    return absl::InvalidArgumentError("a period needs at least one month");
  }
  if (scheme.best_share_ppm == 0 && scheme.excellent_share_ppm == 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "scheme ", scheme.name, " has no [quota]: no nominations to make"));
  }
  PeriodAwards out;
  out.period = period;
  out.scheme = scheme.name;
  std::map<std::string, PeriodAgent> by_agent;
  for (const ScoreReport& r : months) {
    out.months.push_back(r.month);
    for (const AgentScore& a : r.agents) {
      if (!a.assessed) continue;
      PeriodAgent& p = by_agent[a.agent];
      p.agent = a.agent;
      ++p.months_assessed;
      p.sum_centi += a.total_centi;
    }
  }
  const int n_months = static_cast<int>(months.size());
  out.agent_count = static_cast<int>(by_agent.size());
  out.best_quota = static_cast<int>(int64_t{out.agent_count} *
                                    scheme.best_share_ppm / kMillion);
  out.excellent_quota = static_cast<int>(int64_t{out.agent_count} *
                                         scheme.excellent_share_ppm / kMillion);
  // The monthly ranking's rules on the period's sums: equal sums share a
  // rank, and a tie straddling a quota's edge earns nothing from it.
  std::vector<AgentScore> scores;
  for (auto& [agent, p] : by_agent) {
    p.eligible = p.months_assessed == n_months;
    if (!p.eligible) continue;
    AgentScore& s = scores.emplace_back();
    s.agent = agent;
    s.total_centi = p.sum_centi;
  }
  std::vector<AgentScore*> ranked;
  for (AgentScore& s : scores) ranked.push_back(&s);
  AssignRanks(ranked);
  AssignQuotas(ranked, out.best_quota, out.excellent_quota);
  for (const AgentScore* s : ranked) {
    PeriodAgent p = by_agent[s->agent];
    p.rank = s->rank;
    if (!s->flags.empty()) p.award = s->flags.front();
    out.agents.push_back(std::move(p));
  }
  for (const auto& [agent, p] : by_agent) {
    if (!p.eligible) out.agents.push_back(p);
  }
  return out;
}

std::string PeriodAwardsToJson(const PeriodAwards& p) {
  std::string out = "{\"period\": ";
  AppendJsonString(&out, p.period);
  out.append(", \"scheme\": ");
  AppendJsonString(&out, p.scheme);
  std::vector<std::string> months;
  for (const std::string& m : p.months) months.push_back(JsonString(m));
  absl::StrAppend(&out, ", \"months\": [", absl::StrJoin(months, ", "),
                  "],\n \"agent_count\": ", p.agent_count,
                  ", \"best_quota\": ", p.best_quota,
                  ", \"excellent_quota\": ", p.excellent_quota,
                  ",\n \"agents\": [");
  for (size_t i = 0; i < p.agents.size(); ++i) {
    const PeriodAgent& a = p.agents[i];
    out.append(i == 0 ? "\n  {\"agent\": " : ",\n  {\"agent\": ");
    AppendJsonString(&out, a.agent);
    absl::StrAppend(&out, ", \"months_assessed\": ", a.months_assessed,
                    ", \"eligible\": ", a.eligible ? "true" : "false",
                    ", \"period_total\": ", CentiText(a.sum_centi),
                    ", \"rank\": ", a.eligible ? absl::StrCat(a.rank) : "null",
                    ", \"award\": ");
    if (a.award.empty()) {
      out.append("null");
    } else {
      AppendJsonString(&out, a.award);
    }
    out.push_back('}');
  }
  out.append("]}\n");
  return out;
}

std::string PeriodAwardsToCsv(const PeriodAwards& p, ColumnLanguage lang) {
  const bool zh = lang == ColumnLanguage::kChinese;
  std::string out = "\xEF\xBB\xBF";
  const std::vector<std::string> head =
      zh ? std::vector<std::string>{"考核期", "方案",     "客服", "考核月数",
                                    "参评",   "期间总分", "排名", "评选"}
         : std::vector<std::string>{
               "period",   "scheme",       "agent", "months_assessed",
               "eligible", "period_total", "rank",  "award"};
  for (size_t i = 0; i < head.size(); ++i) {
    if (i > 0) out.push_back(',');
    AppendCsvField(&out, head[i]);
  }
  out.append("\r\n");
  for (const PeriodAgent& a : p.agents) {
    AppendCsvField(&out, p.period);
    out.push_back(',');
    AppendCsvField(&out, p.scheme);
    out.push_back(',');
    AppendCsvField(&out, a.agent);
    absl::StrAppend(&out, ",", a.months_assessed, ",", a.eligible ? 1 : 0, ",",
                    CentiText(a.sum_centi), ",",
                    a.eligible ? absl::StrCat(a.rank) : "", ",");
    AppendCsvField(&out, a.award.empty() ? "" : FlagText(a.award, zh));
    out.append("\r\n");
  }
  return out;
}

}  // namespace chatkpi
