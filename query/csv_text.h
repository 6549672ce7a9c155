// Writing CSV text by hand (RFC 4180 quoting), shared by the snapshot and
// the replay diff: both are flat, fixed-shape tables.
#ifndef CHATKPI_QUERY_CSV_TEXT_H_
#define CHATKPI_QUERY_CSV_TEXT_H_

#include <string>
#include <string_view>

namespace chatkpi {

// Appends `s` as one CSV field: as is, or quoted (quotes doubled) when it
// holds a comma, a quote or a line break. Agent names are free text.
void AppendCsvField(std::string* out, std::string_view s);

}  // namespace chatkpi

#endif  // CHATKPI_QUERY_CSV_TEXT_H_
