// A small blocking HTTP/1.1 GET client over sockit::Stream: follows redirects, reports each
// response head, and streams the body to a callback instead of buffering it. https:// goes
// through a caller-supplied TLS transport, since TLS lives outside libsockit.
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
#include "sockit/http/headers.hpp"
#include "sockit/http/response_parser.hpp"
#include "sockit/http/url.hpp"
#include "sockit/socket.hpp"
#include "sockit/stream.hpp"

namespace sockit::http {

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
