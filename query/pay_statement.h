// One agent's pay statement (工资条) for a scored month: every figure
// behind that agent's points and pay, from the same ScoreReport as the
// month's JSON and CSV, so the three always agree (docs/scoring.md,
// "Pay statement").
#ifndef CHATKPI_QUERY_PAY_STATEMENT_H_
#define CHATKPI_QUERY_PAY_STATEMENT_H_

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "query/scoring.h"

namespace chatkpi {

// The agent's row of `r`; NotFound (naming the unrostered case) otherwise.
absl::StatusOr<const AgentScore*> FindStatementAgent(const ScoreReport& r,
                                                     std::string_view agent);

// A printable, self-contained HTML page (no scripts, no external files).
std::string PayStatementHtml(const ScoreReport& r, const AgentScore& a);
// The same figures as CSV rows "item,value" (UTF-8 BOM, CRLF); money in
// yuan with 2 decimals, the unit in the item's label.
std::string PayStatementCsv(const ScoreReport& r, const AgentScore& a);

}  // namespace chatkpi

#endif  // CHATKPI_QUERY_PAY_STATEMENT_H_
