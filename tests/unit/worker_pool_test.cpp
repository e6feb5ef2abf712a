// The server's worker pool: jobs run on its threads, a full queue refuses instead of
// growing, shutdown finishes what was queued, and a forked child starts threads of its own.
// sockit-test-labels: threaded
#include <gtest/gtest.h>
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string_view>
#include <thread>

#include "../../src/server/worker_pool.hpp"

namespace sockit::server::detail {
namespace {

using namespace std::chrono_literals;

// A gate the jobs wait at until the test opens it.
class Gate {
 public:
  void wait() {
    std::unique_lock lock(mutex_);
    cv_.wait(lock, [&] { return open_; });
  }
  void open() {
    {
      std::lock_guard lock(mutex_);
      open_ = true;
    }
    cv_.notify_all();
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  bool open_ = false;
};

TEST(WorkerPool, RunsJobsOnItsOwnThreads) {
  WorkerPool pool(2, 16);
  std::atomic<int> done{0};
  std::atomic<bool> elsewhere{true};
  const auto self = std::this_thread::get_id();
  for (int i = 0; i < 10; ++i) {
    WorkerPool::Job job = [&] {
      if (std::this_thread::get_id() == self) elsewhere = false;
      ++done;
    };
    ASSERT_TRUE(pool.try_submit(job));
  }
  pool.shutdown();
  EXPECT_EQ(done.load(), 10) << "shutdown finishes every queued job";
  EXPECT_TRUE(elsewhere.load());
}

TEST(WorkerPool, ItsThreadsTakeNoStopSignal) {
  // A SIGTERM sent to the process must run its handler on a thread that expects it, never
  // on a pool thread, which may outlive the server's handlers.
  WorkerPool pool(1, 4);
  std::atomic<int> blocked{-1};
  WorkerPool::Job job = [&] {
    sigset_t mask;
    sigemptyset(&mask);
    ::pthread_sigmask(SIG_BLOCK, nullptr, &mask);
    blocked =
        sigismember(&mask, SIGTERM) + sigismember(&mask, SIGINT) + sigismember(&mask, SIGUSR2);
  };
  ASSERT_TRUE(pool.try_submit(job));
  pool.shutdown();
  EXPECT_EQ(blocked.load(), 3);
}

TEST(WorkerPool, AFullQueueRefusesAndLeavesTheJobWithTheCaller) {
  WorkerPool pool(1, 2);
  Gate gate;
  std::atomic<int> started{0};
  WorkerPool::Job blocker = [&] {
    ++started;
    gate.wait();
  };
  ASSERT_TRUE(pool.try_submit(blocker));
  while (started.load() == 0)
    std::this_thread::sleep_for(1ms);  // the thread is busy now
  int ran = 0;
  WorkerPool::Job first = [&] { ++ran; };
  WorkerPool::Job second = [&] { ++ran; };
  WorkerPool::Job third = [&] { ++ran; };
  EXPECT_TRUE(pool.try_submit(first));
  EXPECT_TRUE(pool.try_submit(second));
  EXPECT_FALSE(pool.try_submit(third)) << "two jobs wait already: the queue holds two";
  EXPECT_TRUE(static_cast<bool>(third)) << "a refused job is not consumed";
  gate.open();
  pool.shutdown();
  EXPECT_EQ(ran, 2);
  WorkerPool::Job late = [] {};
  EXPECT_FALSE(pool.try_submit(late)) << "a stopped pool takes nothing";
}

TEST(WorkerPool, AChildProcessStartsThreadsOfItsOwn) {
  // Forking a process whose other threads ThreadSanitizer watches is not supported by it.
  if (std::string_view(SOCKIT_SANITIZE).find("thread") != std::string_view::npos) {
    GTEST_SKIP() << "forks a threaded process; not run under ThreadSanitizer";
  }
  WorkerPool pool(1, 4);
  std::atomic<int> parent_jobs{0};
  WorkerPool::Job job = [&] { ++parent_jobs; };
  ASSERT_TRUE(pool.try_submit(job));  // the parent's thread exists now
  // Fork while that thread is idle (waiting for work), not while it frees its finished job:
  // a child forked in the middle of a free may find the allocator locked forever.
  for (int i = 0; i < 5000 && parent_jobs.load() == 0; ++i)
    std::this_thread::sleep_for(1ms);
  std::this_thread::sleep_for(100ms);
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    // The parent's thread did not come along: without threads of its own the job would
    // never run and the child would hang (the parent's wait below would time out).
    std::atomic<bool> ran{false};
    WorkerPool::Job mine = [&] { ran = true; };
    if (!pool.try_submit(mine)) ::_exit(2);
    for (int i = 0; i < 10000 && !ran.load(); ++i)
      std::this_thread::sleep_for(1ms);
    ::_exit(ran.load() ? 0 : 1);
  }
  int status = 0;
  bool finished = false;
  for (int i = 0; i < 15000 && !finished; ++i) {
    finished = ::waitpid(child, &status, WNOHANG) == child;
    if (!finished) std::this_thread::sleep_for(1ms);
  }
  if (!finished) {
    ::kill(child, SIGKILL);
    ::waitpid(child, &status, 0);
  }
  ASSERT_TRUE(finished) << "the child did not finish";
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "the child's job did not run";
  pool.shutdown();
  EXPECT_EQ(parent_jobs.load(), 1);
}

}  // namespace
}  // namespace sockit::server::detail
