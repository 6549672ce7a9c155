// A period's snapshot beside an earlier period's (docs/spec.md §6,
// "Comparing two periods"): every figure of both, and the change of each.
#ifndef CHATKPI_QUERY_SNAPSHOT_COMPARE_H_
#define CHATKPI_QUERY_SNAPSHOT_COMPARE_H_

#include <string>

#include "query/snapshot.h"

namespace chatkpi {

// JSON: the snapshot of `current` (agents of either period), each agent row,
// `team` and `unattributed` followed by "previous": {figures of the
// `previous` period} and "change": {current − previous, null when either is
// null}; plus "compare_from" and "compare_to".
std::string ComparedSnapshotToJson(const PeriodSnapshot& current,
                                   const PeriodSnapshot& previous);

// CSV: the snapshot's columns with a second column `period` (current,
// previous, change; 本期, 上期, 变化 in Chinese), three rows per agent, then
// the unattributed and team rows likewise.
std::string ComparedSnapshotToCsv(const PeriodSnapshot& current,
                                  const PeriodSnapshot& previous,
                                  ColumnLanguage lang);

}  // namespace chatkpi

#endif  // CHATKPI_QUERY_SNAPSHOT_COMPARE_H_
