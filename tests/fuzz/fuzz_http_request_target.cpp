// The request-target decoder fed the target of a client's request line: a target accepted
// decodes to a normalized path (a leading '/', no "." or ".." segment, no empty segment, no
// NUL or backslash) whose segments are the path's, and that re-encodes to a target decoding
// to the same path.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_support.hpp"
#include "sockit/http/request_target.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view target = sockit::fuzz::as_text(data, size);
  const auto decoded = sockit::http::decode_target(target);
  if (!decoded) return 0;
  const std::string& path = decoded->path;
  FUZZ_CHECK(!path.empty() && path.front() == '/');
  FUZZ_CHECK(path.find('\0') == std::string::npos);
  FUZZ_CHECK(path.find('\\') == std::string::npos);
  FUZZ_CHECK(path.find("//") == std::string::npos);
  std::string joined;
  for (const auto& segment : decoded->segments) {
    FUZZ_CHECK(!segment.empty() && segment != "." && segment != "..");
    FUZZ_CHECK(segment.find('/') == std::string::npos);
    joined += '/';
    joined += segment;
  }
  if (decoded->trailing_slash && !decoded->segments.empty()) joined += '/';
  if (joined.empty()) joined = "/";
  FUZZ_CHECK(joined == path);

  const std::string encoded = sockit::http::encode_path(path);
  const auto again = sockit::http::decode_target(encoded);
  FUZZ_CHECK(again.has_value());
  FUZZ_CHECK(again->path == path && again->segments == decoded->segments);
  FUZZ_CHECK(again->query.empty());
  return 0;
}
