// A small blocking HTTP/1.1 client over sockit::Stream: any method, a body held or streamed,
// kept-alive connections reused per origin, redirects followed safely; each response head is
// reported and the body streamed to a callback instead of buffered. https:// goes through a
// caller-supplied TLS transport, since TLS lives outside libsockit.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
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
  // As in RequestOptions: https:// -> http:// redirects are refused unless set.
  bool allow_insecure_redirect = false;
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

// What a request sends after its head, framed by Content-Length. Either `bytes`, or
// `length` bytes pulled from `source` (which fills the span given and returns how many it
// wrote; fewer than `length` in all is an error). A streamed body can be sent again (a
// 307/308 redirect, a retry) only when `rewind` is set and returns true.
struct RequestBody {
  std::string bytes;
  std::function<std::size_t(std::span<char>)> source;
  std::uint64_t length = 0;
  std::function<bool()> rewind;

  bool streamed() const noexcept { return static_cast<bool>(source); }
  std::uint64_t size() const noexcept { return streamed() ? length : bytes.size(); }
};

// One request of a Client. Fields as in GetOptions.
struct RequestOptions {
  // Any token: GET HEAD POST PUT PATCH DELETE OPTIONS... A HEAD response has no body.
  std::string method = "GET";
  // Extra request headers, as in GetOptions (Host, User-Agent, Accept, Connection are
  // defaults one may replace or remove). Content-Length and Transfer-Encoding are the
  // client's: giving them is an invalid_argument error.
  std::vector<std::pair<std::string, std::string>> headers;
  // Sent with Content-Length when set; POST, PUT and PATCH without one send Content-Length: 0.
  std::optional<RequestBody> body;
  Deadline deadline;
  bool follow_redirects = false;
  int max_redirects = 10;
  // A redirect from https:// to http:// is refused (an error) unless this is set: what was
  // sent privately would be sent in clear.
  bool allow_insecure_redirect = false;
  std::function<void(const Response&)> on_head;
  std::function<void(std::string_view)> on_body;
  // Each request head as it is sent (redirects and retries too), for verbose output.
  std::function<void(std::string_view)> on_request;
  // A connection is about to carry a request: `reused` tells a kept-alive one.
  std::function<void(const Url&, bool reused)> on_connection;
};

struct ClientOptions {
  std::string user_agent = "sockit";
  ParserLimits limits;
  TransportFactory secure_transport;  // as in GetOptions
  // Idle kept-alive connections kept at most (the oldest goes first), and for how long.
  std::size_t max_idle_connections = 8;
  std::chrono::milliseconds idle_timeout{30000};
};

// Requests over a small pool of kept-alive connections, keyed by scheme, host and port: the
// next request to the same origin reuses an idle connection. A connection is not kept when
// either side said Connection: close, the server spoke HTTP/1.0, the body ran to EOF or the
// server sent more than the response. One a server closed while idle is noticed before use;
// when a reused connection fails before any response byte, an idempotent request is sent
// once more on a fresh one. Not thread-safe: one Client per thread.
class Client {
 public:
  explicit Client(ClientOptions options = {});
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;
  Client(Client&&) noexcept;
  Client& operator=(Client&&) noexcept;
  ~Client();

  // Every status is a Response; failures throw Error naming the method and URL, as get().
  Response request(const Url& url, const RequestOptions& options);
  Response request(std::string_view url, const RequestOptions& options);

  // Idle connections now in the pool (for tests).
  std::size_t idle_connections() const noexcept;

 private:
  struct Pool;
  ClientOptions options_;
  std::unique_ptr<Pool> pool_;
};

// True for methods a request may repeat without changing more than once would (RFC 9110
// section 9.2.2): GET HEAD PUT DELETE OPTIONS TRACE.
bool is_idempotent(std::string_view method) noexcept;

// The head a Client sends: method, target, defaults (Host, User-Agent, Accept, and
// Connection when `connection` is not empty), the caller's headers, and Content-Length when
// `body_length` is given. Throws Error(invalid_argument) for a bad method, a header that
// would break the request (CR, LF, NUL, ':' in a name...) or one the client owns.
std::string build_request(std::string_view method, const Url& url,
                          const std::vector<std::pair<std::string, std::string>>& headers,
                          std::string_view user_agent, std::optional<std::uint64_t> body_length,
                          std::string_view connection = {});

// GET `url` with HTTP/1.1 and Connection: close. Every status is a Response (a 404 does not
// throw); failures throw Error naming the URL: "get http://127.0.0.1:8080/x: connection
// closed after 10 of 100 body bytes", "get http://h/: too many redirects (more than 10)".
Response get(std::string_view url, const GetOptions& options = {});
Response get(const Url& url, const GetOptions& options = {});

// The request bytes get() sends (exposed for tests). Throws Error(invalid_argument) for a
// header name or value that would break the request (CR, LF, ':' in a name...).
std::string build_get_request(const Url& url, const GetOptions& options);

}  // namespace sockit::http
