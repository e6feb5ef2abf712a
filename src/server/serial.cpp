// serial: one connection at a time, on the calling thread (the book's "Serial" server).
// The simplest architecture, and the baseline: a slow client holds up everyone behind it.
#include "accept_loop.hpp"
#include "blocking_connection.hpp"
#include "runtime.hpp"

namespace sockit::server::detail {

void run_serial(Runtime& rt) {
  AcceptLoop acceptor(rt);
  while (auto connection = acceptor.next()) {
    serve_connection(rt, connection->socket, connection->peer, connection->accepted);
  }
}

}  // namespace sockit::server::detail
