// Choosing and producing gzip bodies: whether a client accepts gzip (Accept-Encoding with
// its q-values), whether a content type is worth compressing, and zlib's gzip of a file.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "sockit/http/headers.hpp"

namespace sockit::http::detail {

// True when the request's Accept-Encoding fields (all of them) give gzip (or x-gzip, or
// "*" when gzip is not named) a q-value above zero.
bool accepts_gzip(const Headers& headers);

// True for types that shrink under gzip: text/*, JSON, JavaScript, XML, SVG, WebAssembly...
bool is_compressible(std::string_view content_type) noexcept;

// The gzip (RFC 1952) of the first `size` bytes of the file open at `fd`, read with
// pread; nothing when the file cannot be read whole or zlib fails.
std::optional<std::string> gzip_file(int fd, std::uint64_t size);

// The gzip of `input`; nothing when zlib fails.
std::optional<std::string> gzip_bytes(std::string_view input);

}  // namespace sockit::http::detail
