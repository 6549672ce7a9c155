// libFuzzer target: ParseScheme on arbitrary bytes (a scoring scheme file),
// then the commission brackets of an accepted scheme over a range of net
// sales: no crash, no overflow (UBSan), commission never negative.
// Seed corpus: tests/fuzz/corpus/scheme (the shipped schemes and variants).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "query/scheme.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  auto scheme = chatkpi::ParseScheme(input, "fuzz.scheme");
  if (!scheme.ok()) {
    if (scheme.status().message().empty()) __builtin_trap();
    return 0;
  }
  if (scheme->has_pay) {
    for (int64_t fen :
         {int64_t{0}, int64_t{1}, int64_t{1'500'000}, int64_t{2'000'000},
          int64_t{2'500'001}, int64_t{100'000'000'000}}) {
      // A rate far above 100% may not fit: an error, never a wrapped value.
      auto c = chatkpi::PersonalCommissionFen(*scheme, fen);
      if (c.ok() && *c < 0) __builtin_trap();
    }
  }
  return 0;
}
