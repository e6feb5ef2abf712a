// Mirrors "Async and Async-IO" in "Socket Programming Concepts":
//   Async do |task|
//     endpoint = Async::IO::Endpoint.tcp('0.0.0.0', 8080)
//     endpoint.accept do |client|
//       task.async do
//         while line = client.read_until("\n"); client.write("Echo: #{line}"); end
//       end
//     end
//   end
// Usage: async_echo_server [PORT | --port PORT] [--architecture NAME]   (default 8080)
// Each client is one coroutine (a fiber in the seed), suspended while it waits for a line;
// the server's architecture (reactor by default) decides what runs the coroutines.
// Lines are limited to 64 KiB, where the seed's read_until has no limit.
#include <iostream>
#include <memory>
#include <stdexcept>
#include <string>

#include "example_support.hpp"
#include "sockit/async/task.hpp"
#include "sockit/server/async_stream.hpp"
#include "sockit/server/coroutine_service.hpp"
#include "sockit/server/server.hpp"

namespace {

sockit::Task<void> echo(sockit::server::AsyncStream& client) {
  std::string line;
  std::string reply;
  while (co_await client.read_line(line)) {
    reply.assign("Echo: ").append(line).push_back('\n');
    co_await client.write_all(reply);
  }
}

}  // namespace

int main(int argc, char** argv) try {
  example::Args args(argc, argv);
  sockit::server::ServerOptions options;
  options.host = "0.0.0.0";
  options.port = args.port(0, 8080);
  if (auto name = args.flag("architecture")) {
    auto architecture = sockit::server::parse_architecture(*name);
    if (!architecture) throw std::invalid_argument("unknown architecture: " + *name);
    options.architecture = *architecture;
  }
  auto service = std::make_shared<sockit::server::CoroutineService>("async-echo", 8080, echo);
  sockit::server::Server server(service, options);
  example::announce_listening(server.local_address());
  server.run();
} catch (const std::exception& e) {
  return example::report("async_echo_server", e);
}
