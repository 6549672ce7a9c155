// The id of a chat message as a buyer's state holds it: 16 bytes, the id
// inline when it has at most 15 bytes (exported and generated ids do), on
// the heap otherwise. A std::string takes 32, which made a Message 48 bytes
// and the messages most of what a buyer's state holds in memory
// (docs/engine.md, "Memory").
#ifndef CHATKPI_ENGINE_MESSAGE_ID_H_
#define CHATKPI_ENGINE_MESSAGE_ID_H_

#include <compare>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace chatkpi {

class MessageId {
 public:
  static constexpr size_t kInline = 15;

  MessageId() { set_tag(0); }
  // Implicit, as a std::string's are: a Message is built from an event's id.
  MessageId(std::string_view s) { Init(s); }                           // NOLINT
  MessageId(const std::string& s) : MessageId(std::string_view(s)) {}  // NOLINT
  MessageId(const char* s) : MessageId(std::string_view(s)) {}         // NOLINT
  MessageId(const MessageId& o) { Init(o.view()); }
  MessageId(MessageId&& o) noexcept {
    std::memcpy(raw_, o.raw_, sizeof(raw_));
    o.set_tag(0);
  }
  MessageId& operator=(const MessageId& o) {
    if (this != &o) assign(o.view());
    return *this;
  }
  MessageId& operator=(MessageId&& o) noexcept {
    if (this != &o) {
      Free();
      std::memcpy(raw_, o.raw_, sizeof(raw_));
      o.set_tag(0);
    }
    return *this;
  }
  MessageId& operator=(std::string_view s) {
    assign(s);
    return *this;
  }
  MessageId& operator=(const std::string& s) {
    assign(s);
    return *this;
  }
  MessageId& operator=(const char* s) {
    assign(s);
    return *this;
  }
  ~MessageId() { Free(); }

  // `s` may view this id's own bytes: the new id is made before the old
  // one is freed.
  void assign(std::string_view s) { *this = MessageId(s); }

  std::string_view view() const {
    return on_heap() ? std::string_view(heap_ptr(), heap_size())
                     : std::string_view(raw_, tag());
  }
  operator std::string_view() const { return view(); }  // NOLINT
  size_t size() const { return on_heap() ? heap_size() : tag(); }
  bool empty() const { return size() == 0; }
  // Whether the id has a heap block of its own (of size() bytes).
  bool on_heap() const { return tag() == kHeap; }

  friend bool operator==(const MessageId& a, const MessageId& b) {
    return a.view() == b.view();
  }
  friend bool operator==(const MessageId& a, std::string_view b) {
    return a.view() == b;
  }
  friend bool operator==(const MessageId& a, const std::string& b) {
    return a.view() == std::string_view(b);
  }
  friend bool operator==(const MessageId& a, const char* b) {
    return a.view() == std::string_view(b);
  }
  friend std::strong_ordering operator<=>(const MessageId& a,
                                          const MessageId& b) {
    return a.view() <=> b.view();
  }
  friend std::strong_ordering operator<=>(const MessageId& a,
                                          std::string_view b) {
    return a.view() <=> b;
  }
  friend std::strong_ordering operator<=>(const MessageId& a,
                                          const std::string& b) {
    return a.view() <=> std::string_view(b);
  }

 private:
  static constexpr uint8_t kHeap = 0xff;

  uint8_t tag() const { return static_cast<uint8_t>(raw_[15]); }
  void set_tag(uint8_t t) { raw_[15] = static_cast<char>(t); }
  const char* heap_ptr() const {
    const char* p;
    std::memcpy(&p, raw_, sizeof(p));
    return p;
  }
  uint32_t heap_size() const {
    uint32_t n;
    std::memcpy(&n, raw_ + 8, sizeof(n));
    return n;
  }

  void Init(std::string_view s) {
    if (s.size() <= kInline) {
      if (!s.empty()) std::memcpy(raw_, s.data(), s.size());
      set_tag(static_cast<uint8_t>(s.size()));
      return;
    }
    char* p = new char[s.size()];
    std::memcpy(p, s.data(), s.size());
    const uint32_t n = static_cast<uint32_t>(s.size());
    std::memcpy(raw_, &p, sizeof(p));
    std::memcpy(raw_ + 8, &n, sizeof(n));
    set_tag(kHeap);
  }
  void Free() {
    if (on_heap()) delete[] heap_ptr();
    set_tag(0);
  }

  // The last byte tells the two forms apart: an inline id's size (0-15), or
  // kHeap, with the heap block's pointer in the first 8 bytes and the id's
  // size in the next 4 (an id is at most a line long, docs/spec.md §1).
  alignas(8) char raw_[16];
};

static_assert(sizeof(MessageId) == 16);

}  // namespace chatkpi

#endif  // CHATKPI_ENGINE_MESSAGE_ID_H_
