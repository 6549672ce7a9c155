// The staff roster (docs/scoring.md, "Roster"): who is employed, from when
// to when. With a roster, scoring assesses and pays exactly the agents
// employed in the month; activity by anyone else is reported, never paid.
//
// A roster is imported whole from CSV (`chatkpi roster --file`), replacing
// the current one; every imported version stays in the store's meta family
// (keys "roster/NNNNNNNN") for audit, and the newest is the current one.
#ifndef CHATKPI_QUERY_ROSTER_H_
#define CHATKPI_QUERY_ROSTER_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/civil_time.h"

namespace chatkpi {

class Store;

struct RosterEntry {
  std::string agent;
  std::string name;  // free text, may be Chinese or empty
  absl::CivilDay hired;
  std::optional<absl::CivilDay> left;  // last day of employment, if any
  int line = 0;                        // in the imported file
};

struct Roster {
  int64_t version = 0;      // 1, 2, ... in import order; 0 before storing
  int64_t imported_ms = 0;  // Unix ms of the import
  std::string source;       // the file name it was imported from
  std::vector<RosterEntry> entries;  // sorted by agent

  // Hired on or before the month's last day and not left before its first.
  bool EmployedIn(std::string_view agent, absl::CivilMonth month) const;
  // The agents employed in `month`, sorted.
  std::vector<std::string> EmployedAgents(absl::CivilMonth month) const;
  const RosterEntry* Find(std::string_view agent) const;
};

// Parses roster CSV: a header row naming the columns agent, name, hired and
// left (any order; agent and hired required; anything else refused), then
// one row per agent. UTF-8 with or without a BOM, LF or CRLF, RFC 4180
// quoting. Dates are YYYY-MM-DD; `left` may be empty. Every bad row is
// refused with its line number (up to 20 in one message): unknown columns,
// bad dates, duplicate agents, `left` before `hired`, empty agent ids.
absl::StatusOr<Roster> ParseRosterCsv(std::string_view text);

// An agent id typed by a person (a roster row, `chatkpi assess --agent`) is
// UTF-8 and holds no character that shows as nothing or as a space other
// than U+0020: no-break, ideographic, typographic and other space
// separators (U+00A0, U+3000, U+2000-U+200A, U+202F...), zero-width and
// other format characters (U+200B-U+200F, U+2060, direction marks, the byte
// order mark U+FEFF, tags), the soft hyphen, Hangul fillers, variation
// selectors and controls. Kept, they made an id that looks like an agent's
// and is not: the agent went unpaid. InvalidArgument naming the character
// and where it is.
absl::Status CheckTypedAgentId(std::string_view agent);
// The same for other typed text, `what` naming it in the message: with
// `ids_only` false (a person's name) spaces of any kind are allowed, and
// only bytes that are not UTF-8 and controls are refused.
absl::Status CheckTypedText(std::string_view what, std::string_view text,
                            bool ids_only);

// Stores `roster` as the next version and returns that version number.
// `roster.version` is ignored.
absl::StatusOr<int64_t> StoreRoster(Store& store, const Roster& roster);
// The current (newest) roster, or nullopt if none was ever imported.
absl::StatusOr<std::optional<Roster>> ReadCurrentRoster(Store& store);
// A given version; NotFound names the versions there are.
absl::StatusOr<Roster> ReadRosterVersion(Store& store, int64_t version);
// The stored version numbers, ascending.
absl::StatusOr<std::vector<int64_t>> RosterVersions(Store& store);

// {"version": N, "imported": "...Z", "source": "...", "versions": [..],
//  "agents": [{"agent", "name", "hired", "left"}]}
std::string RosterToJson(const Roster& r, const std::vector<int64_t>& versions);
// The importable CSV form (header agent,name,hired,left), UTF-8 BOM, CRLF.
std::string RosterToCsv(const Roster& r);

}  // namespace chatkpi

#endif  // CHATKPI_QUERY_ROSTER_H_
