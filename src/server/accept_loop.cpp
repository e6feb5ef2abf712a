// The accept side shared by the blocking architectures (see accept_loop.hpp).
#include "accept_loop.hpp"

#include <poll.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <thread>

#include "sockit/error.hpp"

namespace sockit::server::detail {
namespace {

// Bounds what a stop takes in from the backlog (the kernel's own bound, SOMAXCONN, by
// default): clients that keep arriving while it is served cannot hold the stop off.
constexpr int kMaxDrainAccepts = 4096;

// The gate's answer for a client just accepted: admitted, or turned away (nullopt).
std::optional<Admitted> admit(Runtime& rt, Accepted& accepted) {
  std::string reason;
  Counter refusal = Counter::refused_full;
  ConnectionGate::Ticket ticket = rt.gate.admit(accepted.peer, &reason, &refusal);
  if (!ticket) {
    turn_away(rt, accepted.socket, accepted.peer, rt.service.full_message(), reason, refusal);
    return std::nullopt;
  }
  return Admitted{std::move(accepted.socket), accepted.peer, std::move(ticket), Clock::now()};
}

}  // namespace

std::optional<Admitted> AcceptLoop::next(const std::function<void()>& tick,
                                         std::chrono::milliseconds tick_every) {
  auto stopping = [&] { return take_backlog(); };
  for (;;) {
    // The poll below watches the stop eventfd, so here the in-process flag is enough: no
    // extra poll per accepted connection.
    if (rt_.stop.requested()) return stopping();
    if (tick) tick();

    // Out of descriptors: the pending connection stays in the kernel's backlog and the
    // listener stays readable, so waiting on it would spin. Sleep on the stop signal alone.
    std::chrono::milliseconds wait = out_of_descriptors_
                                         ? std::chrono::milliseconds(100)
                                         : (tick ? tick_every : std::chrono::milliseconds(-1));
    pollfd fds[2] = {{rt_.stop.fd(), POLLIN, 0}, {rt_.listener.fd(), POLLIN, 0}};
    nfds_t count = out_of_descriptors_ ? 1 : 2;
    int ready = ::poll(fds, count, static_cast<int>(wait.count()));
    if (ready < 0 && errno != EINTR) {
      rt_.log.error(std::string("poll on listener: ") + std::strerror(errno));
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      continue;
    }
    if ((fds[0].revents & POLLIN) != 0) return stopping();
    if (!out_of_descriptors_ && ready <= 0) continue;

    std::optional<Accepted> accepted = accept_one();
    if (!accepted) continue;  // another acceptor won, the client left, or out of descriptors
    if (out_of_descriptors_) {
      out_of_descriptors_ = false;
      rt_.log.info("accepting connections again");
    }

    if (std::optional<Admitted> admitted = admit(rt_, *accepted)) return admitted;
  }
}

// At a stop, the connections the kernel accepted before it, waiting in the backlog, are
// the server's to answer like those already open (the connection drains at once, as its
// stop is requested): closing the listener over them would reset them. Taken until accept
// finds none, up to kMaxDrainAccepts and within the drain deadline. Then our listener
// descriptor is closed, so clients arriving later are refused by the kernel instead of
// waiting in a backlog nobody reads.
std::optional<Admitted> AcceptLoop::take_backlog() {
  using Clock = std::chrono::steady_clock;
  if (!rt_.listener.is_open()) return std::nullopt;
  if (!backlog_until_) backlog_until_ = Clock::now() + rt_.options.drain_timeout;
  while (backlog_taken_ < kMaxDrainAccepts && Clock::now() < *backlog_until_) {
    std::error_code ec;
    std::optional<Accepted> accepted = rt_.listener.accept_nonblock(ec);
    if (!accepted) break;
    ++backlog_taken_;
    if (std::optional<Admitted> admitted = admit(rt_, *accepted)) return admitted;
  }
  rt_.listener.close();
  return std::nullopt;
}

// Running out of descriptors is an expected state here, met every 100 ms until it passes,
// and nothing that needs a descriptor (not even a sanitizer's internal pipe) works
// meanwhile: it is handled from the error code's value alone, with strerror for the log.
std::optional<Accepted> AcceptLoop::accept_one() {
  std::error_code ec;
  std::optional<Accepted> accepted = rt_.listener.accept_nonblock(ec);
  if (!ec) return accepted;
  if (is_out_of_descriptors(ec)) {
    if (!out_of_descriptors_) {
      out_of_descriptors_ = true;
      rt_.log.error("accept " + rt_.local.to_string() + ": " + std::strerror(ec.value()) +
                    "; pausing new connections, serving current ones");
    }
    return std::nullopt;
  }
  // Not a network error that cost one connection (those are retried by accept_nonblock):
  // logged and retried after a pause rather than in a tight loop.
  rt_.log.error("accept " + rt_.local.to_string() + ": " + std::strerror(ec.value()));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  return std::nullopt;
}

void turn_away(Runtime& rt, Socket& socket, const Address& peer, std::string_view message,
               std::string_view reason, Counter counted) {
  thread_shard().add(counted);
  if (rt.log.level() != LogLevel::quiet) {
    rt.log.info("refused " + peer.to_string() + ": " + std::string(reason));
  }
  try {
    // A fresh socket's send buffer takes a short line at once; if not, the client loses
    // only the courtesy message.
    if (!message.empty()) socket.write_nonblock(message);
    socket.close_write();
  } catch (const Error&) {
  }
  socket.close();
}

unsigned default_workers(const ServerOptions& options) {
  if (options.workers != 0) return options.workers;
  unsigned cores = std::thread::hardware_concurrency();
  if (cores == 0) cores = 1;
  // Pool threads block on their connection, so a pool needs more of them than cores.
  if (options.architecture == Architecture::pool) return 8 * cores;
  return cores;
}

}  // namespace sockit::server::detail
