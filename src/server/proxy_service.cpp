// The TCP forwarder (see sockit/server/proxy_service.hpp): one coroutine per client picks an
// upstream, then two child tasks pipe one direction each.
#include "sockit/server/proxy_service.hpp"

#include <atomic>
#include <exception>
#include <stdexcept>
#include <utility>

#include "sockit/async/task_scope.hpp"
#include "sockit/error.hpp"
#include "sockit/proxy_protocol.hpp"
#include "sockit/server/coroutine_service.hpp"
#include "sockit/server/server.hpp"

namespace sockit::server {
namespace {

struct ProxyState {
  explicit ProxyState(ProxyOptions o) : options(std::move(o)) {}
  void log(const std::string& line) const {
    if (options.log) {
      options.log(line);
    } else {
      log_info(line);
    }
  }
  ProxyOptions options;
  std::atomic<std::size_t> next{0};  // round-robin position
};

// Moves bytes from `from` to `to` until `from` ends, then half-closes `to`: the peer on that
// side sees our EOF and may still answer. write_all waits while `to` is backed up, and
// meanwhile `from` is not read, so its sender is slowed by TCP. Any failure closes both, so
// the other direction ends too.
Task<void> pipe(AsyncStream& from, AsyncStream& to, std::size_t chunk) {
  std::vector<char> buffer(chunk);
  try {
    for (;;) {
      std::size_t n = co_await from.read_some(buffer);
      if (n == 0) {
        to.close_write();
        co_return;
      }
      co_await to.write_all(std::string_view(buffer.data(), n));
    }
  } catch (const Error&) {
    from.close();
    to.close();
  }
}

// The first upstream that accepts, starting at the next round-robin position.
Task<std::unique_ptr<AsyncStream>> open_upstream(AsyncStream& client, ProxyState& state) {
  const auto& list = state.options.upstreams;
  const std::size_t first = state.next.fetch_add(1, std::memory_order_relaxed);
  for (std::size_t i = 0; i < list.size(); ++i) {
    const Upstream& target = list[(first + i) % list.size()];
    OutboundRequest request;
    request.host = target.host;
    request.port = target.port;
    request.timeout = state.options.connect_timeout;
    try {
      // Named, not a temporary inside co_await: see the g++ 12 note in async_stream.hpp.
      auto connecting = client.connect(request, state.options.wrap_upstream);
      co_return co_await connecting;
    } catch (const Error& e) {
      // The server has logged the failure ("connect to HOST:PORT failed: ..."): next one.
      if (e.code() == std::errc::operation_canceled && client.is_closed()) throw;
    }
  }
  co_return nullptr;
}

// `header`: the PROXY protocol header the upstream hears first (empty: none).
Task<void> forward(AsyncStream& client, std::shared_ptr<ProxyState> state, std::string header) {
  std::unique_ptr<AsyncStream> upstream = co_await open_upstream(client, *state);
  if (!upstream) {
    state->log("proxy: no upstream reachable; closing the client");
    client.close();
    co_return;
  }
  if (!header.empty()) co_await upstream->write_all(header);
  {
    TaskScope scope;
    scope.spawn(pipe(client, *upstream, state->options.chunk));
    scope.spawn(pipe(*upstream, client, state->options.chunk));
    co_await scope.join();
  }
  upstream->close();
  client.close();
}

// The forwarder as a Service: each session's coroutine knows its client's addresses, for
// the PROXY header it may send upstream.
class ProxyService final : public Service {
 public:
  explicit ProxyService(std::shared_ptr<ProxyState> state)
      : state_(std::move(state)),
        plain_(std::make_shared<const CoroutineService::Handler>(
            [state = state_](AsyncStream& client) { return forward(client, state, {}); })) {}

  std::string_view name() const override { return "proxy"; }
  std::uint16_t default_port() const override { return 0; }
  std::unique_ptr<Session> open(const ConnectionInfo& connection) override {
    const int version = state_->options.send_proxy;
    if (version == 0) return make_coroutine_session(plain_, connection);
    std::string header = version == 1 ? proxy_header_v1(connection.peer, connection.local)
                                      : proxy_header_v2(connection.peer, connection.local);
    auto handler = std::make_shared<const CoroutineService::Handler>(
        [state = state_, header = std::move(header)](AsyncStream& client) {
          return forward(client, state, header);
        });
    return make_coroutine_session(std::move(handler), connection);
  }

 private:
  std::shared_ptr<ProxyState> state_;
  std::shared_ptr<const CoroutineService::Handler> plain_;
};

}  // namespace

std::shared_ptr<Service> make_proxy_service(ProxyOptions options) {
  if (options.upstreams.empty()) throw std::invalid_argument("proxy: no upstream given");
  if (options.send_proxy < 0 || options.send_proxy > 2) {
    throw std::invalid_argument("proxy: the PROXY protocol has versions 1 and 2");
  }
  if (options.chunk == 0) options.chunk = 16 * 1024;
  return std::make_shared<ProxyService>(std::make_shared<ProxyState>(std::move(options)));
}

Upstream parse_upstream(const std::string& text) {
  auto bad = [&](const char* why) {
    return std::invalid_argument("upstream '" + text + "': " + why + " (expected HOST:PORT)");
  };
  std::size_t colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == text.size()) throw bad("no port");
  Upstream u{text.substr(0, colon), text.substr(colon + 1)};
  if (u.host.front() == '[') {
    if (u.host.back() != ']') throw bad("unclosed [");
    u.host = u.host.substr(1, u.host.size() - 2);
  } else if (u.host.find(':') != std::string::npos) {
    throw bad("an IPv6 address goes in brackets");
  }
  if (u.host.empty()) throw bad("no host");
  return u;
}

}  // namespace sockit::server
