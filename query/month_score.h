// Scoring a month from a store: the month's snapshot, its assessment inputs
// and the earlier months' reports (for streaks and two-period grades), fed
// to the pure Score() of query/scoring.h.
#ifndef CHATKPI_QUERY_MONTH_SCORE_H_
#define CHATKPI_QUERY_MONTH_SCORE_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/civil_time.h"
#include "query/scheme.h"
#include "query/scoring.h"

namespace chatkpi {

class Store;

// The assessment inputs of `month` (YYYY-MM) as stored: for each (agent,
// metric) the event with the greatest (ts, id).
absl::StatusOr<std::vector<Assessment>> ReadAssessments(
    Store& store, const std::string& month);

// Scores `month` under the store's current roster (none: everyone with
// activity), first scoring up to `history_months` earlier months (back to
// the first month without any data) so that streaks and two-period rules
// see them.
absl::StatusOr<ScoreReport> ScoreMonth(Store& store, const Scheme& scheme,
                                       absl::CivilMonth month,
                                       int history_months = 12);

// The months first..last, in order, each with the ones before it as
// history, under `roster` (may be null). NotFound when none of them holds
// any activity or assessment input: a mistyped month, not a month to pay.
absl::StatusOr<std::vector<ScoreReport>> ScoreMonths(
    Store& store, const Scheme& scheme, const Roster* roster,
    absl::CivilMonth first, absl::CivilMonth last, int history_months = 12);

// A scheme given as a file path, or as the name of a shipped scheme
// ("kpi100", "ecom10") looked up in `schemes_dir`.
absl::StatusOr<Scheme> LoadSchemeByNameOrPath(const std::string& name_or_path,
                                              const std::string& schemes_dir);

}  // namespace chatkpi

#endif  // CHATKPI_QUERY_MONTH_SCORE_H_
