// Internal: process signal handling for a running Server. SIGINT/SIGTERM request a graceful
// stop; a second one exits at once; SIGPIPE is ignored. Forked workers and per-connection
// children switch to "child mode", where every signal only requests the stop, because a
// Ctrl-C reaches the whole process group and the master forwards SIGTERM on top of it. A
// child stops through a stop signal of its own, so a signal sent to one worker or one
// connection process ends that process alone. The threads the server starts block every
// asynchronous signal (quiet_thread.hpp), so the handlers run on the program's own threads.
#pragma once

#include <signal.h>
#include <sys/types.h>

#include "runtime.hpp"

namespace sockit::server::detail {

// Installs the handlers for its lifetime and restores the previous ones afterwards.
class SignalScope {
 public:
  SignalScope(StopSignal& stop, bool enabled);
  ~SignalScope();
  SignalScope(const SignalScope&) = delete;
  SignalScope& operator=(const SignalScope&) = delete;

 private:
  bool enabled_;
};

// Blocks SIGINT and SIGTERM in the calling thread for its lifetime; held across fork(). A
// signal reaching a new child before enter_child_process would otherwise run the parent's
// handler there and stop the whole server. The child unblocks them in enter_child_process.
class StopSignalsBlocked {
 public:
  StopSignalsBlocked() noexcept;
  ~StopSignalsBlocked();
  StopSignalsBlocked(const StopSignalsBlocked&) = delete;
  StopSignalsBlocked& operator=(const StopSignalsBlocked&) = delete;

 private:
  sigset_t old_{};
};

// Call first thing in a forked child, with the parent's PID taken before fork(). `own` is
// the child's fresh stop signal, which SIGINT/SIGTERM now request; `inherited` is the
// child's copy of the parent's (its eventfd is shared with the parent, so it is only looked
// at here: a stop the parent requested before the child got this far is carried over). The
// parent stops its children with SIGTERM afterwards; the child also stops if the parent
// dies.
void enter_child_process(StopSignal& own, const StopSignal& inherited, pid_t parent) noexcept;

// True once stop was requested in this process (or in another sharing its eventfd).
bool stop_requested(const StopSignal& stop) noexcept;

}  // namespace sockit::server::detail
