#include "engine/event_count.h"

#include <string>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "engine/meta.h"
#include "ingest/event.h"
#include "ingest/event_parser.h"

namespace chatkpi {

namespace {

// Entries whose id an earlier entry already has: each replaces that one.
absl::StatusOr<int64_t> CountRepeatedIds(Store& store, uint64_t end) {
  EventParser parser;
  Event e;
  absl::flat_hash_set<std::string> ids;
  int64_t repeated = 0;
  absl::Status bad;
  absl::Status s =
      store.ScanEvents(0, end, [&](uint64_t seq, std::string_view raw) {
        absl::Status parsed = parser.Parse(raw, &e);
        if (!parsed.ok()) {
          bad = absl::DataLossError(
              absl::StrCat("--db ", store.dir(), ": event ", seq,
                           " of the log does not parse: ", parsed.message()));
          return false;
        }
        if (!ids.insert(e.id).second) ++repeated;
        return true;
      });
  if (!s.ok()) return s;
  if (!bad.ok()) return bad;
  return repeated;
}

}  // namespace

absl::StatusOr<int64_t> SupersededEntries(Store& store) {
  auto stored = ReadMetaCounterIfPresent(store, kMetaSuperseded);
  if (!stored.ok()) return stored.status();
  if (stored->has_value()) return **stored;
  auto conflicts = ReadMetaCounter(store, kMetaConflicts);
  if (!conflicts.ok()) return conflicts.status();
  if (*conflicts == 0) return 0;
  return CountRepeatedIds(store, store.next_seq());
}

absl::StatusOr<int64_t> EventsHeld(Store& store) {
  // The log's end first: a commit landing between the two reads can then
  // only make the count short by its replacements, never long.
  const auto end = static_cast<int64_t>(store.next_seq());
  auto superseded = SupersededEntries(store);
  if (!superseded.ok()) return superseded.status();
  if (*superseded > end) {
    return absl::DataLossError(absl::StrCat(
        "--db ", store.dir(), ": ", *superseded,
        " log entries replaced by later ones, more than the log's ", end));
  }
  return end - *superseded;
}

}  // namespace chatkpi
