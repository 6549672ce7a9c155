#include "engine/json_syntax.h"

#include <cstring>

namespace chatkpi {
namespace {

class Checker {
 public:
  explicit Checker(std::string_view t) : t_(t) {}

  JsonSyntaxError Run() {
    SkipSpace();
    if (!Value(0)) return error_;
    SkipSpace();
    if (pos_ < t_.size()) {
      Fail("unexpected text after the JSON value");
      return error_;
    }
    return JsonSyntaxError();
  }

 private:
  bool Fail(const char* what) {
    error_.found = true;
    error_.what = what;
    error_.line = 1;
    error_.column = 1;
    for (size_t i = 0; i < pos_ && i < t_.size(); ++i) {
      if (t_[i] == '\n') {
        ++error_.line;
        error_.column = 1;
      } else {
        ++error_.column;
      }
    }
    return false;
  }

  void SkipSpace() {
    while (pos_ < t_.size() && std::strchr(" \t\r\n", t_[pos_]) != nullptr &&
           t_[pos_] != '\0') {
      ++pos_;
    }
  }

  bool Peek(char c) const { return pos_ < t_.size() && t_[pos_] == c; }

  bool Value(int depth) {
    if (depth > 1000) return Fail("nested too deeply");
    if (pos_ >= t_.size()) return Fail("unexpected end of text");
    switch (t_[pos_]) {
      case '{':
        return Object(depth);
      case '[':
        return Array(depth);
      case '"':
        return String();
      case 't':
        return Literal("true");
      case 'f':
        return Literal("false");
      case 'n':
        return Literal("null");
      default:
        if (t_[pos_] == '-' || (t_[pos_] >= '0' && t_[pos_] <= '9')) {
          return Number();
        }
        return Fail("expected a value");
    }
  }

  bool Literal(std::string_view word) {
    if (t_.substr(pos_, word.size()) != word) return Fail("expected a value");
    pos_ += word.size();
    return true;
  }

  bool Digits() {
    const size_t start = pos_;
    while (pos_ < t_.size() && t_[pos_] >= '0' && t_[pos_] <= '9') ++pos_;
    return pos_ > start;
  }

  bool Number() {
    if (Peek('-')) ++pos_;
    if (Peek('0')) {
      ++pos_;
    } else if (!Digits()) {
      return Fail("expected a digit");
    }
    if (Peek('.')) {
      ++pos_;
      if (!Digits()) return Fail("expected a digit after '.'");
    }
    if (Peek('e') || Peek('E')) {
      ++pos_;
      if (Peek('+') || Peek('-')) ++pos_;
      if (!Digits()) return Fail("expected a digit in the exponent");
    }
    return true;
  }

  bool String() {
    ++pos_;  // the opening quote
    while (pos_ < t_.size()) {
      const unsigned char c = static_cast<unsigned char>(t_[pos_]);
      if (c == '"') {
        ++pos_;
        return true;
      }
      if (c < 0x20) return Fail("control character in a string");
      if (c == '\\') {
        ++pos_;
        if (pos_ >= t_.size()) break;
        const char e = t_[pos_];
        if (e == 'u') {
          for (int i = 1; i <= 4; ++i) {
            if (pos_ + i >= t_.size() ||
                std::strchr("0123456789abcdefABCDEF", t_[pos_ + i]) ==
                    nullptr ||
                t_[pos_ + i] == '\0') {
              return Fail("bad \\u escape");
            }
          }
          pos_ += 4;
        } else if (std::strchr("\"\\/bfnrt", e) == nullptr || e == '\0') {
          return Fail("bad escape in a string");
        }
      }
      ++pos_;
    }
    return Fail("unterminated string");
  }

  bool Array(int depth) {
    ++pos_;
    SkipSpace();
    if (Peek(']')) {
      ++pos_;
      return true;
    }
    for (;;) {
      SkipSpace();
      if (!Value(depth + 1)) return false;
      SkipSpace();
      if (Peek(']')) {
        ++pos_;
        return true;
      }
      if (!Peek(',')) return Fail("expected ',' or ']'");
      ++pos_;
    }
  }

  bool Object(int depth) {
    ++pos_;
    SkipSpace();
    if (Peek('}')) {
      ++pos_;
      return true;
    }
    for (;;) {
      SkipSpace();
      if (!Peek('"')) return Fail("expected a quoted key");
      if (!String()) return false;
      SkipSpace();
      if (!Peek(':')) return Fail("expected ':' after the key");
      ++pos_;
      SkipSpace();
      if (!Value(depth + 1)) return false;
      SkipSpace();
      if (Peek('}')) {
        ++pos_;
        return true;
      }
      if (!Peek(',')) return Fail("expected ',' or '}'");
      ++pos_;
    }
  }

  std::string_view t_;
  size_t pos_ = 0;
  JsonSyntaxError error_;
};

}  // namespace

JsonSyntaxError FindJsonSyntaxError(std::string_view text) {
  return Checker(text).Run();
}

}  // namespace chatkpi
