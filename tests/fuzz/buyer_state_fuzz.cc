// libFuzzer target: DecodeBuyerState on arbitrary bytes (a buyer's stored
// value: a whole state and the records later commits appended, or damage).
// A value that decodes must be a state the engine could hold: messages in
// strict (ts, id) order, each naming one of the agents, with no flag a
// stored message does not carry (Message::kStored); and written whole it
// must decode to the same state, one record.
// Seed corpus: tests/fuzz/corpus/buyer_state.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "engine/state.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  chatkpi::BuyerState s;
  if (!chatkpi::DecodeBuyerState(input, &s)) return 0;
  if (s.stored_records == 0) __builtin_trap();
  for (size_t i = 0; i < s.messages.size(); ++i) {
    const chatkpi::Message& m = s.messages[i];
    if (m.agent >= s.agents.size()) __builtin_trap();
    if ((m.flags & ~chatkpi::Message::kStored) != 0) __builtin_trap();
    if (i > 0 && !chatkpi::MessageBefore(s.messages[i - 1], m)) {
      __builtin_trap();
    }
  }
  const std::string whole = chatkpi::EncodeBuyerState(s);
  chatkpi::BuyerState again;
  if (!chatkpi::DecodeBuyerState(whole, &again)) __builtin_trap();
  if (again.stored_records != 1) __builtin_trap();
  if (chatkpi::EncodeBuyerState(again) != whole) __builtin_trap();
  return 0;
}
