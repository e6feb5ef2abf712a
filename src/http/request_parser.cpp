// The sans-I/O HTTP/1.x request parser: request line, header fields, then a Content-Length or
// chunked body, each limit answered with the status a server owes the peer.
#include "sockit/http/request_parser.hpp"

#include <algorithm>
#include <limits>
#include <string>
#include <system_error>

#include "field_lines.hpp"
#include "line_reader.hpp"
#include "syntax.hpp"

namespace sockit::http {

using detail::is_digit;
using detail::is_token_char;
using detail::quote;

namespace {

constexpr int bad_request = 400;
constexpr int content_too_large = 413;
constexpr int uri_too_long = 414;
constexpr int fields_too_large = 431;
constexpr int not_implemented = 501;
constexpr int version_not_supported = 505;

[[noreturn]] void refuse(int status, const std::string& detail) {
  throw RequestError(status, detail);
}

std::error_code code_for(int status) noexcept {
  const bool limit =
      status == content_too_large || status == uri_too_long || status == fields_too_large;
  return limit ? make_error_code(errc::frame_too_large)
               : std::make_error_code(std::errc::protocol_error);
}

// Whether any field named `name` lists `token` (comma lists, any case).
bool lists_token(const Headers& headers, std::string_view name, std::string_view token) noexcept {
  for (std::size_t i = 0; i < headers.size(); ++i) {
    const auto field = headers[i];
    if (!iequals(field.name, name)) continue;
    std::string_view rest = field.value;
    for (auto item = detail::next_list_item(rest); !item.empty();
         item = detail::next_list_item(rest)) {
      if (iequals(item, token)) return true;
    }
  }
  return false;
}

// RFC 3986 host [":" port]: a reg-name, an IP literal in brackets, a port.
bool valid_host(std::string_view host) noexcept {
  constexpr std::string_view extra = "-._~!$&'()*+,;=%:[]";
  return std::all_of(host.begin(), host.end(), [&](char c) {
    return detail::is_alpha(c) || is_digit(c) || extra.find(c) != std::string_view::npos;
  });
}

std::string body_too_large(std::uint64_t max) {
  return "request body larger than " + std::to_string(max) + " bytes";
}

}  // namespace

RequestError::RequestError(int status, const std::string& detail)
    : Error(code_for(status), "parse request", {}, detail), status_(status) {}

bool RequestHead::keep_alive() const noexcept {
  if (lists_token(headers, "connection", "close")) return false;
  return version_minor >= 1 || lists_token(headers, "connection", "keep-alive");
}

bool RequestHead::expects_continue() const noexcept {
  return version_minor >= 1 && lists_token(headers, "expect", "100-continue");
}

std::string RequestHead::request_line() const {
  return method + " " + target + " HTTP/1." + std::to_string(version_minor);
}

bool RequestParser::head_started() const noexcept {
  return state_ == State::request_line || state_ == State::fields;
}

bool RequestParser::head_complete() const noexcept {
  return state_ > State::fields;
}

bool RequestParser::done() const noexcept {
  return state_ == State::done;
}

std::optional<std::uint64_t> RequestParser::content_length() const noexcept {
  if (!head_complete() || chunked_) return std::nullopt;
  return declared_length_;
}

void RequestParser::reset() noexcept {
  head_.method.clear();
  head_.target.clear();
  head_.version_minor = 1;
  head_.headers.clear();
  trailers_.clear();
  chunked_ = false;
  body_bytes_ = 0;
  state_ = State::start;
  line_taken_ = false;
  method_checked_ = false;
  chunk_crlf_cr_ = false;
  line_buf_.clear();
  section_bytes_ = 0;
  field_lines_ = 0;
  remaining_ = declared_length_ = 0;
}

bool RequestParser::take_bounded_line(std::string_view input, std::size_t& pos,
                                      std::string_view& line, std::size_t max, int status,
                                      const char* what) {
  detail::LineReader lines(line_buf_, line_taken_);
  std::size_t used = 0;
  // Room for the line's CRLF: the limit is on the line itself.
  const std::size_t room = max > std::numeric_limits<std::size_t>::max() - 2 ? max : max + 2;
  const auto got = lines.take(input, pos, line, used, room);
  bool over = got == detail::LineReader::Status::too_long;
  if (got == detail::LineReader::Status::line) {
    over = line.size() > max;
  } else if (got == detail::LineReader::Status::need_more) {
    // Only a CR may still turn out to be the line's end.
    const std::string_view kept = lines.pending_bytes();
    over = kept.size() > max && !(kept.size() == max + 1 && kept.back() == '\r');
  }
  if (over) refuse(status, std::string(what) + " longer than " + std::to_string(max) + " bytes");
  return got == detail::LineReader::Status::line;
}

bool RequestParser::take_section_line(std::string_view input, std::size_t& pos,
                                      std::string_view& line, const char* what) {
  const auto got = detail::LineReader(line_buf_, line_taken_)
                       .take(input, pos, line, section_bytes_, limits_.max_header_bytes);
  if (got == detail::LineReader::Status::too_long) {
    refuse(fields_too_large, std::string(what) + " larger than " +
                                 std::to_string(limits_.max_header_bytes) + " bytes");
  }
  return got == detail::LineReader::Status::line;
}

void RequestParser::check_method_start(std::string_view input, std::size_t pos) {
  // Only the bytes the request line may hold: a byte past its limit makes the line too long
  // (414) whatever the byte is, so the answer does not depend on how the bytes arrive.
  const std::size_t held = line_taken_ ? 0 : line_buf_.size();
  if (held >= limits_.max_request_line) return;
  const std::size_t end = pos + std::min(input.size() - pos, limits_.max_request_line - held);
  for (std::size_t i = pos; i < end; ++i) {
    const char c = input[i];
    if (c == ' ') {
      method_checked_ = true;
      return;
    }
    if (c == '\r' || c == '\n') {
      // A line without a space: on_request_line says why, once the line ends. The bytes
      // after it are not a method's, in this piece or a later one.
      method_checked_ = true;
      return;
    }
    if (!is_token_char(c)) {
      std::string shown(line_taken_ ? std::string_view{} : std::string_view(line_buf_));
      shown.append(input.substr(pos, 60));
      refuse(bad_request,
             "malformed request line " + quote(shown.substr(0, shown.find_first_of("\r\n"))));
    }
  }
}

void RequestParser::on_request_line(std::string_view line) {
  // method SP request-target SP HTTP-version, single spaces (RFC 9112 section 3).
  const auto first = line.find(' ');
  if (first == std::string_view::npos) refuse(bad_request, "malformed request line " + quote(line));
  const std::string_view method = line.substr(0, first);
  if (method.empty() || !std::all_of(method.begin(), method.end(), is_token_char)) {
    refuse(bad_request, "malformed method " + quote(method));
  }
  const std::string_view rest = line.substr(first + 1);
  const auto second = rest.find(' ');
  if (second == std::string_view::npos) {
    refuse(bad_request, "no HTTP version in request line " + quote(line));
  }
  const std::string_view target = rest.substr(0, second);
  const bool target_ok = !target.empty() && std::all_of(target.begin(), target.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u > 0x20 && u != 0x7f;
  });
  if (!target_ok) refuse(bad_request, "malformed request target " + quote(target));
  const std::string_view version = rest.substr(second + 1);
  if (version.size() != 8 || version.substr(0, 5) != "HTTP/" || !is_digit(version[5]) ||
      version[6] != '.' || !is_digit(version[7])) {
    refuse(bad_request, "malformed HTTP version " + quote(version));
  }
  if (version[5] != '1') {
    refuse(version_not_supported, "unsupported version " + quote(version) + " (expected HTTP/1.x)");
  }
  head_.method.assign(method);
  head_.target.assign(target);
  // A later HTTP/1.x is answered as 1.1, the highest this server speaks.
  head_.version_minor = version[7] == '0' ? 0 : 1;
}

void RequestParser::on_field_line(std::string_view line, Headers& into) {
  const bool trailer = &into == &trailers_;
  if (++field_lines_ > limits_.max_headers) {
    refuse(fields_too_large, "more than " + std::to_string(limits_.max_headers) +
                                 (trailer ? " trailer fields" : " header fields"));
  }
  // RFC 9112 section 5.2: a server refuses obsolete line folding rather than guess.
  if (line.front() == ' ' || line.front() == '\t') {
    refuse(bad_request, "obsolete line folding " + quote(line));
  }
  const auto field = detail::split_field_line(line);
  if (!field.error.empty()) refuse(bad_request, field.error);
  into.add(field.name, field.value);
}

void RequestParser::finish_head() {
  const Headers& headers = head_.headers;
  std::size_t hosts = 0;
  for (std::size_t i = 0; i < headers.size(); ++i) {
    const auto field = headers[i];
    if (!iequals(field.name, "host")) continue;
    ++hosts;
    if (!valid_host(field.value))
      refuse(bad_request, "malformed Host header " + quote(field.value));
  }
  if (hosts > 1) refuse(bad_request, "more than one Host header");
  if (hosts == 0 && head_.version_minor >= 1) {
    refuse(bad_request, "no Host header (HTTP/1.1 requires one)");
  }
  const auto encodings = headers.get_all("transfer-encoding");
  const auto lengths = headers.get_all("content-length");
  if (!encodings.empty()) {
    // Two framings are how requests are smuggled past a proxy that reads the other one.
    if (!lengths.empty()) refuse(bad_request, "both Transfer-Encoding and Content-Length");
    if (head_.version_minor == 0) refuse(bad_request, "Transfer-Encoding in an HTTP/1.0 request");
    const auto coding = detail::check_transfer_coding(encodings, false);
    if (coding.kind == detail::TransferCoding::Kind::unknown) {
      refuse(not_implemented, "unsupported transfer-encoding " + quote(coding.coding));
    }
    if (coding.kind == detail::TransferCoding::Kind::not_chunked_last) {
      refuse(bad_request, "transfer-encoding must end with a single 'chunked'");
    }
    chunked_ = true;
    state_ = State::chunk_size;
    return;
  }
  state_ = State::body_length;
  if (lengths.empty()) return;
  const auto length = detail::parse_content_length(lengths);
  switch (length.kind) {
    case detail::ContentLength::Kind::ok:
      break;
    case detail::ContentLength::Kind::invalid:
      refuse(bad_request, "invalid content-length " + quote(length.bad));
    case detail::ContentLength::Kind::conflicting:
      refuse(bad_request, "conflicting content-length values");
    case detail::ContentLength::Kind::overflow:
      refuse(content_too_large, body_too_large(limits_.max_body));
  }
  if (length.value > limits_.max_body) refuse(content_too_large, body_too_large(limits_.max_body));
  declared_length_ = remaining_ = length.value;
}

RequestParseResult RequestParser::take_counted_body(std::string_view input,
                                                    std::size_t pos) noexcept {
  const std::string_view body = detail::take_counted(input, pos, remaining_);
  body_bytes_ += body.size();
  return {RequestEvent::body, pos + body.size(), body};
}

void RequestParser::on_chunk_size_line(std::string_view line) {
  const auto chunk = detail::parse_chunk_size_line(line);
  if (chunk.kind == detail::ChunkSize::Kind::malformed) {
    refuse(bad_request, "malformed chunk size line " + quote(line));
  }
  if (chunk.kind == detail::ChunkSize::Kind::too_large ||
      chunk.size > limits_.max_body - std::min(body_bytes_, limits_.max_body)) {
    refuse(content_too_large, body_too_large(limits_.max_body));
  }
  remaining_ = chunk.size;
  state_ = chunk.size == 0 ? State::trailers : State::chunk_data;
  // The trailer section, if it comes, is counted afresh.
  section_bytes_ = 0;
  field_lines_ = 0;
}

RequestParseResult RequestParser::parse(std::string_view input) {
  std::size_t pos = 0;
  std::string_view line;
  for (;;) {
    switch (state_) {
      case State::start:
        // Empty lines before a request line are skipped (RFC 9112 section 2.2), within reason.
        while (pos < input.size() && (input[pos] == '\r' || input[pos] == '\n')) {
          ++pos;
          if (++section_bytes_ > limits_.max_request_line) {
            refuse(bad_request, "more than " + std::to_string(limits_.max_request_line) +
                                    " bytes of empty lines before the request line");
          }
        }
        if (pos == input.size()) return {RequestEvent::need_more, pos, {}};
        state_ = State::request_line;
        break;
      case State::request_line:
        if (!method_checked_) check_method_start(input, pos);
        if (!take_bounded_line(input, pos, line, limits_.max_request_line, uri_too_long,
                               "request line")) {
          return {RequestEvent::need_more, pos, {}};
        }
        on_request_line(line);
        state_ = State::fields;
        section_bytes_ = 0;
        field_lines_ = 0;
        break;
      case State::fields:
      case State::trailers: {
        const bool trailer = state_ == State::trailers;
        if (!take_section_line(input, pos, line, trailer ? "trailer section" : "request head")) {
          return {RequestEvent::need_more, pos, {}};
        }
        if (!line.empty()) {
          on_field_line(line, trailer ? trailers_ : head_.headers);
          break;
        }
        if (trailer) {
          state_ = State::done;
          return {RequestEvent::done, pos, {}};
        }
        finish_head();
        return {RequestEvent::head, pos, {}};
      }
      case State::body_length:
        if (remaining_ == 0) {
          state_ = State::done;
          return {RequestEvent::done, pos, {}};
        }
        if (pos == input.size()) return {RequestEvent::need_more, pos, {}};
        return take_counted_body(input, pos);
      case State::chunk_size:
        if (!take_bounded_line(input, pos, line, limits_.max_chunk_line, bad_request,
                               "chunk size line")) {
          return {RequestEvent::need_more, pos, {}};
        }
        on_chunk_size_line(line);
        break;
      case State::chunk_data:
        if (remaining_ != 0) {
          if (pos == input.size()) return {RequestEvent::need_more, pos, {}};
          return take_counted_body(input, pos);
        }
        // The chunk's data is all here: its CRLF follows.
        switch (detail::take_chunk_end(input, pos, chunk_crlf_cr_)) {
          case detail::ChunkEnd::need_more:
            return {RequestEvent::need_more, pos, {}};
          case detail::ChunkEnd::bad:
            refuse(bad_request, "missing CRLF after chunk data");
          case detail::ChunkEnd::done:
            state_ = State::chunk_size;
            break;
        }
        break;
      case State::done:
        return {RequestEvent::done, pos, {}};
    }
  }
}

}  // namespace sockit::http
