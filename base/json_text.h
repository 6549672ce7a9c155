// The one JSON writer: every JSON text the program writes (command output,
// the HTTP API, stored meta records, the rules' canonical text) quotes its
// strings and writes its numbers through these. The outputs are flat and
// fixed-shape, so a writer library would add more than it saves.
//
// Strings: UTF-8 passes through unescaped; `"` and `\` are escaped, line
// feed, carriage return and tab as \n \r \t, every other byte below 0x20 as
// \u00xx (lower-case hex). Numbers: integers (counters, fen, milliseconds)
// go through absl::StrCat; every other figure through AppendJsonDouble, the
// number format of base/number_text.h (docs/spec.md, "Number formats").
#ifndef CHATKPI_BASE_JSON_TEXT_H_
#define CHATKPI_BASE_JSON_TEXT_H_

#include <optional>
#include <string>
#include <string_view>

namespace chatkpi {

// Appends `s` as a quoted JSON string.
void AppendJsonString(std::string* out, std::string_view s);

// `s` as a quoted JSON string.
std::string JsonString(std::string_view s);

// FormatDouble(*v) (base/number_text.h); `null` for nullopt or a non-finite
// value, which has no JSON number.
void AppendJsonDouble(std::string* out, std::optional<double> v);
std::string JsonDouble(std::optional<double> v);

}  // namespace chatkpi

#endif  // CHATKPI_BASE_JSON_TEXT_H_
