// Echo on standalone Asio with C++20 coroutines, the way Asio's own examples write it:
// co_spawn one coroutine per connection, each awaiting async_read_some and async_write with
// use_awaitable, on one io_context on one thread. The peer of sockit's coroutine echo.
#include <array>
#include <asio.hpp>
#include <csignal>

#include "peer_common.hpp"

namespace {

using asio::awaitable;
using asio::use_awaitable;
using asio::ip::tcp;

awaitable<void> echo(tcp::socket socket) {
  std::array<char, 64 * 1024> buffer;
  try {
    for (;;) {
      std::size_t n = co_await socket.async_read_some(asio::buffer(buffer), use_awaitable);
      co_await asio::async_write(socket, asio::buffer(buffer.data(), n), use_awaitable);
    }
  } catch (const std::exception&) {
    // EOF or reset: the connection is over.
  }
}

awaitable<void> listen(tcp::acceptor& acceptor) {
  for (;;) {
    tcp::socket socket = co_await acceptor.async_accept(use_awaitable);
    asio::co_spawn(acceptor.get_executor(), echo(std::move(socket)), asio::detached);
  }
}

}  // namespace

int main(int argc, char** argv) {
  const peer::Args args = peer::parse(argc, argv, "asio_coro_echo");
  asio::io_context context(1);
  const int fd = peer::listen_on(args, "asio_coro_echo", 0);
  tcp::acceptor acceptor(context, tcp::v4(), fd);
  peer::announce(fd, args, "asio_coro_echo");
  asio::signal_set signals(context, SIGINT, SIGTERM);
  signals.async_wait([&context](std::error_code, int) { context.stop(); });
  asio::co_spawn(context, listen(acceptor), asio::detached);
  context.run();
  return 0;
}
