// A TOML file (https://toml.io, v1.0) read into a flat list of settings with
// their positions, the one syntax of chatkpi's hand-edited files: scoring
// schemes and the `run --config` file (docs/config.md). Callers decide which
// tables and keys exist and refuse the rest; this layer refuses what TOML
// refuses (syntax errors, a key or table defined twice) and what no chatkpi
// file uses (dates and times, arrays of tables or of arrays).
//
// toml++ stays inside config/toml_document.cc: it is a large header, and no
// caller needs its types.
#ifndef CHATKPI_CONFIG_TOML_DOCUMENT_H_
#define CHATKPI_CONFIG_TOML_DOCUMENT_H_

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace chatkpi {

// One value. Positions are 1-based; columns count characters, not bytes.
struct TomlValue {
  enum class Type { kString, kInteger, kFloat, kBoolean };
  Type type = Type::kString;
  // kString: the text, unquoted and unescaped. kInteger: decimal digits
  // (hex, octal and binary are converted). kFloat: the digits as written,
  // without `_` and a leading `+` ("14999.99", "1e3", "inf"), so that a
  // caller reads money exactly, never through a double. kBoolean: "true" or
  // "false".
  std::string text;
  int line = 0;
  int column = 0;
};

// `key = value` or `key = [value, ...]`, in the table `table`.
struct TomlEntry {
  std::vector<std::string> table;  // the enclosing tables' keys; {} at the top
  std::string key;
  int line = 0;  // of the key
  int column = 0;
  bool is_array = false;
  std::vector<TomlValue> values;  // exactly one unless is_array
};

// A table: a `[header]`, an inline table, or one made by a dotted key.
struct TomlTable {
  std::vector<std::string> path;
  int line = 0;
  int column = 0;
};

struct TomlDocument {
  std::string source;              // the file name used in messages
  std::vector<TomlTable> tables;   // every table, in file order
  std::vector<TomlEntry> entries;  // every key with a value, in file order

  // InvalidArgument "SOURCE:LINE:COLUMN: message", the form of every
  // configuration error (docs/config.md).
  absl::Status ErrorAt(int line, int column, std::string_view message) const;
};

// Parses TOML text (a UTF-8 byte order mark is skipped). `source` names the
// text in messages: "run.toml:3:9: ...".
absl::StatusOr<TomlDocument> ParseTomlDocument(std::string_view text,
                                               std::string_view source);

// "a.b.c", quoting any key that is not a bare TOML key, for messages.
std::string TomlPathText(const std::vector<std::string>& path);

}  // namespace chatkpi

#endif  // CHATKPI_CONFIG_TOML_DOCUMENT_H_
