// RESP2 commands and the bounded reply decoder (see sockit/resp.hpp).
#include "sockit/resp.hpp"

#include <algorithm>
#include <charconv>
#include <limits>
#include <string>
#include <utility>

#include "sockit/error.hpp"

namespace sockit {
namespace {

[[noreturn]] void malformed(std::string_view why) {
  throw_error(errc::invalid_argument, "decode RESP reply", "", why);
}

[[noreturn]] void too_large(std::string_view why) {
  throw_error(errc::frame_too_large, "decode RESP reply", "", why);
}

}  // namespace

std::string resp_command(const std::vector<std::string_view>& parts) {
  // Appended piece by piece: g++ 12 at -O3 warns falsely on "*" + std::to_string(...).
  std::string out(1, '*');
  out += std::to_string(parts.size());
  out += "\r\n";
  for (std::string_view part : parts) {
    out += '$';
    out += std::to_string(part.size());
    out += "\r\n";
    out.append(part);
    out += "\r\n";
  }
  return out;
}

void RespDecoder::feed(std::string_view bytes) {
  // Consumed bytes go once they are half of what is held, so a steady stream of replies
  // costs no more than one copy of each byte.
  if (start_ > 0 && start_ * 2 >= buffer_.size()) {
    buffer_.erase(0, start_);
    start_ = 0;
  }
  buffer_.append(bytes);
}

std::optional<RespValue> RespDecoder::next() {
  if (failed_) malformed("the decoder failed earlier");
  if (start_ == buffer_.size()) return std::nullopt;
  std::size_t at = start_;
  RespValue value;
  try {
    if (!parse(at, value, 0)) {
      if (buffered() > limits_.max_buffered) {
        too_large("a reply larger than " + std::to_string(limits_.max_buffered) + " bytes");
      }
      return std::nullopt;
    }
    // The same bound whether a reply came in pieces or at once.
    if (at - start_ > limits_.max_buffered) {
      too_large("a reply larger than " + std::to_string(limits_.max_buffered) + " bytes");
    }
  } catch (...) {
    failed_ = true;
    throw;
  }
  start_ = at;
  return value;
}

bool RespDecoder::line(std::size_t& at, std::string_view& text) {
  const std::size_t end = buffer_.find("\r\n", at);
  if (end == std::string::npos) {
    // A line of max_line bytes may have come with the "\r" of its terminator but not the
    // "\n" yet.
    const std::size_t held = buffer_.size() - at;
    const bool cr = held > 0 && buffer_.back() == '\r';
    if (held - (cr ? 1 : 0) > limits_.max_line) {
      too_large("a line longer than " + std::to_string(limits_.max_line) + " bytes");
    }
    return false;
  }
  if (end - at > limits_.max_line) {
    too_large("a line longer than " + std::to_string(limits_.max_line) + " bytes");
  }
  text = std::string_view(buffer_).substr(at, end - at);
  at = end + 2;
  return true;
}

std::int64_t RespDecoder::number(std::string_view text) const {
  std::int64_t value = 0;
  const char* end = text.data() + text.size();
  const auto [stop, error] = std::from_chars(text.data(), end, value);
  if (text.empty() || error != std::errc{} || stop != end) malformed("a malformed number");
  return value;
}

bool RespDecoder::parse(std::size_t& at, RespValue& value, std::size_t depth) {
  if (at >= buffer_.size()) return false;
  const char type = buffer_[at];
  std::size_t pos = at + 1;
  std::string_view text;
  if (!line(pos, text)) return false;
  switch (type) {
    case '+':
      value.type = RespValue::Type::simple;
      value.text = text;
      break;
    case '-':
      value.type = RespValue::Type::error;
      value.text = text;
      break;
    case ':':
      value.type = RespValue::Type::integer;
      value.integer = number(text);
      break;
    case '$': {
      const std::int64_t length = number(text);
      if (length == -1) {
        value.type = RespValue::Type::null;
        break;
      }
      if (length < 0) malformed("a negative length");
      if (static_cast<std::uint64_t>(length) > limits_.max_bulk) {
        too_large("a bulk string longer than " + std::to_string(limits_.max_bulk) + " bytes");
      }
      const auto size = static_cast<std::size_t>(length);
      if (buffer_.size() - pos < size + 2) return false;
      if (buffer_.compare(pos + size, 2, "\r\n") != 0) malformed("a bulk string without CRLF");
      value.type = RespValue::Type::bulk;
      value.text.assign(buffer_, pos, size);
      pos += size + 2;
      break;
    }
    case '*': {
      const std::int64_t count = number(text);
      if (count == -1) {
        value.type = RespValue::Type::null;
        break;
      }
      if (count < 0) malformed("a negative count");
      if (static_cast<std::uint64_t>(count) > limits_.max_items) {
        too_large("an array of more than " + std::to_string(limits_.max_items) + " items");
      }
      if (depth + 1 > limits_.max_depth) {
        too_large("arrays nested deeper than " + std::to_string(limits_.max_depth));
      }
      value.type = RespValue::Type::array;
      const auto items = static_cast<std::size_t>(count);
      // Each item takes at least 3 bytes ("+\r\n"): a count the bytes held cannot fill yet
      // reserves nothing.
      value.items.reserve(std::min(items, (buffer_.size() - pos) / 3));
      for (std::size_t i = 0; i < items; ++i) {
        RespValue item;
        if (!parse(pos, item, depth + 1)) return false;
        value.items.push_back(std::move(item));
      }
      break;
    }
    default:
      malformed("an unknown type byte");
  }
  at = pos;
  return true;
}

}  // namespace sockit
