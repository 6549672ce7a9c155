#include "query/http_auth.h"

#include <cstdlib>
#include <fstream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace chatkpi {
namespace {

// absl's Strip* take absl::string_view, which is not std::string_view here.
std::string_view Trim(std::string_view s) {
  while (!s.empty() &&
         absl::ascii_isspace(static_cast<unsigned char>(s.front()))) {
    s.remove_prefix(1);
  }
  while (!s.empty() &&
         absl::ascii_isspace(static_cast<unsigned char>(s.back()))) {
    s.remove_suffix(1);
  }
  return s;
}

}  // namespace

bool RoleAllows(Role role, Permission p) {
  switch (role) {
    case Role::kAdmin:
      return true;
    case Role::kDashboard:
      return p == Permission::kReadDashboard;
  }
  return false;
}

std::string_view RoleName(Role role) {
  switch (role) {
    case Role::kAdmin:
      return "admin";
    case Role::kDashboard:
      return "dashboard";
  }
  return "unknown";
}

absl::Status TokenAuthenticator::AddToken(std::string token, Role role) {
  if (token.size() < kMinTokenBytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the API token must be at least ", kMinTokenBytes, " bytes long"));
  }
  for (char c : token) {
    if (c <= ' ' || c > '~') {
      return absl::InvalidArgumentError(
          "the API token may only hold visible ASCII characters");
    }
  }
  for (const auto& [t, r] : tokens_) {
    if (t == token) return absl::InvalidArgumentError("API token given twice");
  }
  tokens_.emplace_back(std::move(token), role);
  return absl::OkStatus();
}

std::optional<Role> TokenAuthenticator::Authenticate(
    std::string_view authorization, size_t* token_index) const {
  authorization = Trim(authorization);
  constexpr std::string_view kScheme = "bearer ";
  if (authorization.size() <= kScheme.size() ||
      !absl::EqualsIgnoreCase(
          std::string(authorization.substr(0, kScheme.size())),
          std::string(kScheme))) {
    return std::nullopt;
  }
  std::string_view given = Trim(authorization.substr(kScheme.size()));
  std::optional<Role> found;
  for (size_t t = 0; t < tokens_.size(); ++t) {
    const auto& [token, role] = tokens_[t];
    // Constant time in the stored token's length, whatever was given.
    unsigned char diff = given.size() == token.size() ? 0 : 1;
    for (size_t i = 0; i < token.size(); ++i) {
      const unsigned char g =
          i < given.size() ? static_cast<unsigned char>(given[i]) : 0;
      diff |= g ^ static_cast<unsigned char>(token[i]);
    }
    if (diff == 0) {
      found = role;
      if (token_index != nullptr) *token_index = t;
    }
  }
  return found;
}

namespace {

absl::StatusOr<std::optional<std::string>> LoadToken(
    const std::optional<std::string>& token_file, std::string_view flag,
    const char* env_name) {
  if (token_file.has_value()) {
    std::ifstream in(*token_file, std::ios::binary);
    if (!in) {
      return absl::NotFoundError(
          absl::StrCat("cannot read --", std::string(flag), " ", *token_file));
    }
    std::string line;
    std::getline(in, line);
    std::string token(Trim(line));
    if (token.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--", std::string(flag), " ", *token_file,
                       " holds no token on its first line"));
    }
    return token;
  }
  if (const char* env = std::getenv(env_name); env != nullptr) {
    std::string token(Trim(env));
    if (token.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(env_name, " is set but empty"));
    }
    return token;
  }
  return std::nullopt;
}

}  // namespace

absl::StatusOr<std::optional<std::string>> LoadAdminToken(
    const std::optional<std::string>& token_file) {
  return LoadToken(token_file, "token-file", "CHATKPI_TOKEN");
}

absl::StatusOr<std::optional<std::string>> LoadDashboardToken(
    const std::optional<std::string>& token_file) {
  return LoadToken(token_file, "dashboard-token-file",
                   "CHATKPI_DASHBOARD_TOKEN");
}

}  // namespace chatkpi
