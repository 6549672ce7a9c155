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

absl::Status Counters::Add(const Counters& o) {
  std::array<int64_t, kNumCounters> r;
  for (int i = 0; i < kNumCounters; ++i) {
    if (!CheckedAdd(v[i], o.v[i], &r[i])) return CounterOverflow(i);
  }
  v = r;
  // A histogram's counts add up to `answered` (`first_responses`), which
  // was just checked, so no bin can pass int64 before those counters do.
  response_s += o.response_s;
  first_response_s += o.first_response_s;
  return absl::OkStatus();
}

absl::Status Counters::Subtract(const Counters& o) {
  std::array<int64_t, kNumCounters> r;
  for (int i = 0; i < kNumCounters; ++i) {
    if (!CheckedSub(v[i], o.v[i], &r[i])) return CounterOverflow(i);
  }
  v = r;
  response_s -= o.response_s;
  first_response_s -= o.first_response_s;
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
