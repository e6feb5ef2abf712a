// Entity tags and their comparisons (see validators.hpp).
#include "validators.hpp"

#include <cstdint>

namespace sockit::http::detail {
namespace {

void put_hex(std::string& out, std::uint64_t v) {
  constexpr char hex[] = "0123456789abcdef";
  char digits[16];
  int n = 0;
  do {
    digits[n++] = hex[v & 15];
    v >>= 4;
  } while (v != 0);
  while (n > 0)
    out += digits[--n];
}

std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
    s.remove_suffix(1);
  return s;
}

std::string_view opaque(std::string_view tag) noexcept {
  if (tag.substr(0, 2) == "W/") tag.remove_prefix(2);
  return tag;
}

}  // namespace

std::string file_etag(const struct stat& st, std::string_view suffix) {
  const auto ns = static_cast<std::uint64_t>(st.st_mtim.tv_sec) * 1'000'000'000u +
                  static_cast<std::uint64_t>(st.st_mtim.tv_nsec);
  std::string tag = "\"";
  put_hex(tag, static_cast<std::uint64_t>(st.st_size));
  tag += '-';
  put_hex(tag, ns);
  tag += suffix;
  tag += '"';
  return tag;
}

bool none_match_hits(std::string_view field, std::string_view etag) noexcept {
  if (trim(field) == "*") return true;
  const std::string_view ours = opaque(etag);
  // Tags are quoted strings that may hold commas, so walk them quote by quote.
  std::size_t pos = 0;
  while (pos < field.size()) {
    const std::size_t open = field.find('"', pos);
    if (open == std::string_view::npos) return false;
    const std::size_t close = field.find('"', open + 1);
    if (close == std::string_view::npos) return false;
    if (field.substr(open, close - open + 1) == ours) return true;
    pos = close + 1;
  }
  return false;
}

bool strong_match(std::string_view tag, std::string_view etag) noexcept {
  tag = trim(tag);
  return tag.substr(0, 2) != "W/" && etag.substr(0, 2) != "W/" && tag == etag;
}

}  // namespace sockit::http::detail
