#include "base/number_text.h"

#include <charconv>
#include <cmath>

#include "absl/strings/str_cat.h"

namespace chatkpi {
namespace {

// |v| without overflow for INT64_MIN.
uint64_t Magnitude(int64_t v) {
  return v < 0 ? -static_cast<uint64_t>(v) : static_cast<uint64_t>(v);
}

}  // namespace

void AppendDouble(std::string* out, double v) {
  if (v == 0) v = 0;  // -0.0 == 0: print it as "0"
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  out->append(buf, end);
}

std::string FormatDouble(double v) {
  std::string out;
  AppendDouble(&out, v);
  return out;
}

double RoundedChange(double a, double b) {
  return std::round((b - a) * 1e6) / 1e6;
}

std::string FenToYuanText(int64_t fen) {
  const uint64_t a = Magnitude(fen);
  const uint64_t cents = a % 100;
  return absl::StrCat(fen < 0 ? "-" : "", a / 100, cents < 10 ? ".0" : ".",
                      cents);
}

std::string CentiText(int64_t centi) {
  const char* sign = centi < 0 ? "-" : "";
  const uint64_t a = Magnitude(centi);
  if (a % 100 == 0) return absl::StrCat(sign, a / 100);
  if (a % 10 == 0) return absl::StrCat(sign, a / 100, ".", (a % 100) / 10);
  return absl::StrCat(sign, a / 100, a % 100 < 10 ? ".0" : ".", a % 100);
}

std::string PpmPercentText(int64_t ppm) {
  const uint64_t a = Magnitude(ppm);
  std::string s = absl::StrCat(ppm < 0 ? "-" : "", a / 10000);
  const uint64_t frac = a % 10000;
  if (frac != 0) {
    std::string f = absl::StrCat(frac + 10000).substr(1);
    while (f.back() == '0') f.pop_back();
    absl::StrAppend(&s, ".", f);
  }
  return s + "%";
}

}  // namespace chatkpi
