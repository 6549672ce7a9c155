// Command-line flags of the form --name VALUE, --name=VALUE or --switch,
// plus positional arguments. A flag a command does not know is refused, so a
// typo is an error instead of a silently ignored option.
#ifndef CHATKPI_TOOLS_ARGS_H_
#define CHATKPI_TOOLS_ARGS_H_

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/civil_time.h"

namespace chatkpi {

// One flag of a command, declared once: the parser accepts it and the help
// text shows it.
struct FlagSpec {
  std::string name;   // without "--"
  std::string value;  // what the value is, e.g. "DIR"; empty for a switch
  std::string help;   // one line; defaults in parentheses
};

// A command's command line: `chatkpi NAME --help` and `chatkpi help NAME`
// print HelpText() from it, and Args::Parse accepts exactly its flags.
struct CommandSpec {
  std::string name;
  std::string operands;  // what follows the flags, e.g. "FILE..."; may be ""
  std::string summary;   // one line for `chatkpi help`
  std::vector<FlagSpec> flags;
  std::string notes;  // printed after the flags (docs, exit codes); may be ""
};

// The usage line, summary, flags and notes of `spec`.
std::string HelpText(const CommandSpec& spec);

// True when the command line asks for help: "--help" or "-h" where a flag
// may stand (not as the value of a flag of `spec`).
bool WantsHelp(int argc, char** argv, const CommandSpec& spec);

class Args {
 public:
  // Accepts the flags of `spec`. A flag given twice is refused, except that
  // one of the first `overridable` arguments (settings from a config file
  // placed before the command line) may be given again after them.
  static absl::StatusOr<Args> Parse(int argc, char** argv,
                                    const CommandSpec& spec,
                                    int overridable = 0);
  // `valued` flags take a value; `switches` take none.
  static absl::StatusOr<Args> Parse(int argc, char** argv,
                                    const std::set<std::string>& valued,
                                    const std::set<std::string>& switches = {},
                                    int overridable = 0);

  std::optional<std::string> Get(const std::string& name) const;
  absl::StatusOr<std::string> Require(const std::string& name) const;
  bool Has(const std::string& name) const { return values_.count(name) > 0; }
  absl::StatusOr<int64_t> GetInt(const std::string& name, int64_t def) const;
  absl::StatusOr<absl::CivilDay> RequireDay(const std::string& name) const;
  const std::vector<std::string>& positional() const { return positional_; }
  // For commands that take flags only: an error naming the first argument
  // that is not a flag.
  absl::Status RequireNoPositional() const;

 private:
  std::map<std::string, std::string> values_;
  std::vector<std::string> positional_;
};

// --format json|csv (default json) and --lang en|zh (default en), shared by
// the commands that print tables.
struct OutputFormat {
  bool csv = false;
  bool chinese = false;
};
absl::StatusOr<OutputFormat> ParseOutputFormat(const Args& args);

// Prints "chatkpi <command>: <message>" to stderr and returns exit code 2
// for usage errors, 1 for everything else.
int Fail(const std::string& command, const absl::Status& s);

// Keeps `p` to the process's exit: a command about to exit does not free
// what goes back to the system with the whole process (the pool of evicted
// states: tens of ms of small blocks freed one by one; docs/engine.md, "The
// end of a run"). Held here, it is reachable (not a leak to LeakSanitizer).
void KeepUntilExit(std::shared_ptr<void> p);

}  // namespace chatkpi

#endif  // CHATKPI_TOOLS_ARGS_H_
