#include "engine/meta.h"

#include <functional>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "base/json_text.h"
#include "simdjson.h"
#include "store/coding.h"

namespace chatkpi {
namespace {

// Visits the meta keys that start with `prefix`, with the rest of the key.
absl::Status ScanPrefix(
    Store& store, std::string_view prefix,
    const std::function<bool(std::string_view rest, std::string_view key,
                             std::string_view value)>& visit) {
  return store.Scan(Family::kMeta, prefix, "",
                    [&](std::string_view k, std::string_view v) {
                      if (!k.starts_with(prefix)) return false;
                      return visit(k.substr(prefix.size()), k, v);
                    });
}

}  // namespace

absl::Status CorruptMeta(std::string_view store_dir, std::string_view key,
                         std::string_view what) {
  return absl::DataLossError(
      absl::StrCat("--db ", std::string(store_dir), ": stored meta key \"",
                   std::string(key), "\" is corrupt: ", std::string(what)));
}

absl::StatusOr<Rules> DecodeStoredRules(std::string_view store_dir,
                                        std::string_view key,
                                        std::string_view text) {
  auto rules = ParseRules(text);
  if (!rules.ok()) {
    return CorruptMeta(store_dir, key,
                       absl::StrCat("the stored rules do not parse (",
                                    rules.status().message(), ")"));
  }
  return rules;
}

absl::StatusOr<std::optional<StoredRulesRecord>> ReadStoredRulesRecord(
    Store& store) {
  auto stored = store.Get(Family::kMeta, kMetaRules);
  if (!stored.ok()) return stored.status();
  if (!stored->has_value()) return std::nullopt;
  auto rules = DecodeStoredRules(store.dir(), kMetaRules, **stored);
  if (!rules.ok()) return rules.status();
  return StoredRulesRecord{std::move(*rules), std::move(**stored)};
}

absl::StatusOr<std::optional<Rules>> StoredRules(Store& store) {
  auto record = ReadStoredRulesRecord(store);
  if (!record.ok()) return record.status();
  if (!record->has_value()) return std::optional<Rules>();
  return std::optional<Rules>(std::move((*record)->rules));
}

absl::StatusOr<Rules> LiveRulesOrDefault(Store& store) {
  auto stored = StoredRules(store);
  if (!stored.ok()) return stored.status();
  if (stored->has_value()) return std::move(**stored);
  return DefaultRules();
}

void PutStoredRules(Commit* commit, const Rules& rules) {
  commit->Put(Family::kMeta, kMetaRules, rules.ToJson());
}

absl::StatusOr<std::vector<std::string>> ReadEarlierRulesVersions(
    Store& store) {
  std::vector<std::string> versions;
  absl::Status bad;
  absl::Status s =
      ScanPrefix(store, kMetaRulesSeenPrefix,
                 [&](std::string_view version, std::string_view key,
                     std::string_view value) {
                   auto rules = DecodeStoredRules(store.dir(), key, value);
                   if (!rules.ok()) {
                     bad = rules.status();
                     return false;
                   }
                   versions.emplace_back(version);
                   return true;
                 });
  if (!s.ok()) return s;
  if (!bad.ok()) return bad;
  return versions;
}

absl::StatusOr<int64_t> ReadMetaCounter(Store& store, std::string_view key) {
  auto n = ReadMetaCounterIfPresent(store, key);
  if (!n.ok()) return n.status();
  return n->value_or(0);
}

absl::StatusOr<std::optional<int64_t>> ReadMetaCounterIfPresent(
    Store& store, std::string_view key) {
  auto stored = store.Get(Family::kMeta, key);
  if (!stored.ok()) return stored.status();
  if (!stored->has_value()) return std::nullopt;
  std::string_view v = **stored;
  int64_t n = 0;
  if (!GetVarsint64(&v, &n) || !v.empty()) {
    return CorruptMeta(store, key, "not a varint counter");
  }
  return n;
}

void PutMetaCounter(Commit* commit, std::string_view key, int64_t value) {
  std::string v;
  PutVarsint64(&v, value);
  commit->Put(Family::kMeta, key, v);
}

absl::StatusOr<std::map<std::string, std::string>> ReadSourcePositions(
    Store& store) {
  std::map<std::string, std::string> positions;
  absl::Status bad;
  absl::Status s = ScanPrefix(
      store, kMetaPositionPrefix,
      [&](std::string_view source, std::string_view key,
          std::string_view value) {
        const std::string_view position = value.substr(0, value.find('\t'));
        int64_t n;
        if (!absl::SimpleAtoi(
                absl::string_view(position.data(), position.size()), &n)) {
          bad = CorruptMeta(store, key, "the position is not a number");
          return false;
        }
        positions.emplace(source, position);
        return true;
      });
  if (!s.ok()) return s;
  if (!bad.ok()) return bad;
  return positions;
}

std::string EncodeReplacedRecord(const ReplacedRecord& r) {
  std::string out = "{\"version\": ";
  AppendJsonString(&out, r.version);
  absl::StrAppend(&out, ", \"switched_at_ms\": ", r.switched_at_ms,
                  ", \"events\": ", r.events, "}");
  return out;
}

absl::StatusOr<std::optional<ReplacedRecord>> ReadReplacedRecord(
    Store& store, std::string_view generation) {
  const std::string key =
      absl::StrCat(kMetaReplacedPrefix, std::string(generation));
  auto stored = store.Get(Family::kMeta, key);
  if (!stored.ok()) return stored.status();
  if (!stored->has_value()) return std::nullopt;
  simdjson::dom::parser parser;
  simdjson::padded_string padded(**stored);
  simdjson::dom::object root;
  std::string_view version;
  ReplacedRecord r;
  if (parser.parse(padded).get(root) != simdjson::SUCCESS ||
      root["version"].get_string().get(version) != simdjson::SUCCESS ||
      root["switched_at_ms"].get_int64().get(r.switched_at_ms) !=
          simdjson::SUCCESS ||
      root["events"].get_int64().get(r.events) != simdjson::SUCCESS) {
    return CorruptMeta(store, key,
                       "not {\"version\", \"switched_at_ms\", \"events\"}");
  }
  r.version = std::string(version);
  return r;
}

absl::StatusOr<std::optional<std::string>> ReadKafkaStats(Store& store) {
  auto stored = store.Get(Family::kMeta, kMetaKafkaStats);
  if (!stored.ok()) return stored.status();
  if (!stored->has_value()) return std::nullopt;
  simdjson::dom::parser parser;
  simdjson::padded_string padded(**stored);
  simdjson::dom::object root;
  if (parser.parse(padded).get(root) != simdjson::SUCCESS) {
    return CorruptMeta(store, kMetaKafkaStats, "not a JSON object");
  }
  return std::move(*stored);
}

}  // namespace chatkpi
