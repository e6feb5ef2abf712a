// Response heads (see response_head.hpp).
#include "response_head.hpp"

#include <chrono>
#include <ctime>

#include "sockit/http/static_files.hpp"

namespace sockit::http::detail {
namespace {

bool safe_field(std::string_view name, std::string_view value) noexcept {
  if (name.empty()) return false;
  for (char c : name) {
    if (c == '\r' || c == '\n' || c == ':' || c == ' ' || c == '\0') return false;
  }
  for (char c : value) {
    if (c == '\r' || c == '\n' || c == '\0') return false;
  }
  return true;
}

}  // namespace

std::string_view current_date() {
  thread_local std::time_t cached_second = -1;
  thread_local std::string cached;
  const auto now = std::chrono::system_clock::now();
  const std::time_t second = std::chrono::system_clock::to_time_t(now);
  if (second != cached_second) {
    cached = format_http_date(std::chrono::system_clock::from_time_t(second));
    cached_second = second;
  }
  return cached;
}

void append_head(std::string& out, const HeadSpec& spec) {
  out += "HTTP/1.1 ";
  out += std::to_string(spec.status);
  out += ' ';
  out += reason_phrase(spec.status);
  out += "\r\nDate: ";
  out += current_date();
  out += "\r\n";
  if (!spec.server_name.empty()) {
    out += "Server: ";
    out += spec.server_name;
    out += "\r\n";
  }
  if (spec.fields != nullptr) {
    for (const auto& [name, value] : *spec.fields) {
      if (!safe_field(name, value)) continue;
      out += name;
      out += ": ";
      out += value;
      out += "\r\n";
    }
  }
  switch (spec.framing) {
    case Framing::length:
      // 1xx and 204 carry no Content-Length (RFC 9110 section 8.6).
      if (spec.status >= 200 && spec.status != 204) {
        out += "Content-Length: ";
        out += std::to_string(spec.length);
        out += "\r\n";
      }
      break;
    case Framing::chunked:
      out += "Transfer-Encoding: chunked\r\n";
      break;
    case Framing::close:
      break;
  }
  if (!spec.keep_alive) {
    out += "Connection: close\r\n";
  } else if (spec.http10_client) {
    out += "Connection: keep-alive\r\n";
  }
  out += "\r\n";
}

}  // namespace sockit::http::detail
