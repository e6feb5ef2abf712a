// RESP2, the protocol Redis speaks: commands encoded as arrays of bulk strings, and an
// incremental decoder of replies that treats them as hostile input (every size bounded
// before anything is allocated for it).
//
// Why sockit has its own and does not use hiredis: the chat room's link to Redis is an
// outbound connection of the server's own event loop (Output::connect through
// Service::links), so the bytes already arrive through a Session's on_data; all a link
// needs is to encode three commands (SUBSCRIBE, PUBLISH, PING) and decode the few reply
// types, about two hundred lines. hiredis's async API would want the socket itself and its
// own loop adapter, a second I/O path beside the loop's, and one more library to install.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sockit {

// One decoded reply.
struct RespValue {
  enum class Type { simple, error, integer, bulk, null, array };
  Type type = Type::null;
  std::string text;              // simple, error, bulk
  std::int64_t integer = 0;      // integer
  std::vector<RespValue> items;  // array

  bool is_array() const noexcept { return type == Type::array; }
};

// The bounds the decoder holds a peer to; a reply past any of them is an error.
struct RespLimits {
  std::size_t max_bulk = 1024 * 1024;  // one bulk string
  std::size_t max_line = 4096;         // a simple string, error, integer or length line
  std::size_t max_items = 1024;        // one array
  std::size_t max_depth = 4;           // arrays within arrays
  // Bytes held for a reply not yet complete.
  std::size_t max_buffered = 4 * 1024 * 1024;
};

// A command: `parts` as an array of bulk strings ("*2\r\n$9\r\nSUBSCRIBE\r\n$5\r\nlobby\r\n").
std::string resp_command(const std::vector<std::string_view>& parts);

class RespDecoder {
 public:
  explicit RespDecoder(RespLimits limits = {}) : limits_(limits) {}

  // Appends bytes as they arrived, in any split.
  void feed(std::string_view bytes);
  // The next whole reply, or nullopt until more bytes come. Throws sockit::Error
  // (errc::invalid_argument, or frame_too_large past a bound) for a malformed reply; the
  // decoder is then unusable.
  std::optional<RespValue> next();
  // Bytes held now.
  std::size_t buffered() const noexcept { return buffer_.size() - start_; }

 private:
  // Parses one value at `at`; false when the buffer ends first. Advances `at` past it.
  bool parse(std::size_t& at, RespValue& value, std::size_t depth);
  // The line at `at` up to "\r\n"; false when the buffer ends first.
  bool line(std::size_t& at, std::string_view& text);
  std::int64_t number(std::string_view text) const;

  RespLimits limits_;
  std::string buffer_;
  std::size_t start_ = 0;  // what next() has consumed
  bool failed_ = false;
};

}  // namespace sockit
