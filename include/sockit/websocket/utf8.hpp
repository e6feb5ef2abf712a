// Incremental UTF-8 validation for WebSocket text: bytes may arrive in any pieces (a
// message's fragments, a frame's reads), and an invalid byte is reported as soon as it
// arrives, not at the message's end.
#pragma once

#include <cstdint>
#include <string_view>

namespace sockit::websocket {

// Accepts exactly the well-formed UTF-8 of RFC 3629: no overlong forms, no surrogate halves
// (U+D800..U+DFFF), nothing past U+10FFFF. Once it has seen an invalid byte it stays invalid
// until reset().
class Utf8Validator {
 public:
  // False once the bytes so far cannot begin valid UTF-8.
  bool feed(std::string_view bytes) noexcept;
  // The bytes so far are valid and end on a character boundary (no sequence cut short).
  bool complete() const noexcept { return !failed_ && needed_ == 0; }
  bool failed() const noexcept { return failed_; }
  void reset() noexcept { *this = Utf8Validator{}; }

 private:
  std::uint8_t needed_ = 0;  // continuation bytes still owed by the current sequence
  // The range the next continuation byte must fall in: narrower than 80..BF right after
  // E0, ED, F0 and F4, which is how overlongs, surrogates and > U+10FFFF are refused.
  std::uint8_t low_ = 0x80;
  std::uint8_t high_ = 0xbf;
  bool failed_ = false;
};

// Whole-string validation: the bytes are complete, valid UTF-8.
bool is_valid_utf8(std::string_view bytes) noexcept;

}  // namespace sockit::websocket
