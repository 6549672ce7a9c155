// ConvertOldSchemeToToml (query/scheme.h): the old scheme syntax rewritten
// line by line, so that a shop's comments stay where they were.
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "base/json_text.h"
#include "config/toml_document.h"
#include "query/scheme.h"

namespace chatkpi {
namespace {

// A TOML basic string: JSON's string escapes are a subset of TOML's.
std::string Quote(absl::string_view s) {
  std::string out;
  AppendJsonString(&out, std::string_view(s.data(), s.size()));
  return out;
}

}  // namespace

absl::StatusOr<std::string> ConvertOldSchemeToToml(std::string_view text,
                                                   std::string_view source) {
  const absl::string_view name(source.data(), source.size());
  if (ParseTomlDocument(text, source).ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat(name, " is TOML already"));
  }
  std::string warning;
  auto old = ParseScheme(text, source, &warning);
  if (!old.ok()) return old.status();

  std::vector<std::string> out;
  // bracket and growth lines become one array each; the comments between
  // two of their lines go inside it, those after the last one after it.
  std::string open;
  std::vector<std::string> pending;
  auto close = [&] {
    if (open.empty()) return;
    out.push_back("]");
    out.insert(out.end(), pending.begin(), pending.end());
    pending.clear();
    open.clear();
  };
  absl::string_view body(text.data(), text.size());
  absl::ConsumePrefix(&body, "\xEF\xBB\xBF");
  for (absl::string_view raw : absl::StrSplit(body, '\n')) {
    absl::ConsumeSuffix(&raw, "\r");
    absl::string_view content = raw, comment;
    if (size_t hash = raw.find('#'); hash != raw.npos) {
      content = raw.substr(0, hash);
      comment = raw.substr(hash);
    }
    content = absl::StripAsciiWhitespace(content);
    if (content.empty()) {
      (open.empty() ? out : pending).push_back(std::string(raw));
      continue;
    }
    const std::string tail = comment.empty() ? "" : absl::StrCat("  ", comment);
    if (content.front() == '[') {  // [kind] or [kind id]
      close();
      std::vector<absl::string_view> parts = absl::StrSplit(
          content.substr(1, content.size() - 2), ' ', absl::SkipEmpty());
      out.push_back(absl::StrCat("[", absl::StrJoin(parts, "."), "]", tail));
      continue;
    }
    const size_t eq = content.find('=');
    const std::string key(absl::StripAsciiWhitespace(content.substr(0, eq)));
    const absl::string_view value =
        absl::StripAsciiWhitespace(content.substr(eq + 1));
    if (key == "bracket" || key == "growth") {
      if (open != key) {
        close();
        out.push_back(
            absl::StrCat(key == "bracket" ? "brackets" : "growth", " = ["));
        open = key;
      } else {
        for (const std::string& p : pending) {
          absl::string_view line = absl::StripAsciiWhitespace(p);
          out.push_back(line.empty() ? "" : absl::StrCat("  ", line));
        }
        pending.clear();
      }
      std::vector<absl::string_view> words =
          absl::StrSplit(value, ' ', absl::SkipEmpty());
      out.push_back(
          absl::StrCat("  ", Quote(absl::StrJoin(words, " ")), ",", tail));
      continue;
    }
    close();
    std::string v;
    switch (SchemeKeyValueKind(key)) {
      case SchemeValueKind::kText:
        if (key == "reference") {
          std::vector<std::string> names;
          for (absl::string_view n : absl::StrSplit(
                   value, absl::ByAnyChar(", "), absl::SkipEmpty())) {
            names.push_back(Quote(n));
          }
          v = absl::StrCat("[", absl::StrJoin(names, ", "), "]");
        } else {
          v = Quote(value);
        }
        break;
      case SchemeValueKind::kNumber:
        v = std::string(value);
        break;
      case SchemeValueKind::kNumberOrWord: {
        double d;
        v = absl::SimpleAtod(value, &d) ? std::string(value) : Quote(value);
        break;
      }
    }
    out.push_back(absl::StrCat(key, " = ", v, tail));
  }
  close();
  std::string result = absl::StrJoin(out, "\n");
  auto back = ParseScheme(result, absl::StrCat(name, ".toml"));
  if (!back.ok()) {
    return absl::InternalError(absl::StrCat(
        "the TOML written for ", name,
        " does not read back (please report): ", back.status().message()));
  }
  return result;
}

}  // namespace chatkpi
