// The blocking client: one request at a time over a pool of kept-alive connections, retried
// once on a fresh connection when a reused one turns out dead, redirects followed on request.
#include "sockit/http/client.hpp"

#include <poll.h>

#include <algorithm>
#include <chrono>
#include <span>
#include <string>
#include <utility>

#include "redirect.hpp"
#include "sockit/error.hpp"
#include "sockit/tcp.hpp"

namespace sockit::http {

bool Response::is_redirect() const noexcept {
  const int s = head.status;
  return (s == 301 || s == 302 || s == 303 || s == 307 || s == 308) &&
         head.headers.contains("location");
}

namespace {

using Clock = std::chrono::steady_clock;

// A followed redirect's body is read (not shown) so its connection can serve the next
// request; past this much it is cheaper to close the connection.
constexpr std::uint64_t max_drained_body = 64 * 1024;

struct Connection {
  std::string key;  // "http://host:port"
  // Declared first so it is destroyed last: the transport and stream refer to it.
  std::unique_ptr<TcpSocket> socket;
  std::unique_ptr<Transport> transport;
  std::unique_ptr<Stream> stream;
  Clock::time_point idle_since{};
  bool reused = false;
};

std::string origin_key(const Url& url) {
  return url.scheme + "://" + url.authority() + ":" + std::to_string(url.port);
}

// True when `value` (a comma-separated header) lists `token`, any case.
bool has_token(std::string_view value, std::string_view token) {
  while (!value.empty()) {
    const auto comma = value.find(',');
    std::string_view item = value.substr(0, comma);
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t'))
      item.remove_prefix(1);
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t'))
      item.remove_suffix(1);
    if (iequals(item, token)) return true;
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  return false;
}

bool asks_to_close(const std::vector<std::pair<std::string, std::string>>& headers) {
  bool close = false;
  for (const auto& [name, value] : headers) {
    if (iequals(name, "connection")) close = has_token(value, "close");  // the last one wins
  }
  return close;
}

// A connection the server closed (or wrote to) while it sat idle is readable: not usable.
bool still_idle(const Connection& connection) {
  pollfd p{connection.transport->fd(), POLLIN, 0};
  return ::poll(&p, 1, 0) == 0;
}

std::string lower(std::string_view text) {
  std::string out(text);
  for (auto& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
  }
  return out;
}

// What one exchange found out, also when it ended in an exception.
struct ExchangeState {
  bool response_started = false;  // a byte of the response arrived
  bool keep = false;              // the connection may serve another request
  std::optional<Url> next;        // the redirect to follow
};

}  // namespace

struct Client::Pool {
  std::vector<Connection> idle;  // oldest first

  std::optional<Connection> take(const std::string& key, std::chrono::milliseconds timeout) {
    const auto now = Clock::now();
    std::erase_if(idle, [&](const Connection& c) { return now - c.idle_since > timeout; });
    for (auto it = idle.rbegin(); it != idle.rend(); ++it) {
      if (it->key != key) continue;
      Connection connection = std::move(*it);
      idle.erase(std::next(it).base());
      if (!still_idle(connection)) return std::nullopt;  // closed while idle: dropped
      connection.reused = true;
      return connection;
    }
    return std::nullopt;
  }

  void put(Connection connection, std::size_t max) {
    if (max == 0) return;
    while (idle.size() >= max)
      idle.erase(idle.begin());
    connection.idle_since = Clock::now();
    idle.push_back(std::move(connection));
  }
};

Client::Client(ClientOptions options)
    : options_(std::move(options)), pool_(std::make_unique<Pool>()) {}
Client::Client(Client&&) noexcept = default;
Client& Client::operator=(Client&&) noexcept = default;
Client::~Client() = default;

std::size_t Client::idle_connections() const noexcept {
  return pool_ ? pool_->idle.size() : 0;
}

namespace {

Connection open_connection(const Url& url, const ClientOptions& options, Deadline deadline) {
  ConnectOptions connect_options;
  if (const auto left = deadline.remaining()) {
    connect_options.timeout = std::max(*left, std::chrono::milliseconds{1});
  }
  Connection connection;
  connection.key = origin_key(url);
  connection.socket =
      std::make_unique<TcpSocket>(TcpSocket::connect(url.host, url.port, connect_options));
  connection.socket->set_no_delay();
  if (url.is_https()) {
    connection.transport = options.secure_transport(*connection.socket, url, deadline);
  } else {
    connection.transport = std::make_unique<SocketTransport>(*connection.socket);
  }
  connection.stream = std::make_unique<Stream>(*connection.transport);
  return connection;
}

void send_body(Stream& stream, const RequestBody& body, Deadline deadline) {
  if (!body.streamed()) {
    stream.write_all(body.bytes, deadline);
    return;
  }
  std::vector<char> buffer(std::min<std::uint64_t>(body.length, default_stream_buffer));
  std::uint64_t sent = 0;
  while (sent < body.length) {
    const auto want =
        static_cast<std::size_t>(std::min<std::uint64_t>(body.length - sent, buffer.size()));
    const std::size_t n = body.source(std::span<char>(buffer.data(), want));
    if (n == 0 || n > want) {
      throw Error(
          make_error_code(errc::invalid_argument), "request body", {},
          "ended after " + std::to_string(sent) + " of " + std::to_string(body.length) + " bytes");
    }
    stream.write_all(std::string_view(buffer.data(), n), deadline);
    sent += n;
  }
}

// One request and its response on `connection`.
void exchange(Connection& connection, const Url& url, const RequestOptions& request,
              const std::string& head, const ParserLimits& limits, Response& response,
              ExchangeState& state) {
  Stream& stream = *connection.stream;
  if (request.on_request) request.on_request(head);
  if (request.body && !request.body->streamed() && request.body->bytes.size() <= 16 * 1024) {
    stream.write_all(head + request.body->bytes, request.deadline);  // one segment
  } else {
    stream.write_all(head, request.deadline);
    if (request.body) send_body(stream, *request.body, request.deadline);
  }

  ResponseParser parser(limits);
  if (request.method == "HEAD") parser.expect_no_body();
  std::vector<char> buffer(default_stream_buffer);
  std::string_view pending;
  std::uint64_t drained = 0;
  for (;;) {
    const ParseResult r = parser.parse(pending);
    pending.remove_prefix(r.consumed);
    switch (r.event) {
      case ParseEvent::need_more: {
        const std::size_t n = stream.read_some(std::span<char>(buffer), request.deadline);
        if (n == 0) {
          parser.finish();
          pending = {};
        } else {
          state.response_started = true;
          pending = std::string_view(buffer.data(), n);
        }
        break;
      }
      case ParseEvent::head: {
        response.head = parser.head();
        response.framing = parser.framing();
        response.content_length = parser.content_length();
        if (request.follow_redirects && response.is_redirect()) {
          state.next = resolve_reference(url, *response.head.headers.get("location"));
        }
        if (request.on_head) request.on_head(response);
        // A long or unframed redirect body is not worth reading: closing skips it.
        if (state.next && (response.framing == BodyFraming::until_eof ||
                           response.content_length.value_or(0) > max_drained_body)) {
          return;
        }
        break;
      }
      case ParseEvent::body:
        if (state.next) {
          drained += r.body.size();
          if (drained > max_drained_body) return;
          break;
        }
        response.body_bytes += r.body.size();
        if (request.on_body) request.on_body(r.body);
        break;
      case ParseEvent::done: {
        response.trailers = parser.trailers();
        response.extra_bytes = pending.size() + stream.buffered();
        const auto said = response.head.headers.get("connection");
        state.keep = response.extra_bytes == 0 && response.framing != BodyFraming::until_eof &&
                     response.head.version_minor >= 1 && !(said && has_token(*said, "close")) &&
                     !asks_to_close(request.headers);
        if (state.next) response.extra_bytes = 0;  // a redirect's leftovers are not reported
        return;
      }
    }
  }
}

}  // namespace

Response Client::request(std::string_view url, const RequestOptions& options) {
  return request(parse_url(url), options);
}

Response Client::request(const Url& start, const RequestOptions& options) {
  const std::string what = lower(options.method);
  RequestOptions current = options;
  Url url = start;
  for (int redirects = 0;; ++redirects) {
    if (url.is_https() && !options_.secure_transport) {
      throw Error(std::make_error_code(std::errc::protocol_not_supported), what, url.to_string(),
                  "https is not available in this build");
    }
    std::optional<std::uint64_t> length;
    if (current.body) {
      length = current.body->size();
    } else if (current.method == "POST" || current.method == "PUT" || current.method == "PATCH") {
      length = 0;
    }
    const std::string head =
        build_request(current.method, url, current.headers, options_.user_agent, length);
    const bool replayable = !current.body || !current.body->streamed() || current.body->rewind;

    Response response;
    ExchangeState state;
    for (int attempt = 0;; ++attempt) {
      response = Response{};
      response.url = url;
      response.redirects = redirects;
      state = ExchangeState{};
      std::optional<Connection> connection;
      try {
        if (attempt == 0) connection = pool_->take(origin_key(url), options_.idle_timeout);
        if (!connection) connection = open_connection(url, options_, current.deadline);
        if (current.on_connection) current.on_connection(url, connection->reused);
        exchange(*connection, url, current, head, options_.limits, response, state);
      } catch (const Error& e) {
        // A kept-alive connection the server dropped fails on first use: the request never
        // reached it, so an idempotent one may go again on a new connection.
        const bool retry = attempt == 0 && connection && connection->reused &&
                           !state.response_started && is_idempotent(current.method) && replayable &&
                           e.code() != std::errc::timed_out &&
                           (!current.body || !current.body->streamed() || current.body->rewind());
        if (retry) continue;
        if (const auto* protocol = dynamic_cast<const ProtocolError*>(&e)) {
          throw Error(e.code(), what, url.to_string(), protocol->detail());
        }
        throw Error(e.code(), what, url.to_string(), e.what());
      }
      if (state.keep) pool_->put(std::move(*connection), options_.max_idle_connections);
      break;
    }
    if (!state.next) return response;
    if (url.is_https() && !state.next->is_https() && !current.allow_insecure_redirect) {
      throw Error(
          std::make_error_code(std::errc::permission_denied), what, url.to_string(),
          "insecure redirect to " + state.next->to_string() + " refused (from https to http)");
    }
    if (redirects >= current.max_redirects) {
      throw Error(std::make_error_code(std::errc::too_many_symbolic_link_levels), what,
                  start.to_string(),
                  "too many redirects (more than " + std::to_string(current.max_redirects) +
                      "), the last to " + state.next->to_string());
    }
    if (!detail::redirect_request(response.status(), url, *state.next, current)) {
      return response;  // a streamed body that cannot be sent again: the caller decides
    }
    url = std::move(*state.next);
  }
}

Response get(std::string_view url, const GetOptions& options) {
  return get(parse_url(url), options);
}

Response get(const Url& url, const GetOptions& options) {
  ClientOptions client_options;
  client_options.user_agent = options.user_agent;
  client_options.limits = options.limits;
  client_options.secure_transport = options.secure_transport;
  client_options.max_idle_connections = 0;  // one request: nothing to keep
  Client client(std::move(client_options));
  RequestOptions request;
  request.headers.reserve(options.headers.size() + 1);
  request.headers.emplace_back("Connection", "close");  // a header of the caller's wins
  request.headers.insert(request.headers.end(), options.headers.begin(), options.headers.end());
  request.deadline = options.deadline;
  request.follow_redirects = options.follow_redirects;
  request.max_redirects = options.max_redirects;
  request.allow_insecure_redirect = options.allow_insecure_redirect;
  request.on_head = options.on_head;
  request.on_body = options.on_body;
  return client.request(url, request);
}

}  // namespace sockit::http
