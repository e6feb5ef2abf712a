// URLs for the HTTP client: parsing absolute http:// and https:// URLs (IPv6 literals in
// brackets, percent-encoding of what a request line may not carry) and resolving a
// Location header against the URL it came from.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace sockit::http {

// An absolute http:// or https:// URL, split for making a request.
struct Url {
  std::string scheme;         // "http" or "https" (lower-cased)
  std::string host;           // "example.com", "127.0.0.1", "::1" (no brackets)
  std::uint16_t port = 0;     // the explicit port, else 80 / 443
  std::string target = "/";   // path and query as sent ("/a%20b?x=1"); never empty
  bool ipv6_literal = false;  // host was written in brackets

  // The Host header value: "example.com", "example.com:8080", "[::1]:8080" (the port only
  // when it is not the scheme's default).
  std::string authority() const;
  // "http://[::1]:8080/x?y" (the fragment is never kept).
  std::string to_string() const;
  bool is_https() const noexcept { return scheme == "https"; }
};

// Parses an absolute URL. Userinfo ("user:pass@") is refused rather than silently sent in
// clear; percent-escapes in the path are kept as written (the server decodes them); bytes
// not allowed in a request line (space, controls, non-ASCII) are percent-encoded; the
// fragment is dropped. Throws Error(errc::invalid_argument), for example
//   "parse url 'htp:/x': unsupported scheme 'htp' (expected http or https)"
//   "parse url 'http://h:70000/': port 70000 out of range (1-65535)"
Url parse_url(std::string_view text);

// Resolves a Location header against the URL it came from (RFC 3986 section 5.2):
// absolute URLs, "//host/x", "/x", "x", "../x" and "?q" all work.
Url resolve_reference(const Url& base, std::string_view reference);

}  // namespace sockit::http
