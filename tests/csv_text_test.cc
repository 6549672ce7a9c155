// The CSV text writer (base/csv_text.h) every CSV output goes through:
// RFC 4180 quoting, the neutralising of text a spreadsheet would run as a
// formula (docs/scoring.md, "Output").
#include "base/csv_text.h"

#include <string>
#include <string_view>

#include "gtest/gtest.h"

namespace chatkpi {
namespace {

std::string Field(std::string_view s) {
  std::string out;
  AppendCsvField(&out, s);
  return out;
}

std::string Number(std::string_view s) {
  std::string out;
  AppendCsvNumber(&out, s);
  return out;
}

TEST(CsvText, PlainFieldsAreWrittenAsIs) {
  EXPECT_EQ(Field(""), "");
  EXPECT_EQ(Field("agent_01"), "agent_01");
  EXPECT_EQ(Field("a b;c'd"), "a b;c'd");
  // UTF-8 text needs no quoting.
  EXPECT_EQ(Field("客服一组"), "客服一组");
}

TEST(CsvText, CommaQuoteAndLineBreaksAreQuotedWithQuotesDoubled) {
  EXPECT_EQ(Field("a,b"), "\"a,b\"");
  EXPECT_EQ(Field("say \"hi\""), "\"say \"\"hi\"\"\"");
  EXPECT_EQ(Field("\""), "\"\"\"\"");
  EXPECT_EQ(Field("line1\nline2"), "\"line1\nline2\"");
  EXPECT_EQ(Field("line1\r\nline2"), "\"line1\r\nline2\"");
}

TEST(CsvText, NeutralisesFormulaCells) {
  // First character = + - @, tab or CR: a spreadsheet would evaluate it.
  EXPECT_EQ(Field("=1+1"), "'=1+1");
  EXPECT_EQ(Field("+86 138"), "'+86 138");
  EXPECT_EQ(Field("-x"), "'-x");
  EXPECT_EQ(Field("-1+1"), "'-1+1");
  EXPECT_EQ(Field("@SUM(A1)"), "'@SUM(A1)");
  EXPECT_EQ(Field("\tx"), "'\tx");
  // CR also needs quoting; the apostrophe goes inside the quotes.
  EXPECT_EQ(Field("\rx"), "\"'\rx\"");
  EXPECT_EQ(Field("=HYPERLINK(\"http://x\",\"y\")"),
            "\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\"");
  // Only the first character counts.
  EXPECT_EQ(Field("a=b"), "a=b");
  EXPECT_EQ(Field(" =b"), " =b");
}

TEST(CsvText, NumbersStayNumbersAndAnythingElseIsText) {
  EXPECT_EQ(Number("12.5"), "12.5");
  EXPECT_EQ(Number("0"), "0");
  EXPECT_EQ(Number(""), "");
  // A minus followed by a digit is a negative number, not a formula.
  EXPECT_EQ(Number("-12.5"), "-12.5");
  EXPECT_EQ(Number("-0.01"), "-0.01");
  EXPECT_EQ(Number("-12.50"), "-12.50");
  // A lone minus or a minus before anything else is text, neutralised.
  EXPECT_EQ(Number("-"), "'-");
  EXPECT_EQ(Number("-x"), "'-x");
  EXPECT_EQ(Number("-=1"), "'-=1");
  EXPECT_EQ(Number("=1"), "'=1");
  EXPECT_EQ(Number("+1"), "'+1");
}

}  // namespace
}  // namespace chatkpi
