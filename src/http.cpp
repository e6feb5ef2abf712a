// HTTP/1.1 client: URL parsing, the sans-I/O response parser and the blocking GET client.
#include "sockit/http.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <span>
#include <string>
#include <utility>

#include "sockit/address.hpp"
#include "sockit/tcp.hpp"

namespace sockit::http {
namespace {

constexpr std::uint16_t default_port(std::string_view scheme) noexcept {
  return scheme == "https" ? 443 : 80;
}

char lower(char c) noexcept {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
}
bool is_alpha(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
bool is_digit(char c) noexcept {
  return c >= '0' && c <= '9';
}

// RFC 9110 tchar: what a header name may contain.
bool is_token_char(char c) noexcept {
  if (is_alpha(c) || is_digit(c)) return true;
  constexpr std::string_view extra = "!#$%&'*+-.^_`|~";
  return extra.find(c) != std::string_view::npos;
}

std::string_view trim_ows(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
    s.remove_suffix(1);
  return s;
}

// Surrounding whitespace of a URL typed or pasted, line ends included.
std::string_view trim_space(std::string_view s) noexcept {
  constexpr std::string_view space = " \t\r\n\f\v";
  const auto first = s.find_first_not_of(space);
  if (first == std::string_view::npos) return {};
  return s.substr(first, s.find_last_not_of(space) - first + 1);
}

// A short, printable rendering of bytes a peer sent, for error messages.
std::string quote(std::string_view bytes, std::size_t max = 60) {
  std::string out = "'";
  constexpr char hex[] = "0123456789abcdef";
  for (std::size_t i = 0; i < bytes.size() && i < max; ++i) {
    const auto c = static_cast<unsigned char>(bytes[i]);
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      out += static_cast<char>(c);
    } else {
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  if (bytes.size() > max) out += "...";
  out += '\'';
  return out;
}

[[noreturn]] void bad_url(std::string_view text, const std::string& detail) {
  throw Error(make_error_code(errc::invalid_argument), "parse url", quote(text, 200), detail);
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

// Percent-encodes what may not appear in a request line; existing escapes stay as written.
std::string encode_target(std::string_view raw) {
  constexpr std::string_view unsafe = "\"<>\\^`{|}";
  constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(raw.size());
  for (char ch : raw) {
    const auto c = static_cast<unsigned char>(ch);
    if (c <= 0x20 || c >= 0x7f || unsafe.find(ch) != std::string_view::npos) {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    } else {
      out += ch;
    }
  }
  return out;
}

// A valid scheme name ends at the first ':' (RFC 3986: ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )).
std::optional<std::string_view> scheme_of(std::string_view text) noexcept {
  const auto colon = text.find(':');
  if (colon == std::string_view::npos || colon == 0 || !is_alpha(text[0])) return std::nullopt;
  for (std::size_t i = 1; i < colon; ++i) {
    const char c = text[i];
    if (!is_alpha(c) && !is_digit(c) && c != '+' && c != '-' && c != '.') return std::nullopt;
  }
  return text.substr(0, colon);
}

// RFC 3986 section 5.2.4, on a path that starts with '/'.
std::string remove_dot_segments(std::string_view path) {
  std::vector<std::string_view> out;
  std::string_view rest = path.substr(1);
  for (;;) {
    const auto slash = rest.find('/');
    const std::string_view segment = rest.substr(0, slash);
    const bool last = slash == std::string_view::npos;
    if (segment == "." || segment == "..") {
      if (segment == ".." && !out.empty()) out.pop_back();
      if (last) out.emplace_back();  // "/a/.." keeps its trailing slash: "/"
    } else {
      out.push_back(segment);
    }
    if (last) break;
    rest.remove_prefix(slash + 1);
  }
  std::string result;
  for (const auto segment : out) {
    result += '/';
    result += segment;
  }
  return result.empty() ? "/" : result;
}

void check_host(std::string_view text, std::string_view host) {
  if (host.empty()) bad_url(text, "missing host");
  if (std::count(host.begin(), host.end(), ':') > 0) {
    bad_url(text, "IPv6 addresses must be in brackets, as in http://[::1]:8080/");
  }
  constexpr std::string_view allowed = "-._~!$&'()*+,;=%";
  for (char c : host) {
    if (!is_alpha(c) && !is_digit(c) && allowed.find(c) == std::string_view::npos) {
      bad_url(text, "invalid character " + quote(std::string_view(&c, 1)) + " in host");
    }
  }
}

std::uint16_t parse_url_port(std::string_view text, std::string_view digits,
                             std::string_view scheme) {
  if (digits.empty()) return default_port(scheme);  // "http://h:/" means the default
  std::uint32_t value = 0;
  for (char c : digits) {
    if (!is_digit(c)) bad_url(text, "port " + quote(digits) + " is not a number");
    if (value <= 65535) value = value * 10 + static_cast<std::uint32_t>(c - '0');
  }
  if (value == 0 || value > 65535) {
    bad_url(text, "port " + std::string(digits) + " out of range (1-65535)");
  }
  return static_cast<std::uint16_t>(value);
}

}  // namespace

// ---- URLs ----

std::string Url::authority() const {
  std::string out;
  if (ipv6_literal) {
    out += '[';
    for (char c : host)
      out += c == '%' ? std::string("%25") : std::string(1, c);  // zone id
    out += ']';
  } else {
    out += host;
  }
  if (port != default_port(scheme)) out += ':' + std::to_string(port);
  return out;
}

std::string Url::to_string() const {
  return scheme + "://" + authority() + target;
}

Url parse_url(std::string_view text) {
  text = trim_space(text);
  if (text.empty()) bad_url(text, "empty URL");
  const auto scheme = scheme_of(text);
  if (!scheme) bad_url(text, "missing scheme (expected http:// or https://)");
  Url url;
  for (char c : *scheme)
    url.scheme += lower(c);
  std::string_view rest = text.substr(scheme->size() + 1);
  if (url.scheme != "http" && url.scheme != "https") {
    // "localhost:8080/x" looks like a scheme named "localhost".
    if (!rest.empty() && is_digit(rest[0])) {
      bad_url(text, "missing scheme (expected http:// or https://)");
    }
    bad_url(text, "unsupported scheme " + quote(*scheme) + " (expected http or https)");
  }
  if (rest.substr(0, 2) != "//") bad_url(text, "expected '//' after '" + url.scheme + ":'");
  rest.remove_prefix(2);

  const auto authority_end = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, authority_end);
  std::string_view tail =
      authority_end == std::string_view::npos ? std::string_view{} : rest.substr(authority_end);
  if (authority.find('@') != std::string_view::npos) {
    bad_url(text,
            "credentials in URLs are not supported (they would be sent in clear; use "
            "--header 'Authorization: ...')");
  }

  std::string_view port_text;
  bool has_port = false;
  if (!authority.empty() && authority.front() == '[') {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) bad_url(text, "missing ']' after IPv6 address");
    std::string literal(authority.substr(1, close - 1));
    if (const auto zone = literal.find("%25"); zone != std::string::npos) {
      literal.erase(zone + 1, 2);  // RFC 6874: "%25" introduces the zone id
    }
    if (literal.empty() || !Address::try_parse(literal) ||
        !Address::try_parse(literal)->is_ipv6()) {
      bad_url(text, "invalid IPv6 address " + quote(authority.substr(0, close + 1)));
    }
    url.host = std::move(literal);
    url.ipv6_literal = true;
    const std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') bad_url(text, "unexpected " + quote(after) + " after ']'");
      port_text = after.substr(1);
      has_port = true;
    }
  } else {
    const auto colon = authority.rfind(':');
    std::string_view host = authority;
    if (colon != std::string_view::npos && authority.find(':') == colon) {
      host = authority.substr(0, colon);
      port_text = authority.substr(colon + 1);
      has_port = true;
    }
    check_host(text, host);
    url.host = std::string(host);
  }
  url.port = has_port ? parse_url_port(text, port_text, url.scheme) : default_port(url.scheme);

  tail = tail.substr(0, tail.find('#'));
  if (tail.empty() || tail.front() == '?') {
    url.target = "/" + encode_target(tail);
  } else {
    url.target = encode_target(tail);
  }
  return url;
}

Url resolve_reference(const Url& base, std::string_view reference) {
  reference = trim_space(reference);
  reference = reference.substr(0, reference.find('#'));
  // An absolute URL, or something like "ftp:x" that parse_url explains the problem with.
  if (scheme_of(reference)) return parse_url(reference);
  if (reference.substr(0, 2) == "//") return parse_url(base.scheme + ":" + std::string(reference));

  Url url = base;
  if (reference.empty()) return url;
  const std::string_view base_target = base.target;
  const std::string_view base_path = base_target.substr(0, base_target.find('?'));
  const auto query_at = reference.find('?');
  const std::string_view ref_path = reference.substr(0, query_at);
  const std::string_view ref_query =
      query_at == std::string_view::npos ? std::string_view{} : reference.substr(query_at);

  std::string path;
  if (ref_path.empty()) {
    path = std::string(base_path);
  } else if (ref_path.front() == '/') {
    path = remove_dot_segments(ref_path);
  } else {
    std::string merged(base_path.substr(0, base_path.rfind('/') + 1));
    merged += ref_path;
    path = remove_dot_segments(merged);
  }
  url.target = encode_target(path) + encode_target(ref_query);
  return url;
}

// ---- Headers ----

bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

void Headers::add(std::string_view name, std::string_view value) {
  const Slot slot{text_.size(), name.size(), text_.size() + name.size(), value.size()};
  text_.append(name);
  text_.append(value);
  fields_.push_back(slot);
}

void Headers::append_to_last(std::string_view more) {
  if (fields_.empty()) return;
  // The last value always ends the buffer, so it can grow in place.
  text_ += ' ';
  text_.append(more);
  fields_.back().value_len += 1 + more.size();
}

void Headers::clear() noexcept {
  text_.clear();
  fields_.clear();
}

HeaderField Headers::operator[](std::size_t i) const noexcept {
  const Slot& s = fields_[i];
  const std::string_view all = text_;
  return {all.substr(s.name_at, s.name_len), all.substr(s.value_at, s.value_len)};
}

std::optional<std::string_view> Headers::get(std::string_view name) const noexcept {
  for (std::size_t i = 0; i < fields_.size(); ++i) {
    const auto field = (*this)[i];
    if (iequals(field.name, name)) return field.value;
  }
  return std::nullopt;
}

std::vector<std::string_view> Headers::get_all(std::string_view name) const {
  std::vector<std::string_view> values;
  for (std::size_t i = 0; i < fields_.size(); ++i) {
    const auto field = (*this)[i];
    if (iequals(field.name, name)) values.push_back(field.value);
  }
  return values;
}

// ---- Response parser ----

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
  if (line.front() == ' ' || line.front() == '\t') {
    // Obsolete line folding: RFC 9112 lets a client replace it with a space.
    if (into.empty()) malformed("header continuation line before any header");
    into.append_to_last(trim_ows(line));
    return;
  }
  const auto colon = line.find(':');
  if (colon == std::string_view::npos) malformed("malformed header line " + quote(line));
  const std::string_view name = line.substr(0, colon);
  if (name.empty() || !std::all_of(name.begin(), name.end(), is_token_char)) {
    malformed("malformed header name " + quote(name));
  }
  const std::string_view value = trim_ows(line.substr(colon + 1));
  for (char c : value) {
    if (c == '\0' || c == '\r') malformed("malformed value of header " + quote(name));
  }
  if (into.size() >= limits_.max_headers) {
    too_large("more than " + std::to_string(limits_.max_headers) + " header fields");
  }
  into.add(name, value);
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
    head_bytes_ = 0;
  } else {
    remaining_ = n;
    state_ = State::chunk_data;
  }
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
        const std::size_t before = pos;
        if (!take_line(input, pos, line, limits_.max_header_bytes - head_bytes_,
                       limits_.max_header_bytes, "response head")) {
          return {ParseEvent::need_more, pos, {}};
        }
        head_bytes_ += pos - before;
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
        const std::size_t n =
            static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, input.size() - pos));
        remaining_ -= n;
        body_bytes_ += n;
        return {ParseEvent::body, pos + n, input.substr(pos, n)};
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
        const std::size_t n =
            static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, input.size() - pos));
        remaining_ -= n;
        body_bytes_ += n;
        return {ParseEvent::body, pos + n, input.substr(pos, n)};
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
        const std::size_t before = pos;
        if (!take_line(input, pos, line, limits_.max_header_bytes - head_bytes_,
                       limits_.max_header_bytes, "trailers")) {
          return {ParseEvent::need_more, pos, {}};
        }
        head_bytes_ += pos - before;
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

// ---- Blocking client ----

bool Response::is_redirect() const noexcept {
  const int s = head.status;
  return (s == 301 || s == 302 || s == 303 || s == 307 || s == 308) &&
         head.headers.contains("location");
}

namespace {

void check_request_header(std::string_view name, std::string_view value) {
  if (name.empty() || !std::all_of(name.begin(), name.end(), is_token_char)) {
    throw Error(make_error_code(errc::invalid_argument), "request header", quote(name),
                "invalid header name");
  }
  for (char c : value) {
    if (c == '\r' || c == '\n' || c == '\0') {
      throw Error(make_error_code(errc::invalid_argument), "request header", quote(name),
                  "value contains a line break or NUL");
    }
  }
}

}  // namespace

std::string build_get_request(const Url& url, const GetOptions& options) {
  for (const auto& [name, value] : options.headers)
    check_request_header(name, value);
  const std::pair<std::string_view, std::string> defaults[] = {
      {"Host", url.authority()},
      {"User-Agent", options.user_agent},
      {"Accept", "*/*"},
      {"Connection", "close"},
  };
  std::string request = "GET " + url.target + " HTTP/1.1\r\n";
  auto add = [&request](std::string_view name, std::string_view value) {
    if (value.empty()) return;  // an empty value removes the header, as with curl -H 'X:'
    request.append(name);
    request += ": ";
    request.append(value);
    request += "\r\n";
  };
  auto is_default = [&defaults](std::string_view name) {
    return std::any_of(std::begin(defaults), std::end(defaults),
                       [name](const auto& d) { return iequals(d.first, name); });
  };
  for (const auto& [name, value] : defaults) {
    std::string_view chosen = value;
    for (const auto& [extra_name, extra_value] : options.headers) {
      if (iequals(extra_name, name)) chosen = extra_value;  // the last one given wins
    }
    add(name, chosen);
  }
  for (const auto& [name, value] : options.headers) {
    if (!is_default(name)) add(name, value);
  }
  request += "\r\n";
  return request;
}

namespace {

// One request on one connection. Returns the URL to go to next when this response is a
// redirect that is to be followed.
std::optional<Url> exchange(const Url& url, const GetOptions& options, Response& response) {
  ConnectOptions connect_options;
  if (const auto left = options.deadline.remaining()) {
    connect_options.timeout = std::max(*left, std::chrono::milliseconds{1});
  }
  TcpSocket socket = TcpSocket::connect(url.host, url.port, connect_options);
  socket.set_no_delay();
  std::unique_ptr<Transport> transport;
  if (url.is_https()) {
    transport = options.secure_transport(socket, url, options.deadline);
  } else {
    transport = std::make_unique<SocketTransport>(socket);
  }
  Stream stream(*transport);
  stream.write_all(build_get_request(url, options), options.deadline);

  ResponseParser parser(options.limits);
  std::vector<char> buffer(default_stream_buffer);
  std::string_view pending;
  for (;;) {
    const ParseResult r = parser.parse(pending);
    pending.remove_prefix(r.consumed);
    switch (r.event) {
      case ParseEvent::need_more: {
        const std::size_t n = stream.read_some(std::span<char>(buffer), options.deadline);
        if (n == 0) {
          parser.finish();
          pending = {};
        } else {
          pending = std::string_view(buffer.data(), n);
        }
        break;
      }
      case ParseEvent::head: {
        response.head = parser.head();
        response.framing = parser.framing();
        response.content_length = parser.content_length();
        std::optional<Url> next;
        if (options.follow_redirects && response.is_redirect()) {
          next = resolve_reference(url, *response.head.headers.get("location"));
        }
        if (options.on_head) options.on_head(response);
        // The redirect's own body is of no interest: closing the connection skips it.
        if (next) return next;
        break;
      }
      case ParseEvent::body:
        response.body_bytes += r.body.size();
        if (options.on_body) options.on_body(r.body);
        break;
      case ParseEvent::done:
        response.trailers = parser.trailers();
        response.extra_bytes = pending.size() + stream.buffered();
        return std::nullopt;
    }
  }
}

}  // namespace

Response get(std::string_view url, const GetOptions& options) {
  return get(parse_url(url), options);
}

Response get(const Url& start, const GetOptions& options) {
  Url url = start;
  for (int redirects = 0;; ++redirects) {
    if (url.is_https() && !options.secure_transport) {
      throw Error(std::make_error_code(std::errc::protocol_not_supported), "get", url.to_string(),
                  "https is not available in this build");
    }
    Response response;
    response.url = url;
    response.redirects = redirects;
    std::optional<Url> next;
    try {
      next = exchange(url, options, response);
    } catch (const ProtocolError& e) {
      throw Error(e.code(), "get", url.to_string(), e.detail());
    } catch (const Error& e) {
      throw Error(e.code(), "get", url.to_string(), e.what());
    }
    if (!next) return response;
    if (redirects >= options.max_redirects) {
      throw Error(std::make_error_code(std::errc::too_many_symbolic_link_levels), "get",
                  start.to_string(),
                  "too many redirects (more than " + std::to_string(options.max_redirects) +
                      "), the last to " + next->to_string());
    }
    url = std::move(*next);
  }
}

}  // namespace sockit::http
