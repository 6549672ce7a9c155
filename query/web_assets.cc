#include "query/web_assets.h"

#include <map>
#include <string>

namespace chatkpi {
namespace {

std::string_view ContentType(std::string_view name) {
  const size_t dot = name.rfind('.');
  const std::string_view ext =
      dot == std::string_view::npos ? "" : name.substr(dot + 1);
  if (ext == "html") return "text/html; charset=utf-8";
  if (ext == "js") return "text/javascript; charset=utf-8";
  if (ext == "css") return "text/css; charset=utf-8";
  if (ext == "svg") return "image/svg+xml";
  if (ext == "png") return "image/png";
  if (ext == "ico") return "image/x-icon";
  if (ext == "json") return "application/json; charset=utf-8";
  return "application/octet-stream";
}

const std::map<std::string, WebAsset, std::less<>>& Assets() {
  static const auto* assets = [] {
    auto* m = new std::map<std::string, WebAsset, std::less<>>;
    for (const EmbeddedFile* f = kEmbeddedWebFiles; f->name != nullptr; ++f) {
      (*m)[f->name] =
          WebAsset{std::string_view(f->data, f->size), ContentType(f->name)};
    }
    return m;
  }();
  return *assets;
}

}  // namespace

const WebAsset* FindWebAsset(std::string_view name) {
  const auto& assets = Assets();
  auto it = assets.find(name);
  return it == assets.end() ? nullptr : &it->second;
}

}  // namespace chatkpi
