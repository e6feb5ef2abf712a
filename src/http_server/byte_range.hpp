// The Range request header (RFC 9110 section 14): which bytes of a representation of a
// known size a client asked for, reduced to the cases a static server acts on.
#pragma once

#include <cstdint>
#include <string_view>

namespace sockit::http::detail {

enum class RangeKind {
  ignore,         // malformed, another unit, or several ranges: serve the whole (200)
  unsatisfiable,  // no byte of it exists: 416
  single,         // one range: 206 with bytes first..last
};

struct ByteRange {
  RangeKind kind = RangeKind::ignore;
  std::uint64_t first = 0;
  std::uint64_t last = 0;  // inclusive
};

// Interprets a Range header value ("bytes=0-99", "bytes=500-", "bytes=-200") against a
// representation of `size` bytes. Numbers too large to hold saturate (so they lie beyond
// any file) rather than wrap.
ByteRange parse_byte_range(std::string_view value, std::uint64_t size) noexcept;

}  // namespace sockit::http::detail
