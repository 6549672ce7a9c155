// The §3 counters of one (agent, local day), and the ratios derived from a
// sum of them. Counters are plain int64 so that a late event can be retracted
// by adding a negative delta; every ratio is derived at query time.
//
// Counters are only ever added with Add/Subtract, which check every counter
// for int64 overflow and fail instead of wrapping (docs/limits.md, "Numbers
// never wrap"); there is deliberately no operator+=.
#ifndef CHATKPI_ENGINE_COUNTERS_H_
#define CHATKPI_ENGINE_COUNTERS_H_

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "engine/response_histogram.h"

namespace chatkpi {

enum Counter : int {
  kConsultations = 0,
  kReplied,
  kQuestions,
  kAnswered,
  kUnanswered,
  kResponseMsSum,
  kSlow,
  kFirstResponses,
  kFirstResponseMsSum,
  kCourteous,
  kRude,
  kOrders,
  kOrderedBuyers,
  kPaidOrders,
  kPaidBuyers,
  kPaidItems,
  kSalesFen,
  kRefunds,
  kRefundedItems,
  kRefundFen,
  kNumCounters
};

// Snapshot names, in snapshot column order.
inline constexpr std::array<std::string_view, kNumCounters> kCounterNames = {
    "consultations",
    "replied",
    "questions",
    "answered",
    "unanswered",
    "response_ms_sum",
    "slow",
    "first_responses",
    "first_response_ms_sum",
    "courteous",
    "rude",
    "orders",
    "ordered_buyers",
    "paid_orders",
    "paid_buyers",
    "paid_items",
    "sales_fen",
    "refunds",
    "refunded_items",
    "refund_fen"};

// The order counters: the only ones of the `unattributed` row.
inline constexpr int kFirstOrderCounter = kOrders;

struct Counters {
  std::array<int64_t, kNumCounters> v{};
  // Answered questions, and answered first questions of consultations, by
  // response time in whole seconds (docs/spec.md §3): the threshold counts
  // and percentiles are read from these.
  ResponseHistogram response_s;
  ResponseHistogram first_response_s;

  int64_t& operator[](int i) { return v[i]; }
  int64_t operator[](int i) const { return v[i]; }
  // Adds (subtracts) `o` counter by counter. When any result would not fit
  // in int64, returns OutOfRange naming that counter and leaves *this
  // unchanged.
  absl::Status Add(const Counters& o);
  absl::Status Subtract(const Counters& o);
  bool IsZero() const {
    for (int64_t x : v)
      if (x != 0) return false;
    return response_s.empty() && first_response_s.empty();
  }
  bool operator==(const Counters&) const = default;
};

enum Ratio : int {
  kReplyRate = 0,
  kAvgResponseS,
  kAvgFirstResponseS,
  kSlowRate,
  kConversionRate,
  kOrderSuccessRate,
  kPayConversionRate,
  kAvgOrderValue,
  kRefundRate,
  kCourtesyRate,
  kNumRatios
};

inline constexpr std::array<std::string_view, kNumRatios> kRatioNames = {
    "reply_rate",          "avg_response_s",  "avg_first_response_s",
    "slow_rate",           "conversion_rate", "order_success_rate",
    "pay_conversion_rate", "avg_order_value", "refund_rate",
    "courtesy_rate"};

// Stored form of an aggregate row: zigzag varints in counter order, then,
// when either is non-empty, the two response histograms. Rows written by an
// older build (fewer counters, no histograms) decode with zeros and empty
// histograms after.
std::string EncodeCounters(const Counters& c);
bool DecodeCounters(std::string_view in, Counters* c);

// Every counter is a count or a sum of non-negative amounts, so a stored
// row with a negative one is damage (or a bug), never a figure to show:
// DataLoss naming the counter.
absl::Status CheckNonNegative(const Counters& c);

// docs/spec.md §3 ratio table; nullopt when the denominator is 0.
std::optional<double> ComputeRatio(const Counters& c, Ratio r);

}  // namespace chatkpi

#endif  // CHATKPI_ENGINE_COUNTERS_H_
