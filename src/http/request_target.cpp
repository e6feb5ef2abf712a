// Request-target decoding for file servers: every escape is decoded exactly once, and the
// decoded bytes, not the encoded ones, decide what is a separator, a dot segment or a climb.
#include "sockit/http/request_target.hpp"

#include <cstddef>

#include "syntax.hpp"

namespace sockit::http {

namespace {

int hex_value(char c) noexcept {
  if (detail::is_digit(c)) return c - '0';
  const char l = detail::lower(c);
  if (l >= 'a' && l <= 'f') return l - 'a' + 10;
  return -1;
}

bool is_continuation(unsigned char c) noexcept {
  return (c & 0xc0) == 0x80;
}

// RFC 3629: shortest forms only, no surrogates, nothing past U+10FFFF.
bool valid_utf8(std::string_view s) noexcept {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    std::size_t extra = 0;
    unsigned char low = 0x80;  // the range the second byte must fall in
    unsigned char high = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) {
      extra = 1;
    } else if (c >= 0xe0 && c <= 0xef) {
      extra = 2;
      if (c == 0xe0) low = 0xa0;   // overlong below U+0800
      if (c == 0xed) high = 0x9f;  // the UTF-16 surrogates
    } else if (c >= 0xf0 && c <= 0xf4) {
      extra = 3;
      if (c == 0xf0) low = 0x90;   // overlong below U+10000
      if (c == 0xf4) high = 0x8f;  // past U+10FFFF
    } else {
      return false;  // a stray continuation byte, C0/C1 overlongs, F5-FF
    }
    if (s.size() - i <= extra) return false;
    const auto second = static_cast<unsigned char>(s[i + 1]);
    if (second < low || second > high) return false;
    for (std::size_t k = 2; k <= extra; ++k) {
      if (!is_continuation(static_cast<unsigned char>(s[i + k]))) return false;
    }
    i += extra + 1;
  }
  return true;
}

// Decodes one raw segment (between '/'s) into `out`; false for anything refused.
bool decode_segment(std::string_view raw, std::string& out) {
  out.clear();
  for (std::size_t i = 0; i < raw.size(); ++i) {
    char c = raw[i];
    if (c == '\\') return false;
    if (c == '%') {
      if (raw.size() - i < 3) return false;
      const int hi = hex_value(raw[i + 1]);
      const int lo = hex_value(raw[i + 2]);
      if (hi < 0 || lo < 0) return false;
      c = static_cast<char>(hi * 16 + lo);
      // An encoded separator would be one segment here and two on the file system.
      if (c == '/' || c == '\\') return false;
      i += 2;
    }
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) return false;  // NUL and every other control byte
    out += c;
  }
  return valid_utf8(out);
}

}  // namespace

std::optional<TargetPath> decode_target(std::string_view target) {
  if (target.empty() || target.front() != '/') return std::nullopt;
  TargetPath out;
  const auto question = target.find('?');
  std::string_view path = target.substr(0, question);
  if (question != std::string_view::npos) out.query.assign(target.substr(question + 1));
  // A fragment never belongs in a request; one here is a confused or hostile client.
  if (path.find('#') != std::string_view::npos) return std::nullopt;

  std::string segment;
  while (!path.empty()) {
    path.remove_prefix(1);  // the '/'
    const auto slash = path.find('/');
    const std::string_view raw = path.substr(0, slash);
    path = slash == std::string_view::npos ? std::string_view{} : path.substr(slash);
    if (!decode_segment(raw, segment)) return std::nullopt;
    if (segment.empty() || segment == ".") continue;
    if (segment == "..") {
      if (out.segments.empty()) return std::nullopt;
      out.segments.pop_back();
      continue;
    }
    out.segments.push_back(segment);
  }
  // A last segment that is empty, "." or ".." leaves the path naming a directory.
  out.trailing_slash = segment.empty() || segment == "." || segment == "..";

  out.path.push_back('/');
  for (const auto& s : out.segments) {
    out.path += s;
    out.path += '/';
  }
  if (!out.segments.empty() && !out.trailing_slash) out.path.pop_back();
  return out;
}

std::string encode_path(std::string_view path) {
  constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(path.size());
  for (char c : path) {
    if (detail::is_alpha(c) || detail::is_digit(c) || c == '-' || c == '.' || c == '_' ||
        c == '~' || c == '/') {
      out += c;
    } else {
      const auto u = static_cast<unsigned char>(c);
      out += '%';
      out += hex[u >> 4];
      out += hex[u & 15];
    }
  }
  return out;
}

}  // namespace sockit::http
