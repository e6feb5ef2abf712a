// One connection driven by a blocking read loop (see blocking_connection.hpp).
//
// Everything waits in poll(2) beside the stop eventfd (and, once a session asks for a peer,
// off-loop work or an outbound connection, the connection's ConnectionPeer eventfd), so a
// stop request or a message from another thread is seen at once; reads and writes use
// MSG_DONTWAIT, so nothing blocks past a deadline whatever mode the socket is in.
//
// The thread serves "channels": the accepted socket and any outbound connections its
// session opened, each with its own Output and Session. A channel whose output waits for
// its peer is polled for POLLOUT only, so a peer that does not read stops being read from,
// and is closed at its write deadline without holding up the other channels. What a
// channel holds for its peer counts against the server's output bounds (output_budget.hpp):
// a channel past them is closed as too slow.
#include "blocking_connection.hpp"

#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <exception>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "buffered_output.hpp"
#include "connection_peer.hpp"
#include "sockit/error.hpp"
#include "sockit/options.hpp"
#include "sockit/server/blocking_service.hpp"
#include "thread_outbound.hpp"
#include "thread_timers.hpp"

namespace sockit::server::detail {
namespace {

constexpr std::size_t read_chunk = 64 * 1024;
// A callback that leaves this much queued hears on_drain once it has all gone.
constexpr std::size_t kDrainMark = 16 * 1024;
constexpr std::uint64_t accepted_channel = 1;
// How long past its own deadline an outbound connect may take before the loop gives up on
// it (a name server that does not answer keeps the worker, not the session, waiting).
constexpr std::chrono::seconds connect_grace{1};

// One read buffer per thread, reused by every connection the thread serves in turn (a pool
// worker serves thousands): no 64 KiB allocation, zeroing and first touch per connection.
// A thread serves one connection at a time, so nothing else uses it meanwhile.
char* thread_read_buffer() {
  thread_local std::vector<char> buffer(read_chunk);
  return buffer.data();
}

// The poll set, reused the same way: no allocation per connection either.
std::vector<pollfd>& thread_poll_set() {
  thread_local std::vector<pollfd> fds;
  return fds;
}

struct Channel {
  Channel(ChannelHost& host, std::uint64_t channel_id, Socket& accepted)
      : id(channel_id), socket(&accepted), out(host, channel_id, &accepted) {}
  Channel(ChannelHost& host, std::uint64_t channel_id, Socket&& outbound)
      : id(channel_id), owned(std::move(outbound)), socket(&owned), out(host, channel_id, &owned) {}

  bool over() const noexcept { return ended || (out.closing() && out.queued() == 0); }
  Clock::time_point deadline() const noexcept {
    if (write_until) return *write_until;
    return link ? Clock::time_point::max() : idle_until;
  }

  std::uint64_t id;
  Socket owned;  // an outbound channel's socket; the accepted one belongs to its runner
  Socket* socket;
  std::string name;  // for log lines: HOST:PORT of an outbound channel
  BufferedOutput out;
  std::unique_ptr<Session> session;
  std::shared_ptr<Peer> peer;  // an outbound channel's Peer, once asked for
  Clock::time_point idle_until;
  std::optional<Clock::time_point> write_until;  // while output waits for the peer
  std::size_t charged = 0;  // of its queue, what the server's output budget counts
  bool drained = false;     // output that had to wait has all gone: on_drain is due
  bool read_open = true;
  bool heard = false;   // the peer has sent bytes
  bool hangup = false;  // POLLHUP while not reading: stop polling until reading resumes
  bool ended = false;
  bool link = false;  // a service's link: never idle, however long it is silent
  std::string reason;
  // Why it ended, for the metrics, when not what finish() tells from the rest.
  std::optional<Counter> closed_as;
};

struct PendingConnect {
  std::uint64_t id;
  std::string target;
  std::unique_ptr<Session> session;
  Clock::time_point give_up;
};

class Connection;

// The Peer of an outbound channel: what is sent reaches its thread as a posted task.
class ChannelPeer final : public Peer {
 public:
  ChannelPeer(std::shared_ptr<ConnectionPeer> home, Connection& connection, std::uint64_t id)
      : home_(std::move(home)), connection_(connection), id_(id) {}
  void send(std::string bytes) override;
  void close() override;

 private:
  std::shared_ptr<ConnectionPeer> home_;
  Connection& connection_;
  std::uint64_t id_;
};

class Connection final : public ChannelHost {
 public:
  Connection(Runtime& rt, Socket& socket, const Address& peer, Clock::time_point accepted)
      : rt_(rt),
        peer_(peer),
        accepted_(accepted),
        buffer_(thread_read_buffer()),
        fds_(thread_poll_set()),
        primary_(*this, accepted_channel, socket) {}
  // A service's link, connected to `peer`, served by `session`.
  Connection(Runtime& rt, Socket& socket, const Address& peer, std::unique_ptr<Session> session)
      : Connection(rt, socket, peer, Clock::now()) {
    primary_.session = std::move(session);
    primary_.link = true;
  }

  void run() {
    if (!primary_.link) {
      ConnectionInfo info{peer_, local_address(), rt_.options.limits};
      primary_.session = rt_.service.open(info);
      if (logging()) rt_.log.info("connection from " + peer_.to_string());
    }
    primary_.idle_until = Clock::now() + rt_.options.idle_timeout;
    invoke(primary_, [this] { primary_.session->on_open(primary_.out); });
    flush_all();
    loop();
    finish();
  }

  // Whatever happens, every session hears that its connection is gone.
  void finish() noexcept {
    close_outbound("connection closed");
    if (home_) home_->detach();
    if (primary_.session) {
      try {
        primary_.session->on_close();
      } catch (const std::exception& e) {
        rt_.log.error("session on_close for " + peer_.to_string() + ": " + e.what());
      } catch (...) {
        rt_.log.error("session on_close for " + peer_.to_string() + ": unknown error");
      }
      primary_.session.reset();
    }
    uncharge(primary_);
    if (!primary_.link) {
      thread_shard().add(primary_.closed_as.value_or(primary_.read_open ? Counter::closed_server
                                                                        : Counter::closed_eof));
    }
    if (logging() && !primary_.link) {
      // A failure during the drain (a write deadline, a poll error) names itself.
      const std::string reason =
          primary_.reason.empty() && draining_ ? "server stopping" : primary_.reason;
      rt_.log.info("closed " + peer_.to_string() + (reason.empty() ? "" : " (" + reason + ")"));
    }
  }

  // Ends it as failed (counted as closed_error).
  void set_reason(std::string reason) { end(primary_, std::move(reason), Counter::closed_error); }

  // From a ChannelPeer's task, on this thread.
  void deliver(std::uint64_t id, const std::string& bytes, bool close) {
    Channel* ch = find(id);
    if (ch == nullptr) return;
    ch->out.write(bytes);
    if (close) ch->out.close();
  }

  // ChannelHost
  std::shared_ptr<Peer> peer_of(std::uint64_t channel) override {
    if (channel == accepted_channel) return home();
    Channel* ch = find(channel);
    if (ch == nullptr) return std::make_shared<ChannelPeer>(home(), *this, channel);
    if (!ch->peer) ch->peer = std::make_shared<ChannelPeer>(home(), *this, channel);
    return ch->peer;
  }
  TimerId start_timer(std::uint64_t channel, std::chrono::milliseconds after) override {
    return timers_.start(channel, after);
  }
  bool cancel_timer(TimerId id) noexcept override { return timers_.cancel(id); }
  bool run_off_loop(std::uint64_t channel, OffLoopWork work) override;
  void connect(OutboundRequest request, std::unique_ptr<Session> session) override;

 private:
  bool logging() const noexcept { return rt_.log.level() != LogLevel::quiet; }

  Address local_address() const {
    // A listener bound to one IP address accepts only connections to that address, so
    // getsockname per connection would tell nothing new.
    if (rt_.local.is_ip() && !rt_.local.is_any()) return rt_.local;
    try {
      return primary_.socket->local_address();
    } catch (const Error&) {
      return rt_.local;
    }
  }

  std::shared_ptr<ConnectionPeer> home() {
    if (!home_) home_ = std::make_shared<ConnectionPeer>(rt_.output);
    return home_;
  }

  Channel* find(std::uint64_t id) noexcept {
    if (id == accepted_channel) return primary_.ended ? nullptr : &primary_;
    for (auto& ch : outbound_) {
      if (ch->id == id) return ch->ended ? nullptr : ch.get();
    }
    return nullptr;
  }

  static void end(Channel& ch, std::string reason) {
    ch.ended = true;
    if (ch.reason.empty()) ch.reason = std::move(reason);
  }
  static void end(Channel& ch, std::string reason, Counter closed_as) {
    if (!ch.ended) ch.closed_as = closed_as;
    end(ch, std::move(reason));
  }

  // Runs a session callback of `ch`. An exception ends that channel (the whole connection
  // when it is the accepted one), as it always has.
  template <class F>
  void invoke(Channel& ch, F&& callback) noexcept {
    try {
      callback();
    } catch (const std::exception& e) {
      callback_failed(ch, e.what());
    } catch (...) {
      callback_failed(ch, "unknown error");
    }
  }

  void callback_failed(Channel& ch, std::string_view what) noexcept {
    try {
      if (ch.id == accepted_channel) {
        rt_.log.error(std::string(ch.link ? "link " : "connection ") + peer_.to_string() + ": " +
                      std::string(what));
      } else {
        rt_.log.error("outbound connection " + ch.name + ": " + std::string(what));
      }
    } catch (...) {
    }
    end(ch, "error", Counter::closed_error);
  }

  bool can_read(const Channel& ch) const noexcept {
    return ch.read_open && ch.out.reading() && !ch.out.closing() && ch.out.queued() == 0;
  }

  short events_of(const Channel& ch) const noexcept {
    if (ch.out.queued() != 0) return POLLOUT;
    return can_read(ch) ? POLLIN : 0;
  }

  void loop() {
    // A client usually sends as soon as it connects, so by the time a fresh connection is
    // served its first bytes are there: read before the first poll, saving one poll.
    bool read_first = true;
    // Every poll below watches the stop eventfd, so between polls the in-process flag is
    // enough: no extra poll per read just to look at it.
    bool stop_seen = false;
    for (;;) {
      if (primary_.over()) break;
      if (!draining_ && (stop_seen || rt_.stop.requested())) {
        if (primary_.link) {
          // A link has no client waiting for answers: it closes at once.
          close_outbound("server stopping");
          end(primary_, "server stopping");
        } else {
          begin_drain();
        }
        return;
      }
      if (std::exchange(read_first, false) && can_read(primary_)) {
        ReadOutcome outcome = read_once(primary_);
        if (outcome != ReadOutcome::nothing) {
          after_read(primary_, outcome);
          continue;
        }
      }
      if (!timers_.empty()) {
        fire_due_timers();
        if (primary_.over()) break;
      }

      Clock::time_point now = Clock::now();
      Clock::time_point wake = Clock::time_point::max();
      if (!outbound_.empty() || !connecting_.empty()) {
        wake = outbound_deadlines(now);
        flush_all();
        sweep_outbound();
        if (primary_.over()) break;
      }
      if (primary_.deadline() <= now) {
        end(primary_, deadline_reason(primary_), deadline_kind(primary_));
        break;
      }
      wake = std::min(wake, primary_.deadline());
      fds_.clear();
      fds_.push_back({primary_.socket->fd(), events_of(primary_), 0});
      fds_.push_back({rt_.stop.fd(), POLLIN, 0});
      const bool polls_home = home_ != nullptr;
      if (polls_home) fds_.push_back({home_->wake_fd(), POLLIN, 0});
      if (primary_.hangup && fds_[0].events == 0) fds_[0].fd = -1;
      const std::size_t first_outbound = fds_.size();
      for (auto& ch : outbound_) {
        short events = events_of(*ch);
        int fd = (ch->hangup && events == 0) ? -1 : ch->socket->fd();
        fds_.push_back({fd, events, 0});
      }
      if (!timers_.empty()) {
        if (auto due = timers_.next_due()) wake = std::min(wake, *due);
      }
      auto left = std::chrono::ceil<std::chrono::milliseconds>(wake - now).count();
      int timeout = left < 0 ? 0 : left > 2'000'000'000 ? 2'000'000'000 : static_cast<int>(left);
      int ready = ::poll(fds_.data(), fds_.size(), timeout);
      if (ready < 0) {
        if (errno == EINTR) continue;
        end(primary_, std::string("poll: ") + std::strerror(errno), Counter::closed_error);
        break;
      }
      if (ready == 0) {
        sweep_outbound();
        continue;  // the deadline checks at the top decide
      }
      if (polls_home && (fds_[2].revents & POLLIN) != 0) take_home();
      if ((fds_[1].revents & POLLIN) != 0) {
        stop_seen = true;  // the stop check at the top
        continue;
      }
      on_ready(primary_, fds_[0]);
      // Channels opened by the tasks above were not polled this round.
      const std::size_t polled = fds_.size() - first_outbound;
      for (std::size_t i = 0; i < polled && i < outbound_.size(); ++i) {
        on_ready(*outbound_[i], fds_[first_outbound + i]);
      }
      if (!outbound_.empty()) sweep_outbound();
    }
    if (primary_.ended) return;
    close_outbound("connection closed");
    linger();
  }

  static Counter deadline_kind(const Channel& ch) noexcept {
    return ch.write_until ? Counter::closed_server : Counter::closed_idle;
  }
  std::string deadline_reason(const Channel& ch) const {
    if (!ch.write_until) return "idle timeout";
    return draining_ ? "drain deadline passed while writing" : "write timed out";
  }

  // Ends outbound channels and connects past their deadlines; the earliest one left.
  Clock::time_point outbound_deadlines(Clock::time_point now) {
    Clock::time_point wake = Clock::time_point::max();
    for (auto& ch : outbound_) {
      if (ch->ended) continue;
      if (ch->deadline() <= now) {
        end(*ch, deadline_reason(*ch), deadline_kind(*ch));
      } else {
        wake = std::min(wake, ch->deadline());
      }
    }
    for (std::size_t i = 0; i < connecting_.size();) {
      if (connecting_[i].give_up <= now) {
        PendingConnect gone = std::move(connecting_[i]);
        connecting_.erase(connecting_.begin() + static_cast<std::ptrdiff_t>(i));
        connect_failed(gone, errno_code(ETIMEDOUT), errno_code(ETIMEDOUT).message());
        continue;
      }
      wake = std::min(wake, connecting_[i].give_up);
      ++i;
    }
    return wake;
  }

  void on_ready(Channel& ch, const pollfd& fd) {
    if (fd.revents == 0 || ch.ended) return;
    if ((fd.events & POLLOUT) != 0) {
      if (ch.out.file_waiting()) {
        // The session sends the next part of its file from on_drain.
        ch.out.end_file_wait();
        ch.idle_until = Clock::now() + rt_.options.idle_timeout;
      }
      write_some(ch);
      flush_all();
    } else if ((fd.events & POLLIN) != 0) {
      after_read(ch, read_once(ch));
    } else if ((fd.revents & POLLERR) != 0 || ((fd.revents & POLLHUP) != 0 && !ch.read_open)) {
      end(ch, "peer gone", Counter::closed_reset);
    } else if ((fd.revents & POLLHUP) != 0) {
      ch.hangup = true;  // reading is off: the session learns of it once it reads again
    }
  }

  // What other threads sent: bytes and a close for the accepted channel, posted tasks.
  void take_home() {
    const ConnectionPeer::Taken taken = home_->take(primary_.out.pending(), tasks_);
    if (taken.sends != 0) thread_shard().add(Counter::messages_out, taken.sends);
    if (taken.close) primary_.out.close();
    if (taken.too_slow) too_slow(primary_);
    std::vector<ConnectionPeer::Task> tasks;
    tasks.swap(tasks_);
    for (auto& task : tasks) {
      task();
      task = nullptr;  // whatever it holds goes now, on this thread
    }
    tasks.clear();
    if (tasks_.empty()) tasks_.swap(tasks);  // keep the capacity
    flush_all();
  }

  void fire_due_timers() {
    const Clock::time_point now = Clock::now();
    // A session that re-arms a zero timer from on_timer must not starve the sockets.
    for (int fired = 0; fired < 64; ++fired) {
      auto due = timers_.pop_due(now);
      if (!due) break;
      Channel* ch = find(due->channel);
      if (ch == nullptr) continue;
      invoke(*ch, [ch, id = due->id] { ch->session->on_timer(id, ch->out); });
      flush_all();
    }
  }

  enum class ReadOutcome { data, eof, nothing, failed };

  void after_read(Channel& ch, ReadOutcome outcome) {
    switch (outcome) {
      case ReadOutcome::data:
        ch.idle_until = Clock::now() + rt_.options.idle_timeout;
        break;
      case ReadOutcome::eof:
        ch.read_open = false;
        invoke(ch, [&ch] { ch.session->on_eof(ch.out); });
        break;
      case ReadOutcome::nothing:
      case ReadOutcome::failed:
        break;
    }
    flush_all();
  }

  ReadOutcome read_once(Channel& ch) {
    IoResult r;
    try {
      r = ch.socket->read_nonblock(std::span<char>(buffer_, read_chunk));
    } catch (const Error& e) {
      end(ch, e.code().message(), failure_kind(e.code()));
      return ReadOutcome::failed;
    }
    if (r.would_block()) return ReadOutcome::nothing;
    if (r.eof()) return ReadOutcome::eof;
    thread_shard().add(Counter::bytes_in, r.bytes);
    ch.heard = true;
    invoke(ch, [&] { ch.session->on_data(std::string_view(buffer_, r.bytes), ch.out); });
    return ReadOutcome::data;
  }

  // Writes what the channel has pending until the kernel takes no more; false when the
  // channel is over (peer gone).
  bool write_some(Channel& ch) {
    BufferedOutput& out = ch.out;
    // Writes wait here until the callback returns, so a session that stopped writing at a
    // high-water mark may see its whole queue taken at once, without ever waiting for the
    // peer: it hears on_drain all the same (see Session::on_drain).
    if (out.queued() >= kDrainMark) ch.drained = true;
    while (!out.unsent().empty()) {
      IoResult r;
      try {
        r = ch.socket->write_nonblock(out.unsent());
      } catch (const Error& e) {
        end(ch, e.code().message(), failure_kind(e.code()));
        out.discard();
        return false;
      }
      if (!r.ok()) {
        out.compact();
        ch.drained = false;  // due when what waits has gone
        if (!ch.write_until) {
          ch.write_until =
              draining_ ? *drain_deadline_.time_point() : Clock::now() + rt_.options.idle_timeout;
        }
        return true;
      }
      out.sent(r.bytes);
      // Traffic either way is activity: a channel that only receives is not idle.
      ch.idle_until = Clock::now() + rt_.options.idle_timeout;
    }
    if (out.file_waiting()) {
      // Part of a file waits for the socket, as queued bytes would: held to the same
      // deadline, and on_drain once poll says the socket takes more.
      ch.drained = false;
      if (!ch.write_until) {
        ch.write_until =
            draining_ ? *drain_deadline_.time_point() : Clock::now() + rt_.options.idle_timeout;
      }
      return true;
    }
    std::string& pending = out.pending();
    if (pending.capacity() > 4 * read_chunk) pending.shrink_to_fit();
    if (ch.write_until) {
      ch.write_until.reset();
      ch.drained = true;
    }
    return true;
  }

  // After every callback: every channel's output goes out as far as the kernel takes it,
  // and sessions whose waiting output has all gone hear on_drain.
  void flush_all() {
    for (int round = 0; round < 8; ++round) {
      bool again = false;
      flush_one(primary_, again);
      for (std::size_t i = 0; i < outbound_.size(); ++i)
        flush_one(*outbound_[i], again);
      if (!again) return;
    }
  }

  void flush_one(Channel& ch, bool& again) {
    if (ch.ended) return;
    if (ch.out.queued() != 0 && !write_some(ch)) return;
    if (!account(ch)) return;
    if (ch.out.write_shut_due()) {
      ch.out.write_shut_sent();
      try {
        ch.socket->close_write();
      } catch (const Error& e) {
        end(ch, e.code().message(), failure_kind(e.code()));
        return;
      }
    }
    if (std::exchange(ch.drained, false) && !ch.out.closing()) {
      invoke(ch, [&ch] { ch.session->on_drain(ch.out); });
      again = true;
    }
  }

  // Blocks until the channel's output is written or `deadline` passes; false then.
  bool flush_blocking(Channel& ch, Deadline deadline) {
    for (;;) {
      if (ch.ended || !write_some(ch)) return false;
      if (ch.out.queued() == 0) return true;
      pollfd p{ch.socket->fd(), POLLOUT, 0};
      int ready = ::poll(&p, 1, deadline.poll_timeout_ms());
      if (ready < 0) {
        if (errno == EINTR) continue;
        // The output cannot be waited for: it is lost, and the close says why.
        end(ch, std::string("poll: ") + std::strerror(errno), Counter::closed_error);
        ch.out.discard();
        return false;
      }
      if (ready == 0 || deadline.expired()) {
        end(ch, draining_ ? "drain deadline passed while writing" : "write timed out");
        ch.out.discard();
        return false;
      }
      // Writable: a session closing with part of a file unsent sends no more of it (as
      // with any write after close), so the wait ends here.
      ch.out.end_file_wait();
    }
  }

  // Brings what the output budget counts of the channel's queue up to date; a channel past
  // the bounds is closed as too slow (false then).
  bool account(Channel& ch) {
    const std::size_t queued = ch.out.queued();
    if (queued != ch.charged) {
      if (queued > ch.charged) {
        rt_.output.add(queued - ch.charged);
      } else {
        rt_.output.remove(ch.charged - queued);
      }
      ch.charged = queued;
      if (ch.id == accepted_channel && home_) home_->holding(queued);
    }
    if (queued == 0 || !rt_.output.too_slow(queued, rt_.gate.active())) return true;
    too_slow(ch);
    return false;
  }

  // The channel holds more than its peer takes: it goes, and its output with it.
  void too_slow(Channel& ch) {
    rt_.log.info(rt_.output.closing_line(
        ch.id == accepted_channel ? peer_.to_string() : "outbound " + ch.name, ch.out.queued()));
    end(ch, "client too slow");
    ch.out.discard();
    uncharge(ch);
  }

  void uncharge(Channel& ch) noexcept {
    rt_.output.remove(std::exchange(ch.charged, 0));
    if (ch.id == accepted_channel && home_) home_->holding(0);
  }

  // Closes the channels the accepted connection opened, and gives up on pending connects.
  void close_outbound(const std::string& reason) noexcept {
    // on_close may open or close more: a few rounds, then whatever is left is dropped.
    for (int round = 0; round < 8 && (!outbound_.empty() || !connecting_.empty()); ++round) {
      auto channels = std::move(outbound_);
      outbound_.clear();
      for (auto& ch : channels) {
        end(*ch, reason);
        teardown(*ch);
      }
      auto pending = std::move(connecting_);
      connecting_.clear();
      for (auto& p : pending)
        connect_failed(p, std::make_error_code(std::errc::operation_canceled), reason);
    }
    outbound_.clear();
    connecting_.clear();
  }

  // Ends outbound channels that are over.
  void sweep_outbound() {
    for (std::size_t i = 0; i < outbound_.size();) {
      if (!outbound_[i]->over()) {
        ++i;
        continue;
      }
      std::unique_ptr<Channel> ch = std::move(outbound_[i]);
      outbound_.erase(outbound_.begin() + static_cast<std::ptrdiff_t>(i));
      teardown(*ch);
    }
  }

  void teardown(Channel& ch) noexcept {
    timers_.cancel_channel(ch.id);
    ch.ended = true;
    uncharge(ch);
    if (ch.session) {
      invoke(ch, [&ch] { ch.session->on_close(); });
      ch.session.reset();
    }
    if (logging()) {
      try {
        rt_.log.info("closed outbound " + ch.name +
                     (ch.reason.empty() ? "" : " (" + ch.reason + ")"));
      } catch (...) {
      }
    }
  }

  void connect_failed(PendingConnect& p, std::error_code error, const std::string& reason) {
    if (logging()) rt_.log.info("connect to " + p.target + " failed: " + reason);
    Channel none(*this, p.id, Socket{});
    none.name = p.target;
    invoke(none, [&] { p.session->on_connect_failed(error, reason); });
    invoke(none, [&] { p.session->on_close(); });
    p.session.reset();
  }

  // On this thread, when the worker has finished connecting (or failing to).
  void connected(std::uint64_t id, OutboundOutcome& outcome) {
    auto it = std::find_if(connecting_.begin(), connecting_.end(),
                           [id](const PendingConnect& p) { return p.id == id; });
    if (it == connecting_.end()) return;  // given up on already: the socket closes here
    PendingConnect p = std::move(*it);
    connecting_.erase(it);
    if (!outcome.socket.is_open()) {
      connect_failed(p, outcome.error, outcome.reason);
      return;
    }
    auto ch = std::make_unique<Channel>(*this, id, std::move(outcome.socket));
    ch->name = p.target;
    ch->session = std::move(p.session);
    ch->idle_until = Clock::now() + rt_.options.idle_timeout;
    if (logging()) {
      rt_.log.info("connected to " + p.target + " (" + ch->socket->peer_or_empty().to_string() +
                   ")");
    }
    Channel& opened = *ch;
    outbound_.push_back(std::move(ch));
    invoke(opened, [&opened] { opened.session->on_open(opened.out); });
  }

  // Stop requested: answer what the peer has already sent, then close. In-flight work is
  // bounded by the drain deadline.
  void begin_drain() {
    draining_ = true;
    drain_deadline_ = Deadline(rt_.options.drain_timeout);
    if (primary_.write_until) primary_.write_until = *drain_deadline_.time_point();
    close_outbound("server stopping");
    await_first_bytes();
    for (int rounds = 0; can_read(primary_) && rounds < 64; ++rounds) {
      ReadOutcome outcome = read_once(primary_);
      if (outcome == ReadOutcome::failed || primary_.ended) return;
      if (outcome == ReadOutcome::eof) {
        primary_.read_open = false;
        invoke(primary_, [this] { primary_.session->on_eof(primary_.out); });
        break;
      }
      if (outcome == ReadOutcome::nothing) break;
      if (!flush_blocking(primary_, drain_deadline_)) return;
    }
    if (primary_.ended) return;
    const bool over = home_ && home_->take(primary_.out.pending(), tasks_).too_slow;
    tasks_.clear();  // continuations that had not run are dropped with the connection
    if (over) {
      too_slow(primary_);
      return;
    }
    primary_.out.close();
    if (flush_blocking(primary_, drain_deadline_)) linger();
  }

  // A connection accepted less than kFirstBytesGrace before the stop whose client has sent
  // nothing yet is not idle but new, its request perhaps on its way: it is given until
  // then (within the drain deadline) for its first bytes, which begin_drain then answers.
  // One that has been silent longer is idle, and closes at once.
  void await_first_bytes() {
    if (primary_.heard || !can_read(primary_)) return;
    const Deadline until =
        Deadline::at(std::min(accepted_ + kFirstBytesGrace, *drain_deadline_.time_point()));
    for (;;) {
      if (until.expired()) return;
      pollfd p{primary_.socket->fd(), POLLIN, 0};
      const int ready = ::poll(&p, 1, until.poll_timeout_ms());
      // Bytes, an EOF or an error: the reads in begin_drain tell which.
      if (ready > 0) return;
      if (ready < 0 && errno != EINTR) return;
    }
  }

  // A close with unread input makes the kernel send RST, which can destroy the answer we
  // just wrote (the "line too long" error, say, or replies a stop flushed) before the
  // client reads it. So: send FIN, then read and discard until the peer closes too, bounded
  // by time (2 s, or the drain deadline at a stop), not by bytes: a peer whose input has
  // piled up is still reading what we sent.
  void linger() {
    // The peer has already closed its side and everything it sent was read: a plain close
    // is clean, so no shutdown and no draining read.
    if (!primary_.read_open) return;
    Socket& socket = *primary_.socket;
    try {
      socket.close_write();
    } catch (const Error&) {
      return;
    }
    Deadline until(std::chrono::seconds(2));
    if (draining_ && drain_deadline_.time_point() < until.time_point()) until = drain_deadline_;
    std::size_t discarded = 0;
    for (;;) {
      IoResult r;
      try {
        r = socket.read_nonblock(std::span<char>(buffer_, read_chunk));
      } catch (const Error&) {
        return;
      }
      if (r.eof()) return;
      if (r.ok()) {
        discarded += r.bytes;
        if (until.expired()) return;
        continue;
      }
      if (discarded == 0) return;  // nothing unread: a plain close is clean
      pollfd p{socket.fd(), POLLIN, 0};
      int timeout = std::min(until.poll_timeout_ms(), 500);
      if (::poll(&p, 1, timeout) <= 0) return;
    }
  }

  Runtime& rt_;
  Address peer_;
  Clock::time_point accepted_;
  char* buffer_;
  std::vector<pollfd>& fds_;
  Channel primary_;
  std::vector<std::unique_ptr<Channel>> outbound_;
  std::vector<PendingConnect> connecting_;
  std::uint64_t last_channel_ = accepted_channel;
  ThreadTimers timers_;
  std::shared_ptr<ConnectionPeer> home_;
  std::vector<ConnectionPeer::Task> tasks_;
  bool draining_ = false;
  Deadline drain_deadline_;
};

void ChannelPeer::send(std::string bytes) {
  Connection* connection = &connection_;
  ConnectionPeer::Task task = [connection, id = id_, bytes = std::move(bytes)] {
    connection->deliver(id, bytes, false);
  };
  home_->post(task);
}

void ChannelPeer::close() {
  Connection* connection = &connection_;
  ConnectionPeer::Task task = [connection, id = id_] { connection->deliver(id, {}, true); };
  home_->post(task);
}

bool Connection::run_off_loop(std::uint64_t channel, OffLoopWork work) {
  std::shared_ptr<ConnectionPeer> handle = home();
  WorkerPool::Job job = [handle, connection = this, channel, work = std::move(work)] {
    Continuation continuation;
    try {
      continuation = work();
    } catch (...) {
      continuation = [error = std::current_exception()](Output&) { std::rethrow_exception(error); };
    }
    // Runs on the connection's thread, unless the channel has gone by then.
    ConnectionPeer::Task task = [connection, channel, continuation = std::move(continuation)] {
      Channel* ch = connection->find(channel);
      if (ch != nullptr && continuation) {
        connection->invoke(*ch, [ch, &continuation] { continuation(ch->out); });
      }
    };
    handle->post(task);
  };
  return rt_.workers.try_submit(job);
}

void Connection::connect(OutboundRequest request, std::unique_ptr<Session> session) {
  const std::uint64_t id = ++last_channel_;
  const Clock::time_point deadline = Clock::now() + request.timeout;
  std::string target = outbound_target(request);
  connecting_.push_back({id, target, std::move(session), deadline + connect_grace});
  std::shared_ptr<ConnectionPeer> handle = home();
  OutboundDone done = [this, id](OutboundOutcome& outcome) { connected(id, outcome); };
  if (draining_ || !submit_outbound(rt_.workers, handle, request, deadline, std::move(done))) {
    // Reported from the loop, never from inside connect().
    ConnectionPeer::Task task = [this, id] {
      OutboundOutcome busy;
      busy.error = std::make_error_code(std::errc::resource_unavailable_try_again);
      busy.reason = "server busy";
      connected(id, busy);
    };
    handle->post(task);
  }
}

void run_blocking_handler(Runtime& rt, const BlockingService& service, Socket& socket,
                          const Address& peer) {
  socket.set_nonblocking(false);
  auto timeout = std::chrono::duration_cast<std::chrono::microseconds>(rt.options.idle_timeout);
  socket.set(option::ReceiveTimeout{timeout});
  socket.set(option::SendTimeout{timeout});
  ConnectionInfo info{peer, socket.local_address(), rt.options.limits};
  const bool logging = rt.log.level() != LogLevel::quiet;
  if (logging) rt.log.info("connection from " + peer.to_string());
  // Counted as ended by the server whatever ended it: the handler's socket is its own.
  struct Closed {
    ~Closed() { thread_shard().add(Counter::closed_server); }
  } closed;
  service.handle(socket, info);
  if (logging) rt.log.info("closed " + peer.to_string());
}

// Runs a connection made by `make` to its end; what is thrown is logged under `label`
// ("connection", "link"), and a connection that throws is finished as failed.
template <class Make>
void run_logged(Runtime& rt, const char* label, const Address& peer, Make&& make) noexcept {
  auto log = [&](const char* what) noexcept {
    try {
      rt.log.error(std::string(label) + " " + peer.to_string() + ": " + what);
    } catch (...) {
    }
  };
  try {
    Connection connection = make();
    try {
      connection.run();
    } catch (const std::exception& e) {
      log(e.what());
      connection.set_reason("error");
      connection.finish();
    }
  } catch (const std::exception& e) {
    log(e.what());
  } catch (...) {
    log("unknown error");
  }
}

}  // namespace

void serve_link(Runtime& rt, Socket& socket, const Address& peer,
                std::unique_ptr<Session> session) noexcept {
  run_logged(rt, "link", peer, [&] { return Connection(rt, socket, peer, std::move(session)); });
}

void serve_connection(Runtime& rt, Socket& socket, const Address& peer,
                      Clock::time_point accepted) noexcept {
  thread_shard().add(Counter::accepted);
  if (auto* blocking = dynamic_cast<BlockingService*>(&rt.service)) {
    try {
      run_blocking_handler(rt, *blocking, socket, peer);
    } catch (const std::exception& e) {
      rt.log.error("connection " + peer.to_string() + ": " + e.what());
    } catch (...) {
      rt.log.error("connection " + peer.to_string() + ": unknown error");
    }
    return;
  }
  run_logged(rt, "connection", peer, [&] { return Connection(rt, socket, peer, accepted); });
}

}  // namespace sockit::server::detail
