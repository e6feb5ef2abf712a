// Echo on standalone Asio, in its idiomatic shape: one io_context on one thread, a session
// object per connection owning a 64 KiB buffer, async_read_some then async_write of what
// was read. Asio recycles handler memory, so a message costs no allocation.
#include <array>
#include <asio.hpp>
#include <csignal>
#include <memory>

#include "peer_common.hpp"

namespace {

using asio::ip::tcp;

class Session : public std::enable_shared_from_this<Session> {
 public:
  explicit Session(tcp::socket socket) : socket_(std::move(socket)) {}
  void start() { read(); }

 private:
  void read() {
    socket_.async_read_some(asio::buffer(buffer_),
                            [self = shared_from_this()](std::error_code ec, std::size_t n) {
                              if (!ec) self->write(n);
                            });
  }
  void write(std::size_t n) {
    asio::async_write(socket_, asio::buffer(buffer_.data(), n),
                      [self = shared_from_this()](std::error_code ec, std::size_t) {
                        if (!ec) self->read();
                      });
  }

  tcp::socket socket_;
  std::array<char, 64 * 1024> buffer_;
};

void accept(tcp::acceptor& acceptor) {
  acceptor.async_accept([&acceptor](std::error_code ec, tcp::socket socket) {
    if (!ec) std::make_shared<Session>(std::move(socket))->start();
    accept(acceptor);
  });
}

}  // namespace

int main(int argc, char** argv) {
  const peer::Args args = peer::parse(argc, argv, "asio_echo");
  asio::io_context context(1);
  const int fd = peer::listen_on(args, "asio_echo", 0);
  tcp::acceptor acceptor(context, tcp::v4(), fd);
  peer::announce(fd, args, "asio_echo");
  asio::signal_set signals(context, SIGINT, SIGTERM);
  signals.async_wait([&context](std::error_code, int) { context.stop(); });
  accept(acceptor);
  context.run();
  return 0;
}
