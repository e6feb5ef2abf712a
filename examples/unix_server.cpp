// Mirrors the server of "Unix Domain Sockets" in "Socket Programming Concepts":
//   File.delete('/tmp/app.sock') if File.exist?('/tmp/app.sock')
//   server = UNIXServer.new('/tmp/app.sock')
//   loop do client = server.accept; data = client.recv(1024)
//     client.send("Processed: #{data}", 0); client.close end
// Usage: unix_server [PATH | --path PATH]   (default /tmp/app.sock, as in the seed)
// The seed deletes whatever is at the path; UnixServer replaces only a socket file that
// nobody listens on, and refuses anything else. SIGINT/SIGTERM end the server cleanly and
// the socket file is removed ("requiring cleanup during shutdown", as the seed says).
#include <array>
#include <iostream>
#include <string>

#include "example_support.hpp"
#include "sockit/error.hpp"
#include "sockit/poll.hpp"
#include "sockit/unix.hpp"

int main(int argc, char** argv) try {
  example::Args args(argc, argv);
  sockit::UnixServer server(args.get("path", 0, "/tmp/app.sock"));
  example::announce_listening(server.address());

  example::StopSignals signals;
  while (signals.received() == 0) {
    if (!sockit::wait_readable(server, std::chrono::seconds(1))) continue;
    auto accepted = server.accept_nonblock();
    if (!accepted) continue;
    auto& client = *accepted;
    try {
      std::array<char, 1024> buffer;
      const auto received = client.socket.recv(buffer);
      client.socket.send("Processed: " + std::string(buffer.data(), received));
    } catch (const sockit::Error& e) {
      std::cerr << "unix_server: " << e.what() << std::endl;
    }
    client.socket.close();
  }
} catch (const std::exception& e) {
  return example::report("unix_server", e);
}
