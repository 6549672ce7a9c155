// The JSON text writer (base/json_text.h) every JSON output goes through:
// string escaping and doubles, byte for byte.
#include "base/json_text.h"

#include <cmath>
#include <limits>
#include <optional>
#include <string>
#include <string_view>

#include "gtest/gtest.h"

namespace chatkpi {
namespace {

std::string Json(std::string_view s) {
  std::string out;
  AppendJsonString(&out, s);
  return out;
}

TEST(JsonText, PlainTextIsQuotedAsIs) {
  EXPECT_EQ(Json(""), R"("")");
  EXPECT_EQ(Json("agent_01"), R"("agent_01")");
  EXPECT_EQ(Json("a b/c'd"), R"("a b/c'd")");
}

TEST(JsonText, QuoteAndBackslashAreEscaped) {
  EXPECT_EQ(Json(R"(say "hi")"), R"("say \"hi\"")");
  EXPECT_EQ(Json(R"(C:\dir\)"), R"("C:\\dir\\")");
  // A backslash before a quote: both escaped, so the string does not end.
  EXPECT_EQ(Json(R"(\")"), R"("\\\"")");
}

TEST(JsonText, ControlCharactersAreEscaped) {
  EXPECT_EQ(Json("a\nb\rc\td"), R"("a\nb\rc\td")");
  // The others below 0x20 as \u00XX with lower-case hex.
  EXPECT_EQ(Json(std::string_view("\x00", 1)), R"("\u0000")");
  EXPECT_EQ(Json("\x01\x08\x0c\x1b\x1f"),
            R"("\u0001\u0008\u000c\u001b\u001f")");
  // 0x20 (space) and 0x7f (DEL) are not control characters for JSON.
  EXPECT_EQ(Json(" \x7f"), "\" \x7f\"");
}

TEST(JsonText, NonAsciiUtf8PassesThroughUnchanged) {
  // 客服 (U+5BA2 U+670D) and an emoji (U+1F600): multi-byte UTF-8 whose
  // bytes are all >= 0x80, none of them escaped.
  EXPECT_EQ(Json("客服"), "\"客服\"");
  EXPECT_EQ(Json("\xe5\xae\xa2\xe6\x9c\x8d"), "\"\xe5\xae\xa2\xe6\x9c\x8d\"");
  EXPECT_EQ(Json("ok \xf0\x9f\x98\x80!"), "\"ok \xf0\x9f\x98\x80!\"");
}

TEST(JsonText, AppendsAfterWhatIsThere) {
  std::string out = "{\"k\":";
  AppendJsonString(&out, "v");
  EXPECT_EQ(out, R"({"k":"v")");
}

TEST(JsonText, JsonStringIsAppendJsonStringIntoANewString) {
  EXPECT_EQ(JsonString("a\"b\n"), R"("a\"b\n")");
  std::string out = "[1, ";
  AppendJsonDouble(&out, 0.25);
  EXPECT_EQ(out, "[1, 0.25");
}

TEST(JsonText, DoublesUseTheOneNumberFormat) {
  // base/number_text.h's FormatDouble, tested in number_text_test.cc.
  EXPECT_EQ(JsonDouble(0.5), "0.5");
  EXPECT_EQ(JsonDouble(26.0 / 81.0), "0.32098765432098764");
}

TEST(JsonText, MissingOrNonFiniteDoublesAreNull) {
  EXPECT_EQ(JsonDouble(std::nullopt), "null");
  EXPECT_EQ(JsonDouble(std::numeric_limits<double>::quiet_NaN()), "null");
  EXPECT_EQ(JsonDouble(std::numeric_limits<double>::infinity()), "null");
  EXPECT_EQ(JsonDouble(-std::numeric_limits<double>::infinity()), "null");
}

}  // namespace
}  // namespace chatkpi
