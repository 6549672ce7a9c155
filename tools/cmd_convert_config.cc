// `chatkpi convert-config OLD NEW`: a scheme or `run --config` file of the
// old syntax rewritten in TOML (docs/config.md), for the release that still
// reads both.
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "query/scheme.h"
#include "tools/args.h"
#include "tools/commands.h"
#include "tools/kafka_flags.h"

namespace chatkpi {
namespace {

// A scheme has [sections]; a `run --config` file has none.
bool LooksLikeScheme(const std::string& text) {
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    line = absl::StripLeadingAsciiWhitespace(line);
    if (!line.empty() && line.front() == '[') return true;
  }
  return false;
}

}  // namespace

const CommandSpec& ConvertConfigCommand() {
  static const auto* spec = new CommandSpec{
      "convert-config",
      "OLD NEW",
      "rewrite a scheme or `run --config` file of the old syntax in TOML",
      {},
      "Comments are kept. NEW must not exist. docs/config.md. exit codes: 0 "
      "written, 2 usage error or OLD not in the old syntax, 1 other "
      "failure"};
  return *spec;
}

int RunConvertConfig(int argc, char** argv) {
  const char* kCmd = "convert-config";
  auto args = Args::Parse(argc, argv, ConvertConfigCommand());
  if (!args.ok()) return Fail(kCmd, args.status());
  if (args->positional().size() != 2) {
    return Fail(kCmd, absl::InvalidArgumentError("give OLD and NEW"));
  }
  const std::string& from = args->positional()[0];
  const std::string& to = args->positional()[1];
  std::ifstream in(from, std::ios::binary);
  if (!in) return Fail(kCmd, absl::NotFoundError("cannot read " + from));
  std::ostringstream buf;
  buf << in.rdbuf();
  const std::string text = buf.str();
  const bool scheme = LooksLikeScheme(text);
  auto converted =
      scheme ? ConvertOldSchemeToToml(text, from)
             : ConvertOldRunConfigToToml(text, from, RunCommand().flags);
  if (!converted.ok()) {
    const absl::Status& s = converted.status();
    return Fail(kCmd, s.code() == absl::StatusCode::kFailedPrecondition
                          ? absl::InvalidArgumentError(s.message())
                          : s);
  }
  std::error_code ec;
  if (std::filesystem::exists(to, ec)) {
    return Fail(kCmd, absl::AlreadyExistsError(
                          absl::StrCat(to, " exists; give a new file")));
  }
  std::ofstream out(to, std::ios::binary);
  out << *converted;
  out.close();
  if (!out) return Fail(kCmd, absl::InternalError("cannot write " + to));
  std::cout << "wrote " << to << " (" << (scheme ? "scheme" : "run config")
            << ", TOML)\n";
  return 0;
}

}  // namespace chatkpi
