// The fork gate: a fork made while a helper thread allocates never leaves the child stuck
// on a lock that thread held (the sanitizers' allocators have no fork handlers of their
// own), and a fork waits for a hold, and holds wait for a pending fork.
// sockit-test-labels: threaded
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "../../src/server/fork_gate.hpp"

namespace sockit::server::detail {
namespace {

using namespace std::chrono_literals;

// Waits up to `patience` for the child; a child still running then is killed: false.
bool finished_cleanly(pid_t pid, std::chrono::milliseconds patience) {
  const auto until = std::chrono::steady_clock::now() + patience;
  int status = 0;
  while (std::chrono::steady_clock::now() < until) {
    const pid_t got = ::waitpid(pid, &status, WNOHANG);
    if (got == pid) return WIFEXITED(status) && WEXITSTATUS(status) == 0;
    std::this_thread::sleep_for(1ms);
  }
  ::kill(pid, SIGKILL);
  ::waitpid(pid, &status, 0);
  return false;
}

TEST(ForkGate, ChildrenForkedWhileAThreadAllocatesAllFinish) {
  std::atomic<bool> stop{false};
  std::thread busy([&stop] {
    while (!stop.load()) {
      ForkGate::Hold hold;
      std::vector<std::string> strings;
      for (int i = 0; i < 64; ++i)
        strings.emplace_back(static_cast<std::size_t>(100 + i * 7), 'x');
    }
  });
  int stuck = 0;
  for (int i = 0; i < 200; ++i) {
    const pid_t pid = ForkGate::fork_when_clear();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      // The child allocates in every size class the busy thread used.
      std::vector<std::string> strings;
      for (int j = 0; j < 64; ++j)
        strings.emplace_back(static_cast<std::size_t>(100 + j * 7), 'y');
      ::_exit(strings.size() == 64 ? 0 : 1);
    }
    if (!finished_cleanly(pid, 10s)) ++stuck;
  }
  stop.store(true);
  busy.join();
  EXPECT_EQ(stuck, 0) << "children that never finished";
}

// A thread that forks through the gate, sets `forked` once the fork is made, and reaps the
// child (which exits at once).
std::thread fork_in_a_thread(std::atomic<bool>& forked) {
  return std::thread([&forked] {
    const pid_t pid = ForkGate::fork_when_clear();
    if (pid == 0) ::_exit(0);
    forked.store(true);
    int status = 0;
    ::waitpid(pid, &status, 0);
  });
}

TEST(ForkGate, AForkWaitsForAHoldToBeReleased) {
  auto hold = std::make_unique<ForkGate::Hold>();
  std::atomic<bool> forked{false};
  std::thread forker = fork_in_a_thread(forked);
  std::this_thread::sleep_for(200ms);
  EXPECT_FALSE(forked.load()) << "the fork went through a hold";
  hold.reset();
  forker.join();
  EXPECT_TRUE(forked.load());
}

TEST(ForkGate, AReleasedHoldLetsAForkThroughAndIsTakenAgainAfter) {
  ForkGate::Hold hold;
  hold.release();
  const pid_t pid = ForkGate::fork_when_clear();
  if (pid == 0) ::_exit(0);
  ASSERT_GT(pid, 0);
  EXPECT_TRUE(finished_cleanly(pid, 10s));
  hold.acquire();
  std::atomic<bool> forked{false};
  std::thread forker = fork_in_a_thread(forked);
  std::this_thread::sleep_for(200ms);
  EXPECT_FALSE(forked.load());
  hold.release();
  forker.join();
  EXPECT_TRUE(forked.load());
}

}  // namespace
}  // namespace sockit::server::detail
