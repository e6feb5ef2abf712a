// The URL parser and reference resolution fed a Location header's text: the input is
// "URL" or "URL\nREFERENCE". A URL accepted is well-formed (scheme, host, port, a target a
// request line can carry) and survives to_string() and parse_url() unchanged; so does the
// URL a reference resolves to. Nothing but sockit::Error(invalid_argument) is thrown.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "fuzz_support.hpp"
#include "sockit/error.hpp"
#include "sockit/http/url.hpp"

namespace {

using sockit::http::Url;

bool same(const Url& a, const Url& b) {
  return a.scheme == b.scheme && a.host == b.host && a.port == b.port && a.target == b.target &&
         a.ipv6_literal == b.ipv6_literal;
}

void check_url(const Url& url) {
  FUZZ_CHECK(url.scheme == "http" || url.scheme == "https");
  FUZZ_CHECK(!url.host.empty());
  FUZZ_CHECK(url.port != 0);
  FUZZ_CHECK(!url.target.empty() && url.target.front() == '/');
  for (const char ch : url.target) {
    const auto c = static_cast<unsigned char>(ch);
    FUZZ_CHECK(c > 0x20 && c < 0x7f && c != '#');
  }
  const std::string text = url.to_string();
  Url again;
  try {
    again = sockit::http::parse_url(text);
  } catch (const sockit::Error& e) {
    std::fprintf(stderr, "%s does not parse back: %s\n", text.c_str(), e.what());
    std::abort();
  }
  FUZZ_CHECK(same(url, again));
  FUZZ_CHECK(again.to_string() == text);
}

// With SOCKIT_FUZZ_URL_PRINT set, each URL parse_url accepts is printed as one line of
// hex fields (input, scheme, host, port, target) for tests/fuzz/url_differential.py, which
// compares them with Python's urllib.parse.
bool printing() {
  static const bool on = std::getenv("SOCKIT_FUZZ_URL_PRINT") != nullptr;
  return on;
}

std::string hex(std::string_view bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  for (const char ch : bytes) {
    const auto c = static_cast<unsigned char>(ch);
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out;
}

void print(std::string_view text, const Url& url) {
  std::printf("url %s %s %s %u %s\n", hex(text).c_str(), hex(url.scheme).c_str(),
              hex(url.host).c_str(), static_cast<unsigned>(url.port), hex(url.target).c_str());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input = sockit::fuzz::as_text(data, size);
  const std::size_t newline = input.find('\n');
  const std::string_view text = input.substr(0, newline);
  Url url;
  try {
    url = sockit::http::parse_url(text);
  } catch (const sockit::Error& e) {
    FUZZ_CHECK(e.code() == sockit::errc::invalid_argument);
    return 0;
  }
  check_url(url);
  if (printing()) print(text, url);
  if (newline == std::string_view::npos) return 0;
  try {
    check_url(sockit::http::resolve_reference(url, input.substr(newline + 1)));
  } catch (const sockit::Error& e) {
    FUZZ_CHECK(e.code() == sockit::errc::invalid_argument);
  }
  return 0;
}
