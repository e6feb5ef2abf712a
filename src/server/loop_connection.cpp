// An event loop's connection, off the per-message path: opening, the output queue, flush,
// back-pressure, linger and the one place a connection closes (see loop_connection.hpp).
#include "loop_connection.hpp"

#include <mutex>
#include <stdexcept>
#include <string>
#include <utility>

namespace sockit::server::detail {

void LoopConnection::start(Socket accepted, Address peer, ConnectionGate::Ticket admission) {
  socket = std::move(accepted);
  remote_ = std::move(peer);
  ticket_ = std::move(admission);
  state = State::open;
  touched = loop.now;
  ++loop.live;
  loop.counters.connections.store(loop.live, std::memory_order_relaxed);
  LoopCounters::add(loop.counters.accepted);
  if (loop.idle_timeout.count() > 0) loop.idle.push_back(*this);
}

// While one of its callbacks runs, a connection's writes are staged and sent with one
// write(2) when the callback returns. Outside callbacks (Peer mail) and for large pieces,
// bytes go straight to the socket.
void LoopConnection::write(std::string_view bytes) {
  if ((state != State::open && state != State::closing) || bytes.empty()) return;
  if (loop.corked == this && queued() == 0) {
    if (loop.staging.add(bytes)) return;
    send_staged();
    if (state == State::broken) return;
  }
  send_or_queue(bytes);
}

std::shared_ptr<Peer> LoopConnection::peer() {
  if (!peer_handle_) peer_handle_ = std::make_shared<PeerImpl>(loop.mailbox, slot, generation);
  return peer_handle_;
}

// The runtime, not yet on the event loop.
void LoopConnection::set_reading(bool) {
  throw std::logic_error("set_reading: not yet on the event loop");
}
TimerId LoopConnection::start_timer(std::chrono::milliseconds) {
  throw std::logic_error("timers: not yet on the event loop");
}
bool LoopConnection::cancel_timer(TimerId) noexcept {
  return false;
}
bool LoopConnection::run_off_loop(OffLoopWork) {
  throw std::logic_error("off-loop work: not yet on the event loop");
}
void LoopConnection::connect(OutboundRequest, std::unique_ptr<Session>) {
  throw std::logic_error("outbound connections: not yet on the event loop");
}

void LoopConnection::enqueue(std::string_view bytes) {
  if (!pending) pending = loop.pool.take();
  pending->append(bytes);
  LoopCounters::add(loop.counters.queued, bytes.size());
  if (pending->size() > loop.counters.peak_queued.load(std::memory_order_relaxed)) {
    loop.counters.peak_queued.store(pending->size(), std::memory_order_relaxed);
  }
}

void LoopConnection::callback_failed(const char* what, const char* why) noexcept {
  state = State::broken;
  try {
    loop.rt.log.error(std::string(what) + " " + remote_.to_string() + ": " + why);
  } catch (...) {
  }
}

void LoopConnection::flush() {
  while (queued() > 0) {
    IoResult r;
    std::error_code failure;
    if (!write_some(r, pending->data(), failure)) {
      fail(failure);
      return;
    }
    if (!r.ok()) break;
    pending->consume(r.bytes);
    loop.counters.queued.fetch_sub(r.bytes, std::memory_order_relaxed);
    touch();
  }
  if (pending && pending->empty()) loop.pool.give(std::move(pending));
  if (paused && queued() < loop.settings.low_water) paused = false;
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
  bool keep = state != State::broken;
  if (keep) {
    const std::size_t queue = queued();
    if (queue > loop.settings.max_queued) {
      loop.rt.log.info("closing " + remote_.to_string() + ": " + std::to_string(queue) +
                       " bytes of output unread (client too slow)");
      keep = false;
    } else {
      if (!paused && queue > loop.settings.high_water) {
        paused = true;
        LoopCounters::add(loop.counters.read_pauses);
      }
      keep = state == State::closing && queue == 0 ? linger() : update_interest();
    }
  }
  if (!keep) destroy();
}

// Returns false when the backend refused: the connection must close.
bool LoopConnection::update_interest() {
  const bool reading = state == State::lingering || (state == State::open && !eof && !paused);
  const std::uint32_t want =
      (reading ? LoopBackend::kReadable : 0U) | (queued() > 0 ? LoopBackend::kWritable : 0U);
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
// settings.linger) before closing. Returns false when the connection is to close now.
bool LoopConnection::linger() {
  if (eof || loop.draining) return false;
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

void LoopConnection::destroy() noexcept {
  if (list != nullptr) list->remove(*this);
  if (peer_handle_) loop.mailbox->forget(*peer_handle_);
  peer_handle_.reset();
  if (session) {
    try {
      session->on_close();
    } catch (const std::exception& e) {
      callback_failed("on_close", e.what());
    } catch (...) {
      callback_failed("on_close", "unknown exception");
    }
    session.reset();
  }
  if (pending) {
    loop.counters.queued.fetch_sub(pending->size(), std::memory_order_relaxed);
    loop.pool.give(std::move(pending));
  }
  // Closing the descriptor also drops it from the backend: no call needed.
  socket.close();
  ticket_ = ConnectionGate::Ticket{};
  if (loop.info_enabled()) {
    try {
      loop.rt.log.info("closed " + remote_.to_string() +
                       (error_ ? " (" + error_.message() + ")" : ""));
    } catch (...) {
    }
  }
  ++generation;
  interest = kUnwatched;
  state = State::free;
  eof = paused = false;
  error_.clear();
  loop.slots.release(*this);  // cannot throw: its room was reserved when the slot was made
  --loop.live;
  loop.counters.connections.store(loop.live, std::memory_order_relaxed);
}

}  // namespace sockit::server::detail
