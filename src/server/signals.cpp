// Signal handling for a running Server (see signals.hpp for the rules).
#include "signals.hpp"

#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <atomic>

namespace sockit::server::detail {
namespace {

std::atomic<StopSignal*> g_stop{nullptr};
volatile sig_atomic_t g_signals_seen = 0;
volatile sig_atomic_t g_child = 0;

struct sigaction g_old_int;
struct sigaction g_old_term;
struct sigaction g_old_pipe;

extern "C" void on_stop_signal(int) {
  StopSignal* stop = g_stop.load();
  if (g_child == 0 && g_signals_seen > 0) {
    // The user asked twice: do not wait for the drain.
    ::_exit(1);
  }
  g_signals_seen = g_signals_seen + 1;
  if (stop != nullptr) stop->request();
}

}  // namespace

SignalScope::SignalScope(StopSignal& stop, bool enabled) : enabled_(enabled) {
  if (!enabled_) return;
  g_signals_seen = 0;
  g_stop.store(&stop);
  struct sigaction action {};
  action.sa_handler = on_stop_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  ::sigaction(SIGINT, &action, &g_old_int);
  ::sigaction(SIGTERM, &action, &g_old_term);
  struct sigaction ignore {};
  ignore.sa_handler = SIG_IGN;
  sigemptyset(&ignore.sa_mask);
  ::sigaction(SIGPIPE, &ignore, &g_old_pipe);
}

SignalScope::~SignalScope() {
  if (!enabled_) return;
  ::sigaction(SIGINT, &g_old_int, nullptr);
  ::sigaction(SIGTERM, &g_old_term, nullptr);
  ::sigaction(SIGPIPE, &g_old_pipe, nullptr);
  g_stop.store(nullptr);
}

void enter_child_process(StopSignal& stop, pid_t parent) noexcept {
  g_child = 1;
  // A master that dies (even by SIGKILL) must not leave workers serving on its port.
  ::prctl(PR_SET_PDEATHSIG, SIGTERM);
  if (::getppid() != parent) stop.request();
  g_stop.store(&stop);
  // Installed even when the embedding program handles signals itself: these processes
  // are ours, and the master stops them with SIGTERM.
  struct sigaction action {};
  action.sa_handler = on_stop_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  ::sigaction(SIGINT, &action, nullptr);
  ::sigaction(SIGTERM, &action, nullptr);
  struct sigaction ignore {};
  ignore.sa_handler = SIG_IGN;
  sigemptyset(&ignore.sa_mask);
  ::sigaction(SIGPIPE, &ignore, nullptr);
}

bool stop_requested(const StopSignal& stop) noexcept {
  if (stop.requested()) return true;
  pollfd p{stop.fd(), POLLIN, 0};
  return ::poll(&p, 1, 0) > 0 && (p.revents & POLLIN) != 0;
}

}  // namespace sockit::server::detail
