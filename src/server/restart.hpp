// Internal: restarts that drop nothing, on SIGUSR2 (nginx's binary upgrade, Unicorn's USR2).
// The server starts a new copy of its program, from the same path and arguments, handing it
// the listening socket as socket activation does (descriptor 3, LISTEN_FDS, LISTEN_PID) and
// a NOTIFY_SOCKET of its own; once the new copy says READY=1 the old one drains and exits,
// while the new one accepts from the same socket, so no client is refused. A copy that
// fails to start, or is not ready within a minute, is ended and the old one serves on.
#pragma once

#include <atomic>
#include <functional>
#include <string>
#include <thread>
#include <utility>

#include "fork_gate.hpp"
#include "runtime.hpp"
#include "sockit/file_descriptor.hpp"
#include "sockit/socket.hpp"

namespace sockit::server::detail {

class RestartOnSignal {
 public:
  // `handover` runs with the new copy's PID once it is ready, before the stop is requested
  // (a Unix listener keeps its socket file then, the supervisor hears the new main PID).
  // `supervisor_socket` (may be "") is passed on to the new copy. Nothing is installed
  // unless `enabled`.
  // The handler is installed at once (SIGUSR2 no longer ends the process); a signal that
  // comes before start() waits for it.
  RestartOnSignal(const Socket& listener, StopSignal& stop, const Logger& log, bool enabled,
                  std::string supervisor_socket, std::function<void(pid_t)> handover);
  // SIGUSR2 starts no new copy from now on: the log says `reason` instead. Before start().
  void refuse(std::string reason) { refused_ = std::move(reason); }
  // Starts acting on SIGUSR2, from a thread of its own.
  void start();
  ~RestartOnSignal();
  RestartOnSignal(const RestartOnSignal&) = delete;
  RestartOnSignal& operator=(const RestartOnSignal&) = delete;

 private:
  void watch();
  bool restart(ForkGate::Hold& hold);

  const Socket& listener_;
  StopSignal& stop_;
  const Logger& log_;
  std::string supervisor_socket_;
  std::function<void(pid_t)> handover_;
  std::string refused_;
  FileDescriptor wake_;  // written by the SIGUSR2 handler and by the destructor
  bool installed_ = false;
  std::atomic<bool> done_{false};
  std::thread thread_;
};

}  // namespace sockit::server::detail
