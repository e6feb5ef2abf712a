// URL parsing and reference resolution (RFC 3986) for the HTTP client.
#include "sockit/http/url.hpp"

#include <algorithm>
#include <cctype>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "../concat.hpp"
#include "sockit/address.hpp"
#include "sockit/error.hpp"
#include "syntax.hpp"

namespace sockit::http {

using detail::is_alpha;
using detail::is_digit;
using detail::lower;
using detail::quote;

namespace {

constexpr std::uint16_t default_port(std::string_view scheme) noexcept {
  return scheme == "https" ? 443 : 80;
}

// Surrounding whitespace of a URL typed or pasted, line ends included.
std::string_view trim_space(std::string_view s) noexcept {
  constexpr std::string_view space = " \t\r\n\f\v";
  const auto first = s.find_first_not_of(space);
  if (first == std::string_view::npos) return {};
  return s.substr(first, s.find_last_not_of(space) - first + 1);
}

[[noreturn]] void bad_url(std::string_view text, const std::string& detail) {
  throw Error(make_error_code(errc::invalid_argument), "parse url", quote(text, 200), detail);
}

// Percent-encodes what may not appear in a request line; existing escapes stay as written.
std::string encode_target(std::string_view raw) {
  constexpr std::string_view unsafe = "\"<>\\^`{|}";
  constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(raw.size());
  for (char ch : raw) {
    const auto c = static_cast<unsigned char>(ch);
    if (c <= 0x20 || c >= 0x7f || unsafe.find(ch) != std::string_view::npos) {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    } else {
      out += ch;
    }
  }
  return out;
}

// A valid scheme name ends at the first ':' (RFC 3986: ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )).
std::optional<std::string_view> scheme_of(std::string_view text) noexcept {
  const auto colon = text.find(':');
  if (colon == std::string_view::npos || colon == 0 || !is_alpha(text[0])) return std::nullopt;
  for (std::size_t i = 1; i < colon; ++i) {
    const char c = text[i];
    if (!is_alpha(c) && !is_digit(c) && c != '+' && c != '-' && c != '.') return std::nullopt;
  }
  return text.substr(0, colon);
}

// RFC 3986 section 5.2.4, on a path that starts with '/'.
std::string remove_dot_segments(std::string_view path) {
  std::vector<std::string_view> out;
  std::string_view rest = path.substr(1);
  for (;;) {
    const auto slash = rest.find('/');
    const std::string_view segment = rest.substr(0, slash);
    const bool last = slash == std::string_view::npos;
    if (segment == "." || segment == "..") {
      if (segment == ".." && !out.empty()) out.pop_back();
      if (last) out.emplace_back();  // "/a/.." keeps its trailing slash: "/"
    } else {
      out.push_back(segment);
    }
    if (last) break;
    rest.remove_prefix(slash + 1);
  }
  std::string result;
  for (const auto segment : out) {
    result += '/';
    result += segment;
  }
  return result.empty() ? "/" : result;
}

void check_host(std::string_view text, std::string_view host) {
  if (host.empty()) bad_url(text, "missing host");
  if (std::count(host.begin(), host.end(), ':') > 0) {
    bad_url(text, "IPv6 addresses must be in brackets, as in http://[::1]:8080/");
  }
  constexpr std::string_view allowed = "-._~!$&'()*+,;=%";
  for (char c : host) {
    if (!is_alpha(c) && !is_digit(c) && allowed.find(c) == std::string_view::npos) {
      bad_url(text, "invalid character " + quote(std::string_view(&c, 1)) + " in host");
    }
  }
}

std::uint16_t parse_url_port(std::string_view text, std::string_view digits,
                             std::string_view scheme) {
  if (digits.empty()) return default_port(scheme);  // "http://h:/" means the default
  std::uint32_t value = 0;
  for (char c : digits) {
    if (!is_digit(c)) bad_url(text, "port " + quote(digits) + " is not a number");
    if (value <= 65535) value = value * 10 + static_cast<std::uint32_t>(c - '0');
  }
  if (value == 0 || value > 65535) {
    bad_url(text, "port " + std::string(digits) + " out of range (1-65535)");
  }
  return static_cast<std::uint16_t>(value);
}

}  // namespace
std::string Url::authority() const {
  std::string out;
  if (ipv6_literal) {
    out += '[';
    for (char c : host)
      out += c == '%' ? std::string("%25") : std::string(1, c);  // zone id
    out += ']';
  } else {
    out += host;
  }
  if (port != default_port(scheme)) out += ':' + std::to_string(port);
  return out;
}

std::string Url::to_string() const {
  return scheme + "://" + authority() + target;
}

Url parse_url(std::string_view text) {
  text = trim_space(text);
  if (text.empty()) bad_url(text, "empty URL");
  const auto scheme = scheme_of(text);
  if (!scheme) bad_url(text, "missing scheme (expected http:// or https://)");
  Url url;
  for (char c : *scheme)
    url.scheme += lower(c);
  std::string_view rest = text.substr(scheme->size() + 1);
  if (url.scheme != "http" && url.scheme != "https") {
    // "localhost:8080/x" looks like a scheme named "localhost".
    if (!rest.empty() && is_digit(rest[0])) {
      bad_url(text, "missing scheme (expected http:// or https://)");
    }
    bad_url(text, "unsupported scheme " + quote(*scheme) + " (expected http or https)");
  }
  if (rest.substr(0, 2) != "//") bad_url(text, "expected '//' after '" + url.scheme + ":'");
  rest.remove_prefix(2);

  const auto authority_end = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, authority_end);
  std::string_view tail =
      authority_end == std::string_view::npos ? std::string_view{} : rest.substr(authority_end);
  if (authority.find('@') != std::string_view::npos) {
    bad_url(text,
            "credentials in URLs are not supported (they would be sent in clear; use "
            "--header 'Authorization: ...')");
  }

  std::string_view port_text;
  bool has_port = false;
  if (!authority.empty() && authority.front() == '[') {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) bad_url(text, "missing ']' after IPv6 address");
    std::string literal(authority.substr(1, close - 1));
    if (const auto zone = literal.find("%25"); zone != std::string::npos) {
      literal.erase(zone + 1, 2);  // RFC 6874: "%25" introduces the zone id
    }
    // An interface name or number of unreserved characters (what to_string() writes back
    // the same); '%', ':' and the like would not come back as they went.
    if (const auto zone = literal.find('%'); zone != std::string::npos) {
      const std::string_view id = std::string_view(literal).substr(zone + 1);
      const bool unreserved = std::all_of(id.begin(), id.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '.' ||
               c == '_' || c == '~';
      });
      if (id.empty() || !unreserved) {
        bad_url(text, "invalid IPv6 zone id in " + quote(authority.substr(0, close + 1)) +
                          " (expected letters, digits, '-', '.', '_' or '~' after '%25')");
      }
    }
    if (literal.empty() || !Address::try_parse(literal) ||
        !Address::try_parse(literal)->is_ipv6()) {
      bad_url(text, "invalid IPv6 address " + quote(authority.substr(0, close + 1)));
    }
    url.host = std::move(literal);
    url.ipv6_literal = true;
    const std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') bad_url(text, "unexpected " + quote(after) + " after ']'");
      port_text = after.substr(1);
      has_port = true;
    }
  } else {
    const auto colon = authority.rfind(':');
    std::string_view host = authority;
    if (colon != std::string_view::npos && authority.find(':') == colon) {
      host = authority.substr(0, colon);
      port_text = authority.substr(colon + 1);
      has_port = true;
    }
    check_host(text, host);
    url.host = std::string(host);
  }
  url.port = has_port ? parse_url_port(text, port_text, url.scheme) : default_port(url.scheme);

  tail = tail.substr(0, tail.find('#'));
  if (tail.empty() || tail.front() == '?') {
    // Not `"/" + encode_target(tail)`: g++ 12 -O3 reports a false -Wrestrict overlap there.
    url.target = sockit::detail::concat({"/", encode_target(tail)});
  } else {
    url.target = encode_target(tail);
  }
  return url;
}

Url resolve_reference(const Url& base, std::string_view reference) {
  reference = trim_space(reference);
  reference = reference.substr(0, reference.find('#'));
  // An absolute URL, or something like "ftp:x" that parse_url explains the problem with.
  if (scheme_of(reference)) return parse_url(reference);
  if (reference.substr(0, 2) == "//") return parse_url(base.scheme + ":" + std::string(reference));

  Url url = base;
  if (reference.empty()) return url;
  const std::string_view base_target = base.target;
  const std::string_view base_path = base_target.substr(0, base_target.find('?'));
  const auto query_at = reference.find('?');
  const std::string_view ref_path = reference.substr(0, query_at);
  const std::string_view ref_query =
      query_at == std::string_view::npos ? std::string_view{} : reference.substr(query_at);

  std::string path;
  if (ref_path.empty()) {
    path = std::string(base_path);
  } else if (ref_path.front() == '/') {
    path = remove_dot_segments(ref_path);
  } else {
    std::string merged(base_path.substr(0, base_path.rfind('/') + 1));
    merged += ref_path;
    path = remove_dot_segments(merged);
  }
  url.target = encode_target(path) + encode_target(ref_query);
  return url;
}

}  // namespace sockit::http
