// libFuzzer target: ParseRules on arbitrary bytes (a --rules file). An
// accepted rules file must survive the canonical JSON round trip that the
// store relies on to refuse other rules: ParseRules(ToJson(r)) gives r.
// Seed corpus: tests/fuzz/corpus/rules.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "engine/rules.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  auto rules = chatkpi::ParseRules(input);
  if (!rules.ok()) {
    if (rules.status().message().empty()) __builtin_trap();
    return 0;
  }
  const std::string json = rules->ToJson();
  auto again = chatkpi::ParseRules(json);
  if (!again.ok()) __builtin_trap();
  if (again->ToJson() != json) __builtin_trap();
  return 0;
}
