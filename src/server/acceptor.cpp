// An event loop's listener (see acceptor.hpp).
#include "acceptor.hpp"

#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <utility>

#include "loop_connection.hpp"
#include "sockit/error.hpp"
#include "sockit/options.hpp"

namespace sockit::server::detail {
namespace {

// Bounds the work done for one readiness report so a connect storm cannot starve the
// connections already open; level-triggered epoll reports the rest next round.
constexpr int kMaxAcceptsPerEvent = 64;

// Plain errno, no std::error_code: this runs when the descriptor table is full, where even
// the UBSan runtime's vptr checks (which need a pipe) cannot cope with a virtual call.
bool is_out_of_descriptors(int err) noexcept {
  return err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM;
}

// The client gave up between SYN and accept, or a network error was passed up (see
// accept(2)): only that one connection is lost.
bool is_lost_connection(int err) noexcept {
  return err == ECONNABORTED || err == EINTR || err == EPROTO || err == ENETDOWN ||
         err == ENOPROTOOPT || err == EHOSTDOWN || err == ENONET || err == EHOSTUNREACH ||
         err == EOPNOTSUPP || err == ENETUNREACH || err == EPERM;
}

// Socket's descriptor-taking constructor is protected: this is how the loop wraps what
// accept4 gave it without the extra fcntl/getpeername calls of Socket::adopt.
class AcceptedSocket final : public Socket {
 public:
  explicit AcceptedSocket(int fd) noexcept : Socket(fd) {}
};

}  // namespace

void prepare_listener(Socket& listener, const Address& local) noexcept {
  if (!local.is_ip()) return;
  try {
    listener.set(option::NoDelay{true});
  } catch (const Error&) {
    // Only a latency optimisation: serve without it.
  }
}

Acceptor::Acceptor(LoopShared& loop, Socket& listener, ListenerUse use) noexcept
    : loop_(loop),
      listener_(listener),
      use_(use),
      local_(loop.rt.local),
      local_is_wildcard_(loop.rt.local.is_any()) {}

void Acceptor::start() {
  if (!listener_.is_open()) return;
  loop_.backend.watch(listener_.fd(), interest(), kListenerToken);
  listening_ = true;
}

// accept4(2) is called directly rather than through Socket::accept_nonblock: the listener is
// known to be non-blocking (no fcntl per call), and running out of descriptors is an
// expected state here, answered without an exception.
int Acceptor::accept_one(Address& peer) noexcept {
  socklen_t size = Address::capacity();
  const int fd = ::accept4(listener_.fd(), peer.data(), &size, SOCK_CLOEXEC | SOCK_NONBLOCK);
  if (fd >= 0) peer.resize(size);
  return fd;
}

void Acceptor::on_ready() {
  for (int i = 0; i < kMaxAcceptsPerEvent && listening_; ++i) {
    Address peer;
    const int fd = accept_one(peer);
    if (fd < 0) {
      const int err = errno;
      if (err == EAGAIN || err == EWOULDBLOCK) return;
      if (is_out_of_descriptors(err)) {
        pause(err);
        return;
      }
      if (is_lost_connection(err)) continue;
      loop_.rt.log.error("accept " + local_.to_string() + ": " + std::strerror(err));
      return;
    }
    if (shortage_logged_) {
      shortage_logged_ = false;
      loop_.rt.log.info("accepting connections again");
    }
    admit(AcceptedSocket(fd), std::move(peer));
  }
}

void Acceptor::admit(Socket accepted, Address peer) {
  Runtime& rt = loop_.rt;
  std::string reason;
  ConnectionGate::Ticket ticket = rt.gate.admit(peer, &reason);
  if (!ticket) {
    try {
      accepted.write_nonblock(rt.service.full_message());
    } catch (const Error&) {
      // Best effort: the client is turned away either way.
    }
    if (loop_.info_enabled()) rt.log.info("refused " + peer.to_string() + ": " + reason);
    return;
  }
  LoopConnection& c = loop_.slots.allocate(loop_);
  ConnectionInfo info{peer, local_, rt.options.limits};
  if (local_is_wildcard_) {
    try {
      info.local = accepted.local_address();
    } catch (const Error&) {
    }
  }
  c.start(std::move(accepted), std::move(peer), std::move(ticket));
  try {
    c.session = rt.service.open(info);
  } catch (const std::exception& e) {
    rt.log.error("open session for " + info.peer.to_string() + ": " + e.what());
    c.abort();
    return;
  }
  if (!c.session) {
    c.abort();
    return;
  }
  if (loop_.info_enabled()) rt.log.info("connection from " + info.peer.to_string());
  c.call("on_open", [&] { c.session->on_open(c); });
  c.settle();
}

void Acceptor::pause(int err) {
  if (!shortage_logged_) {
    loop_.rt.log.error("accept " + local_.to_string() + ": " + std::strerror(err) +
                       "; pausing new connections for " +
                       std::to_string(loop_.settings.accept_pause.count()) +
                       " ms at a time, serving current ones");
    shortage_logged_ = true;
  }
  loop_.backend.unwatch(listener_.fd());
  listening_ = false;
  paused_ = true;
  LoopCounters::add(loop_.counters.accept_pauses);
  resume_at_ = loop_.now + loop_.settings.accept_pause;
}

void Acceptor::resume() {
  paused_ = false;
  if (loop_.draining || !listener_.is_open()) return;
  try {
    loop_.backend.watch(listener_.fd(), interest(), kListenerToken);
    listening_ = true;
  } catch (const Error& error) {
    // Most likely still short of memory: try again after another pause.
    pause(error.code().value());
  }
}

void Acceptor::stop() {
  if (listening_) loop_.backend.unwatch(listener_.fd());
  listening_ = false;
  paused_ = false;
  if (use_ == ListenerUse::exclusive) listener_.close();
}

}  // namespace sockit::server::detail
