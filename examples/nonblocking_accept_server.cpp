// Mirrors the non-blocking accept loop of "Socket Programming Concepts" ("Non-Blocking
// I/O", and GracefulServer in "Signal Handling and Cleanup"):
//   loop do client = @server.accept_nonblock; @threads << Thread.new(client) { ... }
//   rescue IO::WaitReadable then IO.select([@server], nil, nil, 1) end
//   Signal.trap(signal) { puts "\nReceived #{signal}, shutting down..."; @running = false }
//   shutdown: puts "Closing server socket..."; @server.close
//     puts "Waiting for #{@threads.count} client threads..."; join; puts "Shutdown complete"
// Usage: nonblocking_accept_server [PORT | --port PORT]   (default 8080, as in the seed)
// The seed leaves handle_client empty; here it echoes lines until the client leaves or a
// shutdown is asked for. The signal handler only records the signal, as the seed advises.
#include <iostream>
#include <string>

#include "example_support.hpp"
#include "sockit/error.hpp"
#include "sockit/poll.hpp"
#include "sockit/stream.hpp"
#include "sockit/tcp.hpp"

namespace {

// Echoes lines until the client leaves or a shutdown is asked for.
void handle_client(sockit::TcpSocket& client, const std::stop_token& stop) {
  // At shutdown the client's input is ended: a read blocked on it returns end-of-stream.
  std::stop_callback end_input(stop, [&client]() noexcept {
    try {
      client.close_read();
    } catch (const sockit::Error&) {
      // Already disconnected: nothing to wake.
    }
  });
  sockit::Stream stream(client);
  while (auto line = stream.read_line(64 * 1024))
    stream.write_line(*line);
}

}  // namespace

int main(int argc, char** argv) try {
  example::Args args(argc, argv);
  example::StopSignals signals;

  sockit::TcpServer server("", args.port(0, 8080));
  example::announce_listening(server.address());

  example::ClientThreads threads;
  while (signals.received() == 0) {
    if (auto client = server.accept_nonblock()) {
      threads.start([client = std::move(*client)](std::stop_token stop) mutable {
        handle_client(client.socket, stop);
        client.socket.close();
      });
    } else {
      // IO::WaitReadable: nobody is waiting. Sleep until someone is, or a second passes.
      sockit::wait_readable(server, std::chrono::seconds(1));
    }
  }

  std::cout << "\nReceived " << signals.name() << ", shutting down..." << std::endl;
  std::cout << "Closing server socket..." << std::endl;
  server.close();
  std::cout << "Waiting for " << threads.running() << " client threads..." << std::endl;
  threads.stop_and_join();
  std::cout << "Shutdown complete" << std::endl;
} catch (const std::exception& e) {
  return example::report("nonblocking_accept_server", e);
}
