// Turning a request-target into a path a file server may use: percent-decoding, dot
// segments, and every encoding trick that tries to step outside the served root refused.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sockit::http {

struct TargetPath {
  // The decoded, normalized path: starts with '/', no "." or ".." segments, no empty
  // segments, no NUL, no backslash. A trailing '/' of the target is kept ("/docs/").
  std::string path;
  std::vector<std::string> segments;  // path split at '/', decoded, none empty
  std::string query;                  // after '?', still percent-encoded ("" when none)
  bool trailing_slash = false;        // the target named a directory ("/docs/")
};

// Decodes an origin-form target ("/a%20b/c?x=1"). Returns nothing, so the server answers
// 400, for: a target not starting with '/', a bad or truncated %-escape, a decoded NUL,
// '/' or '\' encoded in a segment (%2f, %5c) or a raw backslash, a decoded byte sequence
// that is not valid UTF-8 (overlong forms like %c0%ae included), control bytes, a '#' in
// the path (a fragment is never sent), and any ".." segment (raw or encoded: "..",
// "%2e%2e", ".%2E") that would climb above "/".
// ".." inside the root ("/a/../b") is resolved ("/b"); "." segments are dropped.
std::optional<TargetPath> decode_target(std::string_view target);

// Percent-encodes a path for an href or a Location header (keeps unreserved bytes and '/').
std::string encode_path(std::string_view path);

}  // namespace sockit::http
