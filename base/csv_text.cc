#include "base/csv_text.h"

namespace chatkpi {
namespace {

void AppendQuoted(std::string* out, std::string_view prefix,
                  std::string_view s) {
  if (s.find_first_of(",\"\r\n") == std::string_view::npos) {
    out->append(prefix);
    out->append(s);
    return;
  }
  out->push_back('"');
  out->append(prefix);
  for (char c : s) {
    if (c == '"') out->push_back('"');
    out->push_back(c);
  }
  out->push_back('"');
}

}  // namespace

void AppendCsvField(std::string* out, std::string_view s) {
  const bool formula =
      !s.empty() &&
      std::string_view("=+-@\t\r").find(s.front()) != std::string_view::npos;
  AppendQuoted(out, formula ? "'" : "", s);
}

void AppendCsvNumber(std::string* out, std::string_view s) {
  // Only a leading minus sign followed by a digit passes unneutralised: a
  // cell that is not a number after all is treated as text.
  const bool negative_number =
      s.size() >= 2 && s[0] == '-' && s[1] >= '0' && s[1] <= '9';
  if (negative_number) {
    AppendQuoted(out, "", s);
  } else {
    AppendCsvField(out, s);
  }
}

}  // namespace chatkpi
