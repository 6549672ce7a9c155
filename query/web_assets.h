// The dashboard's static files (query/web/), built into the binary by
// cmake/embed_dir.cmake so that `chatkpi serve` works from any directory
// and a deployed binary cannot serve a page from another version.
#ifndef CHATKPI_QUERY_WEB_ASSETS_H_
#define CHATKPI_QUERY_WEB_ASSETS_H_

#include <cstddef>
#include <string_view>

namespace chatkpi {

struct EmbeddedFile {
  const char* name;  // file name in query/web/
  const char* data;
  size_t size;
};
// The generated table, ended by a null name.
extern const EmbeddedFile kEmbeddedWebFiles[];

struct WebAsset {
  std::string_view body;
  std::string_view content_type;
};

// The file `name` of query/web/ (no directories); null when there is none.
const WebAsset* FindWebAsset(std::string_view name);

}  // namespace chatkpi

#endif  // CHATKPI_QUERY_WEB_ASSETS_H_
