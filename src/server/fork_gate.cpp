// The fork gate (see fork_gate.hpp): one atomic count of holds, -1 while a fork is made.
#include "fork_gate.hpp"

#include <unistd.h>

#include <atomic>

namespace sockit::server::detail {
namespace {

constexpr int kForking = -1;
std::atomic<int> g_state{0};  // holds taken, or kForking
// Set while a fork waits, so that new holds queue behind it and it is never starved.
std::atomic<bool> g_fork_waiting{false};

}  // namespace

void ForkGate::Hold::acquire() noexcept {
  for (;;) {
    while (g_fork_waiting.load())
      g_fork_waiting.wait(true);
    int state = g_state.load();
    if (state == kForking) {
      g_state.wait(kForking);
      continue;
    }
    if (g_state.compare_exchange_weak(state, state + 1)) break;
  }
  held_ = true;
}

void ForkGate::Hold::release() noexcept {
  held_ = false;
  if (g_state.fetch_sub(1) == 1) g_state.notify_all();
}

pid_t ForkGate::fork_when_clear() noexcept {
  g_fork_waiting.store(true);
  for (;;) {
    int state = g_state.load();
    if (state == 0 && g_state.compare_exchange_weak(state, kForking)) break;
    if (state != 0) g_state.wait(state);
  }
  const pid_t pid = ::fork();
  g_state.store(0);
  g_fork_waiting.store(false);
  g_state.notify_all();
  g_fork_waiting.notify_all();
  return pid;
}

}  // namespace sockit::server::detail
