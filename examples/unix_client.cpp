// Mirrors the client of "Unix Domain Sockets" in "Socket Programming Concepts":
//   socket = UNIXSocket.new('/tmp/app.sock')
//   socket.send('Hello', 0)
//   response = socket.recv(1024)
//   socket.close
// Usage: unix_client [PATH [MESSAGE]] [--path PATH]   (default /tmp/app.sock "Hello")
// The seed keeps the response; here it is printed.
#include <array>
#include <iostream>
#include <string_view>

#include "example_support.hpp"
#include "sockit/unix.hpp"

int main(int argc, char** argv) try {
  example::Args args(argc, argv);
  // With --path, the message is the first positional argument.
  const std::size_t message_index = args.flag("path") ? 0 : 1;
  auto socket = sockit::UnixSocket::connect(args.get("path", 0, "/tmp/app.sock"));
  socket.send(args.get("message", message_index, "Hello"));

  std::array<char, 1024> buffer;
  const auto received = socket.recv(buffer);
  std::cout << std::string_view(buffer.data(), received) << std::endl;
  socket.close();
} catch (const std::exception& e) {
  return example::report("unix_client", e);
}
