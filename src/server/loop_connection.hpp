// One connection of an event loop, and the Output its session writes to: its state, its
// write path (staged while a callback runs, then straight to the socket, queued only when
// the socket is full), flush, back-pressure, linger and close; and the runtime a session
// may ask of it (timers, off-loop work, flow control, outbound connections). The members
// on the per-message path are defined here, to be inlined into the loop's run function.
#pragma once

#include <chrono>
#include <cstdint>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "loop_shared.hpp"
#include "sockit/error.hpp"
#include "sockit/socket.hpp"

namespace sockit::server::detail {

// What the loop's timers are for (see LoopConnection::on_timer_due).
enum TimerKind : LoopTimers::Kind {
  kSessionTimer = 0,     // Output::start_timer
  kConnectStart = 1,     // an outbound connection begins, from the loop, not its opener
  kConnectDeadline = 2,  // an outbound connection's request.timeout
};

// An outbound connection until it is connected.
struct Dialing {
  std::string host;
  std::string port;
  std::chrono::milliseconds timeout{};
  std::vector<Address> addresses;  // to try, in order
  std::size_t next = 0;            // the next one to try
  TimerId deadline = 0;
  std::error_code error;  // why the last try failed
  std::string reason;
};

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
    free,        // the slot serves no connection
    connecting,  // outbound: resolving the name or waiting for a connect to finish
    open,        // reading and writing
    closing,     // the session or a stop asked to close: flushing, then lingering or closed
    lingering,   // our side closed; discarding input until the peer's EOF
    broken,      // an I/O error or a failed callback: closes without flushing
  };
  // The interest of a connection not yet handed to the backend.
  static constexpr std::uint32_t kUnwatched = ~std::uint32_t{0};

  LoopConnection(LoopShared& shared, std::uint32_t number) noexcept : loop(shared), slot(number) {}

  // Output, for its session. Each write counts as a message out.
  void write(std::string_view bytes) override {
    loop.metrics->add(Counter::messages_out);
    write_mail(bytes);
  }
  // Writes without counting a message: mail from Peer handles, counted as it is posted.
  void write_mail(std::string_view bytes);
  void tally(Counter counter, std::uint64_t n) noexcept override { loop.metrics->add(counter, n); }
  void close() override {
    if (state == State::open) state = State::closing;
    if (loop.corked != this) settle_later();
  }
  bool closing() const noexcept override { return state != State::open; }
  void close_write() override;
  std::shared_ptr<Peer> peer() override;
  void set_reading(bool on) override;
  std::optional<std::size_t> send_file(int fd, std::uint64_t offset, std::size_t length) override;
  TimerId start_timer(std::chrono::milliseconds after) override;
  bool cancel_timer(TimerId id) noexcept override;
  bool run_off_loop(OffLoopWork work) override;
  void connect(OutboundRequest request, std::unique_ptr<Session> outbound) override;

  bool live() const noexcept { return state != State::free; }
  bool is(std::uint32_t current) const noexcept { return live() && generation == current; }
  std::size_t queued() const noexcept override {
    return (pending ? pending->size() : 0) + (sending ? sending->size() : 0) + file_waiting;
  }
  const Address& remote() const noexcept { return remote_; }

  // Takes an accepted socket into this free slot.
  void start(Socket accepted, Address peer, ConnectionGate::Ticket admission);
  // Acts on what the backend reported.
  SOCKIT_HOT void on_event(std::uint32_t events);
  // Returns true when bytes were read and handed to the session.
  SOCKIT_HOT bool on_readable();
  // At a stop: takes in what the peer has already sent (answered like any input), then
  // closes once the answers are out. A new connection that has sent nothing yet (see
  // awaits_first_bytes) stays open instead, listed in loop.awaiting_first_bytes, and is
  // drained again once its bytes have come or its wait is over.
  void drain_and_close();
  // Draining: accepted less than kFirstBytesGrace ago, its client has sent nothing yet (not
  // even an EOF), and it is reading.
  bool awaits_first_bytes() const noexcept {
    return state == State::open && !heard && !eof && hold == 0 && !outbound_ &&
           loop.now < first_bytes_due();
  }
  Clock::time_point first_bytes_due() const noexcept { return accepted_at_ + kFirstBytesGrace; }
  // Runs one session callback with its writes staged, then sends them.
  template <class Callback>
  SOCKIT_HOT void call(const char* what, Callback&& callback);
  // Decides what the connection does next, after anything changed its state. Never called
  // while one of its session's callbacks is on the stack, since it may close the connection.
  SOCKIT_HOT void settle() {
    // The steady state of a busy connection, once per message: everything written, still
    // reading, the backend already watching just that. Nothing would change.
    if (state == State::open && hold == 0 && !eof && interest == LoopBackend::kReadable &&
        queued() == 0) {
      return;
    }
    settle_change();
  }
  // Closes at once, without flushing.
  void abort() noexcept;
  // Why the connection is closing, for the metrics, when the rest does not tell (the idle
  // timeout): see closed_kind().
  void count_close_as(Counter kind) noexcept { closed_as_ = kind; }
  // Settles this connection at the end of the loop's iteration: another connection's
  // callback changed it (wrote to it, closed it, turned its reading on).
  void settle_later() {
    if (listed_) return;
    loop.settle_later.emplace_back(this, generation);
    listed_ = true;
  }
  void settled_later() noexcept { listed_ = false; }
  // A timer of this connection is due (see TimerKind).
  void on_timer_due(TimerId id, LoopTimers::Kind kind);
  // Off-loop work of this connection has finished.
  void on_delivery(Delivery& delivery);
  // Outbound: opens this free slot as a connection for `outbound`, to `request`.
  void dial(OutboundRequest request, std::unique_ptr<Session> outbound);
  bool dialing() const noexcept { return state == State::connecting; }
  // Outbound, kept for the service (loop_links.hpp): no idle timeout, and no log line of its
  // own per attempt (its keeper logs an outage once). Set right after dial().
  void keep_for_service() noexcept { link_ = true; }
  // Outbound, still connecting: gives up with `error`; the session hears on_connect_failed
  // and then on_close.
  void give_up(std::error_code error, const std::string& reason) noexcept;
  // io_uring completions of this connection's requests (loop_uring.cpp).
  void on_received(const UringCompletion& done);
  void on_sent(std::int32_t result);
  void on_polled(std::int32_t result);

  // The fields an event reads first (see above).
  LoopShared& loop;
  const std::uint32_t slot;
  std::uint32_t generation = 1;
  std::uint32_t interest = kUnwatched;  // what the backend watches now
  State state = State::free;
  bool eof = false;    // the peer half-closed
  bool heard = false;  // the peer has sent bytes
  // Not reading, while any reason holds: back-pressure (until output drains) or the
  // session's set_reading(false). One byte, so settle's fast path tests both at once.
  std::uint8_t hold = 0;
  static constexpr std::uint8_t kHoldBackPressure = 1;
  static constexpr std::uint8_t kHoldSession = 2;
  // send_file left part of a file for when the socket can take more: counted by queued()
  // as one byte, so that the wait is watched, drained and timed like queued output.
  bool file_waiting = false;
  std::unique_ptr<Session> session;
  std::unique_ptr<IoBuffer> pending;  // only while output is backed up
  // io_uring: the output the kernel is sending now (pending fills meanwhile).
  std::unique_ptr<IoBuffer> sending;
  IdleList<LoopConnection>* list = nullptr;
  Clock::time_point touched{};
  Socket socket;
  LoopConnection* prev = nullptr;
  LoopConnection* next = nullptr;
  std::uint32_t timers = LoopTimers::kNone;  // the head of its pending timers

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
  void output_sent(bool had_queue);
  void drained();
  void discard_input();
  void settle_change();
  bool update_interest();
  bool linger();
  void destroy() noexcept;
  Counter closed_kind() const noexcept;
  void close_children() noexcept;
  // Outbound (loop_outbound.cpp).
  void begin_dial();
  void on_resolved(std::vector<Address> found, std::error_code error);
  void try_next_address();
  void finish_connect();
  void connected();
  std::string dial_target() const;
  // io_uring (loop_uring.cpp): what update_interest and destroy do on that backend.
  bool arm_uring();
  void release_uring() noexcept;
  void stash(const char* bytes, std::size_t size);
  void replay_stash();
  std::uint64_t user_data(UringOp op) const noexcept { return uring_user_data(token(), op); }

  std::shared_ptr<PeerImpl> peer_handle_;
  ConnectionGate::Ticket ticket_;
  std::error_code error_;  // what broke the connection, for its "closed" line
  Address remote_;
  Clock::time_point accepted_at_{};
  bool listed_ = false;                         // in loop.settle_later
  Counter closed_as_ = Counter::closed_server;  // see count_close_as
  // close_write: asked for (FIN once the queue is empty), then done.
  enum class WriteShut : std::uint8_t { no, asked, done };
  WriteShut write_shut_ = WriteShut::no;
  bool outbound_ = false;  // opened by connect(), not accepted
  bool link_ = false;      // kept for the service (keep_for_service)
  std::unique_ptr<Dialing> dialing_;
  // The outbound connections this one opened (slot, generation): closed with it.
  std::vector<std::pair<std::uint32_t, std::uint32_t>> children_;
  // io_uring: the requests in flight, and input that arrived while reading was held
  // (received before the kernel heard the receive was cancelled), replayed when it resumes.
  static constexpr std::uint8_t kReceiving = 1;
  static constexpr std::uint8_t kReceiveCancelled = 2;
  static constexpr std::uint8_t kSending = 4;
  static constexpr std::uint8_t kPolling = 8;
  static constexpr std::uint8_t kStashedEof = 16;
  static constexpr std::uint8_t kBackedUp = 32;  // output waited behind a send
  std::uint8_t uring_ = 0;
  std::unique_ptr<IoBuffer> stashed_;
};

inline void LoopConnection::on_event(std::uint32_t events) {
  const std::uint32_t current = generation;
  if ((interest & LoopBackend::kWritable) != 0 && (events & LoopBackend::kWriteEvents) != 0) {
    flush();
    // flush may have closed it (a failed connect, on_drain), and an on_close may have
    // opened another connection in its slot.
    if (!is(current)) return;
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
  heard = true;
  loop.metrics->add(Counter::bytes_in, r.bytes);
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
  // io_uring: queued, and sent with the loop's next submission (see arm_uring). A large
  // write with nothing ahead of it goes straight to the socket as on epoll: the system call
  // is small beside the copy it saves, and what the socket takes never counts against the
  // queue's bound.
  if (loop.uring && (bytes.size() < kDirectSendBytes || queued() > 0)) {
    enqueue(bytes);
    return;
  }
  if (queued() == 0) {
    IoResult r;
    std::error_code failure;
    if (!write_some(r, bytes, failure)) {
      fail(failure);
      return;
    }
    if (r.ok()) {
      loop.metrics->add(Counter::bytes_out, r.bytes);
      // Traffic either way is activity: a client that only receives (a download through a
      // proxy, a ticker) is not idle.
      touch();
      if (r.bytes >= bytes.size()) return;
      bytes.remove_prefix(r.bytes);
    }
    // The socket is full: what is left waits for it, and on io_uring the session hears
    // on_drain once it has gone, as on epoll.
    if (loop.uring) uring_ |= kBackedUp;
  }
  enqueue(bytes);
}

}  // namespace sockit::server::detail
