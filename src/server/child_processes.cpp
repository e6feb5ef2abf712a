// Child-process bookkeeping for fork and prefork (see child_processes.hpp).
#include "child_processes.hpp"

#include <signal.h>
#include <sys/wait.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <thread>

namespace sockit::server::detail {

std::string describe_wait_status(int status) {
  if (WIFEXITED(status)) return "exit code " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) {
    int sig = WTERMSIG(status);
    const char* name = ::strsignal(sig);
    return "signal " + std::to_string(sig) + " (" + (name != nullptr ? name : "?") + ")";
  }
  return "status " + std::to_string(status);
}

void reap_children(std::vector<pid_t>& pids, const std::function<void(pid_t, int)>& on_exit) {
  for (auto it = pids.begin(); it != pids.end();) {
    int status = 0;
    pid_t r = ::waitpid(*it, &status, WNOHANG);
    if (r == *it || (r < 0 && errno == ECHILD)) {
      pid_t pid = *it;
      it = pids.erase(it);
      if (r == pid && on_exit) on_exit(pid, status);
    } else {
      ++it;
    }
  }
}

void stop_children(std::vector<pid_t>& pids, std::chrono::steady_clock::time_point deadline,
                   const Logger& log, const std::function<void(pid_t, int)>& on_exit) {
  for (pid_t pid : pids)
    ::kill(pid, SIGTERM);
  while (!pids.empty() && std::chrono::steady_clock::now() < deadline) {
    reap_children(pids, on_exit);
    if (!pids.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (pids.empty()) return;
  log.error("drain deadline passed; killing " + std::to_string(pids.size()) + " process(es)");
  for (pid_t pid : pids)
    ::kill(pid, SIGKILL);
  for (pid_t pid : pids) {
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (on_exit) on_exit(pid, status);
  }
  pids.clear();
}

}  // namespace sockit::server::detail
