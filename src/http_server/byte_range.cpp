// Range header interpretation (see byte_range.hpp).
#include "byte_range.hpp"

#include <cstddef>
#include <limits>
#include <optional>

#include "sockit/http/headers.hpp"

#include "../http/syntax.hpp"

namespace sockit::http::detail {
namespace {

// Digits only (at least one); saturates at the largest value.
std::optional<std::uint64_t> number(std::string_view s) noexcept {
  if (s.empty()) return std::nullopt;
  constexpr std::uint64_t max = std::numeric_limits<std::uint64_t>::max();
  std::uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    const auto d = static_cast<std::uint64_t>(c - '0');
    v = v > (max - d) / 10 ? max : v * 10 + d;
  }
  return v;
}

}  // namespace

ByteRange parse_byte_range(std::string_view value, std::uint64_t size) noexcept {
  ByteRange none;
  value = trim_ows(value);
  const std::size_t eq = value.find('=');
  if (eq == std::string_view::npos || !iequals(trim_ows(value.substr(0, eq)), "bytes")) return none;
  const std::string_view set = trim_ows(value.substr(eq + 1));
  // Several ranges would need multipart/byteranges; the whole body is an allowed answer.
  if (set.find(',') != std::string_view::npos) return none;
  const std::size_t dash = set.find('-');
  if (dash == std::string_view::npos) return none;
  const std::string_view first_text = trim_ows(set.substr(0, dash));
  const std::string_view last_text = trim_ows(set.substr(dash + 1));
  ByteRange range;
  range.kind = RangeKind::single;
  if (first_text.empty()) {  // "-n": the last n bytes
    const auto suffix = number(last_text);
    if (!suffix) return none;
    if (*suffix == 0 || size == 0) return {RangeKind::unsatisfiable, 0, 0};
    range.first = *suffix >= size ? 0 : size - *suffix;
    range.last = size - 1;
    return range;
  }
  const auto first = number(first_text);
  if (!first) return none;
  std::uint64_t last = std::numeric_limits<std::uint64_t>::max();
  if (!last_text.empty()) {
    const auto parsed = number(last_text);
    if (!parsed || *parsed < *first) return none;
    last = *parsed;
  }
  if (*first >= size) return {RangeKind::unsatisfiable, 0, 0};
  range.first = *first;
  range.last = last >= size ? size - 1 : last;
  return range;
}

}  // namespace sockit::http::detail
