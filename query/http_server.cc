#include "query/http_server.h"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "base/json_text.h"
#include "httplib.h"
#include "query/bounded_server.h"
#include "query/http_api.h"
#include "query/live_feed.h"
#include "query/metrics.h"
#include "query/rate_limiter.h"
#include "query/web_assets.h"
#include "store/store.h"

namespace chatkpi {
namespace {

constexpr char kRealm[] = "Bearer realm=\"chatkpi\"";

// One request is handled start to end on one worker thread, so the
// pre-routing handler can leave the start time and the route's name here
// for the logger, which httplib calls after the response is written (also
// for requests that match no route).
struct RequestContext {
  std::chrono::steady_clock::time_point start{};
  const char* handler = nullptr;
};
thread_local RequestContext tls_request;

std::string_view DefaultMessage(int status) {
  switch (status) {
    case 400:
      return "bad request";
    case 404:
      return "no such endpoint";
    case 405:
      return "method not allowed: every endpoint is GET";
    case 413:
      return "request too large";
    case 414:
      return "request URI too long";
    case 429:
      return "too many requests";
    default:
      return status >= 500 ? "internal error" : "request refused";
  }
}

// The page may load only its own files and talk only to its own server: no
// CDN, no inline script, nothing framing it.
constexpr char kPageSecurityPolicy[] =
    "default-src 'none'; script-src 'self'; style-src 'self'; "
    "img-src 'self' data:; connect-src 'self'; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'";

// One /api/live stream: what it last sent.
struct LiveStream {
  bool started = false;
  uint64_t version = 0;
  std::string day;  // of the last board sent
  std::chrono::steady_clock::time_point last_write;
};

void WriteResponse(ApiResponse r, httplib::Response& res) {
  res.status = r.status;
  res.body = std::move(r.body);
  res.set_header("Content-Type", r.content_type);
  for (auto& [name, value] : r.headers) res.set_header(name, value);
}

}  // namespace

struct HttpServer::Impl {
  Store* store;
  HttpServerOptions options;
  std::unique_ptr<MetricsRegistry> own_metrics;
  MetricsRegistry* metrics;
  std::unique_ptr<HttpApi> api;
  TokenAuthenticator auth;
  bool auth_enabled = false;
  RateLimiter limiter;

  BoundedServer server;
  absl::Mutex mu;  // Start and Stop
  std::thread thread ABSL_GUARDED_BY(mu);
  bool started ABSL_GUARDED_BY(mu) = false;
  std::atomic<int> port{0};
  std::atomic<bool> listen_returned{false};

  // The dashboard's push channel.
  std::unique_ptr<LiveFeed> own_feed;
  LiveFeed* feed;
  std::atomic<bool> stopping{false};
  std::atomic<int> live_clients{0};
  // The last board built, shared by every stream: N screens cost one read
  // per commit, not N.
  absl::Mutex board_mu;
  uint64_t board_version ABSL_GUARDED_BY(board_mu) = 0;
  std::string board_day ABSL_GUARDED_BY(board_mu);
  std::string board ABSL_GUARDED_BY(board_mu);  // empty: none yet

  Impl(Store* s, HttpServerOptions o)
      : store(s), options(std::move(o)), limiter(options.rate_limit) {
    metrics = options.metrics;
    if (metrics == nullptr) {
      own_metrics = std::make_unique<MetricsRegistry>();
      metrics = own_metrics.get();
    }
    feed = options.live_feed;
    if (feed == nullptr) {
      own_feed = std::make_unique<LiveFeed>();
      feed = own_feed.get();
    }
    HttpApiOptions api_options;
    api_options.schemes_dir = options.schemes_dir;
    api_options.metrics = metrics;
    api_options.live_view = options.live_view;
    api_options.live_waiting = options.live_waiting;
    api_options.max_snapshot_days = options.max_snapshot_days;
    api = std::make_unique<HttpApi>(store, std::move(api_options));
  }

  // Null when the request may go on; else the refusal to send. With
  // `query_token`, a token may also come as ?access_token= (RFC 6750 2.3):
  // only for /api/live, since EventSource cannot set a header.
  std::optional<ApiResponse> Authorize(const httplib::Request& req,
                                       Permission need,
                                       bool query_token = false) const {
    if (!auth_enabled) return std::nullopt;
    std::string header = req.get_header_value("Authorization");
    if (header.empty() && query_token && req.has_param("access_token")) {
      header = absl::StrCat("Bearer ", req.get_param_value("access_token"));
    }
    if (header.empty()) {
      ApiResponse r = ApiError(401, "a bearer token is required");
      r.headers.emplace_back("WWW-Authenticate", kRealm);
      return r;
    }
    std::optional<Role> role = auth.Authenticate(header);
    if (!role.has_value()) {
      ApiResponse r = ApiError(401, "the bearer token is not valid");
      r.headers.emplace_back("WWW-Authenticate",
                             absl::StrCat(kRealm, ", error=\"invalid_token\""));
      return r;
    }
    if (!RoleAllows(*role, need)) {
      return ApiError(403, absl::StrCat("a ", std::string(RoleName(*role)),
                                        " token may not use this endpoint"));
    }
    return std::nullopt;
  }

  // Who a request counts against: its bearer token when valid (by the
  // token's index, so the secret stays out of the table), else its remote
  // address. Invalid tokens count against the address, so that made-up
  // tokens can neither dodge the limit nor grow the table.
  std::string ClientKey(const httplib::Request& req) const {
    if (auth_enabled) {
      std::string header = req.get_header_value("Authorization");
      if (header.empty() && req.path == "/api/live" &&
          req.has_param("access_token")) {
        header = absl::StrCat("Bearer ", req.get_param_value("access_token"));
      }
      size_t index = 0;
      if (!header.empty() && auth.Authenticate(header, &index).has_value()) {
        return absl::StrCat("token#", index);
      }
    }
    return absl::StrCat("addr:", req.remote_addr);
  }

  // Null when the request may go on; else the 429 to send. /api/health is
  // exempt: it costs one point read, and a probe refused under someone
  // else's flood would get a healthy server restarted.
  std::optional<ApiResponse> RateLimit(const httplib::Request& req) {
    if (!limiter.enabled() || req.path == "/api/health") return std::nullopt;
    RateLimiter::Decision d = limiter.Acquire(ClientKey(req));
    if (d.allowed) return std::nullopt;
    const int64_t seconds = RetryAfterSeconds(d.retry_after);
    ApiResponse r = ApiError(
        429,
        absl::StrCat("too many requests: at most ", options.rate_limit.rate,
                     " a second per client (bursts of ",
                     options.rate_limit.burst, "); retry in ", seconds, " s"));
    r.headers.emplace_back("Retry-After", absl::StrCat(seconds));
    return r;
  }

  // httplib takes a parameter's value from after the last '=' of its
  // `&`-separated part and drops a part repeated byte for byte:
  // `to=2026-11-30;to=2026-11-02` read as to=2026-11-02, and
  // `scheme=kpi100;scheme=ecom10` as ecom10, with 200. Each part must
  // therefore hold exactly one '=' (a value's own is sent as %3D) and name
  // a parameter no other part names; the endpoints then refuse what they do
  // not know (docs/http_api.md).
  static std::optional<ApiResponse> AmbiguousQuery(
      const httplib::Request& req) {
    const size_t q = req.target.find('?');
    if (q == std::string::npos) return std::nullopt;
    std::vector<std::string_view> names;
    std::string_view rest = std::string_view(req.target).substr(q + 1);
    while (!rest.empty()) {
      const size_t amp = rest.find('&');
      const std::string_view part = rest.substr(0, amp);
      rest = amp == std::string_view::npos ? std::string_view()
                                           : rest.substr(amp + 1);
      if (part.empty()) continue;
      const size_t eq = part.find('=');
      const std::string_view name = part.substr(0, eq);
      const std::string shown(name.substr(0, 64));
      if (eq == std::string_view::npos ||
          part.find('=', eq + 1) != std::string_view::npos) {
        return ApiError(400, absl::StrCat("parameter `", shown,
                                          "` must be name=value with one '=' "
                                          "(send a '=' of a value as %3D)"));
      }
      if (std::find(names.begin(), names.end(), name) != names.end()) {
        return ApiError(400, absl::StrCat("parameter `", shown,
                                          "` is given more than once"));
      }
      names.push_back(name);
    }
    return std::nullopt;
  }

  // Null when httplib may read the request's body; else the refusal to
  // send, the body unread. httplib bounds a body by max_payload_bytes only
  // when it has a Content-Length: it reads a chunked one, or one that ends
  // with the connection (a POST without Content-Length), whole, however
  // long. No endpoint takes a body, so those are refused before routing.
  static std::optional<ApiResponse> UnboundedBody(const httplib::Request& req) {
    if (req.has_header("Transfer-Encoding")) {
      return ApiError(413,
                      "request too large: a body of unannounced length "
                      "(Transfer-Encoding) is refused; every endpoint is GET");
    }
    if (req.method != "GET" && req.method != "HEAD" &&
        !req.has_header("Content-Length")) {
      ApiResponse r = ApiError(405, DefaultMessage(405));
      r.headers.emplace_back("Allow", "GET, HEAD");
      return r;
    }
    return std::nullopt;
  }

  // Registers GET `pattern`; `need` empty means open to all.
  void Route(const char* pattern, const char* name,
             std::optional<Permission> need,
             std::function<ApiResponse(const httplib::Request&)> handle) {
    server.Get(pattern,
               [this, name, need, handle = std::move(handle)](
                   const httplib::Request& req, httplib::Response& res) {
                 tls_request.handler = name;
                 std::optional<ApiResponse> refused;
                 if (need.has_value()) refused = Authorize(req, *need);
                 if (refused.has_value()) {
                   WriteResponse(std::move(*refused), res);
                   return;
                 }
                 // Every row of one answer from the same commit.
                 Store::ReadHold hold = store->HoldReads();
                 WriteResponse(handle(req), res);
               });
  }

  void RegisterRoutes() {
    Route("/api/health", "health", std::nullopt,
          [this](const httplib::Request&) { return api->Health(); });
    Route("/api/snapshot", "snapshot", Permission::kReadKpis,
          [this](const httplib::Request& req) {
            return api->Snapshot(req.params);
          });
    // Agent ids may hold '/' (sent as %2F, decoded before matching).
    Route(R"(/api/agents/(.+)/days)", "agent_days", Permission::kReadKpis,
          [this](const httplib::Request& req) {
            return api->AgentDays(req.matches[1].str(), req.params);
          });
    Route(
        "/api/score", "score", Permission::kReadScores,
        [this](const httplib::Request& req) { return api->Score(req.params); });
    Route("/api/roster", "roster", Permission::kReadScores,
          [this](const httplib::Request& req) {
            return api->StaffRoster(req.params);
          });
    Route("/api/statement", "statement", Permission::kReadScores,
          [this](const httplib::Request& req) {
            return api->Statement(req.params);
          });
    Route("/api/dead-letters", "dead_letters", Permission::kReadDeadLetters,
          [this](const httplib::Request& req) {
            return api->DeadLetters(req.params);
          });
    Route("/metrics", "metrics", Permission::kReadMetrics,
          [this](const httplib::Request&) { return api->Metrics(); });
    RegisterDashboardRoutes();

    auto not_allowed = [](const httplib::Request&, httplib::Response& res) {
      tls_request.handler = "not_allowed";
      WriteResponse(ApiError(405, DefaultMessage(405)), res);
      res.set_header("Allow", "GET, HEAD");
    };
    server.Post(".*", not_allowed);
    server.Put(".*", not_allowed);
    server.Patch(".*", not_allowed);
    server.Delete(".*", not_allowed);
    server.Options(".*", not_allowed);

    server.set_pre_routing_handler(
        [this](const httplib::Request& req, httplib::Response& res) {
          tls_request.start = std::chrono::steady_clock::now();
          tls_request.handler = nullptr;
          // httplib compresses text/* answers (CSV, metrics) with whatever
          // the client accepts, and prefers brotli at quality 11: 1.4 s for
          // a 300 KB month CSV, a CPU sink any client could trigger. The
          // server therefore never compresses (a proxy may). The request
          // is httplib's non-const local, so dropping the header is sound.
          const_cast<httplib::Request&>(req).headers.erase("Accept-Encoding");
          // Before routing, so that every endpoint and method counts.
          std::optional<ApiResponse> refused = RateLimit(req);
          if (refused.has_value()) {
            tls_request.handler = "rate_limited";
          } else if ((refused = UnboundedBody(req))) {
            tls_request.handler =
                refused->status == 405 ? "not_allowed" : "too_large";
          } else if ((refused = AmbiguousQuery(req))) {
            tls_request.handler = "bad_query";
          } else {
            return httplib::Server::HandlerResponse::Unhandled;
          }
          WriteResponse(std::move(*refused), res);
          // A body, if any, is left unread: it is the rest of the stream,
          // so the connection ends after this answer.
          const std::string length = req.get_header_value("Content-Length");
          if (req.has_header("Transfer-Encoding") ||
              (!length.empty() && length != "0") ||
              (req.method != "GET" && req.method != "HEAD")) {
            BoundedServer::CloseAfterResponse();
            auto& headers = const_cast<httplib::Request&>(req).headers;
            headers.erase("Connection");
            headers.emplace("Connection", "close");
          }
          return httplib::Server::HandlerResponse::Handled;
        });
    // httplib's own refusals (no route, unparsable request, too large) get
    // the same JSON error shape as ours.
    server.set_error_handler(httplib::Server::HandlerWithResponse(
        [](const httplib::Request&, httplib::Response& res) {
          if (!res.body.empty()) {
            return httplib::Server::HandlerResponse::Unhandled;
          }
          WriteResponse(ApiError(res.status, DefaultMessage(res.status)), res);
          return httplib::Server::HandlerResponse::Handled;
        }));
    server.set_exception_handler([](const httplib::Request&,
                                    httplib::Response& res,
                                    std::exception_ptr) {
      WriteResponse(ApiError(500, DefaultMessage(500)), res);
    });
    server.set_logger(
        [this](const httplib::Request& req, const httplib::Response& res) {
          Record(req, res);
        });
  }

  // The page (open: the same bytes for everyone, no data in them) and the
  // data behind it (docs/dashboard.md).
  void RegisterDashboardRoutes() {
    auto to_page = [](const httplib::Request&, httplib::Response& res) {
      tls_request.handler = "dashboard";
      res.status = 302;
      res.set_header("Location", "/dashboard/");
    };
    server.Get("/", to_page);
    server.Get("/dashboard", to_page);
    server.Get(R"(/dashboard/([A-Za-z0-9_-][A-Za-z0-9._-]*)?)",
               [](const httplib::Request& req, httplib::Response& res) {
                 tls_request.handler = "dashboard";
                 std::string name = req.matches[1].str();
                 const WebAsset* a =
                     FindWebAsset(name.empty() ? "index.html" : name);
                 if (a == nullptr) {
                   WriteResponse(ApiError(404, "no such file"), res);
                   return;
                 }
                 res.status = 200;
                 res.set_content(std::string(a->body),
                                 std::string(a->content_type).c_str());
                 res.set_header("Content-Security-Policy", kPageSecurityPolicy);
                 // The token rides in the page's URL fragment; no request
                 // the page makes may carry its address elsewhere.
                 res.set_header("Referrer-Policy", "no-referrer");
               });
    Route(
        "/api/today", "today", Permission::kReadDashboard,
        [this](const httplib::Request& req) { return api->Today(req.params); });
    Route("/api/leaderboard", "leaderboard", Permission::kReadDashboard,
          [this](const httplib::Request& req) {
            return api->Leaderboard(req.params);
          });
    server.Get("/api/live", [this](const httplib::Request& req,
                                   httplib::Response& res) {
      tls_request.handler = "live";
      if (auto refused = Authorize(req, Permission::kReadDashboard, true)) {
        WriteResponse(std::move(*refused), res);
        return;
      }
      for (const auto& [name, value] : req.params) {
        if (name != "access_token") {
          WriteResponse(ApiError(400, absl::StrCat("unknown parameter '",
                                                   name.substr(0, 64), "'")),
                        res);
          return;
        }
      }
      const int max_clients =
          std::min(options.max_live_clients, options.threads - 1);
      if (live_clients.fetch_add(1) >= max_clients) {
        live_clients.fetch_sub(1);
        ApiResponse busy =
            ApiError(503, absl::StrCat("at most ", std::max(0, max_clients),
                                       " live dashboards at a time"));
        busy.headers.emplace_back("Retry-After", "10");
        WriteResponse(std::move(busy), res);
        return;
      }
      auto stream = std::make_shared<LiveStream>();
      res.status = 200;
      // A proxy (nginx) must pass events on as they come.
      res.set_header("X-Accel-Buffering", "no");
      res.set_chunked_content_provider(
          "text/event-stream; charset=utf-8",
          [this, stream](size_t, httplib::DataSink& sink) {
            return LiveStep(*stream, sink);
          },
          [this](bool) { live_clients.fetch_sub(1); });
    });
  }

  // The board of today as of feed version `version`, built once for every
  // stream. Errors become an `error` event's data.
  std::pair<std::string, bool> Board(uint64_t version, const std::string& day) {
    absl::MutexLock l(&board_mu);
    if (!board.empty() && board_version == version && board_day == day) {
      return {board, true};
    }
    auto built = api->DayBoard();
    if (!built.ok()) {
      std::string err = "{\"error\": ";
      AppendJsonString(&err, std::string(built.status().message()));
      err.append("}");
      return {err, false};
    }
    board = std::move(*built);
    board_version = version;
    board_day = day;
    return {board, true};
  }

  // One turn of an /api/live stream: the first board at once, then a new
  // one after each notification (any number of commits in between cost one
  // board), a ping when idle, and a new board when the day
  // turns. Returns false to drop the connection.
  bool LiveStep(LiveStream& st, httplib::DataSink& sink) {
    if (stopping) {
      sink.done();
      return true;
    }
    auto now = std::chrono::steady_clock::now();
    std::string out;
    uint64_t version = st.version;
    if (!st.started) {
      // Reconnect soon after the server comes back (EventSource's default
      // is about 3 s).
      out = "retry: 1000\n\n";
      version = feed->version();
    } else {
      // Short waits, so that Stop() is seen within a second even if its
      // wake-up came before this wait began.
      version = feed->WaitForChange(st.version, absl::Seconds(1));
      if (stopping) {
        sink.done();
        return true;
      }
      // A client that has gone frees its place now, not at the next write
      // (up to live_keepalive away).
      if (!sink.is_writable()) return false;
      now = std::chrono::steady_clock::now();
    }
    auto today = api->LocalToday();
    const std::string day =
        today.ok() ? absl::FormatCivilTime(*today) : std::string();
    if (!st.started || version != st.version || day != st.day) {
      auto [data, ok] = Board(version, day);
      absl::StrAppend(&out, "id: ", version,
                      "\nevent: ", ok ? "today" : "error", "\ndata: ", data,
                      "\n\n");
      st.started = true;
      st.version = version;
      st.day = day;
    } else if (now - st.last_write >=
               absl::ToChronoMilliseconds(options.live_keepalive)) {
      // An event rather than a comment, so that the page can tell a quiet
      // stream from a dead one.
      out = "event: ping\ndata: {}\n\n";
    }
    if (out.empty()) return true;
    st.last_write = now;
    return sink.write(out.data(), out.size());
  }

  void Record(const httplib::Request& req, const httplib::Response& res) {
    double seconds = 0;
    if (tls_request.start != std::chrono::steady_clock::time_point{}) {
      seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() -
                                              tls_request.start)
                    .count();
    }
    const char* handler =
        tls_request.handler != nullptr ? tls_request.handler : "none";
    tls_request = RequestContext{};
    metrics
        ->GetCounter("chatkpi_http_requests_total",
                     "HTTP requests answered, by endpoint and status.",
                     {{"handler", handler}, {"code", absl::StrCat(res.status)}})
        ->Increment();
    metrics
        ->GetHistogram("chatkpi_http_request_duration_seconds",
                       "HTTP request latency, from routing to the last byte "
                       "written, by endpoint.",
                       {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
                        1, 2.5, 5},
                       {{"handler", handler}})
        ->Observe(seconds);
    if (options.access_log) {
      options.access_log(absl::StrCat(
          req.method, " ", req.path, " ", res.status, " ", res.body.size(), " ",
          absl::StrFormat("%.3f", seconds * 1000), "ms"));
    }
  }
};

HttpServer::HttpServer(Store* store, HttpServerOptions options)
    : impl_(std::make_unique<Impl>(store, std::move(options))) {}

HttpServer::~HttpServer() { Stop(); }

absl::Status HttpServer::Start(int port) {
  absl::MutexLock l(&impl_->mu);
  if (impl_->started) {
    return absl::FailedPreconditionError("the HTTP server was started before");
  }
  const HttpServerOptions& o = impl_->options;
  for (const auto& [token, role] : o.tokens) {
    absl::Status s = impl_->auth.AddToken(token, role);
    if (!s.ok()) return s;
  }
  impl_->auth_enabled = !impl_->auth.empty();
  if (!impl_->auth_enabled && !o.allow_no_auth) {
    return absl::FailedPreconditionError(
        "no API token is configured (--token-file or CHATKPI_TOKEN); "
        "refusing to serve without authorization unless --no-auth is given");
  }
  if (port < 0 || port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat("bad port ", port));
  }
  if (o.threads < 1) {
    return absl::InvalidArgumentError("the HTTP server needs a thread");
  }

  BoundedServer& srv = impl_->server;
  const size_t threads = static_cast<size_t>(o.threads);
  srv.set_payload_max_length(o.max_payload_bytes);
  BoundedServer::Limits limits;
  limits.max_head_bytes = o.max_head_bytes;
  limits.request_timeout = o.read_timeout;
  limits.write_timeout = o.write_timeout;
  limits.keep_alive_timeout = o.keep_alive_timeout;
  limits.keep_alive_max_requests =
      static_cast<size_t>(std::max(1, o.keep_alive_max_requests));
  limits.threads = threads;
  limits.max_connections = o.max_connections;
  srv.set_limits(limits);
  // httplib's default also sets SO_REUSEPORT, which would let a second
  // server (maybe over another store) share the port and take half the
  // requests; SO_REUSEADDR alone allows a quick restart.
  srv.set_socket_options([](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  });
  // Answers carry KPIs and pay: no cache along the way may keep them.
  srv.set_default_headers(
      {{"Cache-Control", "no-store"}, {"X-Content-Type-Options", "nosniff"}});
  impl_->RegisterRoutes();

  int bound = port;
  if (port == 0) {
    bound = srv.bind_to_any_port(o.bind_address);
  } else if (!srv.bind_to_port(o.bind_address, port)) {
    bound = -1;
  }
  if (bound <= 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", o.bind_address, ":", port,
                     " (port in use, or not an address of this host)"));
  }
  if (!srv.SetBacklog(o.listen_backlog)) {
    return absl::InternalError(
        absl::StrCat("cannot set the listen backlog: ", strerror(errno)));
  }
  srv.StartWorkers();
  impl_->started = true;
  impl_->port = bound;
  impl_->thread = std::thread([this] {
    impl_->server.listen_after_bind();
    impl_->listen_returned = true;
  });
  // stop() before the accept loop has begun would be lost, so Start returns
  // only once it runs.
  while (!impl_->server.is_running() && !impl_->listen_returned) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  if (!impl_->server.is_running()) {
    return absl::InternalError("the HTTP server stopped as it started");
  }
  return absl::OkStatus();
}

void HttpServer::Stop() {
  absl::MutexLock l(&impl_->mu);
  if (!impl_->thread.joinable()) return;
  // Open /api/live streams end first: they would hold their workers, and
  // so the pool's join, until their clients left.
  impl_->stopping = true;
  impl_->feed->Wake();
  impl_->server.stop();
  impl_->thread.join();
  impl_->server.StopWorkers();
}

bool HttpServer::running() const { return impl_->server.is_running(); }

int HttpServer::port() const { return impl_->port; }

}  // namespace chatkpi
