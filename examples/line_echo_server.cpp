// Mirrors EchoServer from "Echo Server with Error Handling" in "Socket Programming
// Concepts":
//   @server = TCPServer.new(port)
//   @server.setsockopt(Socket::SOL_SOCKET, Socket::SO_REUSEADDR, 1)
//   puts "Echo server listening on port #{port}"
//   loop { client = @server.accept; Thread.new(client) { |conn| handle_client(conn) } }
//   handle_client: puts "Client connected: #{client_addr}"
//     while line = client.gets; client.puts line; puts "#{client_addr}: #{line.chomp}"; end
//   rescue Errno::ECONNRESET, Errno::EPIPE, IOError
//     puts "Client #{client_addr} disconnected"
// Usage: line_echo_server [PORT | --port PORT]   (default 3000, as in the seed)
// Unlike Ruby's unbounded gets, a line longer than 64 KiB ends that client's connection.
#include <string>

#include "example_support.hpp"
#include "sockit/error.hpp"
#include "sockit/stream.hpp"
#include "sockit/tcp.hpp"

namespace {

constexpr std::size_t max_line = 64 * 1024;

void handle_client(sockit::TcpSocket& client, const std::string& client_addr) {
  example::say("Client connected: " + client_addr);
  try {
    sockit::Stream stream(client);
    while (auto line = stream.read_line(max_line)) {
      stream.write_line(*line);
      example::say(client_addr + ": " + *line);
    }
  } catch (const sockit::Error& e) {
    example::say("Client " + client_addr + " disconnected (" + e.what() + ")");
  }
}

}  // namespace

int main(int argc, char** argv) try {
  example::Args args(argc, argv);
  // TCPServer.new(port) listens on every address; TcpServer sets SO_REUSEADDR itself.
  sockit::TcpServer server("", args.port(0, 3000));
  std::cout << "Echo server listening on port " << server.port() << std::endl;
  example::announce_listening(server.address());

  example::ClientThreads threads;
  for (;;) {
    auto accepted = server.accept();
    threads.start([client = std::move(accepted)](std::stop_token) mutable {
      handle_client(client.socket, client.peer.unmap_v4().ip());
      client.socket.close();
    });
  }
} catch (const std::exception& e) {
  return example::report("line_echo_server", e);
}
