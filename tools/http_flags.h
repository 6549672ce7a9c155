// The HTTP server's limit flags (docs/limits.md), shared by `chatkpi serve`
// and `chatkpi run --port`:
//
//   --rate-limit N          requests a second per client, 0: no limit (20)
//   --rate-limit-burst N    requests at once after idling (40)
//   --rate-limit-clients N  clients whose rate is tracked at most (10000)
//   --max-live-clients N    /api/live streams at once (8, at most threads-1)
//   --max-snapshot-days N   longest /api/snapshot period (366)
//   --read-timeout-ms N     longest wait for each read of a request (5000)
//   --write-timeout-ms N    longest wait for each write of a response (10000)
#ifndef CHATKPI_TOOLS_HTTP_FLAGS_H_
#define CHATKPI_TOOLS_HTTP_FLAGS_H_

#include <optional>
#include <set>
#include <string>

#include "absl/status/status.h"
#include "query/http_server.h"
#include "tools/args.h"

namespace chatkpi {

// The flags above with their help, and their names (without "--").
const std::vector<FlagSpec>& HttpLimitFlagSpecs();
const std::set<std::string>& HttpLimitFlags();
// `flags` and those.
std::set<std::string> WithHttpLimitFlags(std::set<std::string> flags);

// Sets `opts`' limits from those flags that are given; the others keep
// their defaults. A value out of range is an InvalidArgument naming the
// flag and its range.
absl::Status HttpLimitsFromArgs(const Args& args, HttpServerOptions* opts);

// Warns on stderr ("chatkpi COMMAND: WARNING: ...") when a token file can
// be read by other users; `serve` and `run --port` call it for each token
// file they use.
void WarnIfTokenFileReadable(const std::string& command,
                             const std::optional<std::string>& file);

}  // namespace chatkpi

#endif  // CHATKPI_TOOLS_HTTP_FLAGS_H_
