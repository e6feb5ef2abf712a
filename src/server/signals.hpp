// Internal: process signal handling for a running Server. SIGINT/SIGTERM request a graceful
// stop; a second one exits at once; SIGPIPE is ignored. Forked workers and per-connection
// children switch to "child mode", where every signal only requests the stop, because a
// Ctrl-C reaches the whole process group and the master forwards SIGTERM on top of it.
#pragma once

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

// Call first thing in a forked child, with the parent's PID taken before fork(). `stop` is
// the child's copy of the stop signal (its eventfd is shared with the parent, so a stop in
// the parent is seen here too). The child also stops if the parent dies.
void enter_child_process(StopSignal& stop, pid_t parent) noexcept;

// True once stop was requested in this process or in the parent that shares its eventfd.
bool stop_requested(const StopSignal& stop) noexcept;

}  // namespace sockit::server::detail
