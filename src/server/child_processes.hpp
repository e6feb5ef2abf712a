// Internal: bookkeeping for the process-based architectures (fork, prefork): reaping
// children without blocking, describing how one ended, and stopping them all within a
// deadline (SIGTERM, wait, then SIGKILL). Only our own children, by PID: waitpid(-1) would
// steal the children of a program that embeds the server.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "runtime.hpp"

namespace sockit::server::detail {

// "exit code 3", "signal 9 (Killed)".
std::string describe_wait_status(int status);

// Reaps each of `pids` that has ended (WNOHANG), calling on_exit(pid, status) and removing
// it from the list.
void reap_children(std::vector<pid_t>& pids, const std::function<void(pid_t, int)>& on_exit);

// SIGTERM to every child, wait until `deadline`, then SIGKILL whoever is left and reap.
void stop_children(std::vector<pid_t>& pids, std::chrono::steady_clock::time_point deadline,
                   const Logger& log, const std::function<void(pid_t, int)>& on_exit);

}  // namespace sockit::server::detail
