// The chatkpi commands process tests run again and again, written once:
// generate a file, ingest files into a store, print a store's snapshot.
// Each runs the real binary (tests/subprocess.h).
#ifndef CHATKPI_TESTS_PROCESS_UTIL_H_
#define CHATKPI_TESTS_PROCESS_UTIL_H_

#include <string>
#include <vector>

#include "tests/subprocess.h"

namespace chatkpi::testing {

// `chatkpi ARGS...` to its end.
ProcessResult Chatkpi(const std::vector<std::string>& args);

// `chatkpi gen --out DIR/events.jsonl FLAGS...`; expects exit 0 and returns
// the file's path.
std::string Gen(const std::string& dir,
                const std::vector<std::string>& flags = {});

// `chatkpi ingest --db DB FLAGS... FILES...`.
ProcessResult Ingest(const std::string& db,
                     const std::vector<std::string>& files,
                     const std::vector<std::string>& flags = {});

// `chatkpi snapshot --db DB --from FROM --to TO FLAGS...`; expects exit 0
// and returns what it printed.
std::string Snapshot(const std::string& db, const std::string& from,
                     const std::string& to,
                     const std::vector<std::string>& flags = {});

}  // namespace chatkpi::testing

#endif  // CHATKPI_TESTS_PROCESS_UTIL_H_
