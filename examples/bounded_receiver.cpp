// Mirrors BoundedReceiver from "Buffer Overflow Prevention" in "Socket Programming
// Concepts":
//   MAX_MESSAGE_SIZE = 1024 * 1024  # 1 MB limit
//   while @buffer.bytesize < MAX_MESSAGE_SIZE
//     chunk = @socket.read_nonblock(4096); @buffer << chunk
//     if message = extract_message then return message end   # newline-terminated
//   rescue IO::WaitReadable then IO.select([@socket]); retry end
//   raise "Message exceeds maximum size of #{MAX_MESSAGE_SIZE} bytes"
// As a server (one client at a time): every message of at most 1 MiB (its "\n" not
// counted) is answered "OK <n> bytes"; a longer one is answered
// "ERROR Message exceeds maximum size of 1048576 bytes", the rest of what that client
// sends is discarded, and the connection is closed.
// Usage: bounded_receiver [PORT | --port PORT]   (default 4482)
// The seed's limit depends on how reads happen to split the input; LineCodec's does not.
#include <array>
#include <iostream>
#include <optional>
#include <string>

#include "example_support.hpp"
#include "sockit/error.hpp"
#include "sockit/framing.hpp"
#include "sockit/poll.hpp"
#include "sockit/stream.hpp"
#include "sockit/tcp.hpp"

namespace {

constexpr std::size_t max_message_size = 1024 * 1024;
constexpr auto io_timeout = std::chrono::seconds(30);

class BoundedReceiver {
 public:
  explicit BoundedReceiver(sockit::TcpSocket& socket)
      : socket_(&socket), buffer_(sockit::LineCodecOptions{max_message_size, false}) {}

  // The next message; nullopt when the client has left. Throws the seed's error for a
  // message over the limit.
  std::optional<std::string> receive_limited() {
    for (;;) {
      auto next = buffer_.next();
      if (next.is_frame()) return std::string(next.frame);
      if (next.is_error()) {
        throw std::length_error("Message exceeds maximum size of " +
                                std::to_string(max_message_size) + " bytes");
      }
      auto chunk = socket_->read_nonblock(buffer_.prepare(4096));
      if (chunk.eof()) return std::nullopt;
      if (chunk.would_block()) {
        if (!sockit::wait_readable(*socket_, io_timeout)) return std::nullopt;
        continue;
      }
      buffer_.commit(chunk.bytes);
    }
  }

 private:
  sockit::TcpSocket* socket_;
  sockit::LineCodec buffer_;
};

// After a refusal the client may still be sending: read it to the end (bounded in time),
// so closing does not reset the connection and lose the answer on its way to the client.
void discard_rest(sockit::TcpSocket& socket) {
  sockit::Stream stream(socket);
  std::array<char, 64 * 1024> sink;
  const sockit::Deadline deadline(io_timeout);
  while (stream.read_some(sink, deadline) > 0) {
  }
}

void serve(sockit::TcpSocket& client, const std::string& peer) {
  sockit::Stream replies(client);
  BoundedReceiver receiver(client);
  try {
    while (auto message = receiver.receive_limited()) {
      std::cout << peer << ": message of " << message->size() << " bytes" << std::endl;
      replies.write_line("OK " + std::to_string(message->size()) + " bytes", io_timeout);
    }
  } catch (const std::length_error& e) {
    std::cout << peer << ": " << e.what() << std::endl;
    replies.write_line(std::string("ERROR ") + e.what(), io_timeout);
    client.close_write();
    discard_rest(client);
  }
}

}  // namespace

int main(int argc, char** argv) try {
  example::Args args(argc, argv);
  sockit::TcpServer server("", args.port(0, 4482));
  example::announce_listening(server.address());

  for (;;) {
    auto client = server.accept();
    try {
      serve(client.socket, client.peer.unmap_v4().to_string());
    } catch (const sockit::Error& e) {
      std::cerr << "bounded_receiver: " << e.what() << std::endl;
    }
    client.socket.close();
  }
} catch (const std::exception& e) {
  return example::report("bounded_receiver", e);
}
