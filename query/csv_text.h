// Writing CSV text by hand (RFC 4180 quoting), shared by every CSV the
// program writes (snapshot, replay diff, score, statement, roster): all are
// flat, fixed-shape tables.
#ifndef CHATKPI_QUERY_CSV_TEXT_H_
#define CHATKPI_QUERY_CSV_TEXT_H_

#include <string>
#include <string_view>

namespace chatkpi {

// Appends the text `s` as one CSV field: as is, or quoted (quotes doubled)
// when it holds a comma, a quote or a line break. Text that a spreadsheet
// would run as a formula (first character = + - @, tab or CR) gets a
// leading ' so that it shows as text: agent ids and names come from
// outside (docs/scoring.md, "Output").
void AppendCsvField(std::string* out, std::string_view s);

// Appends a number the program formatted itself ("-12.5", ""): a leading
// minus followed by a digit stays a number; anything else is text, as for
// AppendCsvField.
void AppendCsvNumber(std::string* out, std::string_view s);

// Fen as yuan with exactly 2 decimals: -1005 -> "-10.05".
std::string FenToYuanText(int64_t fen);

}  // namespace chatkpi

#endif  // CHATKPI_QUERY_CSV_TEXT_H_
