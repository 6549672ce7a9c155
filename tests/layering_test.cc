// The folders' layering (docs/engine.md, "Layering"): a folder includes
// headers of its own folder and of the folders below it, never of one above,
// so base/ can be linked by everything and engine/ never needs query/.
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "gtest/gtest.h"

#ifndef CHATKPI_SOURCE_DIR
#define CHATKPI_SOURCE_DIR "."
#endif

namespace chatkpi {
namespace {

// Each folder and the project folders its files may include.
const std::map<std::string, std::set<std::string>>& Allowed() {
  static const auto* allowed = new std::map<std::string, std::set<std::string>>{
      {"base", {"base"}},
      {"ingest", {"base", "ingest"}},
      {"store", {"base", "store"}},
      {"config", {"base", "config"}},
      {"engine", {"base", "ingest", "store", "engine"}},
      {"query", {"base", "config", "ingest", "store", "engine", "query"}},
      {"tools",
       {"base", "config", "ingest", "store", "engine", "query", "tools"}},
  };
  return *allowed;
}

// The project folder an include line names ("engine" for
// `#include "engine/rules.h"`), or "" for anything else (Abseil, RocksDB,
// system headers).
std::string IncludedFolder(const std::string& line) {
  const std::string prefix = "#include \"";
  if (line.rfind(prefix, 0) != 0) return "";
  const size_t slash = line.find('/', prefix.size());
  if (slash == std::string::npos) return "";
  std::string folder = line.substr(prefix.size(), slash - prefix.size());
  return Allowed().count(folder) ? folder : "";
}

TEST(Layering, FoldersIncludeOnlyThemselvesAndTheFoldersBelow) {
  namespace fs = std::filesystem;
  int files = 0;
  std::vector<std::string> violations;
  for (const auto& [folder, allowed] : Allowed()) {
    const fs::path dir = fs::path(CHATKPI_SOURCE_DIR) / folder;
    ASSERT_TRUE(fs::is_directory(dir)) << dir;
    // Top-level files only: subfolders (query/web, tools/tsan) hold no
    // project headers.
    for (const auto& entry : fs::directory_iterator(dir)) {
      const std::string ext = entry.path().extension().string();
      if (ext != ".h" && ext != ".cc") continue;
      ++files;
      std::ifstream in(entry.path());
      std::string line;
      while (std::getline(in, line)) {
        const std::string included = IncludedFolder(line);
        if (!included.empty() && !allowed.count(included)) {
          violations.push_back(folder + "/" + entry.path().filename().string() +
                               ": " + line);
        }
      }
    }
  }
  // base 6, ingest, store, engine, query and tools dozens each: the scan
  // saw the tree, not an empty directory.
  EXPECT_GT(files, 100);
  EXPECT_TRUE(violations.empty()) << ::testing::PrintToString(violations);
}

}  // namespace
}  // namespace chatkpi
