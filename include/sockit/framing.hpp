// Framing: sans-I/O message codecs (the book's chapter "Framing Messages"). They never
// touch a socket, so blocking code (Stream) and an event loop can both drive them: feed
// the bytes you read, pull complete frames, and encode outgoing frames into your buffer.
// Both codecs bound the frame size and reject a hostile length before buffering it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <system_error>

#include "sockit/byte_buffer.hpp"

namespace sockit {

inline constexpr std::size_t default_max_frame = 64 * 1024;

// What a decoder's next() found.
enum class DecodeStatus {
  frame,      // `frame` holds one complete message
  need_more,  // feed more bytes
  error,      // the input broke the codec's rules; the codec stays in error until reset()
};

// The outcome of next(). Errors are values here, not exceptions, so an event loop can
// close the one bad connection without unwinding; blocking callers use throw_if_error().
struct DecodeResult {
  DecodeStatus status = DecodeStatus::need_more;
  // The message without its terminator or prefix. Points into the codec's buffer: valid
  // until the codec's next feed(), prepare(), reset() or release_memory().
  std::string_view frame;
  // On error: sockit::errc::line_too_long or sockit::errc::frame_too_large.
  std::error_code error;
  // On error: the declared frame length, or the bytes of the unterminated line so far.
  std::uint64_t size = 0;
  // On error: the maximum that was exceeded.
  std::size_t limit = 0;

  bool is_frame() const noexcept { return status == DecodeStatus::frame; }
  bool need_more() const noexcept { return status == DecodeStatus::need_more; }
  bool is_error() const noexcept { return status == DecodeStatus::error; }

  // "line too long (more than 1024 bytes)" or
  // "frame too large (4294967295 bytes, more than 65536)"; empty unless is_error().
  std::string describe() const;
  // Throws sockit::Error(error, operation, target, describe()) when is_error().
  void throw_if_error(std::string_view operation, std::string_view target = {}) const;
};

struct LineCodecOptions {
  // Longest line accepted, not counting its "\n" or "\r\n".
  std::size_t max_line = default_max_frame;
  // encode() ends lines with "\r\n" instead of "\n".
  bool crlf = false;
};

// Lines ended by LF; a CR before the LF is accepted and stripped. An unterminated line is
// rejected as soon as it is longer than max_line, without waiting for its newline.
class LineCodec {
 public:
  explicit LineCodec(LineCodecOptions options = {});

  std::size_t max_line() const noexcept { return options_.max_line; }
  bool crlf() const noexcept { return options_.crlf; }

  // Decoding. feed() copies bytes in; prepare()/commit() let a caller read(2) straight
  // into the codec's buffer instead. After an error, fed bytes are discarded.
  void feed(std::string_view bytes);
  std::span<char> prepare(std::size_t n) { return buffer_.prepare(n); }
  void commit(std::size_t n) noexcept { buffer_.commit(n); }
  // The next complete line, need_more, or the (sticky) error.
  DecodeResult next() noexcept;
  // Unconsumed bytes (a partial line) and the buffer's allocated size.
  std::string_view pending() const noexcept { return buffer_.data(); }
  std::size_t buffered() const noexcept { return buffer_.size(); }
  std::size_t capacity() const noexcept { return buffer_.capacity(); }
  // Forgets buffered bytes and any error; keeps the storage.
  void reset() noexcept;
  // Frees the buffer if it holds nothing (for idle connections).
  void release_memory() noexcept { buffer_.release_memory(); }

  // Appends `line` and the terminator to `out`. Throws Error(errc::line_too_long) when
  // the line is longer than max_line, Error(errc::invalid_argument) when it holds a "\n".
  void encode(std::string_view line, std::string& out) const;

 private:
  LineCodecOptions options_;
  detail::ByteBuffer buffer_;
  std::size_t scanned_ = 0;  // bytes of the pending line already searched for "\n"
  DecodeResult error_;       // status == error once the codec has failed
};

enum class ByteOrder { big_endian, little_endian };

struct LengthPrefixOptions {
  std::size_t width = 4;  // prefix bytes: 1, 2, 4 or 8
  ByteOrder order = ByteOrder::big_endian;
  // Largest payload accepted (the prefix not counted). Clamped to what `width` can express.
  std::size_t max_frame = default_max_frame;
};

// Frames made of a length prefix (payload bytes, unsigned) followed by the payload.
// A declared length over max_frame is rejected as soon as the prefix is complete: the
// codec never reserves memory for a length it was told, only for bytes it was given.
class LengthPrefixCodec {
 public:
  // Throws Error(errc::invalid_argument) for a width other than 1, 2, 4 or 8.
  explicit LengthPrefixCodec(LengthPrefixOptions options = {});

  std::size_t width() const noexcept { return options_.width; }
  ByteOrder order() const noexcept { return options_.order; }
  std::size_t max_frame() const noexcept { return options_.max_frame; }

  // Decoding: same contract as LineCodec.
  void feed(std::string_view bytes);
  std::span<char> prepare(std::size_t n) { return buffer_.prepare(n); }
  void commit(std::size_t n) noexcept { buffer_.commit(n); }
  DecodeResult next() noexcept;
  std::string_view pending() const noexcept { return buffer_.data(); }
  std::size_t buffered() const noexcept { return buffer_.size(); }
  std::size_t capacity() const noexcept { return buffer_.capacity(); }
  void reset() noexcept;
  void release_memory() noexcept { buffer_.release_memory(); }

  // The length in a prefix; `header` must hold at least width() bytes.
  std::uint64_t decode_length(std::string_view header) const noexcept;
  // Writes the prefix for `length` into `out` (width() bytes).
  void encode_length(std::uint64_t length, std::span<char> out) const noexcept;
  // Appends prefix + payload to `out`. Throws Error(errc::frame_too_large) when the
  // payload is longer than max_frame.
  void encode(std::string_view payload, std::string& out) const;

 private:
  LengthPrefixOptions options_;
  detail::ByteBuffer buffer_;
  DecodeResult error_;
};

}  // namespace sockit
