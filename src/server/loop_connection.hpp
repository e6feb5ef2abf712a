// One connection of an event loop, and the Output its session writes to: its state, its
// write path (staged while a callback runs, then straight to the socket, queued only when
// the socket is full), flush, back-pressure, linger and close. The members on the
// per-message path are defined here, to be inlined into the loop's run function.
#pragma once

#include <cstdint>
#include <exception>
#include <memory>
#include <string_view>
#include <system_error>

#include "loop_shared.hpp"
#include "sockit/error.hpp"
#include "sockit/socket.hpp"

namespace sockit::server::detail {

// Recycled through the loop's slot table.
//
// Layout matters at hundreds of connections, where a slot is rarely still cached when its
// next event comes: every field an event reads (state, session, idle-list position, the
// descriptor) lies in the first two cache lines, which the loop prefetches one event ahead
// (see EventLoop::run). The rest (the peer's address, over 100 bytes; the ticket; the Peer
// handle) is read only when a connection opens, closes or is logged.
class alignas(64) LoopConnection final : public Output {
 public:
  enum class State : std::uint8_t {
    free,       // the slot serves no connection
    open,       // reading and writing
    closing,    // the session or a stop asked to close: flushing, then lingering or closed
    lingering,  // our side closed; discarding input until the peer's EOF
    broken,     // an I/O error or a failed callback: closes without flushing
  };
  // The interest of a connection not yet handed to the backend.
  static constexpr std::uint32_t kUnwatched = ~std::uint32_t{0};

  LoopConnection(LoopShared& shared, std::uint32_t number) noexcept : loop(shared), slot(number) {}

  // Output, for its session.
  void write(std::string_view bytes) override;
  void close() override {
    if (state == State::open) state = State::closing;
  }
  bool closing() const noexcept override { return state != State::open; }
  std::shared_ptr<Peer> peer() override;
  void set_reading(bool on) override;
  TimerId start_timer(std::chrono::milliseconds after) override;
  bool cancel_timer(TimerId id) noexcept override;
  bool run_off_loop(OffLoopWork work) override;
  void connect(OutboundRequest request, std::unique_ptr<Session> outbound) override;

  bool live() const noexcept { return state != State::free; }
  bool is(std::uint32_t current) const noexcept { return live() && generation == current; }
  std::size_t queued() const noexcept override { return pending ? pending->size() : 0; }
  const Address& remote() const noexcept { return remote_; }

  // Takes an accepted socket into this free slot.
  void start(Socket accepted, Address peer, ConnectionGate::Ticket admission);
  // Acts on what the backend reported.
  SOCKIT_HOT void on_event(std::uint32_t events);
  // Returns true when bytes were read and handed to the session.
  SOCKIT_HOT bool on_readable();
  // Runs one session callback with its writes staged, then sends them.
  template <class Callback>
  SOCKIT_HOT void call(const char* what, Callback&& callback);
  // Decides what the connection does next, after anything changed its state. Never called
  // while one of its session's callbacks is on the stack, since it may close the connection.
  SOCKIT_HOT void settle() {
    // The steady state of a busy connection, once per message: everything written, still
    // reading, the backend already watching just that. Nothing would change.
    if (state == State::open && !paused && !eof && interest == LoopBackend::kReadable &&
        queued() == 0) {
      return;
    }
    settle_change();
  }
  // Closes at once, without flushing.
  void abort() noexcept;

  // The fields an event reads first (see above).
  LoopShared& loop;
  const std::uint32_t slot;
  std::uint32_t generation = 1;
  std::uint32_t interest = kUnwatched;  // what the backend watches now
  State state = State::free;
  bool eof = false;     // the peer half-closed
  bool paused = false;  // back-pressure: not reading until output drains
  std::unique_ptr<Session> session;
  std::unique_ptr<IoBuffer> pending;  // only while output is backed up
  IdleList<LoopConnection>* list = nullptr;
  Clock::time_point touched{};
  Socket socket;
  LoopConnection* prev = nullptr;
  LoopConnection* next = nullptr;

 private:
  std::uint64_t token() const noexcept { return (std::uint64_t{generation} << 32) | slot; }
  // The connection's I/O calls, one each: false when the call failed, with `failure` set.
  SOCKIT_HOT bool read_some(IoResult& r, std::error_code& failure) {
    r = socket.read_nonblock({loop.read_buffer.get(), loop.settings.read_buffer}, failure);
    return !r.error();
  }
  SOCKIT_HOT bool write_some(IoResult& r, std::string_view bytes, std::error_code& failure) {
    r = socket.write_nonblock(bytes, failure);
    return !r.error();
  }
  bool shut_write() noexcept;
  // An I/O error: the connection closes without flushing, its "closed" line says why.
  void fail(std::error_code failure) noexcept {
    state = State::broken;
    error_ = failure;
  }
  SOCKIT_HOT void send_staged();
  SOCKIT_HOT void send_or_queue(std::string_view bytes);
  void enqueue(std::string_view bytes);
  void touch() noexcept {
    if (list != &loop.idle || loop.now - touched < loop.tick) return;
    loop.idle.remove(*this);
    touched = loop.now;
    loop.idle.push_back(*this);
  }
  void callback_failed(const char* what, const char* why) noexcept;
  void flush();
  void discard_input();
  void settle_change();
  bool update_interest();
  bool linger();
  void destroy() noexcept;

  std::shared_ptr<PeerImpl> peer_handle_;
  ConnectionGate::Ticket ticket_;
  std::error_code error_;  // what broke the connection, for its "closed" line
  Address remote_;
};

inline void LoopConnection::on_event(std::uint32_t events) {
  const std::uint32_t current = generation;
  if ((interest & LoopBackend::kWritable) != 0 && (events & LoopBackend::kWriteEvents) != 0) {
    flush();
    settle();
    if (!is(current)) return;
  }
  if ((interest & LoopBackend::kReadable) != 0 && (events & LoopBackend::kReadEvents) != 0) {
    on_readable();
    if (!is(current)) return;
  }
  // Hang-up or error reported while we watch for nothing (after the peer's EOF, with no
  // output queued): level-triggered epoll would report it forever, so act on it now.
  if ((events & LoopBackend::kFailureEvents) != 0 &&
      (interest & (LoopBackend::kReadable | LoopBackend::kWritable)) == 0) {
    abort();
  }
}

inline bool LoopConnection::on_readable() {
  if (state == State::lingering) {
    discard_input();
    return false;
  }
  IoResult r;
  std::error_code failure;
  if (!read_some(r, failure)) {
    fail(failure);
    settle();
    return false;
  }
  if (r.would_block()) return false;
  if (r.eof()) {
    eof = true;
    call("on_eof", [&] { session->on_eof(*this); });
    settle();
    return false;
  }
  touch();
  char* const bytes = loop.read_buffer.get();
  loop.staging.set_source(bytes, r.bytes);
  call("on_data", [&] { session->on_data({bytes, r.bytes}, *this); });
  loop.staging.clear_source();
  settle();
  return true;
}

template <class Callback>
inline void LoopConnection::call(const char* what, Callback&& callback) {
  loop.corked = this;
  try {
    callback();
  } catch (const std::exception& e) {
    callback_failed(what, e.what());
  } catch (...) {
    callback_failed(what, "unknown exception");
  }
  loop.corked = nullptr;
  send_staged();
}

inline void LoopConnection::send_staged() {
  if (loop.staging.empty()) return;
  if (state != State::broken) send_or_queue(loop.staging.data());
  loop.staging.clear();
}

inline void LoopConnection::send_or_queue(std::string_view bytes) {
  if (queued() == 0) {
    IoResult r;
    std::error_code failure;
    if (!write_some(r, bytes, failure)) {
      fail(failure);
      return;
    }
    if (r.ok()) {
      if (r.bytes >= bytes.size()) return;
      bytes.remove_prefix(r.bytes);
    }
  }
  enqueue(bytes);
}

}  // namespace sockit::server::detail
