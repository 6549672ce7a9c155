#include "tools/args.h"

#include <iostream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace chatkpi {

absl::StatusOr<Args> Args::Parse(int argc, char** argv,
                                 const std::set<std::string>& valued,
                                 const std::set<std::string>& switches) {
  Args a;
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
      a.values_[name] = "";
    } else if (valued.count(name)) {
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

}  // namespace chatkpi
