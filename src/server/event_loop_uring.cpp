// The event loop on io_uring: where each completion goes (its connection, the listener, the
// mailbox or the stop signal). The loop itself is EventLoop::run_uring (event_loop.cpp).
#include <poll.h>

#include <cerrno>

#include "event_loop.hpp"

namespace sockit::server::detail {

void EventLoop::dispatch(const UringCompletion& done, bool& stop) {
  UringBackend& ring = *shared_.uring;
  switch (done.user_data) {
    case kListenerToken:
      acceptor_.on_accepted(done);
      return;
    case kStopToken:
      if (done.result >= 0 && stop_watched_) stop = true;
      // A multishot poll the kernel ended by itself is asked for again while it matters.
      if (!done.more() && done.result != -ECANCELED && stop_watched_ && !stop) {
        ring.poll(shared_.rt.stop.fd(), POLLIN, true, kStopToken);
      }
      return;
    case kWakeToken:
      if (done.result >= 0) shared_.mailbox->clear_wake();
      if (!done.more()) ring.poll(shared_.mailbox->fd(), POLLIN, true, kWakeToken);
      return;
    case kUringCancelToken:
      return;
    default:
      break;
  }
  LoopConnection* c = shared_.slots.find(done.slot());
  const bool current = c != nullptr && c->is(done.generation());
  switch (done.op()) {
    case UringOp::receive:
      if (current) c->on_received(done);
      // After the session's callback: what it kept of the bytes, it copied.
      if (done.has_buffer()) ring.give_back(done.buffer());
      return;
    case UringOp::send:
      if (current) {
        c->on_sent(done.result);
      } else {
        ring.release_sent(done.user_data);
      }
      return;
    case UringOp::poll:
      if (current) c->on_polled(done.result);
      return;
    default:
      return;
  }
}

}  // namespace sockit::server::detail
