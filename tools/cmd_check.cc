#include <iostream>
#include <map>

#include "absl/strings/str_cat.h"
#include "base/json_text.h"
#include "ingest/event_parser.h"
#include "ingest/line_reader.h"
#include "tools/args.h"
#include "tools/commands.h"

namespace chatkpi {

// Validates JSONL files without a store: what `ingest` would accept and
// which lines it would turn into dead letters. Also the parse-only half of
// the ingest benchmark.
const CommandSpec& CheckCommand() {
  static const auto* spec = new CommandSpec{
      "check",
      "FILE...",
      "validate JSONL without a store",
      {{"quiet", "", "print the summary only"}},
      "exit codes: 0 every line valid, 3 some line invalid, 2 usage error, "
      "1 other failure"};
  return *spec;
}

int RunCheck(int argc, char** argv) {
  const char* kCmd = "check";
  auto args = Args::Parse(argc, argv, CheckCommand());
  if (!args.ok()) return Fail(kCmd, args.status());
  if (args->positional().empty()) {
    return Fail(kCmd, absl::InvalidArgumentError("no input FILE given"));
  }
  EventParser parser;
  Event event;
  int64_t valid = 0, invalid = 0;
  std::map<std::string, int64_t> reasons;
  for (const std::string& path : args->positional()) {
    auto reader = LineReader::Open(path);
    if (!reader.ok()) return Fail(kCmd, reader.status());
    LineReader::Line line;
    while ((*reader)->Next(&line)) {
      if (line.blank) continue;
      absl::Status s = line.too_long
                           ? absl::InvalidArgumentError("line too long")
                           : parser.Parse(line.text, &event);
      if (s.ok()) {
        ++valid;
        continue;
      }
      ++invalid;
      std::string reason(s.message());
      ++reasons[reason.substr(0, reason.find('\''))];
      if (!args->Has("quiet")) {
        std::cerr << path << ":" << line.number << ": " << s.message() << "\n";
      }
    }
    if (!(*reader)->status().ok()) return Fail(kCmd, (*reader)->status());
  }
  std::string out =
      absl::StrCat("{\"valid\": ", valid, ", \"invalid\": ", invalid,
                   ", \"invalid_by_reason\": {");
  bool first = true;
  for (auto& [reason, n] : reasons) {
    if (!first) out.append(", ");
    first = false;
    std::string r = reason;
    while (!r.empty() && r.back() == ' ') r.pop_back();
    AppendJsonString(&out, r);
    absl::StrAppend(&out, ": ", n);
  }
  out.append("}}\n");
  std::cout << out;
  return invalid == 0 ? 0 : 3;
}

}  // namespace chatkpi
