// What a buyer's or an order's state takes in memory, roughly: the figures
// the memory budgets of the engine count in (docs/engine.md, "Memory"). A
// budget bounds memory by these; they are not an exact account of malloc.
#ifndef CHATKPI_ENGINE_STATE_BYTES_H_
#define CHATKPI_ENGINE_STATE_BYTES_H_

#include <cstddef>
#include <string_view>

#include "engine/state.h"
#include "ingest/event.h"

namespace chatkpi {

// The state of buyer or order `name` as an engine or the evicted pool
// holds it: its entry and the map slot that keys it, its vectors by
// capacity, and the heap blocks of its strings (a string of more than the
// 15 bytes std::string holds inline has one).
size_t StateBytes(std::string_view name, const BuyerState& b);
size_t StateBytes(std::string_view name, const OrderState& o);

// About what applying `e` adds to the states it touches: one message, or
// one order event and the buyer's reference to the order, with the quarter
// a full vector grows by.
size_t StateBytesOfEvent(const Event& e);

}  // namespace chatkpi

#endif  // CHATKPI_ENGINE_STATE_BYTES_H_
