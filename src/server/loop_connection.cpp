// An event loop's connection, off the per-message path: opening, the output queue, flush,
// back-pressure and flow control, timers, linger and the one place a connection closes
// (see loop_connection.hpp).
#include "loop_connection.hpp"

#include <sys/sendfile.h>

#include <algorithm>
#include <cerrno>
#include <string>
#include <utility>

namespace sockit::server::detail {

void LoopConnection::start(Socket accepted, Address peer, ConnectionGate::Ticket admission) {
  socket = std::move(accepted);
  remote_ = peer;
  ticket_ = std::move(admission);
  state = State::open;
  heard = false;
  touched = loop.now;
  accepted_at_ = loop.now;
  ++loop.live;
  loop.counters.connections.store(loop.live, std::memory_order_relaxed);
  LoopCounters::add(loop.counters.accepted);
  loop.metrics->add(Counter::accepted);
  if (loop.idle_timeout.count() > 0) loop.idle.push_back(*this);
}

// While one of its callbacks runs, a connection's writes are staged and sent with one
// write(2) when the callback returns. Outside callbacks (Peer mail) and for large pieces,
// bytes go straight to the socket.
// Written from another connection's callback (a proxy), it must be settled afterwards:
// its interest may now include writable, or a failure may have to close it.
void LoopConnection::write_mail(std::string_view bytes) {
  if ((state != State::open && state != State::closing) || bytes.empty() ||
      write_shut_ != WriteShut::no) {
    return;
  }
  if (loop.corked == this) {
    if (queued() == 0) {
      if (loop.staging.add(bytes)) return;
      send_staged();
      if (state == State::broken) return;
    }
  } else {
    settle_later();
  }
  send_or_queue(bytes);
}

// Our EOF goes out behind what was written: the staged bytes now, the queue when flush()
// empties it.
void LoopConnection::close_write() {
  if (state != State::open || write_shut_ != WriteShut::no) return;
  if (loop.corked == this) send_staged();
  if (state != State::open) return;
  write_shut_ = WriteShut::asked;
  if (queued() == 0) {
    write_shut_ = WriteShut::done;
    if (!shut_write()) fail(std::make_error_code(std::errc::not_connected));
  }
  if (loop.corked != this) settle_later();
}

std::shared_ptr<Peer> LoopConnection::peer() {
  if (!peer_handle_) peer_handle_ = std::make_shared<PeerImpl>(loop.mailbox, slot, generation);
  return peer_handle_;
}

// Applied when the connection is next settled.
void LoopConnection::set_reading(bool on) {
  const auto before = hold;
  hold = on ? static_cast<std::uint8_t>(hold & ~kHoldSession)
            : static_cast<std::uint8_t>(hold | kHoldSession);
  if (hold != before && loop.corked != this) settle_later();
}

// Only on epoll, with nothing ahead of the file: the staged bytes (a response's head) go
// first, and when they do not all go the session writes the file itself behind them.
std::optional<std::size_t> LoopConnection::send_file(int fd, std::uint64_t offset,
                                                     std::size_t length) {
  if (loop.uring || (state != State::open && state != State::closing) ||
      write_shut_ != WriteShut::no) {
    return std::nullopt;
  }
  if (loop.corked == this) {
    send_staged();
  } else {
    settle_later();
  }
  if (state == State::broken) return 0;
  if (queued() > 0) return std::nullopt;
  if (length == 0) return 0;
  auto at = static_cast<off_t>(offset);
  const ssize_t n = ::sendfile(socket.fd(), fd, &at, length);
  if (n < 0) {
    const int err = errno;
    if (err == EINVAL || err == ENOSYS || err == EOVERFLOW) return std::nullopt;
    if (err != EAGAIN && err != EWOULDBLOCK && err != EINTR) {
      fail(errno_code(err));
      return 0;
    }
    file_waiting = true;
    return 0;
  }
  // Nothing taken and no error: the file ended early; the session finds out by reading it.
  if (n == 0) return std::nullopt;
  touch();
  const auto took = static_cast<std::size_t>(n);
  loop.metrics->add(Counter::bytes_out, took);
  if (took < length) file_waiting = true;
  return took;
}

// The deadline is taken from the clock, not the loop's time of its last wake-up, which a
// long batch of events may have left behind: a timer never fires early.
TimerId LoopConnection::start_timer(std::chrono::milliseconds after) {
  if (!live()) return 0;
  return loop.timers.start(*this, Clock::now() + std::max(after, std::chrono::milliseconds{0}),
                           kSessionTimer);
}

bool LoopConnection::cancel_timer(TimerId id) noexcept {
  return loop.timers.cancel(*this, id);
}

void LoopConnection::on_timer_due(TimerId id, LoopTimers::Kind kind) {
  const std::uint32_t current = generation;
  switch (kind) {
    case kSessionTimer:
      // A session that has closed its side (lingering) or failed hears no more.
      if (state != State::open && state != State::closing) return;
      call("on_timer", [&] { session->on_timer(id, *this); });
      break;
    case kConnectStart:
      begin_dial();
      break;
    case kConnectDeadline:
      if (dialing_) {
        // The same code and words as a blocking connect that ran out of time.
        const std::error_code timed_out = errno_code(ETIMEDOUT);
        give_up(timed_out, timed_out.message());
        return;
      }
      break;
    default:
      break;
  }
  // Closed meanwhile, its slot perhaps taken by a connection its on_close opened.
  if (is(current)) settle();
}

void LoopConnection::enqueue(std::string_view bytes) {
  if (!pending) pending = loop.pool.take();
  pending->append(bytes);
  loop.queued_more(bytes.size());
  if (pending->size() > loop.counters.peak_queued.load(std::memory_order_relaxed)) {
    loop.counters.peak_queued.store(pending->size(), std::memory_order_relaxed);
  }
}

void LoopConnection::callback_failed(const char* what, const char* why) noexcept {
  state = State::broken;
  closed_as_ = Counter::closed_error;
  try {
    loop.rt.log.error(std::string(what) + " " + remote_.to_string() + ": " + why);
  } catch (...) {
  }
}

void LoopConnection::flush() {
  if (state == State::connecting) {
    finish_connect();
    return;
  }
  const bool had_queue = queued() > 0;
  // The socket can take more: the session sends the next part of its file from on_drain,
  // behind whatever was queued after it.
  file_waiting = false;
  while (queued() > 0) {
    IoResult r;
    std::error_code failure;
    if (!write_some(r, pending->data(), failure)) {
      fail(failure);
      return;
    }
    if (!r.ok()) break;
    pending->consume(r.bytes);
    loop.queued_less(r.bytes);
    loop.metrics->add(Counter::bytes_out, r.bytes);
  }
  // The write deadline (the idle list) restarts once everything is out, not at each partial
  // write: a peer that takes a byte now and then is as slow as one that takes nothing.
  if (queued() == 0) touch();
  if (pending && pending->empty()) loop.pool.give(std::move(pending));
  output_sent(had_queue);
}

// Some output went out (flushed on epoll, a send completed on io_uring): reading resumes
// below the low-water mark, a FIN asked for follows the last byte, and a session that
// waits for the queue to empty hears on_drain.
void LoopConnection::output_sent(bool had_queue) {
  if ((hold & kHoldBackPressure) != 0 && queued() < loop.settings.low_water) {
    hold = static_cast<std::uint8_t>(hold & ~kHoldBackPressure);
  }
  if (queued() == 0 && write_shut_ == WriteShut::asked) {
    write_shut_ = WriteShut::done;
    if (!shut_write()) {
      fail(std::make_error_code(std::errc::not_connected));
      return;
    }
  }
  if (had_queue && queued() == 0) drained();
}

// Output that had to wait has all been sent: a session moving bytes between connections
// may now read more from the other one.
void LoopConnection::drained() {
  if ((state != State::open && state != State::closing) || !session) return;
  call("on_drain", [&] { session->on_drain(*this); });
}

void LoopConnection::drain_and_close() {
  const std::uint32_t current = generation;
  for (int reads = 0;
       reads < kMaxDrainReads && is(current) && !eof && state == State::open && hold == 0;
       ++reads) {
    if (!on_readable()) break;
  }
  if (!is(current)) return;
  if (awaits_first_bytes()) {
    loop.awaiting_first_bytes.emplace_back(this, generation);
    return;
  }
  close();
  if (is(current)) settle();
}

void LoopConnection::discard_input() {
  for (int i = 0; i < kMaxDrainReads; ++i) {
    IoResult r;
    std::error_code ignored;
    if (!read_some(r, ignored) || r.eof()) {
      abort();
      return;
    }
    if (r.would_block()) return;
  }
}

void LoopConnection::settle_change() {
  if (state == State::free) return;
  // io_uring: input that came in while reading was held goes to the session first.
  if (stashed_ && state == State::open && hold == 0) {
    replay_stash();
    if (state == State::free) return;
  }
  // Outbound, resolving its name: no socket to watch yet.
  if (state == State::connecting && !socket.is_open()) return;
  bool keep = state != State::broken;
  if (keep) {
    const std::size_t queue = queued();
    if (queue != 0 && loop.rt.output.too_slow(queue, loop.rt.gate.active())) {
      loop.rt.log.info(loop.rt.output.closing_line(remote_.to_string(), queue));
      keep = false;
    } else {
      if ((hold & kHoldBackPressure) == 0 && queue > loop.settings.high_water) {
        hold |= kHoldBackPressure;
        LoopCounters::add(loop.counters.read_pauses);
      }
      keep = state == State::closing && queue == 0 ? linger() : update_interest();
    }
  }
  if (!keep) destroy();
}

// Returns false when the backend refused: the connection must close.
bool LoopConnection::update_interest() {
  if (loop.uring) return arm_uring();
  const bool reading = state == State::lingering || (state == State::open && !eof && hold == 0);
  // Connecting: a finished connect (or its failure) reports writable.
  const std::uint32_t want =
      (reading ? LoopBackend::kReadable : 0U) |
      (queued() > 0 || state == State::connecting ? LoopBackend::kWritable : 0U);
  if (want == interest) return true;
  try {
    if (interest == kUnwatched) {
      loop.backend.watch(socket.fd(), want, token());
    } else {
      loop.backend.change(socket.fd(), want, token());
    }
    interest = want;
  } catch (const Error& error) {
    loop.rt.log.error(error.what());
    return false;
  }
  return true;
}

// Output is flushed and the session is done. Closing a socket with unread input makes the
// kernel answer with a reset, which can destroy the reply still in flight to the peer; so
// when input is waiting, send our FIN and discard input until the peer's EOF (bounded by
// settings.linger, and the drain deadline at a stop) before closing. Returns false when the
// connection is to close now.
bool LoopConnection::linger() {
  if (eof) return false;
  IoResult r;
  std::error_code ignored;
  if (!read_some(r, ignored) || !r.ok() || !shut_write()) return false;
  state = State::lingering;
  if (list != nullptr) list->remove(*this);
  touched = loop.now;
  loop.lingering.push_back(*this);
  return update_interest();
}

bool LoopConnection::shut_write() noexcept {
  try {
    socket.close_write();
    return true;
  } catch (const Error&) {
    return false;
  }
}

void LoopConnection::abort() noexcept {
  if (!live()) return;
  state = State::broken;
  destroy();
}

void LoopConnection::close_children() noexcept {
  // By index: a child's on_close may still open another through this connection.
  for (std::size_t i = 0; i < children_.size(); ++i) {
    const auto [child_slot, child_generation] = children_[i];
    LoopConnection* child = loop.slots.find(child_slot);
    if (child != nullptr && child->is(child_generation)) child->abort();
  }
  children_.clear();
}

// An I/O failure says why by itself; then what count_close_as said; then the peer's EOF.
Counter LoopConnection::closed_kind() const noexcept {
  if (error_) return failure_kind(error_);
  if (closed_as_ != Counter::closed_server) return closed_as_;
  return eof ? Counter::closed_eof : Counter::closed_server;
}

void LoopConnection::destroy() noexcept {
  if (list != nullptr) list->remove(*this);
  if (peer_handle_) loop.mailbox->forget(*peer_handle_);
  peer_handle_.reset();
  // The outbound connections it opened go first, while its session is still there: their
  // sessions may hold on to it. Then its own on_close, then what that may have opened.
  close_children();
  if (session) {
    try {
      session->on_close();
    } catch (const std::exception& e) {
      callback_failed("on_close", e.what());
    } catch (...) {
      callback_failed("on_close", "unknown exception");
    }
    close_children();
    session.reset();
  }
  // Its timers (those its on_close started too) cost nothing once it has gone, and never
  // fire.
  loop.timers.cancel_all(*this);
  if (pending) {
    loop.queued_less(pending->size());
    loop.pool.give(std::move(pending));
  }
  // Closing the descriptor also drops it from epoll; io_uring's requests hold the socket
  // open until they are cancelled.
  if (loop.uring) release_uring();
  socket.close();
  ticket_ = ConnectionGate::Ticket{};
  if (!outbound_) loop.metrics->add(closed_kind());
  // An outbound connection that never connected has said why in its "failed" line.
  if (loop.info_enabled() && !dialing_ && !link_) {
    try {
      loop.rt.log.info("closed " + remote_.to_string() +
                       (error_ ? " (" + error_.message() + ")" : ""));
    } catch (...) {
    }
  }
  ++generation;
  interest = kUnwatched;
  state = State::free;
  eof = false;
  hold = 0;
  file_waiting = false;
  write_shut_ = WriteShut::no;
  listed_ = false;
  if (outbound_) --loop.outbound;
  outbound_ = false;
  link_ = false;
  dialing_.reset();
  error_.clear();
  closed_as_ = Counter::closed_server;
  loop.slots.release(*this);  // cannot throw: its room was reserved when the slot was made
  --loop.live;
  loop.counters.connections.store(loop.live, std::memory_order_relaxed);
}

}  // namespace sockit::server::detail
