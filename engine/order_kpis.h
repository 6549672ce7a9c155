// What one order contributes to the order counters of docs/spec.md §3: the agent it
// is attributed to (from its buyer's `in` messages), its created day, its
// first payment and its refunds.
#ifndef CHATKPI_ENGINE_ORDER_KPIS_H_
#define CHATKPI_ENGINE_ORDER_KPIS_H_

#include <cstdint>
#include <vector>

#include "absl/container/inlined_vector.h"
#include "engine/local_day.h"
#include "engine/rules.h"
#include "engine/state.h"

namespace chatkpi {

struct OrderContribution {
  uint32_t agent = kNoAgent;  // index into the buyer's agents
  int32_t created_day = 0;
  bool paid = false;
  int32_t paid_day = 0;
  int64_t paid_items = 0;
  int64_t paid_fen = 0;
  struct Refund {
    int32_t day;
    int64_t items;
    int64_t fen;
  };
  absl::InlinedVector<Refund, 2> refunds;
};

struct AttributionParams {
  int64_t window_ms = 86400'000;
  AttributionModel model = AttributionModel::kLast;
};

// The agent of the buyer's `in` message that attributes an order created at
// `created_ts`, or kNoAgent.
uint32_t AttributedAgent(const BuyerState& buyer, int64_t created_ts,
                         const AttributionParams& p);

// `buyer` must be the state of o.buyer().
OrderContribution ContributionOf(const OrderState& o, const BuyerState& buyer,
                                 const AttributionParams& p,
                                 LocalCalendar& cal);

}  // namespace chatkpi

#endif  // CHATKPI_ENGINE_ORDER_KPIS_H_
