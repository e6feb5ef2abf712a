// Signal handling for a running Server (see signals.hpp for the rules).
#include "signals.hpp"

#include <poll.h>
#include <pthread.h>
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

sigset_t stop_signals() noexcept {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  return set;
}

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

StopSignalsBlocked::StopSignalsBlocked() noexcept {
  sigset_t set = stop_signals();
  ::pthread_sigmask(SIG_BLOCK, &set, &old_);
}

StopSignalsBlocked::~StopSignalsBlocked() {
  ::pthread_sigmask(SIG_SETMASK, &old_, nullptr);
}

void enter_child_process(StopSignal& own, const StopSignal& inherited, pid_t parent) noexcept {
  g_child = 1;
  // A master that dies (even by SIGKILL) must not leave workers serving on its port.
  ::prctl(PR_SET_PDEATHSIG, SIGTERM);
  g_stop.store(&own);
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
  // The parent blocked SIGINT/SIGTERM across fork(): one sent since then arrives now, to
  // the handler above.
  sigset_t set = stop_signals();
  ::pthread_sigmask(SIG_UNBLOCK, &set, nullptr);
  if (::getppid() != parent || stop_requested(inherited)) own.request();
}

bool stop_requested(const StopSignal& stop) noexcept {
  if (stop.requested()) return true;
  pollfd p{stop.fd(), POLLIN, 0};
  return ::poll(&p, 1, 0) > 0 && (p.revents & POLLIN) != 0;
}

}  // namespace sockit::server::detail
