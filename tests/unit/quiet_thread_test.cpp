// Threads the libraries start take no asynchronous signal: they start with every one
// blocked but the synchronous ones (a fault is raised in the thread that faults), and the
// thread that starts them keeps its own mask.
// sockit-test-labels: threaded
#include "../../src/quiet_thread.hpp"

#include <gtest/gtest.h>
#include <pthread.h>
#include <signal.h>

#include <thread>
#include <vector>

namespace {

using sockit::detail::quiet_thread;

sigset_t current_mask() {
  sigset_t mask;
  sigemptyset(&mask);
  ::pthread_sigmask(SIG_BLOCK, nullptr, &mask);
  return mask;
}

std::vector<int> asynchronous_signals() {
  return {SIGINT,  SIGTERM, SIGHUP,  SIGQUIT,  SIGUSR1, SIGUSR2,
          SIGCHLD, SIGPIPE, SIGALRM, SIGRTMIN, SIGRTMAX};
}

std::vector<int> synchronous_signals() {
  return {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGSYS};
}

TEST(QuietThread, StartsWithEveryAsynchronousSignalBlockedAndNoSynchronousOne) {
  sigset_t seen;
  std::thread thread = quiet_thread([&] { seen = current_mask(); });
  thread.join();
  for (const int sig : asynchronous_signals())
    EXPECT_EQ(sigismember(&seen, sig), 1) << "signal " << sig << " is not blocked";
  for (const int sig : synchronous_signals())
    EXPECT_EQ(sigismember(&seen, sig), 0) << "signal " << sig << " is blocked";
}

TEST(QuietThread, TheCallerKeepsItsMask) {
  // The caller blocks one signal of its own beforehand; after the start it still blocks
  // that one alone.
  sigset_t own;
  sigemptyset(&own);
  sigaddset(&own, SIGUSR1);
  sigset_t before;
  ASSERT_EQ(::pthread_sigmask(SIG_BLOCK, &own, &before), 0);
  std::thread thread = quiet_thread([] {});
  thread.join();
  const sigset_t after = current_mask();
  ASSERT_EQ(::pthread_sigmask(SIG_SETMASK, &before, nullptr), 0);
  EXPECT_EQ(sigismember(&after, SIGUSR1), 1);
  for (const int sig : asynchronous_signals()) {
    if (sig != SIGUSR1) {
      EXPECT_EQ(sigismember(&after, sig), sigismember(&before, sig)) << "signal " << sig;
    }
  }
}

TEST(QuietThread, PassesArgumentsAndMakesAJthread) {
  int result = 0;
  sigset_t seen;
  {
    std::jthread thread = quiet_thread<std::jthread>(
        [&](int a, int b) {
          seen = current_mask();
          result = a + b;
        },
        2, 3);
  }
  EXPECT_EQ(result, 5);
  EXPECT_EQ(sigismember(&seen, SIGTERM), 1);
}

}  // namespace
