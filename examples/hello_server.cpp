// Mirrors server.rb from "The Interweb Isn't Magic", its last version ("Servers aren't
// supposed to die after one connection"):
//   send.setsockopt(Socket::SOL_SOCKET, Socket::SO_REUSEADDR, 1)
//   send.bind(Addrinfo.tcp("0.0.0.0", 7777)); send.listen(1)
//   localhost = Socket.ip_address_list.detect(&:ipv4_private?)
//   puts "Clients should connect to: #{localhost.ip_address}:7777"
//   loop do client_socket, client_addr = send.accept
//     client_socket.puts "Hello, world!"; client_socket.close end
// Usage: hello_server [PORT | --port PORT]   (default 7777; 0 lets the kernel pick)
// A machine without a private IPv4 address (the seed would crash on nil) is told loopback.
#include <sys/socket.h>

#include <iostream>

#include "example_support.hpp"
#include "sockit/address.hpp"
#include "sockit/error.hpp"
#include "sockit/options.hpp"
#include "sockit/socket.hpp"
#include "sockit/stream.hpp"

namespace {

sockit::Address address_for_clients() {
  for (const auto& address : sockit::ip_address_list()) {
    if (address.is_ipv4() && address.is_private()) return address;
  }
  return sockit::Address::loopback_ipv4();
}

}  // namespace

int main(int argc, char** argv) try {
  example::Args args(argc, argv);

  sockit::Socket send(AF_INET, SOCK_STREAM);
  send.set(sockit::option::ReuseAddress{true});
  send.bind(sockit::Address::any_ipv4(args.port(0, 7777)));
  send.listen(1);
  const auto port = send.local_address().port();

  std::cout << "Clients should connect to: " << address_for_clients().ip() << ":" << port
            << std::endl;
  example::announce_listening(send.local_address());

  for (;;) {
    auto [client_socket, client_addr] = send.accept();
    try {
      sockit::Stream(client_socket).puts("Hello, world!");
    } catch (const sockit::Error& e) {
      // A client that leaves at once must not stop the server.
      std::cerr << "hello_server: " << e.what() << std::endl;
    }
    client_socket.close();
  }
} catch (const std::exception& e) {
  return example::report("hello_server", e);
}
