// Mirrors p069dtclient.rb from "Socket Programming & Threads":
//   socket = TCPSocket.new("127.0.0.1", 20_000)
//   time_string = socket.recv(100)
//   puts time_string
//   socket.close
// Usage: datetime_client [PORT | --port PORT] [--host HOST]   (default 127.0.0.1 20000)
#include <array>
#include <iostream>
#include <string_view>

#include "example_support.hpp"
#include "sockit/tcp.hpp"

int main(int argc, char** argv) try {
  example::Args args(argc, argv);
  auto socket =
      sockit::TcpSocket::connect(args.flag("host").value_or("127.0.0.1"), args.port(0, 20000));

  std::array<char, 100> buffer{};
  const auto received = socket.recv(buffer);
  const std::string_view time_string(buffer.data(), received);

  // Ruby's puts adds the newline only when the text lacks one.
  std::cout << time_string << (time_string.ends_with('\n') ? "" : "\n") << std::flush;

  socket.close();
} catch (const std::exception& e) {
  return example::report("datetime_client", e);
}
