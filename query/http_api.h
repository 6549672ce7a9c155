// What each HTTP endpoint answers, apart from the transport: parameters in,
// status and body out. HttpServer adds sockets, authorization and limits;
// keeping this side free of httplib lets it be tested and timed directly.
//
// Every handler is safe to call from many threads at once: it only reads the
// store (RocksDB reads are thread-safe, also beside a writer) and the
// thread-safe metrics registry.
#ifndef CHATKPI_QUERY_HTTP_API_H_
#define CHATKPI_QUERY_HTTP_API_H_

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "query/live_view.h"

namespace chatkpi {

class Store;
class MetricsRegistry;

// Decoded query parameters, a name may repeat (same as httplib::Params).
using QueryParams = std::multimap<std::string, std::string>;

struct ApiResponse {
  int status = 200;
  std::string content_type = "application/json; charset=utf-8";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

// {"error": message} with `status`.
ApiResponse ApiError(int status, std::string_view message);

struct HttpApiOptions {
  // Where /api/score finds `<scheme>.toml` (FindSchemeFile).
  std::string schemes_dir = "query/schemes";
  // Longest /api/snapshot period, in days counting both ends; longer is a
  // 400, so that one request cannot scan the whole store.
  int max_snapshot_days = 366;
  // Rendered by /metrics after the store's own figures; may be null.
  const MetricsRegistry* metrics = nullptr;
  // The dashboard's view of recent chat (query/live_view.h).
  LiveViewOptions live_view;
  // Whether this process sees commits as they land (it runs the engine, or
  // follows the store), so that questions waiting now are known; without,
  // the dashboard shows them as unknown rather than as none.
  bool live_waiting = false;
};

class HttpApi {
 public:
  // `store` must outlive the HttpApi.
  HttpApi(Store* store, HttpApiOptions options);

  // GET /api/health: 200 {"status": "ok", ...} when the store answers a
  // read, 503 {"status": "unavailable", "error": ...} when it does not.
  ApiResponse Health() const;
  // GET /api/snapshot?from=&to=[&format=json|csv][&lang=en|zh]
  ApiResponse Snapshot(const QueryParams& q) const;
  // GET /api/agents/{agent}/days?from=&to=
  ApiResponse AgentDays(std::string_view agent, const QueryParams& q) const;
  // GET /api/score?month=YYYY-MM&scheme=NAME[&format=json|csv][&lang=en|zh]
  ApiResponse Score(const QueryParams& q) const;
  // GET /api/roster[?version=N][&format=json|csv]: the staff roster, read
  // only (docs/scoring.md, "Roster").
  ApiResponse StaffRoster(const QueryParams& q) const;
  // GET /api/statement?month=&scheme=&agent=[&format=html|csv]: one
  // agent's pay statement (工资条), printable HTML or CSV.
  ApiResponse Statement(const QueryParams& q) const;
  // GET /api/dead-letters[?reason=R][&format=json|csv][&after=POS]
  // [&limit=N]: the dead letters, a page (default 100, at most 1000) at a
  // time (query/dead_letters.h).
  ApiResponse DeadLetters(const QueryParams& q) const;
  // GET /metrics, Prometheus text format.
  ApiResponse Metrics() const;

  // The dashboard (docs/dashboard.md).
  // GET /api/today[?day=YYYY-MM-DD]: one day's cards and hourly chart.
  ApiResponse Today(const QueryParams& q) const;
  // The body of /api/today for `day` (default: today), for /api/live.
  absl::StatusOr<std::string> DayBoard(
      std::optional<absl::CivilDay> day = std::nullopt) const;
  // The local date now, in the store's time zone.
  absl::StatusOr<absl::CivilDay> LocalToday() const;
  // GET /api/leaderboard[?scheme=NAME][&month=YYYY-MM]: month-to-date ranks
  // and points, without pay.
  ApiResponse Leaderboard(const QueryParams& q) const;

 private:
  Store* store_;
  HttpApiOptions options_;
  absl::Time started_;
  std::unique_ptr<LiveView> live_;  // internally synchronized
};

}  // namespace chatkpi

#endif  // CHATKPI_QUERY_HTTP_API_H_
