#include "ingest/event_content.h"

#include <cstdint>
#include <string_view>

namespace chatkpi {
namespace {

void PutBE(std::string* out, uint64_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) {
    out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  }
}

void PutString(std::string* out, std::string_view s) {
  PutBE(out, s.size(), 4);
  out->append(s);
}

}  // namespace

std::string EventContent(const Event& e) {
  std::string out;
  // Validated times are positive (docs/spec.md §1): as unsigned they sort the same.
  PutBE(&out, static_cast<uint64_t>(e.ts_ms), 8);
  out.push_back(static_cast<char>(e.type));
  switch (e.type) {
    case EventType::kChat:
      PutString(&out, e.buyer);
      PutString(&out, e.agent);
      out.push_back(e.inbound ? 1 : 0);
      out.push_back(e.auto_reply ? 1 : 0);
      PutString(&out, e.text);
      break;
    case EventType::kOrder:
      PutString(&out, e.order);
      PutString(&out, e.buyer);
      out.push_back(static_cast<char>(e.status));
      PutBE(&out, static_cast<uint64_t>(e.amount_fen), 8);
      PutBE(&out, static_cast<uint64_t>(e.items), 8);
      break;
    case EventType::kAssessment:
      PutString(&out, e.agent);
      PutString(&out, e.period);
      PutString(&out, e.metric);
      PutString(&out, e.value_text);
      break;
  }
  return out;
}

}  // namespace chatkpi
