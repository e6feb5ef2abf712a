// Mirrors client.rb from "The Interweb Isn't Magic":
//   recv = Socket.new(Socket::AF_INET, Socket::SOCK_STREAM)
//   recv.connect(Addrinfo.tcp(target_ip, 7777))
//   puts recv.gets
//   recv.close
// Usage: hello_client [IP [PORT]] [--host IP] [--port PORT]   (default 127.0.0.1 7777)
// The seed's target_ip is "SET THIS TO THE OUTPUT FROM server.rb!": here it is an argument.
#include <sys/socket.h>

#include <iostream>

#include "example_support.hpp"
#include "sockit/address.hpp"
#include "sockit/socket.hpp"
#include "sockit/stream.hpp"

int main(int argc, char** argv) try {
  example::Args args(argc, argv);
  const auto target_ip = args.get("host", 0, "127.0.0.1");
  const auto port = args.port(1, 7777);

  // Addrinfo.tcp resolves names too; AF_INET because the socket is IPv4, as in the seed.
  sockit::ResolveOptions ipv4;
  ipv4.family = AF_INET;
  const auto target = sockit::resolve(target_ip, port, ipv4).front().address;

  sockit::Socket recv(AF_INET, SOCK_STREAM);
  recv.connect(target);

  sockit::Stream stream(recv);
  if (auto line = stream.read_line(64 * 1024)) std::cout << *line << std::endl;
  recv.close();
} catch (const std::exception& e) {
  return example::report("hello_client", e);
}
