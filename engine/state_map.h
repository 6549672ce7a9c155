// The maps of the states an engine holds, by name (a buyer, an order).
//
// They hash a name with StableHash (store/stable_hash.h), the hash an
// event's buyer already has from the thread that queued it
// (engine/event_hashes.h): a chat looks its buyer up four times (three
// prefetch stages and the apply), and with the hash in hand none of them
// hashes the name again. A lookup by name alone hashes it then.
#ifndef CHATKPI_ENGINE_STATE_MAP_H_
#define CHATKPI_ENGINE_STATE_MAP_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "absl/container/flat_hash_map.h"
#include "store/stable_hash.h"

namespace chatkpi {

// A name with its StableHash.
struct HashedName {
  HashedName(std::string_view n, uint64_t h) : name(n), hash(h) {}
  explicit HashedName(std::string_view n) : name(n), hash(StableHash(n)) {}
  std::string_view name;
  uint64_t hash;
};

struct StateNameHash {
  using is_transparent = void;
  size_t operator()(std::string_view name) const { return StableHash(name); }
  size_t operator()(const HashedName& n) const { return n.hash; }
};

struct StateNameEq {
  using is_transparent = void;
  bool operator()(std::string_view a, std::string_view b) const {
    return a == b;
  }
  bool operator()(const HashedName& a, std::string_view b) const {
    return a.name == b;
  }
  bool operator()(std::string_view a, const HashedName& b) const {
    return a == b.name;
  }
  bool operator()(const HashedName& a, const HashedName& b) const {
    return a.name == b.name;
  }
};

template <typename Entry>
using StateMap = absl::flat_hash_map<std::string, std::unique_ptr<Entry>,
                                     StateNameHash, StateNameEq>;

}  // namespace chatkpi

#endif  // CHATKPI_ENGINE_STATE_MAP_H_
