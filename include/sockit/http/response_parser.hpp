// A sans-I/O HTTP/1.x response parser (status line, headers, Content-Length / chunked /
// read-to-EOF bodies, 1xx skipped), usable from blocking or evented code: it is handed
// bytes and reports one event at a time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

#include "sockit/error.hpp"
#include "sockit/http/headers.hpp"

namespace sockit::http {

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
      : Error(ec, "parse response", {}, detail) {}
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
  // is not complete yet. Every byte of it counts in `used`: past `limit`, it fails with
  // "<what> larger than <limit> bytes".
  bool take_line(std::string_view input, std::size_t& pos, std::string_view& line,
                 std::size_t& used, std::size_t limit, const char* what);
  void on_head_line(std::string_view line);
  void on_status_line(std::string_view line);
  void on_field_line(std::string_view line, Headers& into);
  // The head ended: choose the body framing, or start over after a 1xx.
  bool finish_head();
  void on_chunk_size_line(std::string_view line);
  // The next body bytes of a counted run (Content-Length or one chunk): as many of
  // `remaining_` as `input` holds from `pos`, which must be short of its end.
  ParseResult take_counted_body(std::string_view input, std::size_t pos) noexcept;

  ParserLimits limits_;
  State state_ = State::head;
  bool no_body_request_ = false;
  bool seen_status_ = false;
  bool chunk_crlf_cr_ = false;
  bool line_taken_ = false;  // line_buf_ holds a line already handed out
  std::string line_buf_;
  std::size_t head_bytes_ = 0;
  std::size_t field_lines_ = 0;  // of the head, or of the trailers, folded lines included
  ResponseHead head_;
  Headers trailers_;
  BodyFraming framing_ = BodyFraming::none;
  std::uint64_t remaining_ = 0;  // of the Content-Length body or the current chunk
  std::uint64_t declared_length_ = 0;
  std::uint64_t body_bytes_ = 0;
  int interim_ = 0;
};

}  // namespace sockit::http
