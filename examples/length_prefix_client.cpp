// The client side of the seed's length-prefixed framing ("Partial Reads and Writes" in
// "Socket Programming Concepts"): send_message(socket, message) writes
// [message.bytesize].pack('N') then the bytes (write_all); receive_message(socket) reads
// 4 bytes, unpack1('N'), then read_exact(socket, length). Stream::write_frame/read_frame
// are those helpers; read_exact's "Connection closed after X of N bytes" is Stream's error.
// Usage: length_prefix_client [--host HOST] [--port PORT] MESSAGE...   (default
// 127.0.0.1 4481). Each reply is printed on a line of its own.
#include <iostream>

#include "example_support.hpp"
#include "sockit/framing.hpp"
#include "sockit/stream.hpp"
#include "sockit/tcp.hpp"

int main(int argc, char** argv) try {
  example::Args args(argc, argv);
  const auto port = example::Args::parse_port(args.flag("port").value_or("4481"));
  auto socket = sockit::TcpSocket::connect(args.flag("host").value_or("127.0.0.1"), port);

  const sockit::LengthPrefixCodec codec(
      sockit::LengthPrefixOptions{4, sockit::ByteOrder::big_endian, 1024 * 1024});
  sockit::Stream stream(socket);
  for (const auto& message : args.positional()) {
    stream.write_frame(codec, message);     // send_message
    auto reply = stream.read_frame(codec);  // receive_message
    if (!reply) {
      std::cerr << "length_prefix_client: the server closed the connection" << std::endl;
      return 1;
    }
    std::cout << *reply << std::endl;
  }
  socket.close();
} catch (const std::exception& e) {
  return example::report("length_prefix_client", e);
}
