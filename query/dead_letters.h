// Reading the dead letters a store kept (`chatkpi dead-letters`, GET
// /api/dead-letters; docs/engine.md, "Dead letters"): position, reason and
// the raw line, in the order of their positions as text (each source's
// positions together).
//
// A raw line is shown as text: JSON and CSV output must be valid UTF-8, so
// bytes that are not (the dead letter's reason is then "invalid utf-8") are
// shown as U+FFFD, and the exact bytes are given beside it in base64.
#ifndef CHATKPI_QUERY_DEAD_LETTERS_H_
#define CHATKPI_QUERY_DEAD_LETTERS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/conflict_record.h"

namespace chatkpi {

class Store;

struct DeadLetterFilter {
  // Empty: every reason. Otherwise a whole reason ("missing field 'buyer'")
  // or a category, the text before the first quote ("missing field").
  std::string reason;
  // Only positions after this one (paging: the last position of a page).
  std::string after;
  // At most this many (0: no limit); `more` says whether others follow.
  size_t limit = 0;
};

struct DeadLetterRow {
  std::string position;
  std::string reason;
  std::string raw;         // the kept bytes (at most 64 KiB of the line)
  uint64_t raw_bytes = 0;  // the line's whole length
  bool cut = false;        // raw is only the line's beginning
};

struct DeadLetterPage {
  std::vector<DeadLetterRow> rows;
  bool more = false;  // more rows match after the last one
};

// Whether a dead letter's `reason` passes `filter` (see DeadLetterFilter).
bool ReasonMatches(std::string_view reason, std::string_view filter);

// The dead letters of `store` that pass `filter`.
absl::StatusOr<DeadLetterPage> ReadDeadLetters(Store& store,
                                               const DeadLetterFilter& filter);

// {"dead_letters": [{"position", "reason", "raw", "raw_bytes", "raw_cut",
// "raw_utf8", "raw_base64" (only when not UTF-8)}...], "count": N,
// "next_after": last position or null}.
std::string DeadLettersToJson(const DeadLetterPage& page);
// position,reason,raw_bytes,raw_cut,raw,raw_base64 (empty when UTF-8).
std::string DeadLettersToCsv(const DeadLetterPage& page);

// The conflicting duplicates a store recorded (engine/conflict_record.h),
// by id: `chatkpi dead-letters --conflicts`.
absl::StatusOr<std::vector<ConflictRecord>> ReadConflicts(Store& store);
// {"conflicts": [{"id", "resolved", "winner_position", "loser_position",
// "loser_raw", "loser_raw_bytes", "loser_raw_utf8", "loser_raw_base64"
// (only when not UTF-8)}...], "count": N}.
std::string ConflictsToJson(const std::vector<ConflictRecord>& conflicts);
// id,resolved,winner_position,loser_position,loser_raw_bytes,loser_raw,
// loser_raw_base64.
std::string ConflictsToCsv(const std::vector<ConflictRecord>& conflicts);

}  // namespace chatkpi

#endif  // CHATKPI_QUERY_DEAD_LETTERS_H_
