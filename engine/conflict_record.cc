#include "engine/conflict_record.h"

#include "absl/strings/str_format.h"
#include "engine/dead_letter_value.h"
#include "store/coding.h"
#include "store/stable_hash.h"

namespace chatkpi {

std::string ConflictKey(std::string_view id, std::string_view loser_content) {
  std::string k = kMetaConflictPrefix;
  k.append(id);
  k.push_back('\0');
  k.append(absl::StrFormat("%016x", StableHash(loser_content)));
  return k;
}

std::string EncodeConflictValue(const ConflictRecord& r,
                                std::string_view loser_raw) {
  std::string v(1, r.resolved ? 'r' : 'k');
  PutLengthPrefixed(&v, r.winner_position);
  PutLengthPrefixed(&v, r.loser_position);
  v.append(EncodeDeadLetterValue("", loser_raw));
  return v;
}

bool DecodeConflict(std::string_view key, std::string_view value,
                    ConflictRecord* r) {
  const std::string_view prefix = kMetaConflictPrefix;
  if (key.substr(0, prefix.size()) != prefix) return false;
  key.remove_prefix(prefix.size());
  const size_t nul = key.rfind('\0');
  if (nul == std::string_view::npos) return false;
  r->id = std::string(key.substr(0, nul));
  if (value.empty() || (value[0] != 'r' && value[0] != 'k')) return false;
  r->resolved = value[0] == 'r';
  value.remove_prefix(1);
  std::string_view winner, loser;
  if (!GetLengthPrefixed(&value, &winner) ||
      !GetLengthPrefixed(&value, &loser)) {
    return false;
  }
  DeadLetterValue raw;
  if (!DecodeDeadLetterValue(value, &raw)) return false;
  r->winner_position = std::string(winner);
  r->loser_position = std::string(loser);
  r->loser_raw = std::string(raw.raw);
  r->loser_raw_bytes = raw.raw_bytes;
  return true;
}

}  // namespace chatkpi
