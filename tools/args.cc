#include "tools/args.h"

#include <algorithm>
#include <iostream>
#include <memory>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace chatkpi {

namespace {

void SplitFlags(const CommandSpec& spec, std::set<std::string>* valued,
                std::set<std::string>* switches) {
  for (const FlagSpec& f : spec.flags) {
    (f.value.empty() ? switches : valued)->insert(f.name);
  }
}

}  // namespace

std::string HelpText(const CommandSpec& spec) {
  std::string out = absl::StrCat("usage: chatkpi ", spec.name,
                                 spec.flags.empty() ? "" : " [flags]",
                                 spec.operands.empty() ? "" : " ",
                                 spec.operands, "\n\n", spec.summary, "\n");
  if (!spec.flags.empty()) out.append("\nflags:\n");
  size_t width = 0;
  std::vector<std::string> heads;
  for (const FlagSpec& f : spec.flags) {
    heads.push_back(
        absl::StrCat("--", f.name, f.value.empty() ? "" : " ", f.value));
    width = std::max(width, heads.back().size());
  }
  width = std::min<size_t>(width, 30);
  for (size_t i = 0; i < spec.flags.size(); ++i) {
    absl::StrAppend(&out, "  ", heads[i]);
    if (heads[i].size() > width) {
      absl::StrAppend(&out, "\n", std::string(width + 2, ' '));
    } else {
      out.append(width - heads[i].size(), ' ');
    }
    absl::StrAppend(&out, "  ", spec.flags[i].help, "\n");
  }
  absl::StrAppend(&out, "  --help", std::string(width > 6 ? width - 6 : 0, ' '),
                  "  this text\n");
  if (!spec.notes.empty()) absl::StrAppend(&out, "\n", spec.notes, "\n");
  return out;
}

bool WantsHelp(int argc, char** argv, const CommandSpec& spec) {
  std::set<std::string> valued, switches;
  SplitFlags(spec, &valued, &switches);
  for (int i = 0; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") return true;
    // A valued flag without '=' takes the next argument as its value.
    if (arg.size() > 2 && arg.compare(0, 2, "--") == 0 &&
        arg.find('=') == std::string::npos && valued.count(arg.substr(2))) {
      ++i;
    }
  }
  return false;
}

absl::StatusOr<Args> Args::Parse(int argc, char** argv, const CommandSpec& spec,
                                 int overridable) {
  std::set<std::string> valued, switches;
  SplitFlags(spec, &valued, &switches);
  return Parse(argc, argv, valued, switches, overridable);
}

absl::StatusOr<Args> Args::Parse(int argc, char** argv,
                                 const std::set<std::string>& valued,
                                 const std::set<std::string>& switches,
                                 int overridable) {
  Args a;
  // Flags given on the command line proper (not overridable settings): a
  // second one is refused rather than silently taking the last value.
  std::set<std::string> given;
  auto once = [&](const std::string& name, int at) -> absl::Status {
    if (at < overridable) return absl::OkStatus();
    if (!given.insert(name).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("--", name, " is given more than once"));
    }
    return absl::OkStatus();
  };
  for (int i = 0; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg.size() < 3 || arg.compare(0, 2, "--") != 0) {
      a.positional_.push_back(arg);
      continue;
    }
    std::string name = arg.substr(2), value;
    bool has_value = false;
    if (size_t eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
      has_value = true;
    }
    if (switches.count(name)) {
      if (has_value) {
        return absl::InvalidArgumentError(
            absl::StrCat("--", name, " takes no value"));
      }
      if (absl::Status s = once(name, i); !s.ok()) return s;
      a.values_[name] = "";
    } else if (valued.count(name)) {
      if (absl::Status s = once(name, i); !s.ok()) return s;
      if (!has_value) {
        if (i + 1 >= argc) {
          return absl::InvalidArgumentError(
              absl::StrCat("--", name, " needs a value"));
        }
        value = argv[++i];
      }
      a.values_[name] = value;
    } else {
      return absl::InvalidArgumentError(absl::StrCat("unknown flag --", name));
    }
  }
  return a;
}

std::optional<std::string> Args::Get(const std::string& name) const {
  auto it = values_.find(name);
  if (it == values_.end()) return std::nullopt;
  return it->second;
}

absl::StatusOr<std::string> Args::Require(const std::string& name) const {
  auto v = Get(name);
  if (!v.has_value() || v->empty()) {
    return absl::InvalidArgumentError(absl::StrCat("--", name, " is required"));
  }
  return *v;
}

absl::Status Args::RequireNoPositional() const {
  if (positional_.empty()) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat("unexpected argument '", positional_[0], "'"));
}

absl::StatusOr<int64_t> Args::GetInt(const std::string& name,
                                     int64_t def) const {
  auto v = Get(name);
  if (!v.has_value()) return def;
  int64_t n;
  if (!absl::SimpleAtoi(*v, &n)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", name, " must be an integer, not '", *v, "'"));
  }
  return n;
}

absl::StatusOr<absl::CivilDay> Args::RequireDay(const std::string& name) const {
  auto v = Require(name);
  if (!v.ok()) return v.status();
  absl::CivilDay d;
  // ParseCivilTime normalizes (11-31 -> 12-01); a date must round-trip.
  if (v->size() != 10 || !absl::ParseCivilTime(*v, &d) ||
      absl::FormatCivilTime(d) != *v) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", name, " must be a date YYYY-MM-DD, not '", *v, "'"));
  }
  return d;
}

absl::StatusOr<OutputFormat> ParseOutputFormat(const Args& args) {
  OutputFormat f;
  const std::string format = args.Get("format").value_or("json");
  if (format != "json" && format != "csv") {
    return absl::InvalidArgumentError("--format must be json or csv");
  }
  const std::string lang = args.Get("lang").value_or("en");
  if (lang != "en" && lang != "zh") {
    return absl::InvalidArgumentError("--lang must be en or zh");
  }
  f.csv = format == "csv";
  f.chinese = lang == "zh";
  return f;
}

int Fail(const std::string& command, const absl::Status& s) {
  std::cerr << "chatkpi " << command << ": " << s.message() << "\n";
  return s.code() == absl::StatusCode::kInvalidArgument ? 2 : 1;
}

void KeepUntilExit(std::shared_ptr<void> p) {
  static auto* kept = new std::vector<std::shared_ptr<void>>();
  kept->push_back(std::move(p));
}

}  // namespace chatkpi
