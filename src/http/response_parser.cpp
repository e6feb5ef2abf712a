// The sans-I/O HTTP/1.x response parser: head, then Content-Length, chunked or read-to-EOF
// body, with limits on everything a peer controls.
#include "sockit/http/response_parser.hpp"

#include <algorithm>
#include <array>
#include <string>

#include "field_lines.hpp"
#include "line_reader.hpp"
#include "syntax.hpp"

namespace sockit::http {

using detail::is_digit;
using detail::quote;
using detail::trim_ows;

namespace {

[[noreturn]] void malformed(const std::string& detail) {
  throw ProtocolError(std::make_error_code(std::errc::protocol_error), detail);
}
[[noreturn]] void too_large(const std::string& detail) {
  throw ProtocolError(make_error_code(errc::frame_too_large), detail);
}
[[noreturn]] void closed_early(const std::string& detail) {
  throw ProtocolError(make_error_code(errc::connection_closed), detail);
}

}  // namespace

std::string ResponseHead::status_line() const {
  std::string line = "HTTP/1." + std::to_string(version_minor) + " " + std::to_string(status);
  if (!reason.empty()) line += " " + reason;
  return line;
}

std::optional<std::uint64_t> ResponseParser::content_length() const noexcept {
  if (framing_ != BodyFraming::content_length) return std::nullopt;
  return declared_length_;
}

void ResponseParser::reset() noexcept {
  state_ = State::head;
  no_body_request_ = false;
  seen_status_ = false;
  chunk_crlf_cr_ = false;
  line_taken_ = false;
  line_buf_.clear();
  head_bytes_ = 0;
  head_.version_minor = 1;
  head_.status = 0;
  head_.reason.clear();
  head_.headers.clear();
  trailers_.clear();
  field_lines_ = 0;
  framing_ = BodyFraming::none;
  remaining_ = declared_length_ = body_bytes_ = 0;
  interim_ = 0;
}

bool ResponseParser::take_line(std::string_view input, std::size_t& pos, std::string_view& line,
                               std::size_t& used, std::size_t limit, const char* what) {
  const auto status =
      detail::LineReader(line_buf_, line_taken_).take(input, pos, line, used, limit);
  if (status == detail::LineReader::Status::too_long) {
    too_large(std::string(what) + " larger than " + std::to_string(limit) + " bytes");
  }
  return status == detail::LineReader::Status::line;
}

void ResponseParser::on_status_line(std::string_view line) {
  // HTTP/1.x SP 3DIGIT [SP reason]
  if (line.size() < 12 || line.substr(0, 5) != "HTTP/" || line[8] != ' ') {
    if (line.substr(0, 5) == "HTTP/" && line.find(' ') != std::string_view::npos &&
        line.substr(5, 2) != "1.") {
      malformed("unsupported version " + quote(line.substr(0, line.find(' '))) +
                " (expected HTTP/1.x)");
    }
    malformed("malformed status line " + quote(line));
  }
  if (line.substr(5, 2) != "1." || !is_digit(line[7])) {
    malformed("unsupported version " + quote(line.substr(0, 8)) + " (expected HTTP/1.x)");
  }
  const std::string_view code = line.substr(9, 3);
  if (!is_digit(code[0]) || !is_digit(code[1]) || !is_digit(code[2]) || code[0] == '0' ||
      (line.size() > 12 && line[12] != ' ')) {
    malformed("malformed status line " + quote(line));
  }
  head_.version_minor = line[7] - '0';
  head_.status = (code[0] - '0') * 100 + (code[1] - '0') * 10 + (code[2] - '0');
  head_.reason.assign(line.size() > 13 ? line.substr(13) : std::string_view{});
  seen_status_ = true;
}

void ResponseParser::on_field_line(std::string_view line, Headers& into) {
  // Every field line counts, folded ones too: a peer cannot grow one field without bound.
  if (++field_lines_ > limits_.max_headers) {
    too_large("more than " + std::to_string(limits_.max_headers) + " header fields");
  }
  if (line.front() == ' ' || line.front() == '\t') {
    // Obsolete line folding: RFC 9112 asks a client to replace it with a space. The
    // continuation is checked as any value is.
    if (into.empty()) malformed("header continuation line before any header");
    const std::string_view more = trim_ows(line);
    if (!detail::valid_field_value(more)) {
      malformed("malformed value of header " + quote(into[into.size() - 1].name));
    }
    into.append_to_last(more);
    return;
  }
  const auto field = detail::split_field_line(line);
  if (!field.error.empty()) malformed(field.error);
  into.add(field.name, field.value);
}

void ResponseParser::on_head_line(std::string_view line) {
  if (!seen_status_) {
    on_status_line(line);
  } else {
    on_field_line(line, head_.headers);
  }
}

bool ResponseParser::finish_head() {
  const int status = head_.status;
  if (status >= 100 && status < 200 && status != 101) {
    // 100 Continue, 103 Early Hints...: the real response follows.
    if (++interim_ > limits_.max_interim_responses) {
      too_large("more than " + std::to_string(limits_.max_interim_responses) +
                " interim (1xx) responses");
    }
    head_.headers.clear();
    field_lines_ = 0;
    head_.reason.clear();
    seen_status_ = false;
    head_bytes_ = 0;
    return false;
  }
  remaining_ = 0;
  state_ = State::body_length;
  if (no_body_request_ || status < 200 || status == 204 || status == 304) {
    framing_ = BodyFraming::none;
    return true;
  }
  const auto encodings = head_.headers.get_all("transfer-encoding");
  if (!encodings.empty()) {
    // Content-Length is ignored beside Transfer-Encoding (RFC 9112 section 6.3).
    const auto coding = detail::check_transfer_coding(encodings, true);
    if (coding.kind == detail::TransferCoding::Kind::unknown) {
      malformed("unsupported transfer-encoding " + quote(coding.coding));
    }
    if (coding.kind == detail::TransferCoding::Kind::not_chunked_last) {
      malformed("transfer-encoding must end with a single 'chunked'");
    }
    framing_ = BodyFraming::chunked;
    state_ = State::chunk_size;
    return true;
  }
  const auto lengths = head_.headers.get_all("content-length");
  if (!lengths.empty()) {
    const auto length = detail::parse_content_length(lengths);
    if (length.kind == detail::ContentLength::Kind::conflicting) {
      malformed("conflicting content-length values");
    }
    if (length.kind != detail::ContentLength::Kind::ok) {
      malformed("invalid content-length " + quote(length.bad));
    }
    framing_ = BodyFraming::content_length;
    declared_length_ = remaining_ = length.value;
    return true;
  }
  framing_ = BodyFraming::until_eof;
  state_ = State::body_eof;
  return true;
}

void ResponseParser::on_chunk_size_line(std::string_view line) {
  const auto chunk = detail::parse_chunk_size_line(line);
  if (chunk.kind == detail::ChunkSize::Kind::malformed) {
    malformed("malformed chunk size line " + quote(line));
  }
  if (chunk.kind == detail::ChunkSize::Kind::too_large) {
    too_large("chunk size " + quote(chunk.text) + " too large");
  }
  if (chunk.size == 0) {
    state_ = State::trailers;
    field_lines_ = 0;
    head_bytes_ = 0;
  } else {
    remaining_ = chunk.size;
    state_ = State::chunk_data;
  }
}

ParseResult ResponseParser::take_counted_body(std::string_view input, std::size_t pos) noexcept {
  const std::string_view body = detail::take_counted(input, pos, remaining_);
  body_bytes_ += body.size();
  return {ParseEvent::body, pos + body.size(), body};
}

ParseResult ResponseParser::parse(std::string_view input) {
  std::size_t pos = 0;
  std::string_view line;
  for (;;) {
    switch (state_) {
      case State::head: {
        if (!seen_status_ && (line_taken_ || line_buf_.empty())) {
          // Empty lines before a status line are tolerated (RFC 9112 section 2.2).
          while (pos < input.size() && (input[pos] == '\r' || input[pos] == '\n')) {
            ++pos;
            if (++head_bytes_ > limits_.max_header_bytes) {
              too_large("response head larger than " + std::to_string(limits_.max_header_bytes) +
                        " bytes");
            }
          }
          if (pos == input.size()) return {ParseEvent::need_more, pos, {}};
        }
        if (!seen_status_) {
          // Fail fast on a peer that is not speaking HTTP, without waiting for a newline.
          const std::string_view start = line_taken_ ? std::string_view{} : line_buf_;
          const std::string_view more = input.substr(pos, 5);
          std::array<char, 5> prefix{};
          std::size_t n = 0;
          for (std::size_t i = 0; i < start.size() && n < 5; ++i)
            prefix[n++] = start[i];
          for (std::size_t i = 0; i < more.size() && n < 5; ++i)
            prefix[n++] = more[i];
          if (std::string_view("HTTP/").substr(0, n) != std::string_view(prefix.data(), n)) {
            std::string shown(start);
            shown.append(input.substr(pos, 60));
            const auto newline = shown.find_first_of("\r\n");
            malformed("malformed status line " + quote(shown.substr(0, newline)));
          }
        }
        if (!take_line(input, pos, line, head_bytes_, limits_.max_header_bytes, "response head")) {
          return {ParseEvent::need_more, pos, {}};
        }
        if (!line.empty()) {
          on_head_line(line);
        } else if (seen_status_ && finish_head()) {
          return {ParseEvent::head, pos, {}};
        }
        break;
      }
      case State::body_length: {
        if (remaining_ == 0) {
          state_ = State::done;
          return {ParseEvent::done, pos, {}};
        }
        if (pos == input.size()) return {ParseEvent::need_more, pos, {}};
        return take_counted_body(input, pos);
      }
      case State::body_eof: {
        if (pos == input.size()) return {ParseEvent::need_more, pos, {}};
        body_bytes_ += input.size() - pos;
        return {ParseEvent::body, input.size(), input.substr(pos)};
      }
      case State::chunk_size: {
        std::size_t used = 0;
        if (!take_line(input, pos, line, used, limits_.max_chunk_line, "chunk size line")) {
          return {ParseEvent::need_more, pos, {}};
        }
        on_chunk_size_line(line);
        break;
      }
      case State::chunk_data: {
        if (remaining_ == 0) {
          state_ = State::chunk_data_end;
          break;
        }
        if (pos == input.size()) return {ParseEvent::need_more, pos, {}};
        return take_counted_body(input, pos);
      }
      case State::chunk_data_end:
        switch (detail::take_chunk_end(input, pos, chunk_crlf_cr_)) {
          case detail::ChunkEnd::need_more:
            return {ParseEvent::need_more, pos, {}};
          case detail::ChunkEnd::bad:
            malformed("missing CRLF after chunk data (the chunk is longer than its size says)");
          case detail::ChunkEnd::done:
            state_ = State::chunk_size;
            break;
        }
        break;
      case State::trailers: {
        if (!take_line(input, pos, line, head_bytes_, limits_.max_header_bytes, "trailers")) {
          return {ParseEvent::need_more, pos, {}};
        }
        if (line.empty()) {
          state_ = State::done;
          return {ParseEvent::done, pos, {}};
        }
        on_field_line(line, trailers_);
        break;
      }
      case State::done:
        return {ParseEvent::done, pos, {}};
    }
  }
}

void ResponseParser::finish() {
  switch (state_) {
    case State::head: {
      const bool nothing =
          !seen_status_ && interim_ == 0 && head_bytes_ == 0 && (line_taken_ || line_buf_.empty());
      closed_early(nothing ? "connection closed before any response"
                           : "connection closed in the middle of the response head");
    }
    case State::body_length:
      if (remaining_ != 0) {
        closed_early("connection closed after " + std::to_string(body_bytes_) + " of " +
                     std::to_string(declared_length_) + " body bytes");
      }
      return;
    case State::body_eof:
      state_ = State::done;
      return;
    case State::chunk_size:
    case State::chunk_data:
    case State::chunk_data_end:
    case State::trailers:
      closed_early("connection closed in the middle of a chunked body (after " +
                   std::to_string(body_bytes_) + " body bytes)");
    case State::done:
      return;
  }
}

}  // namespace sockit::http
