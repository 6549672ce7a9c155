// Small helpers for writing JSON text by hand: the outputs are flat and
// fixed-shape, so a writer library would add more than it saves.
#ifndef CHATKPI_QUERY_JSON_TEXT_H_
#define CHATKPI_QUERY_JSON_TEXT_H_

#include <optional>
#include <string>
#include <string_view>

namespace chatkpi {

// Appends `s` as a quoted JSON string (UTF-8 passes through unescaped).
void AppendJsonString(std::string* out, std::string_view s);

// Shortest text that reads back as the same double; `null` for nullopt or a
// non-finite value.
void AppendJsonDouble(std::string* out, std::optional<double> v);
std::string FormatDouble(double v);

}  // namespace chatkpi

#endif  // CHATKPI_QUERY_JSON_TEXT_H_
