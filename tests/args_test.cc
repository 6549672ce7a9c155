// The command-line parser every command uses (tools/args.h): what it
// accepts, and every way it refuses a command line.
#include "tools/args.h"

#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/civil_time.h"
#include "gtest/gtest.h"

namespace chatkpi {
namespace {

// argv as the parser sees it: the arguments after the command name.
class Argv {
 public:
  explicit Argv(std::vector<std::string> args) : args_(std::move(args)) {
    for (std::string& a : args_) ptrs_.push_back(a.data());
  }
  Argv(const Argv&) = delete;
  Argv& operator=(const Argv&) = delete;
  int argc() { return static_cast<int>(ptrs_.size()); }
  char** argv() { return ptrs_.data(); }

 private:
  std::vector<std::string> args_;
  std::vector<char*> ptrs_;
};

const CommandSpec& Spec() {
  static const CommandSpec* spec =
      new CommandSpec{"demo",
                      "FILE...",
                      "A command for the tests.",
                      {{"db", "DIR", "the store"},
                       {"commit-every", "N", "events per commit (10000)"},
                       {"from", "DAY", "first day"},
                       {"follow", "", "keep reading"}},
                      ""};
  return *spec;
}

absl::StatusOr<Args> Parse(std::vector<std::string> args, int overridable = 0) {
  Argv a(std::move(args));
  return Args::Parse(a.argc(), a.argv(), Spec(), overridable);
}

bool Help(std::vector<std::string> args) {
  Argv a(std::move(args));
  return WantsHelp(a.argc(), a.argv(), Spec());
}

TEST(Args, AcceptsBothValueFormsSwitchesAndPositionals) {
  auto a = Parse({"--db", "/tmp/x", "a.jsonl", "--commit-every=500", "--follow",
                  "-", "b.jsonl"});
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->Get("db"), "/tmp/x");
  EXPECT_EQ(a->Get("commit-every"), "500");
  EXPECT_TRUE(a->Has("follow"));
  EXPECT_EQ(a->Get("follow"), "");
  EXPECT_FALSE(a->Has("from"));
  EXPECT_EQ(a->Get("from"), std::nullopt);
  EXPECT_EQ(a->positional(),
            (std::vector<std::string>{"a.jsonl", "-", "b.jsonl"}));
  auto n = a->GetInt("commit-every", 10000);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 500);
  // Absent: the default.
  auto absent = Parse({});
  ASSERT_TRUE(absent.ok());
  EXPECT_EQ(*absent->GetInt("commit-every", 10000), 10000);
  // A value may itself start with "--" when it follows its flag.
  auto dashed = Parse({"--db", "--odd-dir"});
  ASSERT_TRUE(dashed.ok()) << dashed.status();
  EXPECT_EQ(dashed->Get("db"), "--odd-dir");
}

TEST(Args, AFlagGivenTwiceIsRefused) {
  for (auto args :
       std::vector<std::vector<std::string>>{{"--db", "a", "--db", "b"},
                                             {"--db=a", "--db=b"},
                                             {"--db", "a", "--db=a"},
                                             {"--follow", "--follow"}}) {
    auto a = Parse(args);
    ASSERT_FALSE(a.ok()) << args[0];
    EXPECT_EQ(a.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(a.status().message(),
              "--" + std::string(args[0] == "--follow" ? "follow" : "db") +
                  " is given more than once");
  }
}

TEST(Args, OverridableSettingsMayBeGivenAgainAfterThem) {
  // The first two arguments are settings from a config file: the command
  // line's --db replaces them, the last one counting.
  auto a = Parse({"--db", "from-config", "--db", "from-command-line"}, 2);
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->Get("db"), "from-command-line");
  // Twice on the command line proper is still refused.
  auto twice = Parse({"--db", "c", "--db", "d", "--db", "e"}, 2);
  ASSERT_FALSE(twice.ok());
  EXPECT_EQ(twice.status().message(), "--db is given more than once");
}

TEST(Args, UnknownFlagsMissingValuesAndValuedSwitchesAreRefused) {
  auto unknown = Parse({"--db", "x", "--comit-every", "5"});
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(unknown.status().message(), "unknown flag --comit-every");

  auto missing = Parse({"a.jsonl", "--db"});
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().message(), "--db needs a value");

  auto valued_switch = Parse({"--follow=yes"});
  ASSERT_FALSE(valued_switch.ok());
  EXPECT_EQ(valued_switch.status().message(), "--follow takes no value");
}

TEST(Args, TypedReadersRefuseBadValues) {
  auto a = Parse({"--commit-every", "12x", "--from", "2026-11-31"});
  ASSERT_TRUE(a.ok()) << a.status();
  auto n = a->GetInt("commit-every", 1);
  ASSERT_FALSE(n.ok());
  EXPECT_EQ(n.status().message(),
            "--commit-every must be an integer, not '12x'");
  // 11-31 does not exist; absl would normalise it to 12-01.
  auto day = a->RequireDay("from");
  ASSERT_FALSE(day.ok());
  EXPECT_EQ(day.status().message(),
            "--from must be a date YYYY-MM-DD, not '2026-11-31'");

  auto good = Parse({"--from", "2026-11-30"});
  ASSERT_TRUE(good.ok());
  auto d = good->RequireDay("from");
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(*d, absl::CivilDay(2026, 11, 30));

  auto required = good->Require("db");
  ASSERT_FALSE(required.ok());
  EXPECT_EQ(required.status().message(), "--db is required");
  // Given empty counts as not given.
  auto empty = Parse({"--db="});
  ASSERT_TRUE(empty.ok());
  EXPECT_FALSE(empty->Require("db").ok());
}

TEST(Args, RequireNoPositionalNamesTheFirstStrayArgument) {
  auto a = Parse({"--db", "x", "stray", "other"});
  ASSERT_TRUE(a.ok());
  absl::Status s = a->RequireNoPositional();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "unexpected argument 'stray'");
  EXPECT_TRUE(Parse({"--db", "x"})->RequireNoPositional().ok());
}

TEST(Args, HelpIsDetectedWhereAFlagMayStandOnly) {
  EXPECT_TRUE(Help({"--help"}));
  EXPECT_TRUE(Help({"-h"}));
  EXPECT_TRUE(Help({"--db", "x", "--help"}));
  EXPECT_TRUE(Help({"a.jsonl", "-h", "--unknown"}));
  // The value of a valued flag is not a request for help: a store may be
  // called "--help".
  EXPECT_FALSE(Help({"--db", "--help"}));
  EXPECT_FALSE(Help({"--db", "-h"}));
  EXPECT_FALSE(Help({}));
  EXPECT_FALSE(Help({"--db=x", "--follow", "a"}));
  // A switch takes no value, so what follows it is looked at.
  EXPECT_TRUE(Help({"--follow", "--help"}));
}

TEST(Args, HelpTextListsEveryFlagAndHelp) {
  const std::string text = HelpText(Spec());
  EXPECT_EQ(text.find("usage: chatkpi demo [flags] FILE...\n\n"
                      "A command for the tests.\n"),
            0u)
      << text;
  for (const char* flag :
       {"--db DIR", "--commit-every N", "--from DAY", "--follow", "--help"}) {
    EXPECT_NE(text.find(flag), std::string::npos) << flag << "\n" << text;
  }
}

TEST(Args, OutputFormatDefaultsAndRefusals) {
  const std::set<std::string> valued = {"format", "lang"};
  {
    Argv none(std::vector<std::string>{});
    auto a = Args::Parse(none.argc(), none.argv(), valued);
    ASSERT_TRUE(a.ok());
    auto f = ParseOutputFormat(*a);
    ASSERT_TRUE(f.ok());
    EXPECT_FALSE(f->csv);
    EXPECT_FALSE(f->chinese);
  }
  {
    Argv both({"--format", "csv", "--lang", "zh"});
    auto a = Args::Parse(both.argc(), both.argv(), valued);
    ASSERT_TRUE(a.ok());
    auto f = ParseOutputFormat(*a);
    ASSERT_TRUE(f.ok());
    EXPECT_TRUE(f->csv);
    EXPECT_TRUE(f->chinese);
  }
  {
    Argv bad({"--format", "xml"});
    auto a = Args::Parse(bad.argc(), bad.argv(), valued);
    ASSERT_TRUE(a.ok());
    EXPECT_EQ(ParseOutputFormat(*a).status().message(),
              "--format must be json or csv");
  }
}

}  // namespace
}  // namespace chatkpi
