// Bearer-token authorization of the HTTP API. A token grants a role; a role
// grants a set of permissions; each endpoint needs one permission. A new
// kind of token (e.g. a read-only dashboard token) is a new Role and one line
// in RoleAllows, with no change to the endpoints.
#ifndef CHATKPI_QUERY_HTTP_AUTH_H_
#define CHATKPI_QUERY_HTTP_AUTH_H_

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace chatkpi {

enum class Role {
  kAdmin,  // the operator's token (--token-file / CHATKPI_TOKEN): everything
  // A wall screen's token (--dashboard-token-file / CHATKPI_DASHBOARD_TOKEN):
  // the dashboard page and its data (today, the leaderboard), nothing else.
  kDashboard,
};

enum class Permission {
  kReadKpis,     // /api/snapshot, /api/agents/{id}/days
  kReadScores,   // /api/score (grades and pay)
  kReadMetrics,  // /metrics
  // /api/dead-letters (raw lines: buyers' messages)
  kReadDeadLetters,
  // /api/today, /api/leaderboard (ranks and points, no pay), /api/live
  kReadDashboard,
};

bool RoleAllows(Role role, Permission p);
std::string_view RoleName(Role role);

// Shorter tokens are refused: a bearer token is the whole secret, and the
// API may be reachable beyond localhost.
inline constexpr size_t kMinTokenBytes = 16;

class TokenAuthenticator {
 public:
  // Refuses tokens shorter than kMinTokenBytes or with characters outside
  // visible ASCII, and a token added twice.
  absl::Status AddToken(std::string token, Role role);
  bool empty() const { return tokens_.empty(); }

  // The role of an Authorization header value "Bearer <token>" (scheme
  // case-insensitive); nullopt when missing, malformed or unknown. Every
  // token is compared in full, so timing does not tell how much matched.
  // With `token_index`, also which token matched (in the order added), so
  // that a caller can tell clients apart without keeping the secret.
  std::optional<Role> Authenticate(std::string_view authorization,
                                   size_t* token_index = nullptr) const;

 private:
  std::vector<std::pair<std::string, Role>> tokens_;
};

// The admin token: the first line of `token_file` if given, else the
// environment variable CHATKPI_TOKEN; nullopt when neither is set. Surrounding
// whitespace is dropped; an empty token file is an error, not "no token".
absl::StatusOr<std::optional<std::string>> LoadAdminToken(
    const std::optional<std::string>& token_file);

// The dashboard token, likewise from `token_file` (--dashboard-token-file)
// or CHATKPI_DASHBOARD_TOKEN.
absl::StatusOr<std::optional<std::string>> LoadDashboardToken(
    const std::optional<std::string>& token_file);

}  // namespace chatkpi

#endif  // CHATKPI_QUERY_HTTP_AUTH_H_
