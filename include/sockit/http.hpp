// HTTP/1.1 client pieces: URL parsing (http/https, IPv6 literals), a sans-I/O response
// parser (status line, headers, Content-Length / chunked / read-to-EOF bodies, 1xx skipped)
// usable from blocking or evented code, and a small blocking GET client over sockit::Stream
// that follows redirects and streams the body to a callback instead of buffering it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sockit/deadline.hpp"
#include "sockit/error.hpp"
#include "sockit/socket.hpp"
#include "sockit/stream.hpp"

namespace sockit::http {

// ---- URLs ----

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

// ---- Headers ----

struct HeaderField {
  std::string_view name;
  std::string_view value;
};

// Header fields in arrival order with case-insensitive lookup. Names and values live in one
// buffer, so a reused Headers (parser reset) does not allocate per field.
class Headers {
 public:
  void add(std::string_view name, std::string_view value);
  void clear() noexcept;
  // Appends " " + more to the last field's value (obsolete line folding).
  void append_to_last(std::string_view more);

  std::size_t size() const noexcept { return fields_.size(); }
  bool empty() const noexcept { return fields_.empty(); }
  HeaderField operator[](std::size_t i) const noexcept;
  // The first field named `name` (any case), if any.
  std::optional<std::string_view> get(std::string_view name) const noexcept;
  std::vector<std::string_view> get_all(std::string_view name) const;
  bool contains(std::string_view name) const noexcept { return get(name).has_value(); }

 private:
  struct Slot {
    std::size_t name_at, name_len, value_at, value_len;
  };
  std::string text_;
  std::vector<Slot> fields_;
};

// True when a and b are equal ignoring ASCII case.
bool iequals(std::string_view a, std::string_view b) noexcept;

// ---- Response parser ----

struct ParserLimits {
  std::size_t max_header_bytes = 64 * 1024;  // status line + header fields (and trailers)
  std::size_t max_headers = 128;             // fields per head (and per trailer section)
  std::size_t max_chunk_line = 4096;         // a chunk-size line with its extensions
  int max_interim_responses = 16;            // 1xx heads before the final one
};

enum class BodyFraming {
  none,            // 1xx/204/304, or a response to HEAD
  content_length,  // exactly N bytes
  chunked,         // Transfer-Encoding: chunked
  until_eof,       // no length given: the body ends when the connection does
};

struct ResponseHead {
  int version_minor = 1;  // HTTP/1.<minor>
  int status = 0;
  std::string reason;
  Headers headers;
  // "HTTP/1.1 404 Not Found"
  std::string status_line() const;
};

enum class ParseEvent {
  need_more,  // every byte given was consumed: feed more (or call finish() at EOF)
  head,       // the final response head is complete: head() is valid
  body,       // `body` holds the next body bytes (a view into the input)
  done,       // the response is complete; input left unconsumed is not part of it
};

struct ParseResult {
  ParseEvent event = ParseEvent::need_more;
  std::size_t consumed = 0;
  std::string_view body;
};

// Thrown for a response that breaks the protocol or a limit; detail() is the message
// without the "parse response: " prefix, for callers that add their own context.
// Codes: errc::frame_too_large (a limit), errc::connection_closed (an early end),
// std::errc::protocol_error (malformed).
class ProtocolError : public Error {
 public:
  ProtocolError(std::error_code ec, const std::string& detail)
      : Error(ec, "parse response", {}, detail), detail_(detail) {}
  const std::string& detail() const noexcept { return detail_; }

 private:
  std::string detail_;
};

// Sans-I/O HTTP/1.x response parser: hand it whatever bytes arrived, act on one event at a
// time. Body bytes are never copied; header bytes are, into a buffer that is reused after
// reset(). Accepts CRLF or bare LF line ends.
//   for (;;) { auto r = p.parse(in); in.remove_prefix(r.consumed); switch (r.event) ... }
class ResponseParser {
 public:
  explicit ResponseParser(ParserLimits limits = {}) : limits_(limits) {}

  // Consumes a prefix of `input` and reports one event. Call again with the rest (also
  // with an empty rest after head/body: a response may complete without more bytes).
  // Throws ProtocolError.
  ParseResult parse(std::string_view input);
  // The connection ended. Completes a read-to-EOF body; anywhere else it throws
  // ProtocolError(connection_closed), e.g. "connection closed after 10 of 100 body bytes".
  void finish();

  // For a response to HEAD (it has no body whatever its headers say). Before parsing.
  void expect_no_body() noexcept { no_body_request_ = true; }
  // Ready for the next response, keeping buffers and limits.
  void reset() noexcept;

  bool head_complete() const noexcept { return state_ > State::head; }
  bool done() const noexcept { return state_ == State::done; }
  const ResponseHead& head() const noexcept { return head_; }
  BodyFraming framing() const noexcept { return framing_; }
  // The declared Content-Length, if the body is framed by one.
  std::optional<std::uint64_t> content_length() const noexcept;
  std::uint64_t body_bytes() const noexcept { return body_bytes_; }
  const Headers& trailers() const noexcept { return trailers_; }
  int interim_responses() const noexcept { return interim_; }

 private:
  enum class State {
    head,
    body_length,
    body_eof,
    chunk_size,
    chunk_data,
    chunk_data_end,
    trailers,
    done
  };

  // Takes one line (without its end) from `input` at `pos` into `line`; false when the line
  // is not complete yet (its bytes are kept in line_buf_). More than `budget` bytes fail
  // with "<what> larger than <limit> bytes".
  bool take_line(std::string_view input, std::size_t& pos, std::string_view& line,
                 std::size_t budget, std::size_t limit, const char* what);
  void on_head_line(std::string_view line);
  void on_status_line(std::string_view line);
  void on_field_line(std::string_view line, Headers& into);
  // The head ended: choose the body framing, or start over after a 1xx.
  bool finish_head();
  void on_chunk_size_line(std::string_view line);

  ParserLimits limits_;
  State state_ = State::head;
  bool no_body_request_ = false;
  bool seen_status_ = false;
  bool chunk_crlf_cr_ = false;
  bool line_taken_ = false;  // line_buf_ holds a line already handed out
  std::string line_buf_;
  std::size_t head_bytes_ = 0;
  ResponseHead head_;
  Headers trailers_;
  BodyFraming framing_ = BodyFraming::none;
  std::uint64_t remaining_ = 0;  // of the Content-Length body or the current chunk
  std::uint64_t declared_length_ = 0;
  std::uint64_t body_bytes_ = 0;
  int interim_ = 0;
};

// ---- Blocking client ----

// Builds the transport a connection speaks through once the TCP socket is connected.
// http:// uses the plain SocketTransport; https:// needs a factory that returns a TLS
// transport over `socket` (verifying `url.host`), because TLS lives outside libsockit.
using TransportFactory =
    std::function<std::unique_ptr<Transport>(Socket& socket, const Url& url, Deadline deadline)>;

struct Response;

struct GetOptions {
  // The whole exchange, redirects included. Error timed_out when it passes.
  Deadline deadline;
  std::string user_agent = "sockit";
  // Extra request headers; one with the name of a default (Host, User-Agent, Accept,
  // Connection) replaces it, and one with an empty value removes it.
  std::vector<std::pair<std::string, std::string>> headers;
  bool follow_redirects = false;
  int max_redirects = 10;
  ParserLimits limits;
  // Required for https:// URLs; without it they fail with "https is not available".
  TransportFactory secure_transport;
  // Each response head as it arrives (redirects too, before they are followed).
  std::function<void(const Response&)> on_head;
  // The final response's body, in pieces as they arrive (not for followed redirects).
  std::function<void(std::string_view)> on_body;
};

struct Response {
  Url url;  // the URL this response came from (the last one after redirects)
  ResponseHead head;
  Headers trailers;
  BodyFraming framing = BodyFraming::none;
  std::optional<std::uint64_t> content_length;
  std::uint64_t body_bytes = 0;
  // Bytes the server sent after a Content-Length body ended (ignored; a server bug).
  std::size_t extra_bytes = 0;
  int redirects = 0;  // redirects followed to get here

  int status() const noexcept { return head.status; }
  bool ok() const noexcept { return head.status >= 200 && head.status < 300; }
  bool is_redirect() const noexcept;
};

// GET `url` with HTTP/1.1 and Connection: close. Every status is a Response (a 404 does not
// throw); failures throw Error naming the URL: "get http://127.0.0.1:8080/x: connection
// closed after 10 of 100 body bytes", "get http://h/: too many redirects (more than 10)".
Response get(std::string_view url, const GetOptions& options = {});
Response get(const Url& url, const GetOptions& options = {});

// The request bytes get() sends (exposed for tests). Throws Error(invalid_argument) for a
// header name or value that would break the request (CR, LF, ':' in a name...).
std::string build_get_request(const Url& url, const GetOptions& options);

}  // namespace sockit::http
