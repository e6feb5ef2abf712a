// The smallest TCP forwarder on sockit's coroutines: each client gets a connection to the
// upstream, and two coroutines copy bytes, one each way, passing each side's EOF on. What
// socat's `TCP-LISTEN:8080,fork TCP:HOST:PORT` does; `sockit proxy` is the full tool
// (several upstreams, TLS, limits).
// Usage: async_proxy UPSTREAM_HOST UPSTREAM_PORT [--port PORT]   (default 8080)
#include <array>
#include <iostream>
#include <memory>
#include <stdexcept>
#include <string>

#include "example_support.hpp"
#include "sockit/async/task.hpp"
#include "sockit/async/task_scope.hpp"
#include "sockit/server/async_stream.hpp"
#include "sockit/server/coroutine_service.hpp"
#include "sockit/server/server.hpp"

namespace {

using sockit::server::AsyncStream;

// Copies until `from` ends, then sends our EOF to `to`: its peer can still answer.
sockit::Task<void> copy(AsyncStream& from, AsyncStream& to) {
  std::array<char, 16 * 1024> buffer{};
  while (std::size_t n = co_await from.read_some(buffer)) {
    co_await to.write_all({buffer.data(), n});
  }
  to.close_write();
}

}  // namespace

int main(int argc, char** argv) try {
  example::Args args(argc, argv);
  if (args.positional().size() < 2) {
    throw std::invalid_argument("usage: async_proxy UPSTREAM_HOST UPSTREAM_PORT [--port PORT]");
  }
  sockit::server::OutboundRequest upstream;
  upstream.host = args.positional()[0];
  upstream.port = args.positional()[1];

  auto forward = [upstream](AsyncStream& client) -> sockit::Task<void> {
    // Connecting failed? The exception ends this client's connection, with a log line.
    std::unique_ptr<AsyncStream> server = co_await client.connect(upstream);
    sockit::TaskScope both_ways;
    both_ways.spawn(copy(client, *server));
    both_ways.spawn(copy(*server, client));
    co_await both_ways.join();
  };
  sockit::server::ServerOptions options;
  options.port = args.port(2, 8080);
  auto service = std::make_shared<sockit::server::CoroutineService>("async-proxy", 8080, forward);
  sockit::server::Server server(service, options);
  example::announce_listening(server.local_address());
  server.run();
} catch (const std::exception& e) {
  return example::report("async_proxy", e);
}
