// Mirrors the UDP server of "UDP Socket Implementation" in "Socket Programming Concepts":
//   server = UDPSocket.new; server.bind('0.0.0.0', 5000)
//   loop do data, sender = server.recvfrom(1024)
//     response = "Received: #{data}"
//     server.send(response, 0, sender[3], sender[1]) end
// Usage: udp_server [PORT | --port PORT]   (default 5000, as in the seed)
// Ruby's recvfrom(1024) cuts a longer datagram silently; here the cut is reported on stderr.
#include <array>
#include <iostream>
#include <string>

#include "example_support.hpp"
#include "sockit/error.hpp"
#include "sockit/udp.hpp"

int main(int argc, char** argv) try {
  example::Args args(argc, argv);
  auto server = sockit::UdpSocket::bound("0.0.0.0", args.port(0, 5000));
  example::announce_listening(server.local_address());

  std::array<char, 1024> buffer;
  for (;;) {
    auto datagram = server.recv_from(buffer);
    const std::string data(buffer.data(), datagram.stored(buffer.size()));
    if (datagram.truncated) {
      std::cerr << "udp_server: datagram of " << datagram.size << " bytes from " << datagram.from
                << " cut to " << buffer.size() << std::endl;
    }
    try {
      server.send_to("Received: " + data, datagram.from);
    } catch (const sockit::Error& e) {
      std::cerr << "udp_server: " << e.what() << std::endl;
    }
  }
} catch (const std::exception& e) {
  return example::report("udp_server", e);
}
