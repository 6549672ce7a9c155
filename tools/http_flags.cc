#include "tools/http_flags.h"

#include <cstdint>
#include <filesystem>
#include <iostream>

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

const std::vector<FlagSpec>& HttpLimitFlagSpecs() {
  static const auto* flags = new std::vector<FlagSpec>{
      {"rate-limit", "N", "requests a second per client, 0: no limit (20)"},
      {"rate-limit-burst", "N", "requests at once after idling (40)"},
      {"rate-limit-clients", "N", "clients whose rate is tracked (10000)"},
      {"max-live-clients", "N", "/api/live streams at once (8)"},
      {"max-snapshot-days", "N", "longest /api/snapshot period (366)"},
      {"read-timeout-ms", "MS",
       "a whole request must arrive within MS of its first byte (5000)"},
      {"write-timeout-ms", "MS", "longest wait for each write (10000)"},
  };
  return *flags;
}

const std::set<std::string>& HttpLimitFlags() {
  static const auto* flags = [] {
    auto* names = new std::set<std::string>;
    for (const FlagSpec& f : HttpLimitFlagSpecs()) names->insert(f.name);
    return names;
  }();
  return *flags;
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

void WarnIfTokenFileReadable(const std::string& command,
                             const std::optional<std::string>& file) {
  if (!file.has_value()) return;
  std::error_code ec;
  auto perms = std::filesystem::status(*file, ec).permissions();
  if (!ec && (perms & (std::filesystem::perms::group_read |
                       std::filesystem::perms::others_read)) !=
                 std::filesystem::perms::none) {
    std::cerr << "chatkpi " << command << ": WARNING: " << *file
              << " is readable by other users (chmod 600 it)\n";
  }
}

}  // namespace chatkpi
