// The fork gate: a fork waits for a hold to be released, and holds taken meanwhile wait for
// the pending fork.
// sockit-test-labels: threaded
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <thread>

#include "../../src/server/fork_gate.hpp"

namespace sockit::server::detail {
namespace {

using namespace std::chrono_literals;

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
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
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
