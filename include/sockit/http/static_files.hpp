// Serving a directory over HTTP: mapping a decoded request path to a file under a root
// (never outside it), and choosing the answer a careful static server gives: the file, a
// 304, a range (206/416), a precompressed or freshly gzipped body, an index.html or a
// listing, or the error status with a short page. Sans-I/O: it returns what to send; the
// HTTP session writes it, streaming a file's bytes with back-pressure.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sockit/file_descriptor.hpp"
#include "sockit/http/request_parser.hpp"
#include "sockit/http/request_target.hpp"

namespace sockit::http {

namespace detail {
class OpenFileCache;
}

struct StaticOptions {
  std::string root;               // the directory served; must exist
  bool list_directories = false;  // a directory without index.html: an HTML listing (else 404)
  bool follow_symlinks = false;   // symlinks whose target leaves the root: served (else 404)
  bool show_dotfiles = false;     // names starting with '.': served and listed (else 404)
  bool compress = true;           // gzip for clients that accept it: a .gz sibling, or zlib
  // Files larger than this are never compressed on the fly (a .gz sibling still serves).
  std::uint64_t max_compress_bytes = 4 * 1024 * 1024;
  // Small files (up to 64 KiB) kept open with their bytes for the next request of the same
  // path: how many (0: none). An entry stands while fstat(2) shows the file unchanged (an
  // edit, chmod, unlink, a rename of it or over it is seen at once), and at most
  // `open_file_ttl` (what fstat cannot see, such as a directory renamed on the way, is seen
  // within it).
  std::size_t open_files = 128;
  std::chrono::milliseconds open_file_ttl{1000};
};

// One answer. The session adds Date, Server, Content-Length and Connection; everything
// else (Content-Type, Last-Modified, ETag, Accept-Ranges, Content-Range, Content-Encoding,
// Vary, Allow, Location) is in `headers`. The body is `body`, or when `file` is open, the
// `length` bytes of `file` from `offset` (a session answering HEAD sends neither).
struct StaticAnswer {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  FileDescriptor file;
  std::uint64_t offset = 0;
  std::uint64_t length = 0;

  std::uint64_t body_size() const noexcept { return file ? length : body.size(); }
};

class StaticFiles {
 public:
  // Throws Error when `options.root` is not a readable directory.
  explicit StaticFiles(StaticOptions options);

  // The answer to a GET or HEAD of `path` with the request's headers (If-Modified-Since,
  // If-None-Match, Range, If-Range, Accept-Encoding). Other methods: 405 with Allow.
  // A directory named without its trailing slash: 301 to the name with one. Never throws
  // for anything the client sent; an unreadable file is 403, a vanished one 404.
  StaticAnswer answer(const RequestHead& head, const TargetPath& path) const;

  const StaticOptions& options() const noexcept { return options_; }

 private:
  StaticOptions options_;
  // The root opened once: every path is resolved from it. Shared, so copies of a
  // StaticFiles (one per worker thread) serve through the same descriptor.
  std::shared_ptr<const FileDescriptor> root_;
  std::shared_ptr<detail::OpenFileCache> cache_;  // shared by copies too; null when off
};

// The Content-Type for a file name, from its extension: the built-in table, then
// /etc/mime.types when present (read once); "application/octet-stream" when unknown.
// Text types carry "; charset=utf-8".
std::string_view content_type_for(std::string_view file_name);

// An IMF-fixdate, "Sun, 06 Nov 1994 08:49:37 GMT" (RFC 9110 section 5.6.7).
std::string format_http_date(std::chrono::system_clock::time_point when);
// Parses the three date forms RFC 9110 asks a recipient to accept; nothing when malformed.
std::optional<std::chrono::system_clock::time_point> parse_http_date(std::string_view text);

// An HTML page for an error status: "<h1>404 Not Found</h1>" and the detail, escaped.
std::string error_page(int status, std::string_view detail = {});
// The standard reason phrase ("Not Found"), "Unknown" for a status it does not know.
std::string_view reason_phrase(int status) noexcept;
// Escapes &, <, >, " and ' for HTML text and attributes.
std::string html_escape(std::string_view text);

}  // namespace sockit::http
