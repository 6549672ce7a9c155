// Shared helpers for engine tests: build events by hand, run them through a
// real engine on a temporary store, read the period snapshot back.
#ifndef CHATKPI_TESTS_TEST_UTIL_H_
#define CHATKPI_TESTS_TEST_UTIL_H_

#include <cstdint>
#include <string>
#include <vector>

#include "engine/rules.h"
#include "ingest/event.h"
#include "query/snapshot.h"

namespace chatkpi {
struct RefSnapshot;  // tests/reference_model.h
}  // namespace chatkpi

namespace chatkpi::testing {

// Epoch ms of a local time "YYYY-MM-DD HH:MM:SS" in Asia/Shanghai.
int64_t Local(const std::string& civil);

Event Chat(const std::string& id, int64_t ts, const std::string& buyer,
           const std::string& agent, bool inbound, const std::string& text = "",
           bool auto_reply = false);
Event In(const std::string& id, int64_t ts, const std::string& buyer,
         const std::string& agent);
Event Out(const std::string& id, int64_t ts, const std::string& buyer,
          const std::string& agent, const std::string& text = "");
Event Order(const std::string& id, int64_t ts, const std::string& order,
            const std::string& buyer, OrderStatus status, int64_t fen = 0,
            int64_t items = 1);

// The JSONL line of a valid event (what a shop's export would hold).
std::string EventJson(const Event& e);

// A fresh directory under the test temp dir.
std::string TempDir(const std::string& name);

// Runs `events` through an engine on a new store (committing every
// `commit_every` events) and returns the snapshot of [from, to].
PeriodSnapshot RunEngine(const std::vector<Event>& events, const Rules& rules,
                         absl::CivilDay from, absl::CivilDay to,
                         size_t commit_every = 1000);

// The snapshot of [from, to] of the store at `db`, opened read-only (an
// empty one, after a failed expectation, if it cannot be read).
PeriodSnapshot StoredSnapshot(const std::string& db, absl::CivilDay from,
                              absl::CivilDay to);

const AgentRow* FindAgent(const PeriodSnapshot& s, const std::string& agent);

Rules TestRules();

// The valid events of a JSONL file in line order (duplicates kept), and in
// `*bad_lines` how many non-empty lines do not parse.
std::vector<Event> ParseJsonlFile(const std::string& path, int64_t* bad_lines);

// Expects `got` to hold exactly the batch reference model's `want`: the
// same agents with the same counters, the same unattributed counters.
void ExpectSameAsReference(const PeriodSnapshot& got, const RefSnapshot& want);

// Expects the store at `db` to hold exactly the batch reference model's
// counters of `file`'s events over [from, to] (default rules) and one dead
// letter per line of it that does not parse.
void ExpectStoreMatchesReference(const std::string& db, const std::string& file,
                                 absl::CivilDay from, absl::CivilDay to);

}  // namespace chatkpi::testing

#endif  // CHATKPI_TESTS_TEST_UTIL_H_
