#include "engine/counters.h"

#include <string>

#include "base/checked_math.h"
#include "store/coding.h"

namespace chatkpi {
namespace {

std::optional<double> Div(int64_t num, int64_t den, double scale = 1.0) {
  if (den == 0) return std::nullopt;
  return static_cast<double>(num) / static_cast<double>(den) / scale;
}

absl::Status CounterOverflow(int i) {
  return OverflowError(std::string("counter '") +
                       std::string(kCounterNames[i]) + "'");
}

}  // namespace

// Add and Subtract run for every row an event changes (the day's and the
// month's), so the counters are summed without a branch per counter: in
// wrapping arithmetic, noting in the sign bit of `wrapped` whether any sum
// left int64 (an addition overflows iff both operands' signs differ from
// the sum's; a subtraction iff the operands' signs differ and the
// minuend's differs from the difference's). The counter to name is looked
// for only then.
absl::Status Counters::Add(const Counters& o) {
  std::array<int64_t, kNumCounters> r;
  uint64_t wrapped = 0;
  for (int i = 0; i < kNumCounters; ++i) {
    const uint64_t a = static_cast<uint64_t>(v[i]);
    const uint64_t b = static_cast<uint64_t>(o.v[i]);
    const uint64_t sum = a + b;
    wrapped |= (a ^ sum) & (b ^ sum);
    r[i] = static_cast<int64_t>(sum);
  }
  if (wrapped >> 63 != 0) {
    for (int i = 0; i < kNumCounters; ++i) {
      if (!CheckedAdd(v[i], o.v[i], &r[i])) return CounterOverflow(i);
    }
  }
  v = r;
  // A histogram's counts add up to `answered` (`first_responses`), which
  // was just checked, so no bin can pass int64 before those counters do.
  if (!o.response_s.empty()) response_s += o.response_s;
  if (!o.first_response_s.empty()) first_response_s += o.first_response_s;
  return absl::OkStatus();
}

absl::Status Counters::Subtract(const Counters& o) {
  std::array<int64_t, kNumCounters> r;
  uint64_t wrapped = 0;
  for (int i = 0; i < kNumCounters; ++i) {
    const uint64_t a = static_cast<uint64_t>(v[i]);
    const uint64_t b = static_cast<uint64_t>(o.v[i]);
    const uint64_t diff = a - b;
    wrapped |= (a ^ b) & (a ^ diff);
    r[i] = static_cast<int64_t>(diff);
  }
  if (wrapped >> 63 != 0) {
    for (int i = 0; i < kNumCounters; ++i) {
      if (!CheckedSub(v[i], o.v[i], &r[i])) return CounterOverflow(i);
    }
  }
  v = r;
  if (!o.response_s.empty()) response_s -= o.response_s;
  if (!o.first_response_s.empty()) first_response_s -= o.first_response_s;
  return absl::OkStatus();
}

absl::Status CheckNonNegative(const Counters& c) {
  for (int i = 0; i < kNumCounters; ++i) {
    if (c[i] < 0) {
      return absl::DataLossError(
          std::string("counter '") + std::string(kCounterNames[i]) +
          "' is negative (" + std::to_string(c[i]) +
          "): the store is damaged or was written by a faulty build");
    }
  }
  return absl::OkStatus();
}

std::string EncodeCounters(const Counters& c) {
  std::string out;
  out.reserve(kNumCounters * 2);
  for (int64_t x : c.v) PutVarsint64(&out, x);
  if (!c.response_s.empty() || !c.first_response_s.empty()) {
    c.response_s.AppendTo(&out);
    c.first_response_s.AppendTo(&out);
  }
  return out;
}

bool DecodeCounters(std::string_view in, Counters* c) {
  *c = Counters();
  for (int i = 0; i < kNumCounters && !in.empty(); ++i) {
    if (!GetVarsint64(&in, &c->v[i])) return false;
  }
  if (!in.empty() && (!c->response_s.DecodeFrom(&in) ||
                      !c->first_response_s.DecodeFrom(&in))) {
    return false;
  }
  return in.empty();
}

std::optional<double> ComputeRatio(const Counters& c, Ratio r) {
  switch (r) {
    case kReplyRate:
      return Div(c[kReplied], c[kConsultations]);
    case kAvgResponseS:
      return Div(c[kResponseMsSum], c[kAnswered], 1000.0);
    case kAvgFirstResponseS:
      return Div(c[kFirstResponseMsSum], c[kFirstResponses], 1000.0);
    case kSlowRate:
      return Div(c[kSlow], c[kAnswered]);
    case kConversionRate:
      return Div(c[kOrderedBuyers], c[kConsultations]);
    case kOrderSuccessRate:
      return Div(c[kPaidBuyers], c[kOrderedBuyers]);
    case kPayConversionRate:
      return Div(c[kPaidBuyers], c[kConsultations]);
    case kAvgOrderValue:
      return Div(c[kSalesFen], c[kPaidBuyers], 100.0);
    case kRefundRate:
      return Div(c[kRefundedItems], c[kPaidItems]);
    case kCourtesyRate:
      return Div(c[kCourteous], c[kConsultations]);
    case kNumRatios:
      break;
  }
  return std::nullopt;
}

}  // namespace chatkpi
