// Accept-Encoding, compressible types and gzip bodies (see content_coding.hpp).
#include "content_coding.hpp"

#include <unistd.h>
#include <zlib.h>

#include <cerrno>
#include <cstddef>

#include "../http/syntax.hpp"

namespace sockit::http::detail {
namespace {

// A qvalue ("0", "0.000", "1", "0.5") is above zero when any of its digits is not zero.
// Anything that does not look like one counts as the default, 1.
bool q_above_zero(std::string_view params) noexcept {
  while (!params.empty()) {
    const std::size_t semi = params.find(';');
    std::string_view param = trim_ows(params.substr(0, semi));
    params = semi == std::string_view::npos ? std::string_view{} : params.substr(semi + 1);
    if (param.size() < 2 || (param[0] != 'q' && param[0] != 'Q')) continue;
    param = trim_ows(param.substr(1));
    if (param.empty() || param[0] != '=') continue;
    param = trim_ows(param.substr(1));
    if (param.empty() || (param[0] != '0' && param[0] != '1')) return true;
    for (char c : param) {
      if (c >= '1' && c <= '9') return true;
    }
    return false;
  }
  return true;
}

}  // namespace

bool accepts_gzip(const Headers& headers) {
  std::optional<bool> gzip;
  std::optional<bool> any;
  for (std::string_view field : headers.get_all("Accept-Encoding")) {
    while (!field.empty()) {
      const std::size_t comma = field.find(',');
      const std::string_view item = field.substr(0, comma);
      field = comma == std::string_view::npos ? std::string_view{} : field.substr(comma + 1);
      const std::size_t semi = item.find(';');
      const std::string_view coding = trim_ows(item.substr(0, semi));
      const std::string_view params =
          semi == std::string_view::npos ? std::string_view{} : item.substr(semi + 1);
      if (iequals(coding, "gzip") || iequals(coding, "x-gzip")) {
        // A refusal anywhere wins over an acceptance elsewhere.
        gzip = gzip.value_or(true) && q_above_zero(params);
      } else if (coding == "*") {
        any = any.value_or(true) && q_above_zero(params);
      }
    }
  }
  if (gzip) return *gzip;
  return any.value_or(false);
}

bool is_compressible(std::string_view type) noexcept {
  type = type.substr(0, type.find(';'));
  if (type.substr(0, 5) == "text/") return true;
  constexpr std::string_view kTypes[] = {
      "application/json",
      "application/javascript",
      "application/xml",
      "application/xhtml+xml",
      "application/wasm",
      "application/manifest+json",
      "application/x-javascript",
      "image/svg+xml",
      "image/x-icon",
      "font/ttf",
      "font/otf",
  };
  for (std::string_view t : kTypes) {
    if (type == t) return true;
  }
  return type.ends_with("+json") || type.ends_with("+xml");
}

std::optional<std::string> gzip_file(int fd, std::uint64_t size) {
  std::string input(static_cast<std::size_t>(size), '\0');
  std::size_t have = 0;
  while (have < input.size()) {
    const ssize_t n =
        ::pread(fd, input.data() + have, input.size() - have, static_cast<off_t>(have));
    if (n < 0 && errno == EINTR) continue;
    // A file that shrank or cannot be read is served as it is, uncompressed.
    if (n <= 0) return std::nullopt;
    have += static_cast<std::size_t>(n);
  }
  return gzip_bytes(input);
}

std::optional<std::string> gzip_bytes(std::string_view input) {
  z_stream z{};
  // 15 + 16: the largest window, with a gzip header and trailer instead of zlib's.
  if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    return std::nullopt;
  }
  std::string output(deflateBound(&z, static_cast<uLong>(input.size())), '\0');
  // zlib's next_in is not const, but deflate only reads it.
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(input.data()));
  z.avail_in = static_cast<uInt>(input.size());
  z.next_out = reinterpret_cast<Bytef*>(output.data());
  z.avail_out = static_cast<uInt>(output.size());
  const int rc = deflate(&z, Z_FINISH);
  const std::size_t produced = z.total_out;
  deflateEnd(&z);
  if (rc != Z_STREAM_END) return std::nullopt;
  output.resize(produced);
  return output;
}

}  // namespace sockit::http::detail
