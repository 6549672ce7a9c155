// Side-by-side comparison of two rules versions of the same history (`chatkpi
// diff`, HTTP /api/diff): per agent, every KPI of the period under version A
// and version B and the change; with a scheme, each month's score, grade,
// rank and pay under both.
//
// The two versions are two generations of one --db (the live one and those
// kept by `chatkpi replay --keep`, engine/generation_select.h), so both were
// computed from the same event log.
#ifndef CHATKPI_QUERY_DIFF_H_
#define CHATKPI_QUERY_DIFF_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/civil_time.h"
#include "query/scheme.h"
#include "query/scoring.h"
#include "query/snapshot.h"

namespace chatkpi {

class Store;

struct DiffRequest {
  absl::CivilDay from;
  absl::CivilDay to;
  std::string rules_a;  // rules versions; empty: the live generation
  std::string rules_b;
  // Optional: also score every month that [from, to] touches.
  const Scheme* scheme = nullptr;
};

struct DiffSide {
  std::string rules_version;
  std::string rules_json;  // canonical rules (meta `rules`); "" if none
  std::string generation;  // generation name ("" for a plain store)
  bool live = false;
  int64_t events = 0;  // in the generation's event log now
  // A kept generation: when replay switched away from it and how many
  // events its log held then (so later events are not read as rule
  // effects); nullopt for the live one, or when not recorded.
  std::optional<int64_t> switched_at_ms;
  std::optional<int64_t> events_at_switch;
  PeriodSnapshot snapshot;
  std::vector<ScoreReport> months;  // with a scheme, one per month
};

struct KpiDiff {
  absl::CivilDay from;
  absl::CivilDay to;
  std::string scheme;  // scheme name, "" without
  DiffSide a;
  DiffSide b;
};

// One rule whose value differs between the two sides, values as in the
// rules file ("86400", "\"last\"", "[\"亲\"]").
struct RuleChange {
  std::string rule;  // e.g. "attribution.window_s"
  std::string a, b;
};
std::vector<RuleChange> RuleChanges(const KpiDiff& d);

// How `chatkpi diff` shows a diff to people (DiffToReport, DiffToCsv).
struct DiffView {
  bool all = false;  // every figure; else only those that changed
  ColumnLanguage lang = ColumnLanguage::kEnglish;
};

// Compares two opened stores (`a` and `b` may be the same).
absl::StatusOr<KpiDiff> ComputeDiff(Store& a, Store& b, const DiffRequest& req);

// JSON: {"from", "to", "a": {rules_version, generation, live}, "b": {...},
// "agents": [{"agent", "kpis": {NAME: {"a", "b", "change"}}}],
// "unattributed": {...}, "team": {...}, "dead_letters": {...},
// "scores": null | {"scheme", "months": [{"month", "agents": [{"agent",
// "assessed", "total", "rank", "grade", "pay": {FIELD: {"a", "b",
// "change"}}}], "team_pay": {FIELD: {...}} | null}]}}. A change is b - a;
// null when either side is null. Each side also has "events",
// "switched_at_ms" and "events_at_switch" (null for the live one), and
// "rule_changes": [{"rule", "a", "b"}] lists the rules that differ. JSON
// has every figure, whatever the view.
std::string DiffToJson(const KpiDiff& d);
// CSV (UTF-8 BOM), one row per figure:
// section,month,agent,name,a,b,change; the rule changes first, then the
// figures (only the changed ones unless view.all), team pay totals per
// month. Header and names in Chinese for ColumnLanguage::kChinese.
std::string DiffToCsv(const KpiDiff& d, const DiffView& view = {.all = true});
// For a manager (docs/replay.md "diff"): both generations with their
// switch time and event counts, the rule changes, the team's figures and
// pay, then each agent's changed figures; money in yuan, rates in percent
// with one decimal, times in seconds.
std::string DiffToReport(const KpiDiff& d, const DiffView& view);

// Opens the generations of `db` (--db DIR) holding req.rules_a and
// req.rules_b read-only and compares them. NotFound (naming the versions
// there are) when a version has no generation; InvalidArgument when
// to < from.
absl::StatusOr<KpiDiff> DiffGenerations(const std::string& db,
                                        const DiffRequest& req);

// The HTTP entry point (/api/diff): DiffToJson(DiffGenerations(db, req)).
absl::StatusOr<std::string> DiffJson(const std::string& db,
                                     const DiffRequest& req);

}  // namespace chatkpi

#endif  // CHATKPI_QUERY_DIFF_H_
