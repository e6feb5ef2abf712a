// Internal: serving one accepted connection on the calling thread, for the blocking
// architectures (serial, thread, fork, prefork, pool). A read loop feeds the Session in
// chunks of 64 KiB, buffers what it writes and flushes it under a write deadline, closes the
// connection after the idle timeout, and on a stop request answers what has already arrived
// (on a new connection that has sent nothing yet, waiting a moment for its first bytes)
// and closes within the drain deadline. The same loop runs the session's timers, the
// continuations of its off-loop work and the outbound connections it opens. A service's
// link runs on the same loop (serve_link).
#pragma once

#include <memory>

#include "runtime.hpp"
#include "sockit/deadline.hpp"
#include "sockit/socket.hpp"

namespace sockit::server::detail {

// Runs the service's Session (or a BlockingService's handler) until the connection ends.
// The socket stays open (its owner closes it), so a runner may shutdown() it from another
// thread to cut a stuck connection short. `accepted` is when it was accepted: a stop soon
// after waits a moment for its first bytes (kFirstBytesGrace). Never throws: failures are
// logged.
void serve_connection(Runtime& rt, Socket& socket, const Address& peer,
                      Clock::time_point accepted) noexcept;

// Runs `session` on a link of the service (ServiceLink) that `socket` has just connected to
// `peer`, with the same loop, until the link ends or a stop is requested; then the session
// hears on_close. A link has no idle timeout, and closes at once at a stop: no client waits
// for its answers. Never throws: failures are logged.
void serve_link(Runtime& rt, Socket& socket, const Address& peer,
                std::unique_ptr<Session> session) noexcept;

}  // namespace sockit::server::detail
