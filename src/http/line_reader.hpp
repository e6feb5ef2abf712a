// Taking CRLF- or LF-ended lines off a byte stream that arrives in pieces, with every byte of
// a section (a head, a trailer section, one line) counted against its limit however the
// pieces fall. Shared by the request and response parsers; internal to libsockit.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace sockit::http::detail {

// A view over a parser's own line buffer and flag (the parsers' public headers name no
// internal type), made where it is used.
class LineReader {
 public:
  LineReader(std::string& buf, bool& taken) noexcept : buf_(buf), taken_(taken) {}

  enum class Status {
    line,       // `line` holds the next line, without its end
    need_more,  // the line is not complete: its bytes so far are kept, `pos` is at the end
    too_long,   // the section would pass its limit: nothing was kept
  };

  // Takes the next line from `input` at `pos`. `used` counts the bytes of the section taken
  // before; this line's bytes (its earlier pieces and its end included) are added to it when
  // it completes, and the section may not pass `limit`. The line is valid until the next call.
  Status take(std::string_view input, std::size_t& pos, std::string_view& line, std::size_t& used,
              std::size_t limit);

  // Bytes of an incomplete line kept from earlier pieces.
  std::size_t pending() const noexcept { return taken_ ? 0 : buf_.size(); }
  std::string_view pending_bytes() const noexcept {
    return taken_ ? std::string_view{} : std::string_view(buf_);
  }
  // Forgets any partial line, keeping the buffer's capacity.
  void clear() noexcept {
    buf_.clear();
    taken_ = false;
  }

 private:
  std::string& buf_;  // the pieces of a line that came in pieces
  bool& taken_;       // buf_ holds a line already handed out
};

}  // namespace sockit::http::detail
