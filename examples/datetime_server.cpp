// Mirrors p068dtserver.rb from "Socket Programming & Threads":
//   server = TCPServer.new("localhost", 20_000)
//   loop do
//     Thread.start(server.accept) do |socket|
//       puts "#{socket} connected"; socket.write(Time.now)
//       puts "#{socket} closing"; socket.close
//     end
//   end
// Usage: datetime_server [PORT | --port PORT]   (default 20000; 0 lets the kernel pick)
// "localhost" may name 127.0.0.1 and ::1: one listening socket per address (Ruby's
// Socket.tcp_server_sockets), so the seed's client, which dials 127.0.0.1, always finds us.
#include <ctime>
#include <string>
#include <vector>

#include "example_support.hpp"
#include "sockit/poll.hpp"
#include "sockit/stream.hpp"
#include "sockit/tcp.hpp"

namespace {

// What Ruby's Time.now.to_s prints: "2026-11-25 23:36:57 +0000", local time.
std::string ruby_time_now() {
  std::time_t now = std::time(nullptr);
  std::tm local{};
  localtime_r(&now, &local);
  char text[64];
  std::strftime(text, sizeof text, "%Y-%m-%d %H:%M:%S %z", &local);
  return text;
}

// Ruby prints a socket as #<TCPSocket:fd 10, AF_INET, 127.0.0.1, 20000>.
std::string describe(const sockit::TcpSocket& socket, const sockit::Address& peer) {
  return "#<TcpSocket:fd " + std::to_string(socket.fd()) + ", " + peer.to_string() + ">";
}

}  // namespace

int main(int argc, char** argv) try {
  example::Args args(argc, argv);
  auto servers = sockit::tcp_server_sockets("localhost", args.port(0, 20000));
  example::announce_listening(servers.front().address());

  std::vector<sockit::Socket*> listening;
  for (auto& server : servers)
    listening.push_back(&server);

  example::ClientThreads threads;
  for (;;) {
    auto ready = sockit::select(listening, {});
    for (sockit::Socket* socket : ready.readable) {
      auto accepted = static_cast<sockit::TcpServer*>(socket)->accept_nonblock();
      if (!accepted) continue;
      threads.start([client = std::move(*accepted)](std::stop_token) mutable {
        const auto name = describe(client.socket, client.peer);
        example::say(name + " connected");
        sockit::Stream(client.socket).write_all(ruby_time_now());
        example::say(name + " closing");
        client.socket.close();
      });
    }
  }
} catch (const std::exception& e) {
  return example::report("datetime_server", e);
}
