// The one text form of each kind of figure (docs/spec.md, "Number
// formats"). JSON (base/json_text.h), CSV (base/csv_text.h), the metrics
// page and the pay statement all print a figure of one kind the same way,
// so a consumer never meets two spellings of one number:
//
//   counters, fen, milliseconds   integer               absl::StrCat
//   ratios, averages, measured    shortest round-trip   FormatDouble
//     values (seconds, yuan per
//     buyer, a score item's
//     actual and target)
//   money in yuan (CSV, statement) exactly 2 decimals   FenToYuanText
//   points (hundredths)           at most 2 decimals    CentiText
//   rates in ppm (commission)     percent, exact        PpmPercentText
//   change of a non-whole figure  rounded to 1e-6       RoundedChange
//
// Text meant only for reading in a terminal (the `diff` table, progress
// and log lines) rounds for the eye instead; it is never parsed.
#ifndef CHATKPI_BASE_NUMBER_TEXT_H_
#define CHATKPI_BASE_NUMBER_TEXT_H_

#include <cstdint>
#include <string>

namespace chatkpi {

// The shortest text that reads back as exactly `v` (std::to_chars), so a
// consumer can recompute and compare: 26.0 / 81 -> "0.32098765432098764",
// 0.5 -> "0.5", 30.0 -> "30". Negative zero prints as "0". A non-finite
// `v` prints as to_chars spells it ("inf", "nan"): callers that may meet
// one decide its text (JSON null, Prometheus NaN).
std::string FormatDouble(double v);
void AppendDouble(std::string* out, double v);

// A change b − a of a figure that is not a whole number (a ratio, an
// average, points), rounded to 1e-6 so that 0.95 − 0.9 reads 0.05 rather
// than 0.04999999999999993. Every "change" a comparison prints (`snapshot
// --compare-*`, `diff`) goes through this, then FormatDouble.
double RoundedChange(double a, double b);

// Fen as yuan with exactly 2 decimals: -1005 -> "-10.05", 100 -> "1.00".
std::string FenToYuanText(int64_t fen);

// Hundredths (points in centi) with as few decimals as needed, exactly:
// 8750 -> "87.5", 8725 -> "87.25", 9000 -> "90", -5 -> "-0.05".
std::string CentiText(int64_t centi);

// A rate in parts per million as a percentage, exactly: 15000 -> "1.5%",
// 20000 -> "2%", 125 -> "0.0125%".
std::string PpmPercentText(int64_t ppm);

}  // namespace chatkpi

#endif  // CHATKPI_BASE_NUMBER_TEXT_H_
