// Mirrors "Socket Multiplexing with IO.select" in "Socket Programming Concepts":
//   server = TCPServer.new(8080); clients = []
//   loop do
//     readable, writable, errors = IO.select([server] + clients, [], [], 5)
//     readable.each do |socket|
//       if socket == server then clients << server.accept
//       else data = socket.read_nonblock(1024); socket.write_nonblock("Echo: #{data}")
//       rescue EOFError then clients.delete(socket); socket.close end
// Usage: select_echo_server [PORT | --port PORT]   (default 8080, as in the seed)
// Two fixes to the seed, both needed once clients are not polite: replies are per line
// ("Echo: <line>"), since one read may carry half a line or two; and what write_nonblock
// could not send waits in a per-client buffer, sent when select says the client is writable.
#include <array>
#include <iostream>
#include <list>
#include <string>
#include <vector>

#include "example_support.hpp"
#include "sockit/error.hpp"
#include "sockit/framing.hpp"
#include "sockit/poll.hpp"
#include "sockit/tcp.hpp"

namespace {

struct Client {
  sockit::TcpSocket socket;
  sockit::LineCodec lines{sockit::LineCodecOptions{64 * 1024, false}};
  std::string pending;  // replies not yet accepted by the kernel
  bool closing = false;
};

// Reads what is there and queues one reply per complete line. false: drop the client.
bool read_lines(Client& client) {
  std::array<char, 1024> buffer;
  auto result = client.socket.read_nonblock(buffer);
  if (result.would_block()) return true;
  if (result.eof()) {
    // The peer sent all it will (nc -N does this at once): answer, then close.
    client.closing = true;
    return true;
  }
  client.lines.feed({buffer.data(), result.bytes});
  for (;;) {
    auto next = client.lines.next();
    if (next.need_more()) return true;
    if (next.is_error()) {
      std::cerr << "select_echo_server: " << client.socket.peer_or_empty() << ": "
                << next.describe() << std::endl;
      return false;
    }
    client.pending.append("Echo: ").append(next.frame).append("\n");
  }
}

// One client's turn. Writing is tried whenever replies wait: it never blocks, and most of
// the time the kernel takes everything at once. false: drop the client.
bool serve(Client& client, bool readable) {
  if (readable && !client.closing && !read_lines(client)) return false;
  if (!client.pending.empty()) {
    auto result = client.socket.write_nonblock(client.pending);
    if (result.ok()) client.pending.erase(0, result.bytes);
  }
  return !(client.closing && client.pending.empty());
}

}  // namespace

int main(int argc, char** argv) try {
  example::Args args(argc, argv);
  sockit::TcpServer server("", args.port(0, 8080));
  example::announce_listening(server.address());

  std::list<Client> clients;  // a list: select hands back pointers into it
  for (;;) {
    std::vector<sockit::Socket*> read_set{&server};
    std::vector<sockit::Socket*> write_set;
    for (auto& client : clients) {
      if (!client.closing) read_set.push_back(&client.socket);
      if (!client.pending.empty()) write_set.push_back(&client.socket);
    }

    auto ready = sockit::select(read_set, write_set, std::chrono::seconds(5));
    if (ready.timed_out()) continue;

    auto is_ready = [](const std::vector<sockit::Socket*>& set, const sockit::Socket& s) {
      for (auto* p : set) {
        if (p == &s) return true;
      }
      return false;
    };
    for (auto* socket : ready.readable) {
      if (socket != &server) continue;
      if (auto accepted = server.accept_nonblock()) {
        clients.emplace_back().socket = std::move(accepted->socket);
      }
    }
    for (auto it = clients.begin(); it != clients.end();) {
      bool keep = true;
      try {
        keep =
            serve(*it, is_ready(ready.readable, it->socket) || is_ready(ready.errored, it->socket));
      } catch (const sockit::Error& e) {
        // ECONNRESET, EPIPE: this client is gone, the others are not.
        std::cerr << "select_echo_server: " << e.what() << std::endl;
        keep = false;
      }
      it = keep ? std::next(it) : clients.erase(it);
    }
  }
} catch (const std::exception& e) {
  return example::report("select_echo_server", e);
}
