// Serializing a response head: the status line, Date (formatted once a second per
// thread), Server, the answer's own fields, the body's framing and Connection.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sockit::http::detail {

enum class Framing {
  length,   // Content-Length: N
  chunked,  // Transfer-Encoding: chunked (HTTP/1.1 streams of unknown length)
  close,    // no length: the body ends with the connection (HTTP/1.0 streams)
};

struct HeadSpec {
  int status = 200;
  const std::vector<std::pair<std::string, std::string>>* fields = nullptr;
  Framing framing = Framing::length;
  std::uint64_t length = 0;
  bool keep_alive = true;
  bool http10_client = false;    // say "Connection: keep-alive" to keep an HTTP/1.0 client
  std::string_view server_name;  // empty: no Server field
};

// Appends the head (with its blank line) to `out`. Field lines from the answer whose value
// or name would break the head (CR, LF) are dropped: a handler cannot split a response.
void append_head(std::string& out, const HeadSpec& spec);

// "Sun, 06 Nov 1994 08:49:37 GMT" for now, cached for the current second on this thread.
std::string_view current_date();

}  // namespace sockit::http::detail
