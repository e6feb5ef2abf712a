// One connection driven by a blocking read loop (see blocking_connection.hpp).
//
// Everything waits in poll(2) beside the stop eventfd (and, for services with shared
// state, the connection's wake-up eventfd), so a stop request or a message from another
// thread is seen at once; reads and writes use MSG_DONTWAIT, so nothing blocks past a
// deadline whatever mode the socket is in.
#include "blocking_connection.hpp"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <exception>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "sockit/error.hpp"
#include "sockit/options.hpp"
#include "sockit/server/blocking_service.hpp"

namespace sockit::server::detail {
namespace {

constexpr std::size_t read_chunk = 64 * 1024;

// One read buffer per thread, reused by every connection the thread serves in turn (a pool
// worker serves thousands): no 64 KiB allocation, zeroing and first touch per connection.
// A thread serves one connection at a time, so nothing else uses it meanwhile.
char* thread_read_buffer() {
  thread_local std::unique_ptr<char[]> buffer;
  if (!buffer) buffer.reset(new char[read_chunk]);
  return buffer.get();
}

// The thread-safe handle other sessions send through. Messages queue here and an eventfd
// wakes the connection's read loop, which moves them into its Output.
class ConnectionPeer final : public Peer {
 public:
  ConnectionPeer() : wake_fd_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
    if (wake_fd_ < 0) throw_errno("eventfd", "peer", errno);
  }
  ~ConnectionPeer() override { ::close(wake_fd_); }
  ConnectionPeer(const ConnectionPeer&) = delete;
  ConnectionPeer& operator=(const ConnectionPeer&) = delete;

  void send(std::string bytes) override {
    std::lock_guard lock(mutex_);
    if (gone_) return;
    queued_ += bytes;
    wake();
  }
  void close() override {
    std::lock_guard lock(mutex_);
    if (gone_) return;
    close_requested_ = true;
    wake();
  }

  int wake_fd() const noexcept { return wake_fd_; }

  // Moves what others sent into `out`; true when a close was asked for.
  bool take(std::string& out) {
    std::uint64_t counter = 0;
    [[maybe_unused]] ssize_t n = ::read(wake_fd_, &counter, sizeof counter);
    std::lock_guard lock(mutex_);
    out += queued_;
    queued_.clear();
    return close_requested_;
  }

  void detach() noexcept {
    std::lock_guard lock(mutex_);
    gone_ = true;
    queued_.clear();
  }

 private:
  void wake() noexcept {
    std::uint64_t one = 1;
    [[maybe_unused]] ssize_t n = ::write(wake_fd_, &one, sizeof one);
  }

  int wake_fd_;
  std::mutex mutex_;
  std::string queued_;
  bool close_requested_ = false;
  bool gone_ = false;
};

class BufferedOutput final : public Output {
 public:
  void write(std::string_view bytes) override {
    if (!closing_) pending_.append(bytes);
  }
  void close() override { closing_ = true; }
  bool closing() const noexcept override { return closing_; }
  void close_write() override { throw std::logic_error("close_write: not yet here"); }
  std::shared_ptr<Peer> peer() override {
    if (!peer_) peer_ = std::make_shared<ConnectionPeer>();
    return peer_;
  }

  std::size_t queued() const noexcept override { return pending_.size(); }
  void set_reading(bool) override { throw std::logic_error("set_reading: not yet here"); }
  TimerId start_timer(std::chrono::milliseconds) override {
    throw std::logic_error("timers: not yet here");
  }
  bool cancel_timer(TimerId) noexcept override { return false; }
  bool run_off_loop(OffLoopWork) override { throw std::logic_error("off-loop: not yet here"); }
  void connect(OutboundRequest, std::unique_ptr<Session>) override {
    throw std::logic_error("outbound: not yet here");
  }

  std::string& pending() noexcept { return pending_; }
  ConnectionPeer* connection_peer() const noexcept { return peer_.get(); }
  void detach_peer() noexcept {
    if (peer_) peer_->detach();
  }

 private:
  std::string pending_;
  bool closing_ = false;
  std::shared_ptr<ConnectionPeer> peer_;
};

class Connection {
 public:
  Connection(Runtime& rt, Socket& socket, const Address& peer)
      : rt_(rt), socket_(socket), peer_(peer), buffer_(thread_read_buffer()) {}

  void run() {
    ConnectionInfo info{peer_, local_address(), rt_.options.limits};
    session_ = rt_.service.open(info);
    if (logging()) rt_.log.info("connection from " + peer_.to_string());
    session_->on_open(out_);
    if (flush(write_deadline())) loop();
    finish();
  }

  // Whatever happens, the session hears that the connection is gone.
  void finish() noexcept {
    out_.detach_peer();
    if (session_) {
      try {
        session_->on_close();
      } catch (const std::exception& e) {
        rt_.log.error("session on_close for " + peer_.to_string() + ": " + e.what());
      }
      session_.reset();
    }
    if (logging()) {
      rt_.log.info("closed " + peer_.to_string() + (reason_.empty() ? "" : " (" + reason_ + ")"));
    }
  }

  void set_reason(std::string reason) {
    if (reason_.empty()) reason_ = std::move(reason);
  }

 private:
  bool logging() const noexcept { return rt_.log.level() != LogLevel::quiet; }

  Address local_address() const {
    // A listener bound to one IP address accepts only connections to that address, so
    // getsockname per connection would tell nothing new.
    if (rt_.local.is_ip() && !rt_.local.is_any()) return rt_.local;
    try {
      return socket_.local_address();
    } catch (const Error&) {
      return rt_.local;
    }
  }

  Deadline write_deadline() const {
    if (draining_) return drain_deadline_;
    return Deadline(rt_.options.idle_timeout);
  }

  void loop() {
    auto idle_until = Clock::now() + rt_.options.idle_timeout;
    // A client usually sends as soon as it connects, so by the time a fresh connection is
    // served its first bytes are there: read before the first poll, saving one poll.
    bool read_first = true;
    // Every poll below watches the stop eventfd (shared with a forking parent), so between
    // polls the in-process flag is enough: no extra poll per read just to look at it.
    bool stop_seen = false;
    while (!out_.closing()) {
      if (!draining_ && (stop_seen || rt_.stop.requested())) {
        begin_drain();
        return;
      }
      if (std::exchange(read_first, false) && read_open_) {
        ReadOutcome outcome = read_once();
        if (outcome != ReadOutcome::nothing) {
          if (!after_read(outcome, idle_until)) return;
          continue;
        }
      }
      pollfd fds[3];
      nfds_t count = 0;
      fds[count++] = {socket_.fd(), static_cast<short>(read_open_ ? POLLIN : 0), 0};
      fds[count++] = {rt_.stop.fd(), POLLIN, 0};
      if (ConnectionPeer* p = out_.connection_peer()) fds[count++] = {p->wake_fd(), POLLIN, 0};
      auto left = std::chrono::ceil<std::chrono::milliseconds>(idle_until - Clock::now());
      if (left.count() <= 0) {
        set_reason("idle timeout");
        return;
      }
      int timeout = left.count() > 2'000'000'000 ? 2'000'000'000 : static_cast<int>(left.count());
      int ready = ::poll(fds, count, timeout);
      if (ready < 0) {
        if (errno == EINTR) continue;
        set_reason(std::string("poll: ") + std::strerror(errno));
        return;
      }
      if (ready == 0) continue;  // the idle check at the top decides
      if (count == 3 && (fds[2].revents & POLLIN) != 0) {
        if (out_.connection_peer()->take(out_.pending())) out_.close();
        if (!flush(write_deadline())) return;
      }
      if ((fds[1].revents & POLLIN) != 0) {
        stop_seen = true;  // the stop check at the top
        continue;
      }
      if (read_open_ && fds[0].revents != 0) {
        if (!after_read(read_once(), idle_until)) return;
      } else if (!read_open_ && fds[0].revents & (POLLERR | POLLHUP)) {
        set_reason("peer gone");
        return;
      }
    }
    if (out_.closing()) linger();
  }

  enum class ReadOutcome { data, eof, nothing, failed };

  // Acts on what a read gave; false when the connection is over.
  bool after_read(ReadOutcome outcome, Clock::time_point& idle_until) {
    switch (outcome) {
      case ReadOutcome::data:
        idle_until = Clock::now() + rt_.options.idle_timeout;
        break;
      case ReadOutcome::eof:
        read_open_ = false;
        session_->on_eof(out_);
        break;
      case ReadOutcome::nothing:
        break;
      case ReadOutcome::failed:
        return false;
    }
    return flush(write_deadline());
  }

  ReadOutcome read_once() {
    IoResult r;
    try {
      r = socket_.read_nonblock(std::span<char>(buffer_, read_chunk));
    } catch (const Error& e) {
      set_reason(e.code().message());
      return ReadOutcome::failed;
    }
    if (r.would_block()) return ReadOutcome::nothing;
    if (r.eof()) return ReadOutcome::eof;
    session_->on_data(std::string_view(buffer_, r.bytes), out_);
    return ReadOutcome::data;
  }

  // Stop requested: answer what the peer has already sent, then close. In-flight work is
  // bounded by the drain deadline.
  void begin_drain() {
    draining_ = true;
    drain_deadline_ = Deadline(rt_.options.drain_timeout);
    set_reason("server stopping");
    for (int rounds = 0; read_open_ && rounds < 64 && !out_.closing(); ++rounds) {
      ReadOutcome outcome = read_once();
      if (outcome == ReadOutcome::failed) return;
      if (outcome == ReadOutcome::eof) {
        read_open_ = false;
        session_->on_eof(out_);
        break;
      }
      if (outcome == ReadOutcome::nothing) break;
      if (!flush(drain_deadline_)) return;
    }
    if (ConnectionPeer* p = out_.connection_peer()) p->take(out_.pending());
    out_.close();
    if (flush(drain_deadline_)) linger();
  }

  // Writes everything buffered; false when the peer is gone or the deadline passed.
  bool flush(Deadline deadline) {
    std::string& pending = out_.pending();
    std::size_t done = 0;
    while (done < pending.size()) {
      IoResult r;
      try {
        r = socket_.write_nonblock(std::string_view(pending).substr(done));
      } catch (const Error& e) {
        set_reason(e.code().message());
        pending.clear();
        return false;
      }
      if (r.ok()) {
        done += r.bytes;
        continue;
      }
      pollfd p{socket_.fd(), POLLOUT, 0};
      int ready = ::poll(&p, 1, deadline.poll_timeout_ms());
      if (ready < 0 && errno != EINTR) break;
      if (ready == 0 || deadline.expired()) {
        set_reason(draining_ ? "drain deadline passed while writing" : "write timed out");
        pending.clear();
        return false;
      }
    }
    pending.clear();
    if (pending.capacity() > 4 * read_chunk) pending.shrink_to_fit();
    return true;
  }

  // A close with unread input makes the kernel send RST, which can destroy the answer we
  // just wrote (the "line too long" error, say) before the client reads it. So: send FIN,
  // then read and discard briefly until the peer closes too.
  void linger() {
    // The peer has already closed its side and everything it sent was read: a plain close
    // is clean, so no shutdown and no draining read.
    if (!read_open_) return;
    try {
      socket_.close_write();
    } catch (const Error&) {
      return;
    }
    Deadline until(std::chrono::seconds(2));
    if (draining_ && drain_deadline_.time_point() < until.time_point()) until = drain_deadline_;
    std::size_t discarded = 0;
    while (discarded < 16 * read_chunk) {
      IoResult r;
      try {
        r = socket_.read_nonblock(std::span<char>(buffer_, read_chunk));
      } catch (const Error&) {
        return;
      }
      if (r.eof()) return;
      if (r.ok()) {
        discarded += r.bytes;
        continue;
      }
      if (discarded == 0) return;  // nothing unread: a plain close is clean
      pollfd p{socket_.fd(), POLLIN, 0};
      int timeout = std::min(until.poll_timeout_ms(), 500);
      if (::poll(&p, 1, timeout) <= 0) return;
    }
  }

  Runtime& rt_;
  Socket& socket_;
  Address peer_;
  char* buffer_;
  BufferedOutput out_;
  std::unique_ptr<Session> session_;
  bool read_open_ = true;
  bool draining_ = false;
  Deadline drain_deadline_;
  std::string reason_;
};

void run_blocking_handler(Runtime& rt, const BlockingService& service, Socket& socket,
                          const Address& peer) {
  socket.set_nonblocking(false);
  auto timeout = std::chrono::duration_cast<std::chrono::microseconds>(rt.options.idle_timeout);
  socket.set(option::ReceiveTimeout{timeout});
  socket.set(option::SendTimeout{timeout});
  ConnectionInfo info{peer, socket.local_address(), rt.options.limits};
  const bool logging = rt.log.level() != LogLevel::quiet;
  if (logging) rt.log.info("connection from " + peer.to_string());
  service.handle(socket, info);
  if (logging) rt.log.info("closed " + peer.to_string());
}

}  // namespace

void serve_connection(Runtime& rt, Socket& socket, const Address& peer) noexcept {
  try {
    if (auto* blocking = dynamic_cast<BlockingService*>(&rt.service)) {
      run_blocking_handler(rt, *blocking, socket, peer);
      return;
    }
    Connection connection(rt, socket, peer);
    try {
      connection.run();
    } catch (const std::exception& e) {
      rt.log.error("connection " + peer.to_string() + ": " + e.what());
      connection.set_reason("error");
      connection.finish();
    }
  } catch (const std::exception& e) {
    rt.log.error("connection " + peer.to_string() + ": " + e.what());
  } catch (...) {
    rt.log.error("connection " + peer.to_string() + ": unknown error");
  }
}

}  // namespace sockit::server::detail
