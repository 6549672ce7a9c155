// The rules of docs/spec.md §2. KPIs are a function of (events, rules); a store is
// built under one rules version and refuses another (use replay to change).
#ifndef CHATKPI_ENGINE_RULES_H_
#define CHATKPI_ENGINE_RULES_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "engine/service_hours.h"

namespace chatkpi {

// Bounds of the rule values (docs/replay.md "Rules files", docs/limits.md
// "Numbers never wrap"). Windows become milliseconds added to event times;
// a response time is at most the response window, so 30 days keeps even
// 10^9 answered questions' response_ms_sum inside int64, and 366 days of
// attribution is longer than any month a figure covers.
inline constexpr int64_t kMaxResponseSeconds = 30 * 86400;
inline constexpr int64_t kMaxAttributionSeconds = 366 * 86400;
inline constexpr size_t kMaxKeywords = 1000;     // per list
inline constexpr size_t kMaxKeywordBytes = 256;  // UTF-8 bytes
inline constexpr size_t kMaxVersionBytes = 128;  // UTF-8 bytes

enum class AttributionModel : uint8_t { kLast = 0, kFirst = 1 };

struct Rules {
  std::string version = "default";
  std::string timezone_name = "Asia/Shanghai";
  absl::TimeZone timezone;  // loaded from timezone_name
  int64_t response_window_s = 3600;
  int64_t response_slow_s = 40;
  int64_t attribution_window_s = 86400;
  AttributionModel attribution_model = AttributionModel::kLast;
  std::vector<std::string> good_keywords = {"亲", "您好", "谢谢"};
  std::vector<std::string> bad_keywords = {"不知道", "自己看", "滚"};
  // `service.hours` and `service.closed_dates`; absent: always open.
  ServiceHours service_hours;
  // `response.thresholds_s`: strictly increasing whole seconds.
  std::vector<int64_t> response_thresholds_s = DefaultResponseThresholds();

  static std::vector<int64_t> DefaultResponseThresholds() {
    return {30, 60, 180};
  }

  // Canonical JSON of every rule; equal rules give equal text.
  std::string ToJson() const;
};

// The defaults of docs/spec.md §2, with the time zone loaded.
absl::StatusOr<Rules> DefaultRules();

// Parses a rules file (JSON, a leading UTF-8 byte-order mark allowed). Keys
// may be flat ("response.window_s") or nested ({"response": {"window_s":
// 60}}). Unknown keys, a key given twice (flat and nested count as the same
// key), a bad time zone, values out of the bounds above or a missing version
// are refused with a message naming the key; a syntax error names its line
// and column.
absl::StatusOr<Rules> ParseRules(std::string_view json);
absl::StatusOr<Rules> LoadRulesFile(const std::string& path);

}  // namespace chatkpi

#endif  // CHATKPI_ENGINE_RULES_H_
