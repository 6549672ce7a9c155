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

// Text a spreadsheet would run as a formula.
bool RunsAsFormula(std::string_view s) {
  return !s.empty() &&
         std::string_view("=+-@\t\r").find(s.front()) != std::string_view::npos;
}

}  // namespace

void AppendCsvField(std::string* out, std::string_view s) {
  AppendQuoted(out, RunsAsFormula(s) ? "'" : "", s);
}

std::string_view WithoutFormulaGuard(std::string_view field) {
  if (field.size() >= 2 && field.front() == '\'' &&
      RunsAsFormula(field.substr(1))) {
    field.remove_prefix(1);
  }
  return field;
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
