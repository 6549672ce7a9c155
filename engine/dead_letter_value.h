// The value of a dead letter in the store's `dead` family (key: its source
// position): the reason, then the line's raw bytes (docs/engine.md, "Dead
// letters").
//
// A line may be as long as the line limit (1 MiB by default, up to 1 GiB:
// docs/limits.md), and a Kafka message as long as the broker allows; a dead
// letter keeps at most its first kMaxDeadLetterRawBytes, which is enough to
// see what is wrong with it, and records how long the line was. So a file of
// long broken lines cannot grow the store by more than 64 KiB per line.
//
//   reason \0 raw                       the whole line
//   reason \t <total bytes> \0 raw      raw is the line's first 64 KiB
//
// Reasons never hold a tab or a NUL (ingest/event_parser.h); raw bytes may
// hold anything, NULs included.
#ifndef CHATKPI_ENGINE_DEAD_LETTER_VALUE_H_
#define CHATKPI_ENGINE_DEAD_LETTER_VALUE_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace chatkpi {

inline constexpr size_t kMaxDeadLetterRawBytes = 64 << 10;

std::string EncodeDeadLetterValue(std::string_view reason,
                                  std::string_view raw);

struct DeadLetterValue {
  std::string_view reason;
  std::string_view raw;    // the kept bytes
  uint64_t raw_bytes = 0;  // the line's whole length
  bool cut() const { return raw_bytes > raw.size(); }
};
// False for a value this layout cannot have come from.
bool DecodeDeadLetterValue(std::string_view value, DeadLetterValue* out);

}  // namespace chatkpi

#endif  // CHATKPI_ENGINE_DEAD_LETTER_VALUE_H_
