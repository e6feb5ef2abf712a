// Echo written as a sockit coroutine (CoroutineService: read_some, then write_all of what
// was read) on the reactor: the coroutine counterpart of `sockit serve echo`, for comparing
// the two, and against Asio's coroutine echo, in one harness run.
#include <array>
#include <memory>
#include <string>
#include <string_view>

#include "peer_common.hpp"
#include "sockit/async/task.hpp"
#include "sockit/server/async_stream.hpp"
#include "sockit/server/coroutine_service.hpp"
#include "sockit/server/server.hpp"

namespace {

sockit::Task<void> echo(sockit::server::AsyncStream& client) {
  std::array<char, 64 * 1024> buffer;
  while (std::size_t n = co_await client.read_some(buffer)) {
    co_await client.write_all(std::string_view(buffer.data(), n));
  }
}

}  // namespace

int main(int argc, char** argv) {
  const peer::Args args = peer::parse(argc, argv, "coro_echo");
  sockit::server::ServerOptions options;
  options.host = args.host;
  options.port = static_cast<std::uint16_t>(args.port);
  options.architecture = sockit::server::Architecture::reactor;
  options.log_level = sockit::server::LogLevel::quiet;
  auto service = std::make_shared<sockit::server::CoroutineService>("coro-echo", 0, echo);
  sockit::server::Server server(service, options);
  server.run();  // prints "listening on HOST:PORT" once ready
  return 0;
}
