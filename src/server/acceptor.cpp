// An event loop's listener (see acceptor.hpp).
#include "acceptor.hpp"

#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <string>
#include <utility>

#include "loop_connection.hpp"
#include "sockit/error.hpp"
#include "sockit/options.hpp"

namespace sockit::server::detail {
namespace {

// Bounds the work done for one readiness report so a connect storm cannot starve the
// connections already open; the loop takes the rest a batch per iteration (backlogged()).
constexpr int kMaxAcceptsPerEvent = 64;
// Bounds what a stop takes in from the backlog (the kernel's own bound, SOMAXCONN, by
// default): clients that keep arriving while it does cannot hold the stop off.
constexpr int kMaxDrainAccepts = 4096;

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
  listen();
}

// io_uring accepts by itself (one multishot request); epoll reports readiness.
void Acceptor::listen() {
  if (loop_.uring) {
    loop_.uring->accept(listener_.fd(), kListenerToken);
  } else {
    loop_.backend.watch(listener_.fd(), interest(), kListenerToken);
  }
  listening_ = true;
}

void Acceptor::unlisten() noexcept {
  backlogged_ = false;
  if (!listening_) return;
  listening_ = false;
  if (!loop_.uring) {
    loop_.backend.unwatch(listener_.fd());
    return;
  }
  try {
    loop_.uring->cancel(kListenerToken);
  } catch (const Error& error) {
    loop_.rt.log.error(error.what());
  }
}

// Running out of descriptors is an expected state here, answered from the error code's
// value alone (see is_out_of_descriptors); errors that cost one connection are passed over
// inside accept_nonblock.
void Acceptor::on_ready() {
  backlogged_ = false;
  for (int i = 0; i < kMaxAcceptsPerEvent && listening_; ++i) {
    std::error_code ec;
    std::optional<Accepted> accepted = listener_.accept_nonblock(ec, SocketMode::nonblocking);
    if (!accepted) {
      if (!ec) return;
      if (is_out_of_descriptors(ec)) {
        pause(ec.value());
        return;
      }
      loop_.rt.log.error("accept " + local_.to_string() + ": " + std::strerror(ec.value()));
      return;
    }
    if (shortage_logged_) {
      shortage_logged_ = false;
      loop_.rt.log.info("accepting connections again");
    }
    admit(std::move(accepted->socket), accepted->peer);
  }
  backlogged_ = listening_;
}

void Acceptor::admit(Socket accepted, Address peer) {
  Runtime& rt = loop_.rt;
  std::string reason;
  Counter refusal = Counter::refused_full;
  ConnectionGate::Ticket ticket = rt.gate.admit(peer, &reason, &refusal);
  if (!ticket) {
    loop_.metrics->add(refusal);
    std::error_code ignored;  // best effort: the client is turned away either way
    accepted.write_nonblock(rt.service.full_message(), ignored);
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
  c.start(std::move(accepted), peer, std::move(ticket));
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
  const std::uint32_t generation = c.generation;
  c.call("on_open", [&] { c.session->on_open(c); });
  c.settle();
  // Taken in during a stop (the backlog, or an accept io_uring finished before it saw the
  // cancel): drained at once like the connections open at the stop.
  if (loop_.draining && c.is(generation)) c.drain_and_close();
}

void Acceptor::pause(int err) {
  if (!shortage_logged_) {
    loop_.rt.log.error("accept " + local_.to_string() + ": " + std::strerror(err) +
                       "; pausing new connections for " +
                       std::to_string(loop_.settings.accept_pause.count()) +
                       " ms at a time, serving current ones");
    shortage_logged_ = true;
  }
  unlisten();
  paused_ = true;
  LoopCounters::add(loop_.counters.accept_pauses);
  resume_at_ = loop_.now + loop_.settings.accept_pause;
}

void Acceptor::resume() {
  paused_ = false;
  if (loop_.draining || !listener_.is_open()) return;
  try {
    listen();
  } catch (const Error& error) {
    // Most likely still short of memory: try again after another pause.
    pause(error.code().value());
  }
}

void Acceptor::stop() {
  unlisten();
  paused_ = false;
  take_backlog();
  if (use_ == ListenerUse::exclusive) listener_.close();
}

// Connections the kernel accepted before the stop, waiting in the backlog, are the
// server's to answer like those already open: closing the listener over them would reset
// them. Taken until accept finds none (or fails), and served by the drain with the others.
void Acceptor::take_backlog() {
  if (!listener_.is_open()) return;
  for (int i = 0; i < kMaxDrainAccepts; ++i) {
    std::error_code ec;
    std::optional<Accepted> accepted = listener_.accept_nonblock(ec, SocketMode::nonblocking);
    if (!accepted) return;
    admit(std::move(accepted->socket), accepted->peer);
  }
}

}  // namespace sockit::server::detail
