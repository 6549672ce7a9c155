// Scheme files in TOML (docs/scoring.md, docs/config.md): the shipped TOML
// schemes read exactly as their old-syntax originals (tests/data/*.scheme),
// the old syntax is still read with a deprecation warning, and every mistake
// is refused with file:line:column.
#include <fstream>
#include <sstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "query/scheme.h"
#include "tests/subprocess.h"
#include "tests/test_util.h"

namespace chatkpi {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

std::string ReadText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << path;
  std::stringstream buf;
  buf << in.rdbuf();
  return buf.str();
}

std::string Opt(const std::optional<double>& v) {
  return v ? absl::StrCat(*v) : "-";
}
std::string Opt(const std::optional<int64_t>& v) {
  return v ? absl::StrCat(*v) : "-";
}

// Everything scoring reads from a scheme, one field per line; line numbers
// (which differ between the two syntaxes) left out.
std::string Dump(const Scheme& s) {
  std::string out = absl::StrCat(
      "name ", s.name, "\ntotal ", s.total_weight_centi, "\nabsence ",
      Opt(s.absence_limit_days), "\nreference ",
      absl::StrJoin(s.reference, ","), "\nconsecutive ", s.consecutive,
      "\nwarning ", Opt(s.warning_below_centi), " ", s.dismissal_after,
      "\nleave ", Opt(s.leave_below_centi), " ", s.leave_after, "\nquota ",
      s.best_share_ppm, " ", s.excellent_share_ppm, "\npay ", s.has_pay,
      " public ", s.public_rate_ppm, "\nawards ", s.top_sets_award_fen, " ",
      s.rank1_months, " ", s.rank1_award_fen, "\n");
  for (const SchemeItem& i : s.items) {
    absl::StrAppend(&out, "item ", i.name, " ", i.title, " metric ",
                    static_cast<int>(i.metric.kind), ":", i.metric.index, ":",
                    i.metric.assessment, ":", i.metric.text, " curve ",
                    static_cast<int>(i.curve), " weight ", i.weight_centi,
                    " target ", Opt(i.target), "@", i.target_assessment,
                    " cap ", Opt(i.cap), " linear ", i.full_at, "..", i.zero_at,
                    " per_unit ", i.per_unit, "\n");
  }
  for (const GradeBand& g : s.grades) {
    absl::StrAppend(&out, "grade ", g.id, " ", g.title, " ", g.job_level, " ",
                    g.training, " ", g.promotion, " min ", g.min_centi,
                    " base ", Opt(g.base_pay_fen), "\n");
  }
  for (const CommissionBracket& b : s.brackets) {
    absl::StrAppend(&out, "bracket ", b.text, " = ", b.lower_fen,
                    b.lower_inclusive, " ", Opt(b.upper_fen), b.upper_inclusive,
                    " ", b.rate_ppm, " ", b.over_fen, " ", b.plus_fen, "\n");
  }
  for (const GrowthAward& g : s.growth_awards) {
    absl::StrAppend(&out, "growth ", g.threshold_ppm, " ", g.award_fen, "\n");
  }
  return out;
}

TEST(SchemeToml, ShippedSchemesReadExactlyAsTheirOldSyntaxOriginals) {
  for (const char* name : {"kpi100", "ecom10"}) {
    SCOPED_TRACE(name);
    auto toml = LoadSchemeFile(
        absl::StrCat(testing::SourceDir(), "/query/schemes/", name, ".toml"));
    ASSERT_TRUE(toml.ok()) << toml.status();
    std::string warning;
    auto old =
        ParseScheme(ReadText(absl::StrCat(testing::SourceDir(), "/tests/data/",
                                          name, ".scheme")),
                    absl::StrCat(name, ".scheme"), &warning);
    ASSERT_TRUE(old.ok()) << old.status();
    EXPECT_EQ(Dump(*toml), Dump(*old));
    EXPECT_THAT(warning, HasSubstr("old scheme syntax"));
    // Not vacuous: the dump holds every item and band.
    EXPECT_GE(toml->items.size(), 8u);
    EXPECT_GE(toml->grades.size(), 3u);
  }
}

constexpr char kMiniOld[] = R"(name = mini
total_weight = 10
absence_limit_days = none
reference = self, supervisor

[item b]
metric = reply_rate
curve = ratio
target = 0.95
weight = 6

[item a]
title = 执行力
metric = execution
curve = manual
weight = 4

[grade floor]
title = 底
min_total = 0
base_pay = 2000.29

[commission]
bracket = [0, 100.5) rate 1.25%
bracket = [100.5, inf) rate 2% over 100.5 plus 1.26
public_rate = 0.5%

[awards]
growth = 25% 50
growth = 50% 100.01
)";

// Lines: 1 name, 5 [item.b], 8 curve, 10 weight, 12 [item.a], 15 curve.
constexpr char kMini[] = R"(name = "mini"
total_weight = 10
absence_limit_days = "none"
reference = ["self", "supervisor"]

[item.b]
metric = "reply_rate"
curve = "ratio"
target = 0.95
weight = 6

[item.a]
title = "执行力"
metric = "execution"
curve = "manual"
weight = 4

[grade.floor]
title = "底"
min_total = 0
base_pay = 2000.29

[commission]
brackets = ["[0, 100.5) rate 1.25%",
            "[100.5, inf) rate 2% over 100.5 plus 1.26"]
public_rate = "0.5%"

[awards]
growth = ["25% 50", "50% 100.01"]
)";

// The refusal of a scheme named t.toml ("" when it parses).
std::string TomlError(const std::string& text) {
  auto s = ParseScheme(text, "t.toml");
  return s.ok() ? "" : std::string(s.status().message());
}

TEST(SchemeToml, HandWrittenTomlReadsAsTheOldSyntax) {
  auto toml = ParseScheme(kMini, "t.toml");
  ASSERT_TRUE(toml.ok()) << toml.status();
  auto old = ParseScheme(kMiniOld, "t.scheme");
  ASSERT_TRUE(old.ok()) << old.status();
  EXPECT_EQ(Dump(*toml), Dump(*old));
  // Items stay in file order (b before a), and money is exact: 2000.29 yuan
  // is 200029 fen, though 2000.29 is no double.
  ASSERT_EQ(toml->items.size(), 2u);
  EXPECT_EQ(toml->items[0].name, "b");
  EXPECT_EQ(toml->items[1].title, "执行力");
  EXPECT_EQ(toml->grades[0].base_pay_fen, 200029);
  EXPECT_EQ(toml->brackets[1].plus_fen, 126);
  EXPECT_EQ(toml->brackets[0].rate_ppm, 12500);
  EXPECT_EQ(toml->growth_awards[1].award_fen, 10001);
  EXPECT_EQ(toml->reference, (std::vector<std::string>{"self", "supervisor"}));
  EXPECT_FALSE(toml->absence_limit_days.has_value());
}

TEST(SchemeToml, OldSyntaxIsReadWithAWarningOncePerFile) {
  // A fresh path: the warning is given once per path and process.
  const std::string path = testing::TempDir("scheme_warning") + "/k.scheme";
  testing::WriteFile(path, ReadText(absl::StrCat(testing::SourceDir(),
                                                 "/tests/data/kpi100.scheme")));
  ::testing::internal::CaptureStderr();
  auto first = LoadSchemeFile(path);
  auto second = LoadSchemeFile(path);
  const std::string err = ::testing::internal::GetCapturedStderr();
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_THAT(err, HasSubstr(absl::StrCat(
                       "chatkpi: warning: ", path,
                       " is in the old scheme syntax, which is read for this "
                       "release only")));
  EXPECT_EQ(err.find("chatkpi: warning:"), err.rfind("chatkpi: warning:"))
      << err;

  // A TOML file warns about nothing.
  ::testing::internal::CaptureStderr();
  auto toml = LoadSchemeFile(
      absl::StrCat(testing::SourceDir(), "/query/schemes/kpi100.toml"));
  EXPECT_EQ(::testing::internal::GetCapturedStderr(), "");
  EXPECT_TRUE(toml.ok());
}

std::string Replace(std::string text, const std::string& from,
                    const std::string& to) {
  size_t at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) text.replace(at, from.size(), to);
  return text;
}

TEST(SchemeToml, UnknownKeysAndTablesAreRefusedWithTheirPosition) {
  EXPECT_EQ(TomlError(Replace(kMini, "weight = 4", "wieght = 4")),
            "t.toml:16:1: unknown key 'wieght' in [item.a]");
  EXPECT_EQ(TomlError(std::string(kMini) + "[bonus]\nx = 1\n"),
            "t.toml:30:1: unknown table [bonus]");
  EXPECT_EQ(TomlError(Replace(kMini, "[item.a]", "[item.a.b]")),
            "t.toml:12:1: unknown table [item.a.b]");
  EXPECT_EQ(TomlError(Replace(kMini, "[item.a]", "[item.A]")),
            "t.toml:12:1: [item.ID] needs an id of a-z, 0-9 and _");
  EXPECT_THAT(
      TomlError(Replace(kMini, "[item.a]\n", "[item]\n")),
      HasSubstr("t.toml:13:1: unknown key 'title' in [item]: each item is a "
                "table [item.ID]"));
  // The old names of the repeated keys are not TOML keys.
  EXPECT_THAT(TomlError(Replace(kMini, "growth = [\"25% 50\", \"50% 100.01\"]",
                                "growth = \"25% 50\"")),
              HasSubstr("t.toml:29:1: 'growth' is an array of strings"));
  EXPECT_THAT(TomlError(Replace(kMini, "brackets = [", "bracket = [")),
              HasSubstr("t.toml:24:1: unknown key 'bracket'"));
  // Missing keys name the table.
  EXPECT_EQ(TomlError(Replace(kMini, "weight = 4\n", "")),
            "t.toml:12:1: missing 'weight' in [item.a]");
}

TEST(SchemeToml, BadValuesAreRefusedWithTheirPosition) {
  EXPECT_EQ(TomlError(Replace(kMini, "weight = 4", "weight = \"4\"")),
            "t.toml:16:10: 'weight' must be a number without quotes");
  EXPECT_EQ(TomlError(Replace(kMini, "curve = \"manual\"", "curve = manual"))
                .substr(0, 13),
            "t.toml:15:9: ");
  EXPECT_EQ(TomlError(Replace(kMini, "title = \"执行力\"", "title = 5")),
            "t.toml:13:9: 'title' must be a string in quotes");
  EXPECT_EQ(TomlError(Replace(kMini, "\"none\"", "\"never\"")),
            "t.toml:3:22: 'absence_limit_days' must be a number without "
            "quotes or \"none\"");
  EXPECT_EQ(TomlError(Replace(kMini, "target = 0.95", "target = true")),
            "t.toml:9:10: 'target' must be a number without quotes");
  EXPECT_EQ(TomlError(Replace(kMini, "weight = 6", "weight = [6]")),
            "t.toml:10:1: 'weight' takes one value, not an array");
  EXPECT_EQ(TomlError(Replace(kMini, "\"supervisor\"]", "2]")),
            "t.toml:4:22: the elements of 'reference' are strings in quotes");
  // Meaning, after type: a known key with a value out of its range.
  EXPECT_EQ(
      TomlError(Replace(kMini, "curve = \"manual\"", "curve = \"smooth\"")),
      "t.toml:15:9: unknown curve 'smooth' (ratio, linear, manual or "
      "per_unit)");
  EXPECT_EQ(
      TomlError(Replace(kMini, "base_pay = 2000.29", "base_pay = 2000.291")),
      "t.toml:21:12: base_pay '2000.291' is not a number >= 0 with at most 2 "
      "decimals");
  EXPECT_EQ(TomlError(Replace(kMini, "\"0.5%\"", "0.5")),
            "t.toml:26:15: 'public_rate' must be a string in quotes");
  // A commission over 100% of the sales is a typo (150% for 1.50%).
  EXPECT_THAT(TomlError(Replace(kMini, "\"0.5%\"", "\"500%\"")),
              HasSubstr("public_rate '500%' is over 100%"));
  EXPECT_THAT(TomlError(Replace(kMini, "rate 1.25%", "rate 150%")),
              HasSubstr("bracket rate '150%' is over 100%"));
  // A bracket's own mistakes point at its string.
  EXPECT_EQ(TomlError(Replace(kMini, "rate 1.25%", "rate 1.25")),
            "t.toml:24:13: bracket rate '1.25' must be a percentage such as "
            "1.5%");
  // Brackets are array elements, each with its own line.
  EXPECT_EQ(TomlError(Replace(kMini, "[100.5, inf) rate 2% over 100.5",
                              "[100, inf) rate 2% over 100")),
            "t.toml:25:13: bracket overlaps the one on line 24");
}

TEST(SchemeToml, DuplicatesAndSyntaxErrorsAreRefusedWithTheirPosition) {
  EXPECT_THAT(TomlError(Replace(kMini, "weight = 4", "weight = 4\nweight = 5")),
              HasSubstr("t.toml:17:"));
  EXPECT_THAT(TomlError(std::string(kMini) + "[item.a]\n"),
              HasSubstr("t.toml:30:"));
  EXPECT_THAT(TomlError(Replace(kMini, "\"执行力\"", "\"执行力")),
              HasSubstr("t.toml:13:"));
  // A *.toml file is TOML only: the old syntax is not tried.
  const std::string old = TomlError(kMiniOld);
  EXPECT_THAT(old, HasSubstr("t.toml:1:8:"));
  EXPECT_THAT(old, Not(HasSubstr("old syntax")));
  // Any other name: neither syntax reads it, and both reasons are given.
  auto neither = ParseScheme("name = \"a\n", "x.scheme");
  EXPECT_THAT(neither.status().message(),
              HasSubstr("x.scheme is neither TOML (x.scheme:1:"));
  EXPECT_THAT(neither.status().message(),
              HasSubstr("nor a scheme in the old syntax (x.scheme line "));
}

TEST(SchemeToml, ConvertOldSchemeKeepsItsMeaningAndComments) {
  for (const char* name : {"kpi100", "ecom10"}) {
    SCOPED_TRACE(name);
    const std::string old = ReadText(
        absl::StrCat(testing::SourceDir(), "/tests/data/", name, ".scheme"));
    auto converted = ConvertOldSchemeToToml(old, "old.scheme");
    ASSERT_TRUE(converted.ok()) << converted.status();
    auto toml = ParseScheme(*converted, "new.toml");
    ASSERT_TRUE(toml.ok()) << toml.status();
    auto original = ParseScheme(old, "old.scheme");
    ASSERT_TRUE(original.ok()) << original.status();
    EXPECT_EQ(Dump(*toml), Dump(*original));
    // Comments stay, also those between the brackets.
    EXPECT_THAT(*converted, HasSubstr("# 考评期内未到岗累计超过 2 个月"));
  }
  auto mini = ConvertOldSchemeToToml(kMiniOld, "mini.scheme");
  ASSERT_TRUE(mini.ok()) << mini.status();
  EXPECT_THAT(*mini, HasSubstr("[item.b]\nmetric = \"reply_rate\"\n"));
  EXPECT_THAT(*mini, HasSubstr("absence_limit_days = \"none\"\n"));
  EXPECT_THAT(*mini, HasSubstr("reference = [\"self\", \"supervisor\"]\n"));
  EXPECT_THAT(*mini, HasSubstr("base_pay = 2000.29\n"));
  EXPECT_THAT(*mini, HasSubstr("brackets = [\n  \"[0, 100.5) rate 1.25%\",\n"));
  // TOML already, or not a scheme in the old syntax: nothing to convert.
  EXPECT_THAT(ConvertOldSchemeToToml(kMini, "t.scheme").status().message(),
              HasSubstr("t.scheme is TOML already"));
  EXPECT_FALSE(ConvertOldSchemeToToml("[item a]\n", "t.scheme").ok());
}

TEST(SchemeToml, ConvertConfigCommandWritesANewFileOnly) {
  const std::string dir = testing::TempDir("convert_config");
  const std::string old =
      absl::StrCat(testing::SourceDir(), "/tests/data/ecom10.scheme");
  auto r = testing::RunProcess(
      {testing::ChatkpiBinary(), "convert-config", old, dir + "/e.toml"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  auto converted = LoadSchemeFile(dir + "/e.toml");
  ASSERT_TRUE(converted.ok()) << converted.status();
  EXPECT_EQ(converted->brackets.size(), 4u);
  // NEW exists: refused, the file untouched.
  const std::string before = ReadText(dir + "/e.toml");
  r = testing::RunProcess(
      {testing::ChatkpiBinary(), "convert-config", old, dir + "/e.toml"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("e.toml exists"));
  EXPECT_EQ(ReadText(dir + "/e.toml"), before);
  // A TOML file is a usage error.
  r = testing::RunProcess({testing::ChatkpiBinary(), "convert-config",
                           dir + "/e.toml", dir + "/f.toml"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("is TOML already"));
}

TEST(SchemeToml, FindSchemeFilePrefersToml) {
  const std::string dir = testing::TempDir("scheme_toml_find");
  EXPECT_FALSE(FindSchemeFile(dir, "a").has_value());
  std::ofstream(dir + "/a.scheme") << kMiniOld;
  EXPECT_EQ(FindSchemeFile(dir, "a"), dir + "/a.scheme");
  std::ofstream(dir + "/a.toml") << kMini;
  EXPECT_EQ(FindSchemeFile(dir, "a"), dir + "/a.toml");
}

}  // namespace
}  // namespace chatkpi
