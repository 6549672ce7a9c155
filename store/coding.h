// Byte encodings shared by the store's keys and the engine's state records,
// after LevelDB's util/coding.h: varints for compact values, big-endian
// fixed-width integers for keys that must sort numerically.
#ifndef CHATKPI_STORE_CODING_H_
#define CHATKPI_STORE_CODING_H_

#include <bit>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace chatkpi {

// Raw-pointer forms (LevelDB's EncodeVarint64): write at `dst`, return the
// end. For records sized up front, where a string append per field would
// check capacity each time. A varint takes at most kMaxVarint64 bytes.
inline constexpr size_t kMaxVarint64 = 10;
inline char* EncodeVarint64(char* dst, uint64_t v) {
  while (v >= 0x80) {
    *dst++ = static_cast<char>(v | 0x80);
    v >>= 7;
  }
  *dst++ = static_cast<char>(v);
  return dst;
}
inline char* EncodeVarsint64(char* dst, int64_t v) {
  return EncodeVarint64(
      dst, (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63));
}
inline char* EncodeLengthPrefixed(char* dst, std::string_view s) {
  dst = EncodeVarint64(dst, s.size());
  std::memcpy(dst, s.data(), s.size());
  return dst + s.size();
}
inline char* EncodeFixed64BE(char* dst, uint64_t v) {
  if constexpr (std::endian::native == std::endian::little) {
    v = __builtin_bswap64(v);
  }
  std::memcpy(dst, &v, sizeof(v));
  return dst + sizeof(v);
}

// Inline, with a one-byte fast path: state records are mostly small
// numbers, and encoding them was a call and a buffer check per field.
void PutVarint64Slow(std::string* dst, uint64_t v);
inline void PutVarint64(std::string* dst, uint64_t v) {
  if (v < 0x80) {
    dst->push_back(static_cast<char>(v));
  } else {
    PutVarint64Slow(dst, v);
  }
}
inline void PutVarsint64(std::string* dst, int64_t v) {
  PutVarint64(dst,
              (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63));
}
inline void PutLengthPrefixed(std::string* dst, std::string_view s) {
  PutVarint64(dst, s.size());
  dst->append(s.data(), s.size());
}
void PutFixed32BE(std::string* dst, uint32_t v);
void PutFixed64BE(std::string* dst, uint64_t v);

// Decoders consume from the front of `in`; false on truncated input, so a
// corrupt record is reported instead of read past its end.
bool GetVarint64Slow(std::string_view* in, uint64_t* v);
inline bool GetVarint64(std::string_view* in, uint64_t* v) {
  if (!in->empty() && static_cast<unsigned char>(in->front()) < 0x80) {
    *v = static_cast<unsigned char>(in->front());
    in->remove_prefix(1);
    return true;
  }
  return GetVarint64Slow(in, v);
}
inline bool GetVarsint64(std::string_view* in, int64_t* v) {
  uint64_t u;
  if (!GetVarint64(in, &u)) return false;
  *v = static_cast<int64_t>((u >> 1) ^ (~(u & 1) + 1));
  return true;
}
bool GetLengthPrefixed(std::string_view* in, std::string_view* s);
bool GetFixed32BE(std::string_view* in, uint32_t* v);
bool GetFixed64BE(std::string_view* in, uint64_t* v);

}  // namespace chatkpi

#endif  // CHATKPI_STORE_CODING_H_
