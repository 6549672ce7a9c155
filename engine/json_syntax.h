// Where a JSON text first breaks the grammar (RFC 8259), for messages that
// point at a line and column. simdjson, which parses the files, says what
// went wrong but not where.
#ifndef CHATKPI_ENGINE_JSON_SYNTAX_H_
#define CHATKPI_ENGINE_JSON_SYNTAX_H_

#include <cstdint>
#include <string>
#include <string_view>

namespace chatkpi {

struct JsonSyntaxError {
  bool found = false;
  int64_t line = 0;    // 1-based
  int64_t column = 0;  // 1-based, in bytes
  std::string what;    // e.g. "expected ',' or '}'"
};

// The first syntax error of `text`, or found == false when the text is
// well-formed JSON (one value, surrounded by whitespace only). Nesting
// deeper than 1000 levels counts as an error.
JsonSyntaxError FindJsonSyntaxError(std::string_view text);

}  // namespace chatkpi

#endif  // CHATKPI_ENGINE_JSON_SYNTAX_H_
