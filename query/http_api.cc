#include "query/http_api.h"

#include <algorithm>
#include <filesystem>
#include <initializer_list>
#include <optional>

#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "base/json_text.h"
#include "engine/engine.h"
#include "engine/event_count.h"
#include "engine/meta.h"
#include "query/agent_days.h"
#include "query/dashboard.h"
#include "query/dead_letters.h"
#include "query/metrics.h"
#include "query/month_score.h"
#include "query/pay_statement.h"
#include "query/roster.h"
#include "query/scheme.h"
#include "query/scoring.h"
#include "query/snapshot.h"
#include "query/snapshot_compare.h"
#include "store/coding.h"
#include "store/store.h"

namespace chatkpi {
namespace {

// Dates outside the event time range of docs/spec.md §1 (with a day's slack for
// the time zone) can hold no data; refusing them keeps a typo like 2206-11-01
// from passing for an empty period.
constexpr absl::CivilDay kFirstDay(1999, 12, 31);
constexpr absl::CivilDay kLastDay(2100, 1, 1);

constexpr char kJson[] = "application/json; charset=utf-8";
constexpr char kCsv[] = "text/csv; charset=utf-8";

// A parameter value as quoted back in an error message.
std::string Quoted(std::string_view v) {
  constexpr size_t kMax = 64;
  return absl::StrCat("'", std::string(v.substr(0, kMax)),
                      v.size() > kMax ? "...'" : "'");
}

absl::Status BadRequest(std::string msg) {
  return absl::InvalidArgumentError(std::move(msg));
}

// Refuses parameters the endpoint does not know and repeated ones, so that a
// typo ("form=") is an error rather than a silently different answer.
absl::Status CheckParams(const QueryParams& q,
                         std::initializer_list<std::string_view> allowed) {
  for (auto it = q.begin(); it != q.end(); it = q.upper_bound(it->first)) {
    bool known = false;
    for (std::string_view a : allowed) known = known || it->first == a;
    if (!known) {
      return BadRequest(absl::StrCat("unknown parameter ", Quoted(it->first)));
    }
    if (q.count(it->first) > 1) {
      return BadRequest(
          absl::StrCat("parameter `", it->first, "` is given more than once"));
    }
  }
  return absl::OkStatus();
}

std::optional<std::string> Param(const QueryParams& q, std::string_view name) {
  auto it = q.find(std::string(name));
  if (it == q.end()) return std::nullopt;
  return it->second;
}

absl::StatusOr<std::string> RequireParam(const QueryParams& q,
                                         std::string_view name) {
  auto v = Param(q, name);
  if (!v.has_value() || v->empty()) {
    return BadRequest(
        absl::StrCat("parameter `", std::string(name), "` is required"));
  }
  return *v;
}

absl::StatusOr<absl::CivilDay> DayParam(const QueryParams& q,
                                        std::string_view name) {
  auto v = RequireParam(q, name);
  if (!v.ok()) return v.status();
  absl::CivilDay d;
  // The round trip refuses what absl would normalize (2026-02-30).
  if (v->size() != 10 || !absl::ParseCivilTime(*v, &d) ||
      absl::FormatCivilTime(d) != *v) {
    return BadRequest(absl::StrCat("`", std::string(name),
                                   "` must be a date YYYY-MM-DD, not ",
                                   Quoted(*v)));
  }
  if (d < kFirstDay || d > kLastDay) {
    return BadRequest(absl::StrCat("`", std::string(name), "` must be between ",
                                   absl::FormatCivilTime(kFirstDay), " and ",
                                   absl::FormatCivilTime(kLastDay), ", not ",
                                   Quoted(*v)));
  }
  return d;
}

// [from, to] from the `from` and `to` parameters, in order.
absl::StatusOr<std::pair<absl::CivilDay, absl::CivilDay>> RangeParams(
    const QueryParams& q) {
  auto from = DayParam(q, "from");
  if (!from.ok()) return from.status();
  auto to = DayParam(q, "to");
  if (!to.ok()) return to.status();
  if (*to < *from) return BadRequest("`to` is before `from`");
  return std::make_pair(*from, *to);
}

absl::StatusOr<absl::CivilMonth> MonthParam(const QueryParams& q,
                                            std::string_view name) {
  auto v = RequireParam(q, name);
  if (!v.ok()) return v.status();
  absl::CivilMonth m;
  if (v->size() != 7 || !absl::ParseCivilTime(*v, &m) ||
      absl::FormatCivilTime(m) != *v || m < absl::CivilMonth(kFirstDay) ||
      m > absl::CivilMonth(kLastDay)) {
    return BadRequest(absl::StrCat(
        "`", std::string(name), "` must be a month YYYY-MM, not ", Quoted(*v)));
  }
  return m;
}

absl::StatusOr<std::string> ChoiceParam(
    const QueryParams& q, std::string_view name,
    std::initializer_list<std::string_view> choices) {
  auto v = Param(q, name);
  if (!v.has_value()) return std::string(*choices.begin());
  std::string list;
  for (std::string_view c : choices) {
    if (*v == c) return *v;
    absl::StrAppend(&list, list.empty() ? "" : " or ", std::string(c));
  }
  return BadRequest(absl::StrCat("`", std::string(name), "` must be ", list,
                                 ", not ", Quoted(*v)));
}

// The file of the `scheme` parameter. Only a bare name is accepted: a path
// would let any token holder probe the server's files through parse errors.
absl::StatusOr<std::string> SchemePath(const QueryParams& q,
                                       const std::string& schemes_dir,
                                       std::string_view fallback = "") {
  auto name = fallback.empty() || Param(q, "scheme").has_value()
                  ? RequireParam(q, "scheme")
                  : absl::StatusOr<std::string>(std::string(fallback));
  if (!name.ok()) return name.status();
  bool ok = name->size() <= 64;
  for (char c : *name) {
    ok = ok && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                (c >= '0' && c <= '9') || c == '_' || c == '-');
  }
  if (!ok) {
    return BadRequest(absl::StrCat(
        "`scheme` must be a scheme name (letters, digits, _ and -), not ",
        Quoted(*name)));
  }
  std::optional<std::string> path = FindSchemeFile(schemes_dir, *name);
  if (!path) {
    return absl::NotFoundError(
        absl::StrCat("no scheme ", Quoted(*name), " on this server"));
  }
  return *path;
}

ApiResponse FromStatus(const absl::Status& s) {
  switch (s.code()) {
    case absl::StatusCode::kInvalidArgument:
      return ApiError(400, std::string(s.message()));
    case absl::StatusCode::kNotFound:
      return ApiError(404, std::string(s.message()));
    case absl::StatusCode::kFailedPrecondition:
      // What this server's store cannot answer (scores over a team view).
      return ApiError(409, std::string(s.message()));
    case absl::StatusCode::kUnavailable:
      return ApiError(503, std::string(s.message()));
    default:
      return ApiError(500, std::string(s.message()));
  }
}

ApiResponse Ok(std::string body, const char* content_type = kJson) {
  ApiResponse r;
  r.content_type = content_type;
  r.body = std::move(body);
  return r;
}

}  // namespace

ApiResponse ApiError(int status, std::string_view message) {
  ApiResponse r;
  r.status = status;
  r.content_type = kJson;
  r.body = "{\"error\": ";
  AppendJsonString(&r.body, message);
  r.body.append("}\n");
  return r;
}

HttpApi::HttpApi(Store* store, HttpApiOptions options)
    : store_(store),
      options_(std::move(options)),
      started_(absl::Now()),
      live_(std::make_unique<LiveView>(store, options_.live_view)) {}

ApiResponse HttpApi::Health() const {
  // A point read proves the store answers without costing a scan; rules
  // that no longer parse make every figure unservable, so they count too.
  auto probe = ReadStoredRulesRecord(*store_);
  if (!probe.ok()) {
    ApiResponse r = Ok("{\"status\": \"unavailable\", \"error\": ");
    r.status = 503;
    AppendJsonString(&r.body, std::string(probe.status().message()));
    r.body.append("}\n");
    return r;
  }
  return Ok(absl::StrCat("{\"status\": \"ok\", \"uptime_s\": ",
                         absl::ToInt64Seconds(absl::Now() - started_), "}\n"));
}

ApiResponse HttpApi::Snapshot(const QueryParams& q) const {
  if (auto s = CheckParams(
          q, {"from", "to", "format", "lang", "compare_from", "compare_to"});
      !s.ok()) {
    return FromStatus(s);
  }
  auto range = RangeParams(q);
  if (!range.ok()) return FromStatus(range.status());
  if (range->second - range->first >= options_.max_snapshot_days) {
    return ApiError(
        400,
        absl::StrCat("a snapshot covers at most ", options_.max_snapshot_days,
                     " days (`from` to `to`, both included), not ",
                     range->second - range->first + 1,
                     ": ask for a shorter period"));
  }
  auto format = ChoiceParam(q, "format", {"json", "csv"});
  if (!format.ok()) return FromStatus(format.status());
  auto lang = ChoiceParam(q, "lang", {"en", "zh"});
  if (!lang.ok()) return FromStatus(lang.status());

  // compare_from/compare_to: an earlier period beside this one.
  std::optional<std::pair<absl::CivilDay, absl::CivilDay>> compare;
  if (q.count("compare_from") > 0 || q.count("compare_to") > 0) {
    auto cfrom = DayParam(q, "compare_from");
    if (!cfrom.ok()) return FromStatus(cfrom.status());
    auto cto = DayParam(q, "compare_to");
    if (!cto.ok()) return FromStatus(cto.status());
    if (*cto < *cfrom) {
      return FromStatus(BadRequest("`compare_to` is before `compare_from`"));
    }
    if (*cto - *cfrom >= options_.max_snapshot_days) {
      return ApiError(400, absl::StrCat("a snapshot covers at most ",
                                        options_.max_snapshot_days,
                                        " days (`compare_from` to "
                                        "`compare_to`): ask for a shorter "
                                        "period"));
    }
    compare.emplace(*cfrom, *cto);
  }

  auto snap = ReadSnapshot(*store_, range->first, range->second);
  if (!snap.ok()) return FromStatus(snap.status());
  const ColumnLanguage column_lang =
      *lang == "zh" ? ColumnLanguage::kChinese : ColumnLanguage::kEnglish;
  std::optional<PeriodSnapshot> prev;
  if (compare.has_value()) {
    auto p = ReadSnapshot(*store_, compare->first, compare->second);
    if (!p.ok()) return FromStatus(p.status());
    prev = std::move(*p);
  }
  if (*format == "json") {
    return Ok(prev ? ComparedSnapshotToJson(*snap, *prev)
                   : SnapshotToJson(*snap));
  }
  ApiResponse r = Ok(prev ? ComparedSnapshotToCsv(*snap, *prev, column_lang)
                          : SnapshotToCsv(*snap, column_lang),
                     kCsv);
  r.headers.emplace_back(
      "Content-Disposition",
      absl::StrCat("attachment; filename=\"chatkpi-snapshot-",
                   absl::FormatCivilTime(range->first), "-",
                   absl::FormatCivilTime(range->second), ".csv\""));
  return r;
}

ApiResponse HttpApi::AgentDays(std::string_view agent,
                               const QueryParams& q) const {
  if (auto s = CheckParams(q, {"from", "to"}); !s.ok()) return FromStatus(s);
  auto range = RangeParams(q);
  if (!range.ok()) return FromStatus(range.status());
  if (range->second - range->first >= kMaxAgentDays) {
    return ApiError(400,
                    absl::StrCat("at most ", kMaxAgentDays, " days at a time"));
  }
  auto days = ReadAgentDays(*store_, agent, range->first, range->second);
  if (!days.ok()) return FromStatus(days.status());
  if (!days->any_row) {
    // An empty range is an answer for a known agent, and a 404 otherwise,
    // so that a misspelt id does not pass for an idle agent.
    auto known = AgentHasRows(*store_, agent);
    if (!known.ok()) return FromStatus(known.status());
    if (!*known) {
      return ApiError(404, absl::StrCat("unknown agent ", Quoted(agent)));
    }
  }
  return Ok(AgentDaysToJson(*days));
}

ApiResponse HttpApi::Score(const QueryParams& q) const {
  if (auto s = CheckParams(q, {"month", "scheme", "format", "lang"}); !s.ok()) {
    return FromStatus(s);
  }
  auto month = MonthParam(q, "month");
  if (!month.ok()) return FromStatus(month.status());
  auto path = SchemePath(q, options_.schemes_dir);
  if (!path.ok()) return FromStatus(path.status());
  auto format = ChoiceParam(q, "format", {"json", "csv"});
  if (!format.ok()) return FromStatus(format.status());
  auto lang = ChoiceParam(q, "lang", {"en", "zh"});
  if (!lang.ok()) return FromStatus(lang.status());
  auto scheme = LoadSchemeFile(*path);
  if (!scheme.ok()) {
    // The file is the server's, not the client's: a broken one is ours.
    return ApiError(500, std::string(scheme.status().message()));
  }
  auto report = ScoreMonth(*store_, *scheme, *month);
  if (!report.ok()) return FromStatus(report.status());
  if (*format == "json") return Ok(ScoreReportToJson(*report));
  ApiResponse r =
      Ok(ScoreReportToCsv(*report, *lang == "zh" ? ColumnLanguage::kChinese
                                                 : ColumnLanguage::kEnglish),
         kCsv);
  r.headers.emplace_back(
      "Content-Disposition",
      absl::StrCat("attachment; filename=\"chatkpi-score-",
                   absl::FormatCivilTime(*month), "-",
                   Param(q, "scheme").value_or(""), ".csv\""));
  return r;
}

ApiResponse HttpApi::StaffRoster(const QueryParams& q) const {
  if (auto s = CheckParams(q, {"version", "format"}); !s.ok()) {
    return FromStatus(s);
  }
  auto format = ChoiceParam(q, "format", {"json", "csv"});
  if (!format.ok()) return FromStatus(format.status());
  auto versions = RosterVersions(*store_);
  if (!versions.ok()) return FromStatus(versions.status());
  int64_t version = versions->empty() ? 0 : versions->back();
  if (auto v = Param(q, "version"); v.has_value()) {
    if (!absl::SimpleAtoi(*v, &version) || version < 1) {
      return ApiError(400, absl::StrCat("`version` must be a roster version "
                                        "number, not ",
                                        Quoted(*v)));
    }
  } else if (versions->empty()) {
    return ApiError(404, "no roster yet");
  }
  auto roster = ReadRosterVersion(*store_, version);
  if (!roster.ok()) return FromStatus(roster.status());
  if (*format == "json") return Ok(RosterToJson(*roster, *versions));
  return Ok(RosterToCsv(*roster), kCsv);
}

ApiResponse HttpApi::Statement(const QueryParams& q) const {
  if (auto s = CheckParams(q, {"month", "scheme", "agent", "format"});
      !s.ok()) {
    return FromStatus(s);
  }
  auto month = MonthParam(q, "month");
  if (!month.ok()) return FromStatus(month.status());
  auto path = SchemePath(q, options_.schemes_dir);
  if (!path.ok()) return FromStatus(path.status());
  auto agent = RequireParam(q, "agent");
  if (!agent.ok()) return FromStatus(agent.status());
  auto format = ChoiceParam(q, "format", {"html", "csv"});
  if (!format.ok()) return FromStatus(format.status());
  auto scheme = LoadSchemeFile(*path);
  if (!scheme.ok()) {
    return ApiError(500, std::string(scheme.status().message()));
  }
  auto report = ScoreMonth(*store_, *scheme, *month);
  if (!report.ok()) return FromStatus(report.status());
  auto a = FindStatementAgent(*report, *agent);
  if (!a.ok()) return FromStatus(a.status());
  if (*format == "html") {
    return Ok(PayStatementHtml(*report, **a), "text/html; charset=utf-8");
  }
  return Ok(PayStatementCsv(*report, **a), kCsv);
}

ApiResponse HttpApi::DeadLetters(const QueryParams& q) const {
  if (auto s = CheckParams(q, {"reason", "format", "after", "limit"});
      !s.ok()) {
    return FromStatus(s);
  }
  auto format = ChoiceParam(q, "format", {"json", "csv"});
  if (!format.ok()) return FromStatus(format.status());
  // A page is bounded: each row may carry 64 KiB of raw line.
  constexpr int64_t kDefaultLimit = 100, kMaxLimit = 1000;
  DeadLetterFilter filter;
  filter.reason = Param(q, "reason").value_or("");
  filter.after = Param(q, "after").value_or("");
  int64_t limit = kDefaultLimit;
  if (auto v = Param(q, "limit"); v.has_value()) {
    if (!absl::SimpleAtoi(*v, &limit) || limit < 1 || limit > kMaxLimit) {
      return ApiError(400, absl::StrCat("`limit` must be 1 to ", kMaxLimit,
                                        ", not ", Quoted(*v)));
    }
  }
  filter.limit = static_cast<size_t>(limit);
  auto page = ReadDeadLetters(*store_, filter);
  if (!page.ok()) return FromStatus(page.status());
  if (*format == "json") return Ok(DeadLettersToJson(*page));
  ApiResponse r = Ok(DeadLettersToCsv(*page), kCsv);
  const std::string& last =
      page->rows.empty() ? "" : page->rows.back().position;
  if (page->more && std::none_of(last.begin(), last.end(), [](char c) {
        return static_cast<unsigned char>(c) < 0x20;
      })) {
    // CSV has no room for the cursor: the next page's `after` goes here.
    r.headers.emplace_back("X-Next-After", last);
  }
  return r;
}

ApiResponse HttpApi::Metrics() const {
  // A count that does not decode is no count to show: the request fails
  // with the reason rather than exporting a made-up 0. A store that does
  // not answer is reported as down.
  auto events = EventsHeld(*store_);
  auto dead = ReadMetaCounter(*store_, kMetaDeadLetters);
  for (const absl::Status& s : {events.status(), dead.status()}) {
    if (s.code() == absl::StatusCode::kDataLoss) return FromStatus(s);
  }
  const bool store_up = events.ok() && dead.ok();
  std::string out;
  if (store_up) {
    out.append(
        "# HELP chatkpi_events_total Events the store holds (distinct "
        "ids).\n"
        "# TYPE chatkpi_events_total counter\n");
    AppendPrometheusSample(&out, "chatkpi_events_total", "",
                           static_cast<double>(*events));
    out.append(
        "# HELP chatkpi_dead_letters_total Dead letters kept in the store.\n"
        "# TYPE chatkpi_dead_letters_total counter\n");
    AppendPrometheusSample(&out, "chatkpi_dead_letters_total", "",
                           static_cast<double>(*dead));
  }
  out.append(
      "# HELP chatkpi_store_up Whether the store answered a read.\n"
      "# TYPE chatkpi_store_up gauge\n");
  AppendPrometheusSample(&out, "chatkpi_store_up", "", store_up ? 1 : 0);
  out.append(
      "# HELP chatkpi_start_time_seconds Start of the HTTP API, Unix time.\n"
      "# TYPE chatkpi_start_time_seconds gauge\n");
  AppendPrometheusSample(&out, "chatkpi_start_time_seconds", "",
                         absl::ToDoubleSeconds(started_ - absl::UnixEpoch()));
  if (options_.metrics != nullptr) {
    options_.metrics->AppendPrometheusText(&out);
  }
  return Ok(std::move(out), "text/plain; version=0.0.4; charset=utf-8");
}

namespace {

// The shipped scheme names of `dir`, sorted.
std::vector<std::string> SchemeNames(const std::string& dir) {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    // NAME.toml, or NAME.scheme in the old syntax (docs/scoring.md).
    if (e.path().extension() == ".toml" || e.path().extension() == ".scheme") {
      names.push_back(e.path().stem().string());
    }
  }
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  return names;
}

}  // namespace

absl::StatusOr<absl::CivilDay> HttpApi::LocalToday() const {
  return live_->Today(absl::Now());
}

absl::StatusOr<std::string> HttpApi::DayBoard(
    std::optional<absl::CivilDay> day) const {
  const absl::Time now = absl::Now();
  auto today = live_->Today(now);
  if (!today.ok()) return today.status();
  const absl::CivilDay shown = day.value_or(*today);
  auto live = live_->Read(shown, now);
  if (!live.ok()) return live.status();
  // After the live view, so that the counters are at least as new as the
  // messages the hours were computed from.
  auto snap = ReadSnapshot(*store_, shown, shown);
  if (!snap.ok()) return snap.status();
  // The same weekday a week before: "better or worse than last week?".
  auto last_week = ReadSnapshot(*store_, shown - 7, shown - 7);
  if (!last_week.ok()) return last_week.status();
  return DayBoardJson(*snap, *live, options_.live_waiting && shown == *today,
                      now, &*last_week);
}

ApiResponse HttpApi::Today(const QueryParams& q) const {
  if (auto s = CheckParams(q, {"day"}); !s.ok()) return FromStatus(s);
  std::optional<absl::CivilDay> day;
  if (Param(q, "day").has_value()) {
    auto d = DayParam(q, "day");
    if (!d.ok()) return FromStatus(d.status());
    day = *d;
  }
  auto body = DayBoard(day);
  if (!body.ok()) return FromStatus(body.status());
  body->push_back('\n');
  return Ok(std::move(*body));
}

ApiResponse HttpApi::Leaderboard(const QueryParams& q) const {
  if (auto s = CheckParams(q, {"month", "scheme"}); !s.ok()) {
    return FromStatus(s);
  }
  absl::CivilMonth month;
  if (Param(q, "month").has_value()) {
    auto m = MonthParam(q, "month");
    if (!m.ok()) return FromStatus(m.status());
    month = *m;
  } else {
    auto today = LocalToday();
    if (!today.ok()) return FromStatus(today.status());
    month = absl::CivilMonth(*today);
  }
  std::vector<std::string> names = SchemeNames(options_.schemes_dir);
  std::string fallback = names.empty() ? "kpi100" : names.front();
  if (std::find(names.begin(), names.end(), "kpi100") != names.end()) {
    fallback = "kpi100";
  }
  auto path = SchemePath(q, options_.schemes_dir, fallback);
  if (!path.ok()) return FromStatus(path.status());
  auto scheme = LoadSchemeFile(*path);
  if (!scheme.ok()) {
    return ApiError(500, std::string(scheme.status().message()));
  }
  auto report = ScoreMonth(*store_, *scheme, month);
  if (!report.ok()) return FromStatus(report.status());
  return Ok(LeaderboardJson(*report, names));
}

}  // namespace chatkpi
