// The dashboard's JSON (docs/dashboard.md): today's cards and hourly chart,
// and the month-to-date leaderboard. Rendering only; the figures come from
// ReadSnapshot, LiveView and ScoreMonth.
#ifndef CHATKPI_QUERY_DASHBOARD_H_
#define CHATKPI_QUERY_DASHBOARD_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "query/live_view.h"
#include "query/scoring.h"
#include "query/snapshot.h"

namespace chatkpi {

// /api/today and the /api/live events: one line of JSON (SSE data lines
// cannot hold a newline). `day` is the snapshot of the one day shown; the
// agents are its rows plus any agent with waiting buyers. With
// `waiting_known` false (no process sees commits as they land, or the day
// is not today) "waiting" is null: unknown, not zero. Fails (OutOfRange)
// rather than wrap when the team's hourly sums do not fit in int64.
// `last_week`, when given, is the snapshot of the same weekday a week
// before: the team and every agent row then carry "last_week": {figures}.
// Every row carries the response figures (docs/spec.md §3) of the rules'
// thresholds and of 180 s, the card's 3-minute rate.
absl::StatusOr<std::string> DayBoardJson(
    const PeriodSnapshot& day, const LiveDay& live, bool waiting_known,
    absl::Time now, const PeriodSnapshot* last_week = nullptr);

// /api/leaderboard: ranks, totals, grades and item points of a month's
// report; never pay, commissions or HR flags (a wall screen is public to
// the room). `schemes` are the names the page may choose from.
std::string LeaderboardJson(const ScoreReport& report,
                            const std::vector<std::string>& schemes);

}  // namespace chatkpi

#endif  // CHATKPI_QUERY_DASHBOARD_H_
