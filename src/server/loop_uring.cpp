// An event loop's connection on the io_uring backend: its requests (a multishot receive
// while it reads, one send of its queued output at a time, a poll while it connects), what
// their completions do, and how they are called off when it closes. Everything else (the
// session calls, back-pressure, linger, timers) is the same code as on epoll
// (loop_connection.cpp).
#include <poll.h>

#include <cerrno>
#include <string>
#include <utility>

#include "loop_connection.hpp"

namespace sockit::server::detail {

// update_interest, for io_uring: the receive is armed while the connection reads and
// cancelled while it does not; queued output goes out one send at a time. `interest`
// mirrors what is armed, so settle's fast path holds for a busy connection here too.
bool LoopConnection::arm_uring() {
  UringBackend& ring = *loop.uring;
  if (slot >= kUringSlotLimit) {
    loop.rt.log.error("closing " + remote_.to_string() + ": over " +
                      std::to_string(kUringSlotLimit) + " connections on one io_uring loop");
    return false;
  }
  try {
    if (state == State::connecting) {
      if ((uring_ & kPolling) == 0) {
        ring.poll(socket.fd(), POLLOUT, false, user_data(UringOp::poll));
        uring_ |= kPolling;
      }
      interest = LoopBackend::kWritable;
      return true;
    }
    const bool reading =
        state == State::lingering || (state == State::open && !eof && hold == 0 && !stashed_);
    if (reading && (uring_ & kReceiving) == 0) {
      ring.receive(socket.fd(), user_data(UringOp::receive));
      uring_ |= kReceiving;
    } else if (!reading && (uring_ & (kReceiving | kReceiveCancelled)) == kReceiving) {
      ring.cancel(user_data(UringOp::receive));
      uring_ |= kReceiveCancelled;
    }
    if ((uring_ & kSending) == 0 && queued() > 0) {
      if (!sending || sending->empty()) {
        if (sending) loop.pool.give(std::move(sending));
        sending = std::move(pending);
      }
      const std::string_view bytes = sending->data();
      ring.send(socket.fd(), bytes.data(), bytes.size(), user_data(UringOp::send));
      uring_ |= kSending;
    }
  } catch (const Error& error) {
    loop.rt.log.error(error.what());
    return false;
  }
  const bool receiving = (uring_ & (kReceiving | kReceiveCancelled)) == kReceiving;
  interest = (receiving ? LoopBackend::kReadable : 0U) |
             ((uring_ & kSending) != 0 ? LoopBackend::kWritable : 0U);
  return true;
}

void LoopConnection::on_received(const UringCompletion& done) {
  if (!done.more()) {
    uring_ = static_cast<std::uint8_t>(uring_ & ~(kReceiving | kReceiveCancelled));
    interest &= ~LoopBackend::kReadable;
  }
  const std::int32_t result = done.result;
  if (result > 0) {
    const char* bytes = loop.uring->buffer(done.buffer());
    const auto size = static_cast<std::size_t>(result);
    loop.metrics->add(Counter::bytes_in, size);
    if (state == State::open && !eof) {
      if (hold != 0 || stashed_) {
        stash(bytes, size);
      } else {
        touch();
        heard = true;
        loop.staging.set_source(bytes, size);
        call("on_data", [&] { session->on_data({bytes, size}, *this); });
        loop.staging.clear_source();
      }
    }
    // Lingering, closing or broken: input nobody will read.
  } else if (result == 0) {
    if (state == State::lingering) {
      abort();
      return;
    }
    if (state == State::open && !eof) {
      if (hold != 0 || stashed_) {
        uring_ |= kStashedEof;
        if (!stashed_) stashed_ = loop.pool.take();
      } else {
        eof = true;
        call("on_eof", [&] { session->on_eof(*this); });
      }
    }
  } else if (result == -ENOBUFS) {
    // Every provided buffer was in use: the ring grows, and the receive is armed again
    // below, by which time the buffers of this turn's receives are back too.
    loop.uring->grow_buffers();
  } else if (result != -ECANCELED) {
    fail(errno_code(-result));
  }
  settle();
}

void LoopConnection::on_sent(std::int32_t result) {
  uring_ = static_cast<std::uint8_t>(uring_ & ~kSending);
  if (result < 0) {
    fail(errno_code(-result));
    settle();
    return;
  }
  const auto size = static_cast<std::size_t>(result);
  loop.metrics->add(Counter::bytes_out, size);
  sending->consume(size);
  loop.queued_less(size);
  // As on epoll, only an empty queue restarts the write deadline.
  if (queued() == 0) touch();
  // Output waited behind this send, or not all of it went: it backed up, as a full socket
  // on epoll, and the session hears on_drain once it is all out.
  const bool backed_up =
      (pending && !pending->empty()) || !sending->empty() || size >= kDrainMarkBytes;
  if (sending->empty()) loop.pool.give(std::move(sending));
  if (backed_up) uring_ |= kBackedUp;
  if (queued() == 0) {
    const bool had_queue = (uring_ & kBackedUp) != 0;
    uring_ = static_cast<std::uint8_t>(uring_ & ~kBackedUp);
    output_sent(had_queue);
  } else {
    output_sent(false);
  }
  settle();
}

void LoopConnection::on_polled(std::int32_t result) {
  uring_ = static_cast<std::uint8_t>(uring_ & ~kPolling);
  if (state != State::connecting) return;
  // Ready or failed, finish_connect asks the socket which (SO_ERROR).
  static_cast<void>(result);
  interest = 0;
  const std::uint32_t current = generation;
  flush();
  if (is(current)) settle();
}

// Called off when the connection goes. A send still in flight may be read by the kernel
// until its completion arrives: its bytes are kept until then.
void LoopConnection::release_uring() noexcept {
  UringBackend& ring = *loop.uring;
  try {
    if ((uring_ & (kReceiving | kReceiveCancelled)) == kReceiving) {
      ring.cancel(user_data(UringOp::receive));
    }
    if ((uring_ & kPolling) != 0) ring.cancel(user_data(UringOp::poll));
    if ((uring_ & kSending) != 0) ring.cancel(user_data(UringOp::send));
  } catch (const Error& error) {
    loop.rt.log.error(error.what());
  }
  if (sending) {
    loop.queued_less(sending->size());
    if ((uring_ & kSending) != 0) {
      ring.keep_until_sent(user_data(UringOp::send), std::move(sending));
    } else {
      loop.pool.give(std::move(sending));
    }
  }
  if (stashed_) loop.pool.give(std::move(stashed_));
  uring_ = 0;
}

void LoopConnection::stash(const char* bytes, std::size_t size) {
  if (!stashed_) stashed_ = loop.pool.take();
  stashed_->append({bytes, size});
}

// Reading resumed: what arrived while it was held, then the EOF that followed it.
void LoopConnection::replay_stash() {
  std::unique_ptr<IoBuffer> held = std::move(stashed_);
  const bool then_eof = (uring_ & kStashedEof) != 0;
  uring_ = static_cast<std::uint8_t>(uring_ & ~kStashedEof);
  const std::uint32_t current = generation;
  if (!held->empty()) {
    touch();
    heard = true;
    const std::string_view bytes = held->data();
    call("on_data", [&] { session->on_data(bytes, *this); });
  }
  loop.pool.give(std::move(held));
  if (!then_eof || !is(current) || state != State::open) return;
  if (hold != 0) {
    // Held again by the bytes just replayed: the EOF waits for the next resume.
    uring_ |= kStashedEof;
    stashed_ = loop.pool.take();
    return;
  }
  eof = true;
  call("on_eof", [&] { session->on_eof(*this); });
}

}  // namespace sockit::server::detail
