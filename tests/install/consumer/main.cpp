// Uses the installed headers and library: an address, and a loopback round trip.
#include <sockit/address.hpp>
#include <sockit/socket.hpp>

#include <cstdio>
#include <string>

int main() {
  auto address = sockit::Address::parse("127.0.0.1", 0);
  sockit::Socket listener(AF_INET, SOCK_STREAM);
  listener.bind(address);
  listener.listen();
  auto bound = listener.local_address();

  sockit::Socket client(AF_INET, SOCK_STREAM);
  client.connect(bound);
  auto accepted = listener.accept();
  client.send("ping");
  char buffer[16];
  auto n = accepted.socket.recv(buffer);
  std::string got(buffer, n);
  std::printf("%s via %s\n", got.c_str(), bound.to_string().c_str());
  return got == "ping" && bound.port() != 0 ? 0 : 1;
}
