// The sans-I/O HTTP/1.x response parser: head, then Content-Length, chunked or read-to-EOF
// body, with limits on everything a peer controls.
#include "sockit/http/response_parser.hpp"

#include <algorithm>
#include <array>
#include <string>

#include "syntax.hpp"

namespace sockit::http {

using detail::is_digit;
using detail::is_token_char;
using detail::lower;
using detail::quote;

namespace {

std::string_view trim_ows(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
    s.remove_suffix(1);
  return s;
}

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
                               std::size_t budget, std::size_t limit, const char* what) {
  if (line_taken_) {
    line_buf_.clear();
    line_taken_ = false;
  }
  const std::string_view rest = input.substr(pos);
  const auto newline = rest.find('\n');
  const std::size_t have =
      line_buf_.size() + (newline == std::string_view::npos ? rest.size() : newline + 1);
  if (have > budget)
    too_large(std::string(what) + " larger than " + std::to_string(limit) + " bytes");
  if (newline == std::string_view::npos) {
    line_buf_.append(rest);
    pos = input.size();
    return false;
  }
  if (line_buf_.empty()) {
    line = rest.substr(0, newline);  // the common case: the whole line arrived at once
  } else {
    line_buf_.append(rest.substr(0, newline));
    line = line_buf_;
  }
  line_taken_ = true;
  pos += newline + 1;
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return true;
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
    check_value(into[into.size() - 1].name, more);
    into.append_to_last(more);
    return;
  }
  const auto colon = line.find(':');
  if (colon == std::string_view::npos) malformed("malformed header line " + quote(line));
  const std::string_view name = line.substr(0, colon);
  if (name.empty() || !std::all_of(name.begin(), name.end(), is_token_char)) {
    malformed("malformed header name " + quote(name));
  }
  const std::string_view value = trim_ows(line.substr(colon + 1));
  check_value(name, value);
  into.add(name, value);
}

void ResponseParser::check_value(std::string_view name, std::string_view value) {
  for (char c : value) {
    if (c == '\0' || c == '\r') malformed("malformed value of header " + quote(name));
  }
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
    int chunked = 0;
    bool chunked_last = false;
    for (const auto value : encodings) {
      std::string_view rest = value;
      while (!rest.empty() || chunked_last) {
        const auto comma = rest.find(',');
        const auto coding = trim_ows(rest.substr(0, comma));
        rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
        if (coding.empty()) {
          if (rest.empty()) break;
          continue;
        }
        chunked_last = iequals(coding, "chunked");
        if (chunked_last) {
          ++chunked;
        } else if (!iequals(coding, "identity")) {
          malformed("unsupported transfer-encoding " + quote(coding));
        }
        if (rest.empty()) break;
      }
    }
    if (chunked != 1 || !chunked_last) {
      malformed("transfer-encoding must end with a single 'chunked'");
    }
    framing_ = BodyFraming::chunked;
    state_ = State::chunk_size;
    return true;
  }
  const auto lengths = head_.headers.get_all("content-length");
  if (!lengths.empty()) {
    std::optional<std::uint64_t> length;
    for (const auto value : lengths) {
      std::string_view rest = value;
      for (;;) {
        const auto comma = rest.find(',');
        const auto item = trim_ows(rest.substr(0, comma));
        std::uint64_t n = 0;
        if (item.empty() || item.size() > 18 || !std::all_of(item.begin(), item.end(), is_digit)) {
          malformed("invalid content-length " + quote(value));
        }
        for (char c : item)
          n = n * 10 + static_cast<std::uint64_t>(c - '0');
        if (length && *length != n) malformed("conflicting content-length values");
        length = n;
        if (comma == std::string_view::npos) break;
        rest = rest.substr(comma + 1);
      }
    }
    framing_ = BodyFraming::content_length;
    declared_length_ = remaining_ = *length;
    return true;
  }
  framing_ = BodyFraming::until_eof;
  state_ = State::body_eof;
  return true;
}

void ResponseParser::on_chunk_size_line(std::string_view line) {
  const std::string_view size = trim_ows(line.substr(0, line.find(';')));  // ";ext" ignored
  std::string_view digits = size;
  while (digits.size() > 1 && digits.front() == '0')
    digits.remove_prefix(1);
  std::uint64_t n = 0;
  for (char c : digits) {
    int v = -1;
    if (is_digit(c)) {
      v = c - '0';
    } else if (lower(c) >= 'a' && lower(c) <= 'f') {
      v = lower(c) - 'a' + 10;
    }
    if (v < 0) malformed("malformed chunk size line " + quote(line));
    n = (n << 4) | static_cast<std::uint64_t>(v);
  }
  if (size.empty()) malformed("malformed chunk size line " + quote(line));
  // 15 hex digits is 2^60 bytes: anything longer is an attack on our arithmetic.
  if (digits.size() > 15) too_large("chunk size " + quote(size) + " too large");
  if (n == 0) {
    state_ = State::trailers;
    field_lines_ = 0;
    head_bytes_ = 0;
  } else {
    remaining_ = n;
    state_ = State::chunk_data;
  }
}

ParseResult ResponseParser::take_counted_body(std::string_view input, std::size_t pos) noexcept {
  const std::size_t n =
      static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, input.size() - pos));
  remaining_ -= n;
  body_bytes_ += n;
  return {ParseEvent::body, pos + n, input.substr(pos, n)};
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
        // A line that came in pieces counts whole: its earlier pieces wait in line_buf_.
        const std::size_t earlier = pending_line_bytes();
        const std::size_t before = pos;
        if (!take_line(input, pos, line, limits_.max_header_bytes - head_bytes_,
                       limits_.max_header_bytes, "response head")) {
          return {ParseEvent::need_more, pos, {}};
        }
        head_bytes_ += earlier + (pos - before);
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
      case State::chunk_size:
        if (!take_line(input, pos, line, limits_.max_chunk_line, limits_.max_chunk_line,
                       "chunk size line")) {
          return {ParseEvent::need_more, pos, {}};
        }
        on_chunk_size_line(line);
        break;
      case State::chunk_data: {
        if (remaining_ == 0) {
          state_ = State::chunk_data_end;
          break;
        }
        if (pos == input.size()) return {ParseEvent::need_more, pos, {}};
        return take_counted_body(input, pos);
      }
      case State::chunk_data_end: {
        if (pos == input.size()) return {ParseEvent::need_more, pos, {}};
        const char c = input[pos];
        if (c == '\r' && !chunk_crlf_cr_) {
          chunk_crlf_cr_ = true;
          ++pos;
        } else if (c == '\n') {
          chunk_crlf_cr_ = false;
          ++pos;
          state_ = State::chunk_size;
        } else {
          malformed("missing CRLF after chunk data (the chunk is longer than its size says)");
        }
        break;
      }
      case State::trailers: {
        const std::size_t earlier = pending_line_bytes();
        const std::size_t before = pos;
        if (!take_line(input, pos, line, limits_.max_header_bytes - head_bytes_,
                       limits_.max_header_bytes, "trailers")) {
          return {ParseEvent::need_more, pos, {}};
        }
        head_bytes_ += earlier + (pos - before);
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
