// A sans-I/O HTTP/1.x request parser for servers, the twin of the response parser: handed
// whatever bytes arrived, it reports one event at a time (head, body piece, done), enforces
// the limits a server needs (request line, head, field count, body) and says which status
// a broken or oversized request deserves.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "sockit/error.hpp"
#include "sockit/http/headers.hpp"

namespace sockit::http {

struct RequestLimits {
  std::size_t max_request_line = 8 * 1024;  // bytes, without its CRLF: over it, 414
  // The field lines together, their line ends and the empty line closing the head
  // included (the same for trailers): over it, 431.
  std::size_t max_header_bytes = 32 * 1024;
  std::size_t max_headers = 100;         // field lines: over it, 431
  std::uint64_t max_body = 1024 * 1024;  // Content-Length or chunked total: over it, 413
  std::size_t max_chunk_line = 4096;     // a chunk-size line with extensions: 400
};

struct RequestHead {
  std::string method;     // as sent ("GET"); methods are case-sensitive
  std::string target;     // the request-target as sent ("/a%20b?x=1", "*", "http://h/x")
  int version_minor = 1;  // HTTP/1.<minor>
  Headers headers;

  // HTTP/1.1: unless "Connection: close"; HTTP/1.0: only with "Connection: keep-alive".
  bool keep_alive() const noexcept;
  // "Expect: 100-continue" (HTTP/1.1 only).
  bool expects_continue() const noexcept;
  // "GET /x HTTP/1.1"
  std::string request_line() const;
};

enum class RequestEvent {
  need_more,  // every byte given was consumed: feed more
  head,       // the request head is complete: head() is valid
  body,       // `body` holds the next body bytes (a view into the input)
  done,       // the request is complete; what follows belongs to the next one (pipelining)
};

struct RequestParseResult {
  RequestEvent event = RequestEvent::need_more;
  std::size_t consumed = 0;
  std::string_view body;
};

// A request the server must refuse: status() is the answer it deserves (400 malformed,
// 413 body too large, 414 request line too long, 431 head too large or too many fields,
// 501 an unknown Transfer-Encoding, 505 not HTTP/1.x), detail() says why in a phrase fit
// for a log line and an error page: "request line longer than 8192 bytes".
class RequestError : public Error {
 public:
  RequestError(int status, const std::string& detail);
  int status() const noexcept { return status_; }

 private:
  int status_;
};

// Parses one request at a time off a connection's byte stream. Header bytes are copied
// once into a buffer reused across requests; body bytes are never copied. Accepts CRLF or
// bare LF line ends; skips empty lines before a request line (RFC 9112 section 2.2).
// Refuses: obs-fold, a space before a field's colon, both Content-Length and
// Transfer-Encoding, conflicting Content-Lengths, chunked not last, NUL/CR/LF in values.
//   for (;;) { auto r = p.parse(in); in.remove_prefix(r.consumed); switch (r.event) ... }
class RequestParser {
 public:
  explicit RequestParser(RequestLimits limits = {}) : limits_(limits) {}

  // Consumes a prefix of `input` and reports one event. Call again with the rest (also
  // with an empty rest after head/body: a request may complete without more bytes).
  // Throws RequestError. After `done`, call reset() before parsing the next request.
  RequestParseResult parse(std::string_view input);
  // Ready for the next request on the same connection, keeping buffers and limits.
  void reset() noexcept;

  // Some bytes of a request have arrived (its head is not complete yet): a server times
  // the head from here. False between requests, and while only empty lines came.
  bool head_started() const noexcept;
  bool head_complete() const noexcept;
  bool done() const noexcept;
  const RequestHead& head() const noexcept { return head_; }
  // The declared Content-Length, if the body is framed by one (0 when there is no body).
  std::optional<std::uint64_t> content_length() const noexcept;
  bool chunked() const noexcept { return chunked_; }
  std::uint64_t body_bytes() const noexcept { return body_bytes_; }
  const Headers& trailers() const noexcept { return trailers_; }
  const RequestLimits& limits() const noexcept { return limits_; }

 private:
  RequestLimits limits_;
  RequestHead head_;
  Headers trailers_;
  bool chunked_ = false;
  std::uint64_t body_bytes_ = 0;

  enum class State {
    start,  // between requests: empty lines are skipped
    request_line,
    fields,
    body_length,  // Content-Length, or no body
    chunk_size,
    chunk_data,  // and the CRLF after it
    trailers,
    done
  };

  // Takes a line of at most `max` bytes without its end (more: `status`, "<what> longer than
  // <max> bytes", as soon as the bytes show it); false while the line is incomplete.
  bool take_bounded_line(std::string_view input, std::size_t& pos, std::string_view& line,
                         std::size_t max, int status, const char* what);
  // Takes a line of the header or trailer section, which together may not pass
  // max_header_bytes (431).
  bool take_section_line(std::string_view input, std::size_t& pos, std::string_view& line,
                         const char* what);
  // Refuses, before its line ends, a request line whose method is not a token.
  void check_method_start(std::string_view input, std::size_t pos);
  void on_request_line(std::string_view line);
  void on_field_line(std::string_view line, Headers& into);
  void finish_head();
  void on_chunk_size_line(std::string_view line);
  RequestParseResult take_counted_body(std::string_view input, std::size_t pos) noexcept;

  State state_ = State::start;
  bool line_taken_ = false;  // line_buf_ holds a line already handed out
  bool method_checked_ = false;
  bool chunk_crlf_cr_ = false;
  std::string line_buf_;
  std::size_t section_bytes_ = 0;  // of the empty lines before the request, the head or trailers
  std::size_t field_lines_ = 0;    // of the head, or of the trailers
  std::uint64_t remaining_ = 0;    // of the Content-Length body or the current chunk
  std::uint64_t declared_length_ = 0;
};

}  // namespace sockit::http
