#include "query/pay_statement.h"

#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/csv_text.h"
#include "base/number_text.h"

namespace chatkpi {
namespace {

// A statement line: label, value, and whether the value is a number.
struct Line {
  std::string label;
  std::string value;
  bool number = false;
  bool heading = false;  // a section title, no value
};

std::string Opt(const std::optional<double>& v) {
  return v ? FormatDouble(*v) : "";
}

std::vector<Line> Lines(const ScoreReport& r, const AgentScore& a) {
  std::vector<Line> out;
  auto text = [&](std::string label, std::string value) {
    out.push_back({std::move(label), std::move(value), false, false});
  };
  auto num = [&](std::string label, std::string value) {
    out.push_back({std::move(label), std::move(value), true, false});
  };
  auto heading = [&](std::string label) {
    out.push_back({std::move(label), "", false, true});
  };
  heading("基本信息 / About");
  text("月份 / month", r.month);
  text("方案 / scheme", r.scheme);
  text("规则版本 / rules version", r.rules_version);
  text("花名册版本 / roster version",
       r.roster_version ? absl::StrCat(*r.roster_version) : "无 / none");
  text("客服 / agent", a.agent);
  text("姓名 / name", a.name);

  heading("考核 / Assessment");
  text("参与考核 / assessed", a.assessed ? "是 / yes" : "否 / no");
  for (size_t k = 0; k < a.items.size() && k < r.columns.size(); ++k) {
    const ItemScore& it = a.items[k];
    const std::string& title = r.columns[k].title;
    num(absl::StrCat(title, " 实际值 / actual"), Opt(it.actual));
    num(absl::StrCat(title, " 目标值 / target"), Opt(it.target));
    num(absl::StrCat(title, " 得分 / points"), CentiText(it.points_centi));
  }
  if (a.assessed) {
    num("总分 / total", CentiText(a.total_centi));
    num(absl::StrCat("排名 / rank (", r.assessed_count, ")"),
        absl::StrCat(a.rank));
  }
  text("等级 / grade", a.grade);
  text("岗位级别 / job level", a.job_level);
  if (!a.training.empty()) text("所需培训强度 / training", a.training);
  if (!a.promotion.empty()) text("职位晋升 / promotion", a.promotion);
  std::vector<std::string> flags;
  for (const std::string& f : a.flags) flags.push_back(FlagText(f, true));
  text("标记 / flags", absl::StrJoin(flags, ";"));
  if (!a.missing_inputs.empty()) {
    text("缺少的考核输入 / missing inputs",
         absl::StrJoin(a.missing_inputs, ";"));
  }
  for (const auto& [metric, v] : a.reference) {
    num(absl::StrCat(ReferenceTitle(metric), "(参考,不计分) / ", metric,
                     " (reference, unscored)"),
        Opt(v));
  }

  if (a.pay) {
    const Pay& p = *a.pay;
    heading("工资 / Pay (元)");
    num("净销售额 / net sales (元)", FenToYuanText(a.net_sales_fen));
    num("岗位工资 / base pay (元)", FenToYuanText(p.base_fen));
    text("提成档位 / commission bracket", a.commission_bracket);
    text("提成算式 / commission arithmetic (元)", a.commission_arithmetic);
    num("个人绩效提成 / personal commission (元)",
        FenToYuanText(p.personal_commission_fen));
    num("公共销售业绩 / public sales pool (元)",
        FenToYuanText(r.public_pool_fen));
    text("公共提成比例 / public rate", PpmPercentText(r.public_rate_ppm));
    num("公共提成分摊人数 / public divisor", absl::StrCat(r.public_divisor));
    num("公共绩效提成 / public commission (元)",
        FenToYuanText(p.public_commission_fen));
    num("整套销售最高奖 / top sets sold award (元)",
        FenToYuanText(p.top_sets_award_fen));
    num("销售增长奖 / sales growth award (元)",
        FenToYuanText(p.growth_award_fen));
    num("连续第一奖 / rank 1 streak award (元)",
        FenToYuanText(p.rank1_award_fen));
    num("工龄工资 / seniority pay (元)", FenToYuanText(p.seniority_fen));
    num("当月工资 / total pay (元)", FenToYuanText(p.total_fen));
  }
  return out;
}

std::string Html(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

}  // namespace

absl::StatusOr<const AgentScore*> FindStatementAgent(const ScoreReport& r,
                                                     std::string_view agent) {
  for (const AgentScore& a : r.agents) {
    if (a.agent == agent) return &a;
  }
  for (const UnrosteredActivity& u : r.unrostered) {
    if (u.agent == agent) {
      return absl::NotFoundError(absl::StrCat(
          "agent '", std::string(agent), "' is not on the roster for ", r.month,
          ": not assessed, no pay statement"));
    }
  }
  return absl::NotFoundError(
      absl::StrCat("no agent '", std::string(agent), "' in ", r.month));
}

std::string PayStatementHtml(const ScoreReport& r, const AgentScore& a) {
  std::string out = absl::StrCat(
      "<!DOCTYPE html>\n<html lang=\"zh\"><head><meta charset=\"utf-8\">"
      "<title>工资条 ",
      Html(a.agent), " ", Html(r.month),
      "</title>\n<style>body{font-family:sans-serif;margin:2em}"
      "table{border-collapse:collapse;min-width:32em}"
      "td,th{border:1px solid #888;padding:.25em .6em;text-align:left}"
      "td.n{text-align:right;font-variant-numeric:tabular-nums}"
      "th{background:#eee}@media print{body{margin:0}}</style></head>\n"
      "<body><h1>工资条 / Pay statement</h1>\n<table>\n");
  for (const Line& l : Lines(r, a)) {
    if (l.heading) {
      absl::StrAppend(&out, "<tr><th colspan=\"2\">", Html(l.label),
                      "</th></tr>\n");
    } else {
      absl::StrAppend(&out, "<tr><td>", Html(l.label), "</td><td",
                      l.number ? " class=\"n\"" : "", ">", Html(l.value),
                      "</td></tr>\n");
    }
  }
  out.append("</table>\n</body></html>\n");
  return out;
}

std::string PayStatementCsv(const ScoreReport& r, const AgentScore& a) {
  std::string out = "\xEF\xBB\xBF";
  AppendCsvField(&out, "项目 / item");
  out.push_back(',');
  AppendCsvField(&out, "数值 / value");
  out.append("\r\n");
  for (const Line& l : Lines(r, a)) {
    if (l.heading) continue;
    AppendCsvField(&out, l.label);
    out.push_back(',');
    if (l.number) {
      AppendCsvNumber(&out, l.value);
    } else {
      AppendCsvField(&out, l.value);
    }
    out.append("\r\n");
  }
  return out;
}

}  // namespace chatkpi
