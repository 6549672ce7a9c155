// The one text form of each kind of figure (base/number_text.h): what a
// JSON, CSV or statement reader sees for a ratio, money, points or a rate.
#include "base/number_text.h"

#include <cstdint>
#include <limits>
#include <string>

#include "gtest/gtest.h"

namespace chatkpi {
namespace {

TEST(NumberText, DoublesAreShortestRoundTripText) {
  EXPECT_EQ(FormatDouble(0.0), "0");
  EXPECT_EQ(FormatDouble(1.0), "1");
  EXPECT_EQ(FormatDouble(0.5), "0.5");
  EXPECT_EQ(FormatDouble(-2.25), "-2.25");
  // 0.1 + 0.2 is not 0.3 as a double; the text keeps it apart.
  EXPECT_EQ(FormatDouble(0.1 + 0.2), "0.30000000000000004");
  // 26 / 81 (a ratio of counters): the 17 digits that read back exactly.
  EXPECT_EQ(FormatDouble(26.0 / 81.0), "0.32098765432098764");
  EXPECT_EQ(std::stod(FormatDouble(26.0 / 81.0)), 26.0 / 81.0);
}

TEST(NumberText, NegativeZeroPrintsAsZero) {
  // -0.0 (e.g. 0 * -1 in a computed figure) is the same number as 0.
  EXPECT_EQ(FormatDouble(-0.0), "0");
  EXPECT_EQ(FormatDouble(0.0 * -1), "0");
}

TEST(NumberText, TextReadsBackAsTheSameDouble) {
  // 1 / 3: six decimals ("0.333333") read back as another double; the
  // shortest round-trip text has 16 digits.
  EXPECT_EQ(FormatDouble(1.0 / 3.0), "0.3333333333333333");
  EXPECT_EQ(std::stod(FormatDouble(1.0 / 3.0)), 1.0 / 3.0);
  // 21.4 s average response (107000 ms / 5 / 1000) is exactly 21.4's double.
  EXPECT_EQ(FormatDouble(107000.0 / 5 / 1000), "21.4");
  EXPECT_EQ(FormatDouble(1e-7), "1e-07");
}

TEST(NumberText, ChangesOfFractionsAreRoundedToMillionths) {
  // 0.95 - 0.9 is 0.04999999999999993 as doubles; rounded it reads 0.05.
  EXPECT_EQ(FormatDouble(0.95 - 0.9), "0.04999999999999993");
  EXPECT_EQ(FormatDouble(RoundedChange(0.9, 0.95)), "0.05");
  EXPECT_EQ(FormatDouble(RoundedChange(0.95, 0.9)), "-0.05");
  // 26/81 - 0 = 0.32098765...: 0.320988 after rounding to 1e-6.
  EXPECT_EQ(FormatDouble(RoundedChange(0, 26.0 / 81.0)), "0.320988");
  EXPECT_EQ(FormatDouble(RoundedChange(0.5, 0.5)), "0");
}

TEST(NumberText, FenIsYuanWithExactlyTwoDecimals) {
  EXPECT_EQ(FenToYuanText(0), "0.00");
  EXPECT_EQ(FenToYuanText(5), "0.05");
  EXPECT_EQ(FenToYuanText(10), "0.10");
  EXPECT_EQ(FenToYuanText(1005), "10.05");
  EXPECT_EQ(FenToYuanText(-1005), "-10.05");
  EXPECT_EQ(FenToYuanText(-7), "-0.07");
  EXPECT_EQ(FenToYuanText(770501), "7705.01");
  EXPECT_EQ(FenToYuanText(123456789), "1234567.89");
  // INT64_MIN = -9223372036854775808 fen: its magnitude does not fit in
  // int64, and still prints exactly.
  EXPECT_EQ(FenToYuanText(std::numeric_limits<int64_t>::min()),
            "-92233720368547758.08");
  EXPECT_EQ(FenToYuanText(std::numeric_limits<int64_t>::max()),
            "92233720368547758.07");
}

TEST(NumberText, CentiHasAtMostTwoDecimals) {
  EXPECT_EQ(CentiText(0), "0");
  EXPECT_EQ(CentiText(9000), "90");
  EXPECT_EQ(CentiText(8750), "87.5");
  EXPECT_EQ(CentiText(8725), "87.25");
  EXPECT_EQ(CentiText(8705), "87.05");
  EXPECT_EQ(CentiText(-5), "-0.05");
  EXPECT_EQ(CentiText(-250), "-2.5");
  EXPECT_EQ(CentiText(std::numeric_limits<int64_t>::min()),
            "-92233720368547758.08");
}

TEST(NumberText, PpmIsAnExactPercentage) {
  // 10000 ppm = 1%.
  EXPECT_EQ(PpmPercentText(0), "0%");
  EXPECT_EQ(PpmPercentText(20000), "2%");
  EXPECT_EQ(PpmPercentText(15000), "1.5%");
  EXPECT_EQ(PpmPercentText(125), "0.0125%");
  EXPECT_EQ(PpmPercentText(1), "0.0001%");
  EXPECT_EQ(PpmPercentText(1000000), "100%");
  EXPECT_EQ(PpmPercentText(-15000), "-1.5%");
}

}  // namespace
}  // namespace chatkpi
