// The server side of the seed's length-prefixed framing ("Partial Reads and Writes" in
// "Socket Programming Concepts"):
//   def receive_message(socket)
//     length_bytes = read_exact(socket, 4); length = length_bytes.unpack1('N')
//     read_exact(socket, length) end
//   def send_message(socket, message)
//     length = [message.bytesize].pack('N'); write_all(socket, length); write_all(socket, message)
// Every message received is sent back framed the same way (an echo), a thread per client.
// Usage: length_prefix_server [PORT | --port PORT]   (default 4481, the book's port)
// A declared length over 1 MiB closes the connection before any payload is read.
#include <string>

#include "example_support.hpp"
#include "sockit/framing.hpp"
#include "sockit/stream.hpp"
#include "sockit/tcp.hpp"

namespace {

// [len].pack('N'): 4 bytes, big-endian ("network byte order").
const sockit::LengthPrefixOptions framing{4, sockit::ByteOrder::big_endian, 1024 * 1024};

void handle_client(sockit::TcpSocket& client, const std::string& peer) {
  const sockit::LengthPrefixCodec codec(framing);
  sockit::Stream stream(client);
  while (auto message = stream.read_frame(codec)) {
    example::say(peer + ": message of " + std::to_string(message->size()) + " bytes");
    stream.write_frame(codec, *message);
  }
}

}  // namespace

int main(int argc, char** argv) try {
  example::Args args(argc, argv);
  sockit::TcpServer server("", args.port(0, 4481));
  example::announce_listening(server.address());

  example::ClientThreads threads;
  for (;;) {
    auto accepted = server.accept();
    threads.start([client = std::move(accepted)](std::stop_token) mutable {
      handle_client(client.socket, client.peer.unmap_v4().to_string());
      client.socket.close();
    });
  }
} catch (const std::exception& e) {
  return example::report("length_prefix_server", e);
}
