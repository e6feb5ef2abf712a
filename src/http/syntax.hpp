// Character classes and quoting shared by the HTTP sources (URL parser, the parsers, the
// request builder, the server's header parsing): small enough to inline, internal to
// sockit's libraries.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace sockit::http::detail {

inline char lower(char c) noexcept {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
}
inline bool is_alpha(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
inline bool is_digit(char c) noexcept {
  return c >= '0' && c <= '9';
}

// Without the optional whitespace (spaces, tabs) around a field value or list element.
inline std::string_view trim_ows(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
    s.remove_suffix(1);
  return s;
}

// RFC 9110 tchar: what a header name may contain.
inline bool is_token_char(char c) noexcept {
  if (is_alpha(c) || is_digit(c)) return true;
  constexpr std::string_view extra = "!#$%&'*+-.^_`|~";
  return extra.find(c) != std::string_view::npos;
}

// A short, printable rendering of bytes a peer sent, for error messages.
inline std::string quote(std::string_view bytes, std::size_t max = 60) {
  std::string out = "'";
  constexpr char hex[] = "0123456789abcdef";
  for (std::size_t i = 0; i < bytes.size() && i < max; ++i) {
    const auto c = static_cast<unsigned char>(bytes[i]);
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      out += static_cast<char>(c);
    } else {
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  if (bytes.size() > max) out += "...";
  out += '\'';
  return out;
}

}  // namespace sockit::http::detail
