// Field-line syntax and the body-framing fields, for both directions of HTTP/1.x.
#include "field_lines.hpp"

#include <algorithm>

#include "sockit/http/headers.hpp"
#include "syntax.hpp"

namespace sockit::http::detail {

std::string_view next_list_item(std::string_view& rest) noexcept {
  while (!rest.empty()) {
    const auto comma = rest.find(',');
    const std::string_view item = trim_ows(rest.substr(0, comma));
    rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
    if (!item.empty()) return item;
  }
  return {};
}

bool valid_field_value(std::string_view value) noexcept {
  return value.find_first_of(std::string_view("\0\r\n", 3)) == std::string_view::npos;
}

FieldLine split_field_line(std::string_view line) {
  FieldLine out;
  const auto colon = line.find(':');
  if (colon == std::string_view::npos) {
    out.error = "malformed header line " + quote(line);
    return out;
  }
  out.name = line.substr(0, colon);
  if (out.name.empty() || !std::all_of(out.name.begin(), out.name.end(), is_token_char)) {
    out.error = "malformed header name " + quote(out.name);
    return out;
  }
  out.value = trim_ows(line.substr(colon + 1));
  if (!valid_field_value(out.value)) out.error = "malformed value of header " + quote(out.name);
  return out;
}

ContentLength parse_content_length(const std::vector<std::string_view>& values) {
  // 18 digits stay below 2^63: no arithmetic on a peer's number can overflow.
  constexpr std::size_t max_digits = 18;
  ContentLength out;
  bool seen = false;
  for (const auto value : values) {
    std::string_view rest = value;
    for (;;) {
      const auto comma = rest.find(',');
      const auto item = trim_ows(rest.substr(0, comma));
      if (item.empty() || !std::all_of(item.begin(), item.end(), is_digit)) {
        return {ContentLength::Kind::invalid, 0, value};
      }
      if (item.size() > max_digits) return {ContentLength::Kind::overflow, 0, value};
      std::uint64_t n = 0;
      for (char c : item)
        n = n * 10 + static_cast<std::uint64_t>(c - '0');
      if (seen && out.value != n) return {ContentLength::Kind::conflicting, 0, value};
      out.value = n;
      seen = true;
      if (comma == std::string_view::npos) break;
      rest = rest.substr(comma + 1);
    }
  }
  return out;
}

TransferCoding check_transfer_coding(const std::vector<std::string_view>& values,
                                     bool allow_identity) {
  int chunked = 0;
  bool chunked_last = false;
  for (const auto value : values) {
    std::string_view rest = value;
    for (auto coding = next_list_item(rest); !coding.empty(); coding = next_list_item(rest)) {
      chunked_last = iequals(coding, "chunked");
      if (chunked_last) {
        ++chunked;
      } else if (!allow_identity || !iequals(coding, "identity")) {
        return {TransferCoding::Kind::unknown, coding};
      }
    }
  }
  if (chunked != 1 || !chunked_last) return {TransferCoding::Kind::not_chunked_last, {}};
  return {};
}

ChunkSize parse_chunk_size_line(std::string_view line) noexcept {
  // 15 hex digits is 2^60 bytes: anything longer is an attack on our arithmetic.
  constexpr std::size_t max_digits = 15;
  ChunkSize out;
  out.text = trim_ows(line.substr(0, line.find(';')));
  std::string_view digits = out.text;
  while (digits.size() > 1 && digits.front() == '0')
    digits.remove_prefix(1);
  for (char c : digits) {
    int v = -1;
    if (is_digit(c)) {
      v = c - '0';
    } else if (lower(c) >= 'a' && lower(c) <= 'f') {
      v = lower(c) - 'a' + 10;
    }
    if (v < 0) {
      out.kind = ChunkSize::Kind::malformed;
      return out;
    }
    out.size = (out.size << 4) | static_cast<std::uint64_t>(v);
  }
  if (out.text.empty()) {
    out.kind = ChunkSize::Kind::malformed;
  } else if (digits.size() > max_digits) {
    out.kind = ChunkSize::Kind::too_large;
  }
  return out;
}

std::string_view take_counted(std::string_view input, std::size_t pos,
                              std::uint64_t& remaining) noexcept {
  const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(remaining, input.size() - pos));
  remaining -= n;
  return input.substr(pos, n);
}

ChunkEnd take_chunk_end(std::string_view input, std::size_t& pos, bool& saw_cr) noexcept {
  while (pos < input.size()) {
    const char c = input[pos];
    if (c == '\r' && !saw_cr) {
      saw_cr = true;
      ++pos;
    } else if (c == '\n') {
      saw_cr = false;
      ++pos;
      return ChunkEnd::done;
    } else {
      return ChunkEnd::bad;
    }
  }
  return ChunkEnd::need_more;
}

}  // namespace sockit::http::detail
