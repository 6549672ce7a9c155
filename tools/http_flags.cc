#include "tools/http_flags.h"

#include <cstdint>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"

namespace chatkpi {
namespace {

// The integer flag `name`, `def` when absent, refused outside [lo, hi].
absl::StatusOr<int64_t> BoundedInt(const Args& args, const std::string& name,
                                   int64_t def, int64_t lo, int64_t hi) {
  auto v = args.GetInt(name, def);
  if (!v.ok()) return v.status();
  if (*v < lo || *v > hi) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", name, " must be ", lo, "..", hi, ", not ", *v));
  }
  return *v;
}

}  // namespace

const std::set<std::string>& HttpLimitFlags() {
  static const std::set<std::string> kFlags = {
      "rate-limit",       "rate-limit-burst",  "rate-limit-clients",
      "max-live-clients", "max-snapshot-days", "read-timeout-ms",
      "write-timeout-ms"};
  return kFlags;
}

std::set<std::string> WithHttpLimitFlags(std::set<std::string> flags) {
  flags.insert(HttpLimitFlags().begin(), HttpLimitFlags().end());
  return flags;
}

absl::Status HttpLimitsFromArgs(const Args& args, HttpServerOptions* opts) {
  RateLimiterOptions& rl = opts->rate_limit;
  auto rate = BoundedInt(args, "rate-limit", static_cast<int64_t>(rl.rate), 0,
                         1'000'000);
  if (!rate.ok()) return rate.status();
  auto burst = BoundedInt(args, "rate-limit-burst", rl.burst, 1, 1'000'000);
  if (!burst.ok()) return burst.status();
  auto clients =
      BoundedInt(args, "rate-limit-clients",
                 static_cast<int64_t>(rl.max_clients), 1, 10'000'000);
  if (!clients.ok()) return clients.status();
  if (args.Has("rate-limit")) rl.rate = static_cast<double>(*rate);
  rl.burst = static_cast<int>(*burst);
  rl.max_clients = static_cast<size_t>(*clients);

  // 0 turns the live dashboard's push off; the cap of threads - 1 applies
  // on top (query/http_server.h).
  auto live =
      BoundedInt(args, "max-live-clients", opts->max_live_clients, 0, 1024);
  if (!live.ok()) return live.status();
  opts->max_live_clients = static_cast<int>(*live);
  // 36,600 days cover every date the API accepts (1999-12-31..2100-01-01).
  auto days =
      BoundedInt(args, "max-snapshot-days", opts->max_snapshot_days, 1, 36'600);
  if (!days.ok()) return days.status();
  opts->max_snapshot_days = static_cast<int>(*days);

  auto read_ms =
      BoundedInt(args, "read-timeout-ms",
                 absl::ToInt64Milliseconds(opts->read_timeout), 100, 600'000);
  if (!read_ms.ok()) return read_ms.status();
  auto write_ms =
      BoundedInt(args, "write-timeout-ms",
                 absl::ToInt64Milliseconds(opts->write_timeout), 100, 600'000);
  if (!write_ms.ok()) return write_ms.status();
  opts->read_timeout = absl::Milliseconds(*read_ms);
  opts->write_timeout = absl::Milliseconds(*write_ms);
  return absl::OkStatus();
}

}  // namespace chatkpi
