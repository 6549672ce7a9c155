// `chatkpi serve`: the HTTP API over a store, without ingesting. The store
// is opened read-only, so `chatkpi ingest` may keep writing it; the API then
// answers from the store as it was when serve started (RocksDB read-only
// instances do not follow a writer). For live figures, `run` serves the
// same API beside its ingest loop.
#include <signal.h>

#include <filesystem>
#include <iostream>
#include <memory>
#include <mutex>

#include "absl/strings/str_cat.h"
#include "query/http_auth.h"
#include "query/http_server.h"
#include "store/store.h"
#include "tools/args.h"
#include "tools/commands.h"

namespace chatkpi {

int RunServe(int argc, char** argv) {
  const char* kCmd = "serve";
  auto args = Args::Parse(
      argc, argv,
      {"db", "bind", "port", "token-file", "schemes-dir", "threads"},
      {"no-auth", "access-log"});
  if (!args.ok()) return Fail(kCmd, args.status());
  auto db = args->Require("db");
  if (!db.ok()) return Fail(kCmd, db.status());
  auto port = args->GetInt("port", 8080);
  if (!port.ok()) return Fail(kCmd, port.status());
  if (*port < 0 || *port > 65535) {
    return Fail(kCmd, absl::InvalidArgumentError(
                          "--port must be 0..65535 (0: any free port)"));
  }
  HttpServerOptions opts;
  auto threads = args->GetInt("threads", opts.threads);
  if (!threads.ok()) return Fail(kCmd, threads.status());
  if (*threads < 1 || *threads > 1024) {
    return Fail(kCmd, absl::InvalidArgumentError("--threads must be 1..1024"));
  }
  opts.threads = static_cast<int>(*threads);
  opts.bind_address = args->Get("bind").value_or(opts.bind_address);
#ifdef CHATKPI_SCHEMES_DIR
  opts.schemes_dir = CHATKPI_SCHEMES_DIR;  // the shipped schemes of this build
#endif
  opts.schemes_dir = args->Get("schemes-dir").value_or(opts.schemes_dir);

  auto token = LoadAdminToken(args->Get("token-file"));
  if (!token.ok()) return Fail(kCmd, token.status());
  const bool no_auth = args->Has("no-auth");
  if (token->has_value() && no_auth) {
    return Fail(kCmd, absl::InvalidArgumentError(
                          "--no-auth given, but a token is configured "
                          "(--token-file or CHATKPI_TOKEN): choose one"));
  }
  if (!token->has_value() && !no_auth) {
    return Fail(kCmd, absl::InvalidArgumentError(
                          "no API token: give --token-file FILE or set "
                          "CHATKPI_TOKEN, or --no-auth to serve without one"));
  }
  if (token->has_value()) {
    if (auto file = args->Get("token-file"); file.has_value()) {
      std::error_code ec;
      auto perms = std::filesystem::status(*file, ec).permissions();
      if (!ec && (perms & (std::filesystem::perms::group_read |
                           std::filesystem::perms::others_read)) !=
                     std::filesystem::perms::none) {
        std::cerr << "chatkpi serve: WARNING: --token-file " << *file
                  << " is readable by other users (chmod 600 it)\n";
      }
    }
    opts.tokens.emplace_back(**token, Role::kAdmin);
  } else {
    opts.allow_no_auth = true;
    std::cerr << "chatkpi serve: WARNING: --no-auth: anyone who can reach "
              << opts.bind_address << " may read every KPI and pay figure\n";
  }
  if (args->Has("access-log")) {
    auto mu = std::make_shared<std::mutex>();
    opts.access_log = [mu](std::string_view line) {
      std::lock_guard<std::mutex> l(*mu);
      std::cerr << line << "\n";
    };
  }

  StoreOptions so;
  so.read_only = true;
  auto store = Store::Open(*db, so);
  if (!store.ok()) return Fail(kCmd, store.status());

  // Block the stop signals before any thread starts, so that every thread
  // inherits the mask and sigwait below is the only place they arrive.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  HttpServer server(store->get(), opts);
  absl::Status s = server.Start(static_cast<int>(*port));
  if (!s.ok()) return Fail(kCmd, s);
  // Tests and scripts read the port from this line (--port 0).
  std::cerr << "chatkpi serve: listening on http://" << opts.bind_address << ":"
            << server.port() << "\n"
            << std::flush;
  int sig = 0;
  sigwait(&stop_signals, &sig);
  std::cerr << "chatkpi serve: stopping on signal " << sig << "\n";
  server.Stop();
  return 0;
}

}  // namespace chatkpi
