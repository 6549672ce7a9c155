#include "engine/generation_select.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "engine/engine.h"
#include "store/generations.h"

namespace chatkpi {
namespace {

absl::StatusOr<SelectedGeneration> OpenAt(const std::string& dir) {
  StoreOptions so;
  so.read_only = true;
  auto store = Store::Open(dir, so);
  if (!store.ok()) return store.status();
  auto rules = StoredRules(**store);
  if (!rules.ok()) return rules.status();
  SelectedGeneration g;
  g.version = rules->has_value() ? (*rules)->version : "default";
  g.store = std::move(*store);
  return g;
}

}  // namespace

absl::StatusOr<SelectedGeneration> OpenGeneration(const std::string& db,
                                                  const std::string& version) {
  const GenerationPaths paths = GenerationPaths::For(db);
  auto live = ResolveForRead(paths);
  if (!live.ok()) return live.status();
  // A plain DIR is opened under the name it was given, for messages.
  auto selected = OpenAt(live->plain ? db : live->path);
  if (!selected.ok()) return selected.status();
  selected->name = live->name;
  selected->live = true;
  if (version.empty() || selected->version == version) return selected;

  std::vector<std::string> seen = {absl::StrCat(selected->version, " (live)")};
  auto gens = ListGenerations(paths);
  if (!gens.ok()) return gens.status();
  const std::string prefix = VersionDirName(version) + "-";
  for (auto it = gens->rbegin(); it != gens->rend(); ++it) {
    if (it->live || it->building || it->retired) continue;
    seen.push_back(it->name);
    if (it->name.compare(0, prefix.size(), prefix) != 0) continue;
    auto kept = OpenAt(paths.Generation(it->name));
    if (!kept.ok() || kept->version != version) continue;
    kept->name = it->name;
    return kept;
  }
  return absl::NotFoundError(
      absl::StrCat("--db ", db, " has no generation with rules version '",
                   version, "' (there are: ", absl::StrJoin(seen, ", "),
                   "); `chatkpi replay --keep` keeps the replaced generation"));
}

}  // namespace chatkpi
