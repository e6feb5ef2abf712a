// The accept side shared by the blocking architectures (see accept_loop.hpp).
#include "accept_loop.hpp"

#include <poll.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>
#include <thread>

#include "signals.hpp"
#include "sockit/error.hpp"

namespace sockit::server::detail {
namespace {

// Running out of descriptors is a state of the process, met by every loop in it (pool's
// workers each have one): it is logged when the first loop meets it and when the last
// one is past it, not once per loop.
std::atomic<int> loops_out_of_descriptors{0};

// Socket's descriptor-taking constructor is protected: this is how an accepted descriptor
// is wrapped without Socket::adopt's fcntl pair (accept4 already set close-on-exec) and
// getpeername (accept4 already gave the peer), three syscalls per connection.
class AcceptedSocket final : public Socket {
 public:
  explicit AcceptedSocket(int fd) noexcept : Socket(fd) {}
};

}  // namespace

AcceptLoop::AcceptLoop(Runtime& rt, AcceptLoopOptions options) : rt_(rt), options_(options) {
  if (!options_.exclusive) return;
  // An epoll set stays registered on the listener; poll(2) registers only while it waits,
  // which is cheaper when many loops (prefork's processes) share a listener without
  // EPOLLEXCLUSIVE.
  epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
  if (epoll_fd_ < 0) throw_errno("epoll_create1", rt_.local.to_string(), errno);
  auto add = [&](int fd, std::uint32_t events) {
    epoll_event event{};
    event.events = events;
    event.data.fd = fd;
    if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &event) != 0) {
      const int err = errno;
      ::close(epoll_fd_);
      throw_errno("epoll_ctl", rt_.local.to_string(), err);
    }
  };
  add(rt_.stop.fd(), EPOLLIN);
  add(rt_.listener.fd(), EPOLLIN | EPOLLEXCLUSIVE);
  if (options_.wake_fd >= 0) add(options_.wake_fd, EPOLLIN | EPOLLEXCLUSIVE);
}

AcceptLoop::~AcceptLoop() {
  if (out_of_descriptors_) loops_out_of_descriptors.fetch_sub(1);
  if (epoll_fd_ >= 0) ::close(epoll_fd_);
}

// Stop accepting at once: closing our listener descriptor means clients that arrive from
// now on are refused by the kernel instead of waiting in a backlog nobody reads.
std::optional<Admitted> AcceptLoop::stopping() {
  if (options_.close_listener_on_stop) rt_.listener.close();
  return std::nullopt;
}

std::optional<Admitted> AcceptLoop::next(const std::function<void()>& tick,
                                         std::chrono::milliseconds tick_every) {
  for (;;) {
    // The wait below watches the stop eventfd (shared with a forking parent), so here the
    // in-process flag is enough: no extra syscall per accepted connection.
    if (rt_.stop.requested()) return stopping();
    if (tick) tick();

    const int wait = tick ? static_cast<int>(tick_every.count()) : -1;
    if (out_of_descriptors_) {
      // The pending connection stays in the kernel's backlog and the listener stays
      // readable, so waiting on it would spin. Sleep on the stop signal alone.
      pollfd stop{rt_.stop.fd(), POLLIN, 0};
      if (::poll(&stop, 1, 100) > 0) return stopping();
    } else {
      const Readiness ready = wait_for(wait);
      if (ready.stop) return stopping();
      if (ready.woken) {
        std::uint64_t count = 0;
        // Semaphore mode: one count per wake-up; 0 bytes when another loop took it first.
        if (::read(options_.wake_fd, &count, sizeof count) == sizeof count) return std::nullopt;
      }
      if (!ready.listener) continue;
    }

    std::optional<Accepted> accepted = accept_one();
    if (!accepted) continue;  // another acceptor won, the client left, or out of descriptors
    if (out_of_descriptors_) {
      out_of_descriptors_ = false;
      if (loops_out_of_descriptors.fetch_sub(1) == 1) rt_.log.info("accepting connections again");
    }

    std::string reason;
    ConnectionGate::Ticket ticket = rt_.gate.admit(accepted->peer, &reason);
    if (!ticket) {
      turn_away(rt_, accepted->socket, accepted->peer, rt_.service.full_message(), reason);
      continue;
    }
    return Admitted{std::move(accepted->socket), accepted->peer, std::move(ticket)};
  }
}

AcceptLoop::Readiness AcceptLoop::wait_for(int timeout_ms) {
  Readiness result;
  if (epoll_fd_ >= 0) {
    epoll_event events[3];
    const int ready = ::epoll_wait(epoll_fd_, events, 3, timeout_ms);
    if (ready < 0 && errno != EINTR) wait_failed("epoll_wait");
    for (int i = 0; i < ready; ++i) {
      const int fd = events[i].data.fd;
      result.stop = result.stop || fd == rt_.stop.fd();
      result.woken = result.woken || fd == options_.wake_fd;
      result.listener = result.listener || fd == rt_.listener.fd();
    }
    return result;
  }
  pollfd fds[3] = {
      {rt_.stop.fd(), POLLIN, 0}, {rt_.listener.fd(), POLLIN, 0}, {options_.wake_fd, POLLIN, 0}};
  const int ready = ::poll(fds, options_.wake_fd >= 0 ? 3 : 2, timeout_ms);
  if (ready < 0 && errno != EINTR) wait_failed("poll");
  if (ready <= 0) return result;
  result.stop = (fds[0].revents & POLLIN) != 0;
  result.listener = fds[1].revents != 0;
  result.woken = (fds[2].revents & POLLIN) != 0;
  return result;
}

void AcceptLoop::wait_failed(const char* call) {
  rt_.log.error(std::string(call) + " on listener: " + std::strerror(errno));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
}

// accept4(2) directly rather than Socket::accept_nonblock, which throws on EMFILE: running
// out of descriptors is an expected state here, met every 100 ms until it passes, and
// nothing that needs a descriptor (not even a sanitizer's internal pipe) works meanwhile.
std::optional<Accepted> AcceptLoop::accept_one() {
  Address peer;
  socklen_t size = Address::capacity();
  int fd = ::accept4(rt_.listener.fd(), peer.data(), &size, SOCK_CLOEXEC);
  if (fd >= 0) {
    peer.resize(size);
    return Accepted{AcceptedSocket(fd), peer};
  }
  int err = errno;
  switch (err) {
    case EMFILE:
    case ENFILE:
    case ENOBUFS:
    case ENOMEM:
      if (!out_of_descriptors_) {
        out_of_descriptors_ = true;
        if (loops_out_of_descriptors.fetch_add(1) == 0) {
          rt_.log.error("accept " + rt_.local.to_string() + ": " + std::strerror(err) +
                        "; pausing new connections, serving current ones");
        }
      }
      return std::nullopt;
    case EAGAIN:
    case EINTR:
    case ECONNABORTED:
    case EPROTO:
    case EPERM:  // a firewall rule refused this one connection
      return std::nullopt;
    default:
      // A listener shut down by a stopping runner (pool) reports EINVAL: not an error.
      if (rt_.stop.requested()) return std::nullopt;
      // A network error passed up by accept(2) costs only that connection; anything
      // else is logged and retried after a pause rather than in a tight loop.
      rt_.log.error("accept " + rt_.local.to_string() + ": " + std::strerror(err));
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      return std::nullopt;
  }
}

void turn_away(Runtime& rt, Socket& socket, const Address& peer, std::string_view message,
               std::string_view reason) {
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
