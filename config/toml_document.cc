#include "config/toml_document.h"

#include <toml++/toml.h>

#include <algorithm>
#include <cstdint>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace chatkpi {
namespace {

bool IsBareKey(std::string_view key) {
  if (key.empty()) return false;
  for (char c : key) {
    if (!absl::ascii_isalnum(c) && c != '_' && c != '-') return false;
  }
  return true;
}

class Walker {
 public:
  Walker(absl::string_view text, TomlDocument& doc)
      : lines_(absl::StrSplit(text, '\n')), doc_(doc) {}

  absl::Status Walk(const toml::table& table, std::vector<std::string>& path) {
    for (const auto& [key, node] : table) {
      const toml::source_position at = key.source().begin;
      const int line = static_cast<int>(at.line);
      const int column = static_cast<int>(at.column);
      if (const toml::table* sub = node.as_table()) {
        path.push_back(std::string(key.str()));
        const toml::source_position header = sub->source().begin;
        doc_.tables.push_back({path, static_cast<int>(header.line),
                               static_cast<int>(header.column)});
        absl::Status s = Walk(*sub, path);
        path.pop_back();
        if (!s.ok()) return s;
        continue;
      }
      TomlEntry entry;
      entry.table = path;
      entry.key = std::string(key.str());
      entry.line = line;
      entry.column = column;
      if (const toml::array* array = node.as_array()) {
        entry.is_array = true;
        for (const toml::node& element : *array) {
          auto value = Scalar(element, "an array element");
          if (!value.ok()) return value.status();
          entry.values.push_back(std::move(*value));
        }
      } else {
        auto value = Scalar(node, "a value");
        if (!value.ok()) return value.status();
        entry.values.push_back(std::move(*value));
      }
      doc_.entries.push_back(std::move(entry));
    }
    return absl::OkStatus();
  }

 private:
  absl::StatusOr<TomlValue> Scalar(const toml::node& node,
                                   absl::string_view what) {
    TomlValue v;
    const toml::source_position at = node.source().begin;
    v.line = static_cast<int>(at.line);
    v.column = static_cast<int>(at.column);
    if (const auto* s = node.as_string()) {
      v.type = TomlValue::Type::kString;
      v.text = s->get();
    } else if (const auto* i = node.as_integer()) {
      v.type = TomlValue::Type::kInteger;
      v.text = absl::StrCat(i->get());
    } else if (node.is_floating_point()) {
      v.type = TomlValue::Type::kFloat;
      v.text = FloatText(v.line, v.column);
    } else if (const auto* b = node.as_boolean()) {
      v.type = TomlValue::Type::kBoolean;
      v.text = b->get() ? "true" : "false";
    } else if (node.is_table() || node.is_array()) {
      return doc_.ErrorAt(v.line, v.column,
                          absl::StrCat(what,
                                       " may not be a table or an array in "
                                       "chatkpi's files"));
    } else {
      return doc_.ErrorAt(
          v.line, v.column,
          absl::StrCat(what, " may not be a date or time in chatkpi's files"));
    }
    return v;
  }

  // A float as written: its characters from the value's position. toml++
  // keeps only the double, and money must not pass through one.
  std::string FloatText(int line, int column) const {
    if (line < 1 || line > static_cast<int>(lines_.size())) return "";
    absl::string_view text = lines_[line - 1];
    size_t at = 0;
    for (int c = 1; c < column && at < text.size(); ++c) {
      ++at;  // past the character's first byte, then its continuation bytes
      while (at < text.size() &&
             (static_cast<uint8_t>(text[at]) & 0xC0) == 0x80)
        ++at;
    }
    std::string out;
    for (; at < text.size(); ++at) {
      const char c = text[at];
      if (!absl::ascii_isalnum(c) && c != '.' && c != '+' && c != '-' &&
          c != '_') {
        break;
      }
      if (c == '_' || (c == '+' && out.empty())) continue;
      out.push_back(c);
    }
    return out;
  }

  std::vector<absl::string_view> lines_;
  TomlDocument& doc_;
};

template <typename T>
void SortByPosition(std::vector<T>& v) {
  std::stable_sort(v.begin(), v.end(), [](const T& a, const T& b) {
    return a.line != b.line ? a.line < b.line : a.column < b.column;
  });
}

}  // namespace

absl::Status TomlDocument::ErrorAt(int line, int column,
                                   std::string_view message) const {
  return absl::InvalidArgumentError(
      absl::StrCat(source, ":", line, ":", column, ": ",
                   absl::string_view(message.data(), message.size())));
}

std::string TomlPathText(const std::vector<std::string>& path) {
  return absl::StrJoin(path, ".", [](std::string* out, const std::string& k) {
    if (IsBareKey(k)) {
      out->append(k);
    } else {
      absl::StrAppend(out, "\"", k, "\"");
    }
  });
}

absl::StatusOr<TomlDocument> ParseTomlDocument(std::string_view text,
                                               std::string_view source) {
  TomlDocument doc;
  doc.source = std::string(source);
  absl::string_view body(text.data(), text.size());
  absl::ConsumePrefix(&body, "\xEF\xBB\xBF");
  const std::string_view view(body.data(), body.size());
  toml::table root;
  try {
    root = toml::parse(view, std::string_view(doc.source));
  } catch (const toml::parse_error& e) {
    std::string message(e.description());
    // toml++'s words for an unquoted word where a value belongs.
    if (absl::StrContains(message, "could not determine value type")) {
      message += " (text goes in double quotes)";
    }
    return doc.ErrorAt(static_cast<int>(e.source().begin.line),
                       static_cast<int>(e.source().begin.column), message);
  }
  std::vector<std::string> path;
  Walker walker(body, doc);
  if (absl::Status s = walker.Walk(root, path); !s.ok()) return s;
  SortByPosition(doc.tables);
  SortByPosition(doc.entries);
  return doc;
}

}  // namespace chatkpi
