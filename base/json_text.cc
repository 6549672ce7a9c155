#include "base/json_text.h"

#include <cmath>

#include "base/number_text.h"

namespace chatkpi {

void AppendJsonString(std::string* out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out->push_back('"');
  for (char c : s) {
    switch (c) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\r':
        out->append("\\r");
        break;
      case '\t':
        out->append("\\t");
        break;
      default: {
        const unsigned char u = static_cast<unsigned char>(c);
        if (u < 0x20) {
          const char esc[] = {'\\', 'u', '0', '0', kHex[u >> 4], kHex[u & 0xf]};
          out->append(esc, sizeof esc);
        } else {
          out->push_back(c);
        }
      }
    }
  }
  out->push_back('"');
}

std::string JsonString(std::string_view s) {
  std::string out;
  AppendJsonString(&out, s);
  return out;
}

void AppendJsonDouble(std::string* out, std::optional<double> v) {
  if (!v.has_value() || !std::isfinite(*v)) {
    out->append("null");
    return;
  }
  AppendDouble(out, *v);
}

std::string JsonDouble(std::optional<double> v) {
  std::string out;
  AppendJsonDouble(&out, v);
  return out;
}

}  // namespace chatkpi
