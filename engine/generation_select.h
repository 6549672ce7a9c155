// Reading a store by rules version: `--db DIR` stands for its live
// generation; generations kept by `chatkpi replay --keep` stay readable
// under their rules version (docs/replay.md).
#ifndef CHATKPI_ENGINE_GENERATION_SELECT_H_
#define CHATKPI_ENGINE_GENERATION_SELECT_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "store/store.h"

namespace chatkpi {

struct SelectedGeneration {
  std::unique_ptr<Store> store;  // opened read-only
  std::string name;              // generation name; empty for a plain DIR
  std::string version;           // rules version of the store
  bool live = false;
};

// Opens, read-only, the store of rules version `version` under DIR: the live
// generation if its rules have that version (or `version` is empty), else
// the newest other complete generation that has it. NotFound names the
// versions there are.
absl::StatusOr<SelectedGeneration> OpenGeneration(const std::string& db,
                                                  const std::string& version);

}  // namespace chatkpi

#endif  // CHATKPI_ENGINE_GENERATION_SELECT_H_
