// UTF-8 validation by the table of well-formed byte sequences (Unicode 15, table 3-7).
#include "sockit/websocket/utf8.hpp"

namespace sockit::websocket {

bool Utf8Validator::feed(std::string_view bytes) noexcept {
  if (failed_) return false;
  for (const char c : bytes) {
    const auto b = static_cast<std::uint8_t>(c);
    if (needed_ != 0) {
      if (b < low_ || b > high_) {
        failed_ = true;
        return false;
      }
      low_ = 0x80;
      high_ = 0xbf;
      --needed_;
    } else if (b < 0x80) {
      continue;
    } else if (b >= 0xc2 && b <= 0xdf) {
      needed_ = 1;
    } else if (b >= 0xe0 && b <= 0xef) {
      needed_ = 2;
      if (b == 0xe0) low_ = 0xa0;   // below: an overlong 2-byte form
      if (b == 0xed) high_ = 0x9f;  // above: U+D800..U+DFFF, the surrogates
    } else if (b >= 0xf0 && b <= 0xf4) {
      needed_ = 3;
      if (b == 0xf0) low_ = 0x90;   // below: an overlong 3-byte form
      if (b == 0xf4) high_ = 0x8f;  // above: past U+10FFFF
    } else {
      // 80..BF with no sequence open, C0/C1 (always overlong), F5..FF (past U+10FFFF).
      failed_ = true;
      return false;
    }
  }
  return true;
}

bool is_valid_utf8(std::string_view bytes) noexcept {
  Utf8Validator v;
  return v.feed(bytes) && v.complete();
}

}  // namespace sockit::websocket
