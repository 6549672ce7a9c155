#include "query/month_score.h"

#include <cmath>
#include <filesystem>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "engine/changelog.h"
#include "engine/owned_shards.h"
#include "ingest/event_parser.h"
#include "query/assessment_metrics.h"
#include "query/snapshot.h"
#include "store/coding.h"
#include "store/store.h"

namespace chatkpi {

absl::StatusOr<std::vector<Assessment>> ReadAssessments(
    Store& store, const std::string& month) {
  std::vector<Assessment> out;
  std::string prefix = month;
  prefix.push_back('\0');
  std::string end = month;
  end.push_back('\1');
  absl::Status bad;
  absl::Status s = store.Scan(
      Family::kAssessments, prefix, end,
      [&](std::string_view key, std::string_view value) {
        // key: period \0 agent \0 metric; value: (ts, id) then the number.
        key.remove_prefix(prefix.size());
        const size_t sep = key.find('\0');
        std::string_view order;
        if (sep == std::string_view::npos ||
            !GetLengthPrefixed(&value, &order)) {
          bad = absl::DataLossError("assessment record is corrupt");
          return false;
        }
        Assessment a;
        a.period = month;
        a.agent = std::string(key.substr(0, sep));
        a.metric = std::string(key.substr(sep + 1));
        std::string text(value);
        if (!absl::SimpleAtod(text, &a.value)) {
          bad = absl::DataLossError("assessment value is corrupt");
          return false;
        }
        // The parser bounds every value taken in now; a store written
        // before it could hold any double, and fen from one past the bound
        // may not fit in int64.
        if (!(std::fabs(a.value) <= kMaxAssessmentValue)) {
          bad = absl::OutOfRangeError(absl::StrCat(
              "assessment ", a.metric, " of agent '", a.agent, "' for ", month,
              " is ", text, ", beyond the bound of 1e9 (docs/limits.md); ",
              "take in a corrected assessment for it"));
          return false;
        }
        // An event file's input gets the checks `chatkpi assess` makes
        // (docs/scoring.md, "Assessment inputs"): out of its range (2.5
        // sets, -5 days absent, a target of 0) or money that is not exact
        // to the fen, it stops the month loudly, saying why, rather than
        // being scored as it is or rounded. A name no scheme can score
        // stays as it is.
        if (auto m = FindAssessmentMetric(a.metric)) {
          // A mark above its maximum is scored as the item's weight, as a
          // `manual` curve clamps it; every other refusal stands.
          const bool clamped = m->kind == AssessmentKind::kMark &&
                               a.value > m->max && a.value >= 0;
          if (absl::Status c = CheckAssessmentInput(a.metric, text);
              !c.ok() && !clamped) {
            bad = absl::FailedPreconditionError(
                absl::StrCat("assessment ", a.metric, " of ", a.agent, " for ",
                             month, " is ", text, ": ", c.message(),
                             "; enter it again with chatkpi assess"));
            return false;
          }
        }
        if (IsMoneyAssessment(a.metric) &&
            !ParseYuanToFen(text, &a.value_fen).ok()) {
          bad = absl::FailedPreconditionError(absl::StrCat(
              "assessment ", a.metric, " of ", a.agent, " for ", month, " is ",
              text,
              ": money takes at most 2 decimals; enter it again with "
              "chatkpi assess"));
          return false;
        }
        out.push_back(std::move(a));
        return true;
      });
  if (!s.ok()) return s;
  if (!bad.ok()) return bad;
  return out;
}

namespace {

absl::StatusOr<MonthInputs> Inputs(Store& store, absl::CivilMonth month,
                                   bool* has_data) {
  MonthInputs in;
  in.month =
      absl::FormatTime("%Y-%m", absl::FromCivil(month, absl::UTCTimeZone()),
                       absl::UTCTimeZone());
  absl::CivilDay first(month);
  absl::CivilDay last(absl::CivilDay(month + 1) - 1);
  auto snap = ReadSnapshot(store, first, last);
  if (!snap.ok()) return snap.status();
  in.snapshot = std::move(*snap);
  auto assessments = ReadAssessments(store, in.month);
  if (!assessments.ok()) return assessments.status();
  in.assessments = std::move(*assessments);
  *has_data = !in.snapshot.agents.empty() || !in.assessments.empty() ||
              !in.snapshot.unattributed.IsZero();
  return in;
}

}  // namespace

absl::StatusOr<ScoreReport> ScoreMonth(Store& store, const Scheme& scheme,
                                       absl::CivilMonth month,
                                       int history_months) {
  auto roster = ReadCurrentRoster(store);
  if (!roster.ok()) return roster.status();
  auto reports =
      ScoreMonths(store, scheme, roster->has_value() ? &**roster : nullptr,
                  month, month, history_months);
  if (!reports.ok()) return reports.status();
  return std::move(reports->back());
}

absl::StatusOr<std::vector<ScoreReport>> ScoreMonths(
    Store& store, const Scheme& scheme, const Roster* roster,
    absl::CivilMonth first, absl::CivilMonth last, int history_months) {
  // A query instance's store holds the changelog's day rows, not the
  // assessment inputs (targets, marks, days absent, seniority pay) that
  // scores and pay read: scored there, every input would be missing.
  auto topics = ChangelogTopicsRead(store);
  if (!topics.ok()) return topics.status();
  if (!topics->empty()) {
    return absl::FailedPreconditionError(
        "this store is a team view read from the changelog, which carries "
        "the day rows but not the assessment inputs (targets, marks, days "
        "absent, seniority pay) that scores and pay need; score the month "
        "on a store that holds every partition's events (docs/scaling.md, "
        "\"Scores and pay\")");
  }
  // A Kafka member's store holds the partitions it owns (docs/scaling.md):
  // scored alone, it would pay from part of the team's events.
  auto owned = ReadOwnedShards(store);
  if (!owned.ok()) return owned.status();
  auto partitions = ReadKafkaPartitionCount(store);
  if (!partitions.ok()) return partitions.status();
  if (owned->has_value() && partitions->has_value() &&
      (*owned)->size() != static_cast<size_t>(**partitions)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "this store is a Kafka member's that holds partitions [",
        absl::StrJoin(**owned, " "), "] of ", **partitions,
        ": scored, the month would pay from part of the team's events. Score "
        "it on a store that holds every partition, such as one `chatkpi run` "
        "alone in a group of its own (docs/scaling.md, \"Scores and pay\")"));
  }
  // Collect the run of earlier months that have data, newest first.
  std::vector<MonthInputs> earlier;
  for (int i = 1; i <= history_months; ++i) {
    bool has_data = false;
    auto in = Inputs(store, first - i, &has_data);
    if (!in.ok()) return in.status();
    if (!has_data) break;
    earlier.push_back(std::move(*in));
  }
  // Every month is scored under the same roster: employment dates, not the
  // import date, say who counted when (docs/scoring.md, "Roster").
  std::vector<ScoreReport> previous;
  for (auto it = earlier.rbegin(); it != earlier.rend(); ++it) {
    it->previous = previous;
    it->roster = roster;
    auto r = Score(scheme, *it);
    if (!r.ok()) return r.status();
    previous.push_back(std::move(*r));
  }
  std::vector<ScoreReport> out;
  bool any_data = false;
  for (absl::CivilMonth m = first; m <= last; ++m) {
    bool has_data = false;
    auto in = Inputs(store, m, &has_data);
    if (!in.ok()) return in.status();
    any_data |= has_data;
    in->previous = previous;
    in->roster = roster;
    auto r = Score(scheme, *in);
    if (!r.ok()) return r.status();
    previous.push_back(*r);
    out.push_back(std::move(*r));
  }
  // Scored anyway, a mistyped month would pay every rostered agent base pay
  // for nothing and flag each as failing (docs/scoring.md).
  if (!any_data) {
    const absl::TimeZone utc = absl::UTCTimeZone();
    const auto label = [&](absl::CivilMonth m) {
      return absl::FormatTime("%Y-%m", absl::FromCivil(m, utc), utc);
    };
    return absl::NotFoundError(absl::StrCat(
        "the store holds no activity and no assessment inputs in ",
        first == last ? label(first)
                      : absl::StrCat(label(first), " to ", label(last)),
        ": nothing to score (is the month right?)"));
  }
  return out;
}

absl::StatusOr<Scheme> LoadSchemeByNameOrPath(const std::string& name_or_path,
                                              const std::string& schemes_dir) {
  std::error_code ec;
  const bool is_file = std::filesystem::is_regular_file(name_or_path, ec);
  const bool plain_name = !name_or_path.empty() &&
                          name_or_path.find_first_of("/.") == std::string::npos;
  if (plain_name) {
    if (auto path = FindSchemeFile(schemes_dir, name_or_path)) {
      // A file of the same name in the working folder would otherwise
      // decide the pay of whoever runs from there.
      if (is_file) {
        return absl::InvalidArgumentError(absl::StrCat(
            "--scheme ", name_or_path, " names both the shipped scheme ", *path,
            " and the file ./", name_or_path, " in this folder: give ./",
            name_or_path,
            " for the file, or run elsewhere for the shipped scheme"));
      }
      return LoadSchemeFile(*path);
    }
  }
  if (is_file) return LoadSchemeFile(name_or_path);
  return absl::NotFoundError(
      absl::StrCat("no scheme file '", name_or_path,
                   "' (give a path, or a shipped scheme: ", "kpi100, ecom10)"));
}

}  // namespace chatkpi
