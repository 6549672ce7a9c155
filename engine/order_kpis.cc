#include "engine/order_kpis.h"

#include <algorithm>

namespace chatkpi {

uint32_t AttributedAgent(const BuyerState& buyer, int64_t created_ts,
                         const AttributionParams& p) {
  const std::vector<Message>& m = buyer.messages;
  const int64_t from = created_ts - p.window_ms;
  auto ts_less = [](const Message& x, int64_t t) { return x.ts < t; };
  if (p.model == AttributionModel::kFirst) {
    for (auto it = std::lower_bound(m.begin(), m.end(), from, ts_less);
         it != m.end() && it->ts <= created_ts; ++it) {
      if (it->inbound()) return it->agent;
    }
    return kNoAgent;
  }
  // Latest by (ts, id): walk back from the first message after created_ts.
  auto end =
      std::upper_bound(m.begin(), m.end(), created_ts,
                       [](int64_t t, const Message& x) { return t < x.ts; });
  for (auto it = end; it != m.begin();) {
    --it;
    if (it->ts < from) break;
    if (it->inbound()) return it->agent;
  }
  return kNoAgent;
}

OrderContribution ContributionOf(const OrderState& o, const BuyerState& buyer,
                                 const AttributionParams& p,
                                 LocalCalendar& cal) {
  OrderContribution c;
  const int64_t created = o.CreatedTs();
  c.agent = AttributedAgent(buyer, created, p);
  c.created_day = cal.DayOf(created);
  for (const OrderEventRecord& e : o.events) {
    if (e.status == OrderStatus::kPaid && !c.paid) {
      c.paid = true;
      c.paid_day = cal.DayOf(e.ts);
      c.paid_items = e.items;
      c.paid_fen = e.amount_fen;
    } else if (e.status == OrderStatus::kRefunded) {
      c.refunds.push_back({cal.DayOf(e.ts), e.items, e.amount_fen});
    }
  }
  return c;
}

}  // namespace chatkpi
