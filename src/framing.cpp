// Line and length-prefix codecs. No syscalls here: the codecs see only the bytes they are
// fed.
#include "sockit/framing.hpp"

#include <algorithm>
#include <cstring>
#include <limits>
#include <string>
#include <utility>

#include "sockit/error.hpp"

namespace sockit {

std::string DecodeResult::describe() const {
  if (!is_error()) return {};
  if (error == make_error_code(errc::line_too_long)) {
    return "line too long (more than " + std::to_string(limit) + " bytes)";
  }
  if (error == make_error_code(errc::frame_too_large)) {
    return "frame too large (" + std::to_string(size) + " bytes, more than " +
           std::to_string(limit) + ")";
  }
  return error.message();
}

void DecodeResult::throw_if_error(std::string_view operation, std::string_view target) const {
  if (!is_error()) return;
  throw Error(error, std::string(operation), std::string(target), describe());
}

namespace {

DecodeResult make_error(errc code, std::uint64_t size, std::size_t limit) {
  DecodeResult result;
  result.status = DecodeStatus::error;
  result.error = make_error_code(code);
  result.size = size;
  result.limit = limit;
  return result;
}

DecodeResult make_frame(std::string_view frame) {
  DecodeResult result;
  result.status = DecodeStatus::frame;
  result.frame = frame;
  return result;
}

}  // namespace

// ---- LineCodec ----

LineCodec::LineCodec(LineCodecOptions options) : options_(options) {}

void LineCodec::feed(std::string_view bytes) {
  if (error_.is_error()) return;
  buffer_.append(bytes);
}

DecodeResult LineCodec::next() noexcept {
  if (error_.is_error()) return error_;
  const std::string_view data = buffer_.data();
  const std::size_t newline = data.find('\n', scanned_);
  if (newline == std::string_view::npos) {
    scanned_ = data.size();
    // A CR may still turn out to be half of the "\r\n" ending a line of exactly
    // max_line.
    const bool cr_last = !data.empty() && data.back() == '\r';
    const std::size_t content = cr_last ? data.size() - 1 : data.size();
    if (content > options_.max_line) {
      error_ = make_error(errc::line_too_long, data.size(), options_.max_line);
      return error_;
    }
    return {};
  }
  std::size_t length = newline;
  if (length > 0 && data[length - 1] == '\r') --length;
  if (length > options_.max_line) {
    error_ = make_error(errc::line_too_long, length, options_.max_line);
    return error_;
  }
  scanned_ = 0;
  buffer_.consume(newline + 1);
  return make_frame(data.substr(0, length));
}

void LineCodec::reset() noexcept {
  buffer_.clear();
  scanned_ = 0;
  error_ = {};
}

void LineCodec::encode(std::string_view line, std::string& out) const {
  if (line.size() > options_.max_line) {
    make_error(errc::line_too_long, line.size(), options_.max_line).throw_if_error("encode line");
  }
  if (line.find('\n') != std::string_view::npos) {
    throw_error(errc::invalid_argument, "encode line", {}, "line contains a newline");
  }
  out.append(line);
  out.append(options_.crlf ? "\r\n" : "\n");
}

// ---- LengthPrefixCodec ----

namespace {

std::size_t checked_width(std::size_t width) {
  if (width != 1 && width != 2 && width != 4 && width != 8) {
    throw_error(errc::invalid_argument, "length prefix codec", {},
                "prefix width must be 1, 2, 4 or 8 bytes, not " + std::to_string(width));
  }
  return width;
}

LengthPrefixOptions normalized(LengthPrefixOptions options) {
  options.width = checked_width(options.width);
  if (options.width < 8) {
    const std::uint64_t expressible = (std::uint64_t{1} << (8 * options.width)) - 1;
    if (options.max_frame > expressible) options.max_frame = static_cast<std::size_t>(expressible);
  }
  return options;
}

}  // namespace

LengthPrefixCodec::LengthPrefixCodec(LengthPrefixOptions options) : options_(normalized(options)) {}

std::uint64_t LengthPrefixCodec::decode_length(std::string_view header) const noexcept {
  std::uint64_t length = 0;
  const std::size_t width = options_.width;
  for (std::size_t i = 0; i < width; ++i) {
    const std::size_t index = options_.order == ByteOrder::big_endian ? i : width - 1 - i;
    length = (length << 8) | static_cast<unsigned char>(header[index]);
  }
  return length;
}

void LengthPrefixCodec::encode_length(std::uint64_t length, std::span<char> out) const noexcept {
  const std::size_t width = options_.width;
  for (std::size_t i = 0; i < width; ++i) {
    const std::size_t index = options_.order == ByteOrder::big_endian ? width - 1 - i : i;
    out[index] = static_cast<char>(static_cast<unsigned char>(length & 0xFF));
    length >>= 8;
  }
}

void LengthPrefixCodec::encode(std::string_view payload, std::string& out) const {
  if (payload.size() > options_.max_frame) {
    make_error(errc::frame_too_large, payload.size(), options_.max_frame)
        .throw_if_error("encode frame");
  }
  char header[8];
  encode_length(payload.size(), std::span<char>(header, options_.width));
  out.append(header, options_.width);
  out.append(payload);
}

void LengthPrefixCodec::feed(std::string_view bytes) {
  if (error_.is_error()) return;
  buffer_.append(bytes);
}

DecodeResult LengthPrefixCodec::next() noexcept {
  if (error_.is_error()) return error_;
  const std::string_view data = buffer_.data();
  if (data.size() < options_.width) return {};
  const std::uint64_t length = decode_length(data);
  if (length > options_.max_frame) {
    error_ = make_error(errc::frame_too_large, length, options_.max_frame);
    return error_;
  }
  // Compared this way round so a huge max_frame cannot overflow width + length.
  if (data.size() - options_.width < length) return {};
  buffer_.consume(options_.width + static_cast<std::size_t>(length));
  return make_frame(data.substr(options_.width, static_cast<std::size_t>(length)));
}

void LengthPrefixCodec::reset() noexcept {
  buffer_.clear();
  error_ = {};
}

}  // namespace sockit
