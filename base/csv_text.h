// The one CSV writer (RFC 4180 quoting): every CSV the program writes
// (snapshot, diff, score, statement, roster, awards, dead letters) writes
// its fields through these. All are flat, fixed-shape tables; numbers are
// formatted first, one form per kind of figure (base/number_text.h).
#ifndef CHATKPI_BASE_CSV_TEXT_H_
#define CHATKPI_BASE_CSV_TEXT_H_

#include <string>
#include <string_view>

namespace chatkpi {

// Appends the text `s` as one CSV field: as is, or quoted (quotes doubled)
// when it holds a comma, a quote or a line break. Text that a spreadsheet
// would run as a formula (first character = + - @, tab or CR) gets a
// leading ' so that it shows as text: agent ids and names come from
// outside (docs/scoring.md, "Output").
void AppendCsvField(std::string* out, std::string_view s);

// A field read back from a CSV this program wrote: without the leading '
// AppendCsvField put before text a spreadsheet would run as a formula, so
// that an exported table imports as the same table (the roster).
std::string_view WithoutFormulaGuard(std::string_view field);

// Appends a number the program formatted itself ("-12.5", ""): a leading
// minus followed by a digit stays a number; anything else is text, as for
// AppendCsvField.
void AppendCsvNumber(std::string* out, std::string_view s);

}  // namespace chatkpi

#endif  // CHATKPI_BASE_CSV_TEXT_H_
