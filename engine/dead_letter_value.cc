#include "engine/dead_letter_value.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace chatkpi {

std::string EncodeDeadLetterValue(std::string_view reason,
                                  std::string_view raw) {
  std::string v(reason);
  if (raw.size() > kMaxDeadLetterRawBytes) {
    absl::StrAppend(&v, "\t", raw.size());
    raw = raw.substr(0, kMaxDeadLetterRawBytes);
  }
  v.push_back('\0');
  v.append(raw);
  return v;
}

bool DecodeDeadLetterValue(std::string_view value, DeadLetterValue* out) {
  const size_t nul = value.find('\0');
  if (nul == std::string_view::npos) return false;
  std::string_view head = value.substr(0, nul);
  out->raw = value.substr(nul + 1);
  out->raw_bytes = out->raw.size();
  const size_t tab = head.find('\t');
  if (tab != std::string_view::npos) {
    uint64_t total = 0;
    const std::string_view digits = head.substr(tab + 1);
    if (!absl::SimpleAtoi(absl::string_view(digits.data(), digits.size()),
                          &total) ||
        total < out->raw.size()) {
      return false;
    }
    out->raw_bytes = total;
    head = head.substr(0, tab);
  }
  out->reason = head;
  return true;
}

}  // namespace chatkpi
