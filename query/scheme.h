// A scoring scheme (docs/spec.md §5): the items, curves, targets, grade bands,
// pay table and awards that turn a month's KPIs into scores and pay. Schemes
// are TOML files a shop can copy and edit (format: docs/scoring.md); everything
// a plan decides lives in the file, nothing in code.
//
// Points are held as int64 hundredths ("centipoints"), money as int64 fen and
// rates as int64 parts per million, so that sums and comparisons are exact.
#ifndef CHATKPI_QUERY_SCHEME_H_
#define CHATKPI_QUERY_SCHEME_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace chatkpi {

// Where an item's actual value comes from.
struct MetricRef {
  enum class Kind {
    kCounter,          // a §3 counter of the agent's snapshot row
    kRatio,            // a §3 ratio of the agent's snapshot row
    kNetSales,         // (sales_fen - refund_fen) / 100, in yuan
    kListingAccuracy,  // 1 - listing_errors / listings (assessments)
    kAssessment,       // the month's `assessment` value of that metric
    kResponseFigure,   // a response figure of docs/spec.md §3, any threshold
  };
  Kind kind = Kind::kCounter;
  int index = 0;           // Counter or Ratio enum value
  std::string assessment;  // kAssessment: the metric name
  std::string text;        // as written in the file, for messages and output
};

enum class Curve {
  kRatio,    // weight * min(actual / target, cap); cap may be absent
  kLinear,   // full weight at full_at, 0 at zero_at, straight line between
  kManual,   // actual is the points, clamped to [0, weight]
  kPerUnit,  // actual * per_unit points, optionally capped
};

struct SchemeItem {
  std::string name;   // the section's id, e.g. "response_time"
  std::string title;  // display name (Chinese in the shipped files)
  int line = 0;       // the [item ...] header line
  MetricRef metric;
  Curve curve = Curve::kRatio;
  int64_t weight_centi = 0;
  // kRatio / kPerUnit: a fixed target, or the name of an assessment metric
  // that holds each agent's own target (written `@sales_target`).
  std::optional<double> target;
  std::string target_assessment;
  std::optional<double> cap;  // kRatio: multiple of weight; kPerUnit: points
  double full_at = 0;         // kLinear
  double zero_at = 0;         // kLinear
  double per_unit = 0;        // kPerUnit: points per unit of actual
};

// A total at or above min_centi earns the band (bands are tried from the
// highest minimum down, so they cannot overlap).
struct GradeBand {
  std::string id;         // e.g. "intermediate"
  std::string title;      // e.g. "中级客服", the grade as reported
  std::string job_level;  // optional, e.g. "一级客服"
  std::string training;   // optional, 所需培训强度, e.g. "较强"
  std::string promotion;  // optional, 职位晋升, e.g. "推荐"
  int64_t min_centi = 0;
  std::optional<int64_t> base_pay_fen;
  int line = 0;
};

// Commission on net sales S inside [lower, upper]:
//   (S - over_fen) * rate_ppm / 1e6 + plus_fen.
struct CommissionBracket {
  int64_t lower_fen = 0;
  bool lower_inclusive = true;
  std::optional<int64_t> upper_fen;  // none: unbounded
  bool upper_inclusive = false;
  int64_t rate_ppm = 0;
  int64_t over_fen = 0;
  int64_t plus_fen = 0;
  int line = 0;
  std::string text;  // the bracket as written, e.g. "[0, 15000) rate 1.5%"

  bool Contains(int64_t s_fen) const;
};

// Team net sales growth of at least threshold_ppm over the previous month
// earns award_fen for every assessed agent (the highest threshold met).
struct GrowthAward {
  int64_t threshold_ppm = 0;
  int64_t award_fen = 0;
};

struct Scheme {
  std::string name;
  int64_t total_weight_centi = 0;
  // An agent whose `absent_days` exceeds this is not assessed. The key is
  // required; `none` turns the rule off explicitly.
  std::optional<int64_t> absence_limit_days;
  // Assessment inputs shown beside the items but never scored (the plan's
  // "reference" material: self-assessment, supervisor's evaluation).
  std::vector<std::string> reference;

  std::vector<SchemeItem> items;  // in file order

  // [grading]. A grade needs `consecutive` consecutive assessed months
  // (this one included); the band is that of their lowest total.
  int consecutive = 1;
  std::optional<int64_t> warning_below_centi;  // flag "warning"
  int dismissal_after = 0;  // consecutive months below warning: "dismissal"
  std::optional<int64_t> leave_below_centi;
  int leave_after = 0;  // consecutive months below leave_below: "leave"

  std::vector<GradeBand> grades;  // sorted by min_centi, highest first

  // [quota]: shares of assessed agents that earn "best" / "excellent".
  int64_t best_share_ppm = 0;
  int64_t excellent_share_ppm = 0;

  // [commission]; present iff has_pay.
  bool has_pay = false;
  std::vector<CommissionBracket> brackets;  // sorted, contiguous from 0
  int64_t public_rate_ppm = 0;

  // [awards]
  int64_t top_sets_award_fen = 0;
  std::vector<GrowthAward> growth_awards;  // ascending threshold
  int rank1_months = 0;
  int64_t rank1_award_fen = 0;
};

// Parses scheme text, TOML (docs/scoring.md). `source` names the text in
// messages, and every refusal names its place: "kpi100.toml:12:1: ...".
//
// For one release a text that is not TOML is read in the old syntax
// (`[item ID]`, unquoted values), whose refusals read "kpi100.scheme line
// 12: ...", and `*warning` (when given) is set to a deprecation message. A
// source named *.toml is TOML only.
absl::StatusOr<Scheme> ParseScheme(std::string_view text,
                                   std::string_view source = "scheme",
                                   std::string* warning = nullptr);
// Reads and parses a scheme file; a deprecation warning goes to stderr, once
// per file and process.
absl::StatusOr<Scheme> LoadSchemeFile(const std::string& path);

// How a scheme key's value is written in TOML: text in quotes, a number
// without quotes, or a number or one quoted word ("none", "@metric").
enum class SchemeValueKind { kText, kNumber, kNumberOrWord };
SchemeValueKind SchemeKeyValueKind(std::string_view key);

// The old-syntax scheme `text` rewritten in TOML with its comments kept
// (`chatkpi convert-config`). Refused unless `text` reads in the old syntax;
// the result is checked to read as TOML.
absl::StatusOr<std::string> ConvertOldSchemeToToml(std::string_view text,
                                                   std::string_view source);

// The scheme file NAME of `dir`: NAME.toml, else NAME.scheme (the old
// syntax); none when neither is a file.
std::optional<std::string> FindSchemeFile(const std::string& dir,
                                          std::string_view name);

// Personal commission for a month's net sales, rounded half up to the fen
// once, at the end. Negative net sales earn nothing. OutOfRange when the
// commission does not fit in int64 fen (a scheme rate far above 100%).
absl::StatusOr<int64_t> PersonalCommissionFen(const Scheme& scheme,
                                              int64_t net_sales_fen);

}  // namespace chatkpi

#endif  // CHATKPI_QUERY_SCHEME_H_
