// Field lines and the values that frame a message body (Content-Length, Transfer-Encoding,
// chunk-size lines), checked the same way by the request and response parsers. Failures are
// values: each parser turns them into its own error. Internal to libsockit.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace sockit::http::detail {

// The next non-empty element of a comma-separated list, trimmed; "" when none is left.
std::string_view next_list_item(std::string_view& rest) noexcept;

// False for a value a peer may use to smuggle a line end or truncate a string (NUL, CR, LF).
bool valid_field_value(std::string_view value) noexcept;

struct FieldLine {
  std::string_view name;
  std::string_view value;  // without surrounding whitespace
  std::string error;       // why the line is refused ("malformed header name 'A B'"), or ""
};

// Splits "Name: value": the name must be a token (so no space before the colon), the value
// free of NUL and CR.
FieldLine split_field_line(std::string_view line);

struct ContentLength {
  enum class Kind {
    ok,
    invalid,      // a sign, a space inside, a non-digit, an empty element
    conflicting,  // different values
    overflow,     // digits, but more than the arithmetic is trusted with
  };
  Kind kind = Kind::ok;
  std::uint64_t value = 0;
  std::string_view bad;  // the field value refused
};

// Every Content-Length value together; equal values (also "2, 2") are one length.
ContentLength parse_content_length(const std::vector<std::string_view>& values);

struct TransferCoding {
  enum class Kind {
    chunked,           // the list ends in a single "chunked"
    unknown,           // `coding` is not one this parser decodes
    not_chunked_last,  // chunked missing, repeated or not last
  };
  Kind kind = Kind::chunked;
  std::string_view coding;
};

// Every Transfer-Encoding value together. "identity" passes only when allowed.
TransferCoding check_transfer_coding(const std::vector<std::string_view>& values,
                                     bool allow_identity);

struct ChunkSize {
  enum class Kind { ok, malformed, too_large };
  Kind kind = Kind::ok;
  std::uint64_t size = 0;
  std::string_view text;  // the size as sent, without extensions
};

// A chunk-size line ("1a;ext=v"): extensions are ignored.
ChunkSize parse_chunk_size_line(std::string_view line) noexcept;

// The next bytes of a counted run (a Content-Length body or one chunk): as many of
// `remaining` as `input` holds from `pos`, which is taken off `remaining`.
std::string_view take_counted(std::string_view input, std::size_t pos,
                              std::uint64_t& remaining) noexcept;

enum class ChunkEnd { need_more, done, bad };

// The CRLF (or bare LF) after a chunk's data; `saw_cr` carries a CR from one piece to the next.
ChunkEnd take_chunk_end(std::string_view input, std::size_t& pos, bool& saw_cr) noexcept;

}  // namespace sockit::http::detail
