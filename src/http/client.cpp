// The blocking GET client: one connection per request, redirects followed on request.
#include "sockit/http/client.hpp"

#include <algorithm>
#include <chrono>
#include <span>
#include <string>
#include <utility>

#include "sockit/error.hpp"
#include "sockit/tcp.hpp"
#include "syntax.hpp"

namespace sockit::http {

using detail::is_token_char;
using detail::quote;

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
