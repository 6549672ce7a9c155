#include "store/coding.h"

namespace chatkpi {

namespace {

// Fixed-width integers, most significant byte first (so that keys sort
// by value).
template <typename T>
void PutFixedBE(std::string* dst, T v) {
  char buf[sizeof(T)];
  for (size_t i = sizeof(T); i-- > 0;) {
    buf[i] = static_cast<char>(v & 0xff);
    v = static_cast<T>(v >> 8);
  }
  dst->append(buf, sizeof(T));
}

template <typename T>
bool GetFixedBE(std::string_view* in, T* v) {
  if (in->size() < sizeof(T)) return false;
  T r = 0;
  for (size_t i = 0; i < sizeof(T); ++i) {
    r = static_cast<T>(r << 8) | static_cast<unsigned char>((*in)[i]);
  }
  in->remove_prefix(sizeof(T));
  *v = r;
  return true;
}

}  // namespace

void PutVarint64Slow(std::string* dst, uint64_t v) {
  char buf[10];
  int n = 0;
  while (v >= 0x80) {
    buf[n++] = static_cast<char>(v | 0x80);
    v >>= 7;
  }
  buf[n++] = static_cast<char>(v);
  dst->append(buf, n);
}

void PutFixed32BE(std::string* dst, uint32_t v) { PutFixedBE(dst, v); }

void PutFixed64BE(std::string* dst, uint64_t v) {
  char buf[8];
  EncodeFixed64BE(buf, v);
  dst->append(buf, sizeof(buf));
}

bool GetVarint64Slow(std::string_view* in, uint64_t* v) {
  uint64_t result = 0;
  for (int shift = 0; shift <= 63 && !in->empty(); shift += 7) {
    uint64_t byte = static_cast<unsigned char>(in->front());
    in->remove_prefix(1);
    result |= (byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) {
      *v = result;
      return true;
    }
  }
  return false;
}

bool GetLengthPrefixed(std::string_view* in, std::string_view* s) {
  uint64_t n;
  if (!GetVarint64(in, &n) || n > in->size()) return false;
  *s = in->substr(0, n);
  in->remove_prefix(n);
  return true;
}

bool GetFixed32BE(std::string_view* in, uint32_t* v) {
  return GetFixedBE(in, v);
}

bool GetFixed64BE(std::string_view* in, uint64_t* v) {
  return GetFixedBE(in, v);
}

}  // namespace chatkpi
