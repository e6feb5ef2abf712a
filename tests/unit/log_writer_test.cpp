// sockit-test-labels: threaded
// The server's log writer: lines queue in a bounded buffer that a thread of its own writes
// out, so a stalled stderr never blocks the thread that logs; what does not fit is dropped,
// counted and reported; a flush writes everything queued, in order; a forked child logs
// without the writer thread it does not have, and never inherits a lock that thread held.
#include "../../src/server/log_writer.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <future>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "../../src/server/fork_gate.hpp"
#include "sockit/file_descriptor.hpp"

namespace {

using namespace std::chrono_literals;
using sockit::FileDescriptor;
using sockit::server::detail::ForkGate;
using sockit::server::detail::LogWriter;

struct Pipe {
  Pipe() {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe2");
    read_end = FileDescriptor(fds[0]);
    write_end = FileDescriptor(fds[1]);
  }
  FileDescriptor read_end;
  FileDescriptor write_end;
};

// Reads until `fd` stays silent for a moment after `until` appears (or 60 s pass).
std::string read_until(int fd, const std::string& until) {
  std::string text;
  const auto give_up = std::chrono::steady_clock::now() + 60s;
  while (std::chrono::steady_clock::now() < give_up) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) {
      if (text.find(until) != std::string::npos) break;
      continue;
    }
    char buffer[65536];
    ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n <= 0) break;
    text.append(buffer, static_cast<std::size_t>(n));
  }
  return text;
}

// Reads until end of file (or 120 s pass).
std::string read_to_end(int fd) {
  std::string text;
  const auto give_up = std::chrono::steady_clock::now() + 120s;
  while (std::chrono::steady_clock::now() < give_up) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    char buffer[65536];
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n <= 0) break;
    text.append(buffer, static_cast<std::size_t>(n));
  }
  return text;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::size_t start = 0;
  for (auto end = text.find('\n'); end != std::string::npos; end = text.find('\n', start)) {
    lines.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return lines;
}

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

std::string numbered(int i) {
  std::string line = "line ";
  line += std::to_string(i);
  line += ' ';
  line.append(90, 'x');
  line += '\n';
  return line;
}

TEST(LogWriter, AStalledReaderNeverBlocksTheCallerAndDropsAreCountedThenReported) {
  Pipe pipe;
  constexpr std::size_t capacity = 64 * 1024;
  LogWriter writer(pipe.write_end.get(), capacity);
  constexpr int count = 20'000;  // 2 MB: far more than the pipe and the buffer hold
  auto logging = std::async(std::launch::async, [&] {
    for (int i = 0; i < count; ++i)
      writer.write(numbered(i));
  });
  // Nobody reads the pipe: a writer that blocked the caller would never finish.
  if (logging.wait_for(60s) != std::future_status::ready) {
    while (logging.wait_for(0s) != std::future_status::ready)
      read_until(pipe.read_end.get(), "");  // unblock it, so the test can end
    FAIL() << "logging blocked on a pipe nobody read";
  }
  const std::uint64_t dropped = writer.dropped();
  EXPECT_GT(dropped, 0u);
  EXPECT_LT(dropped, static_cast<std::uint64_t>(count));

  // Once a reader catches up, what was kept arrives in order, and the drops are reported
  // (in one line or several, as room came) before the flush returns.
  auto reading = std::async(std::launch::async, [&] { return read_to_end(pipe.read_end.get()); });
  EXPECT_TRUE(writer.flush(120s));
  pipe.write_end.close();  // the reader's end of file
  const std::string text = reading.get();
  int last = -1;
  std::uint64_t kept = 0;
  std::uint64_t reported = 0;
  for (const auto& line : lines_of(text)) {
    if (line.rfind("line ", 0) == 0) {
      const int n = std::stoi(line.substr(5));
      EXPECT_GT(n, last) << "out of order";
      last = n;
      ++kept;
    } else {
      const std::regex report(R"(sockit\[[0-9]+\] ERROR ([0-9]+) log lines? dropped .*)");
      std::smatch match;
      ASSERT_TRUE(std::regex_match(line, match, report)) << line;
      reported += std::stoull(match[1]);
    }
  }
  EXPECT_EQ(kept + dropped, static_cast<std::uint64_t>(count));
  EXPECT_EQ(reported, dropped);
  EXPECT_EQ(writer.dropped(), dropped) << "nothing logged since";
}

TEST(LogWriter, EverythingLoggedBeforeAFlushIsWrittenInOrder) {
  Pipe pipe;
  LogWriter writer(pipe.write_end.get());
  std::string all;
  for (int i = 0; i < 500; ++i) {
    writer.write(numbered(i));
    all += numbered(i);
  }
  // The pipe holds 64 KiB: the reader runs beside the flush.
  auto reading = std::async(std::launch::async,
                            [&] { return read_until(pipe.read_end.get(), numbered(499)); });
  EXPECT_TRUE(writer.flush(120s));
  EXPECT_EQ(reading.get(), all);
  EXPECT_EQ(writer.dropped(), 0u);
}

TEST(LogWriter, AForkedChildWritesWithoutTheThreadItDoesNotHave) {
  Pipe pipe;
  LogWriter writer(pipe.write_end.get());
  writer.write("parent before\n");
  ASSERT_TRUE(writer.flush(60s));
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    writer.write("child\n");
    ::_exit(writer.flush(10s) ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  writer.write("parent after\n");
  ASSERT_TRUE(writer.flush(60s));
  EXPECT_EQ(read_until(pipe.read_end.get(), "parent after\n"),
            "parent before\nchild\nparent after\n");
}

// A forked child's work: allocates in every size class the writer used, logs, and ends.
[[noreturn]] void allocate_log_and_exit(LogWriter& writer) {
  std::vector<std::string> strings;
  for (int j = 0; j < 1000; ++j)
    strings.emplace_back(static_cast<std::size_t>(16 + (j * 37) % 4000), 'y');
  writer.write("child " + std::to_string(strings.size()) + "\n");
  ::_exit(0);
}

TEST(LogWriter, ChildrenForkedWhileTheWriterIsBusyAllFinish) {
  // The writer thread takes batches, frees them and formats drop reports all the time: a
  // small buffer that overflows, fed by the forking thread and by a helper thread that logs
  // under a hold, as the server's restart watcher does. Every fork gets through, and every
  // child finishes.
  const FileDescriptor null(::open("/dev/null", O_WRONLY | O_CLOEXEC));
  ASSERT_GE(null.get(), 0);
  LogWriter writer(null.get(), 4096);
  std::atomic<bool> stop{false};
  std::thread feeding([&] {
    for (int i = 0; !stop.load(); ++i) {
      const ForkGate::Hold hold;
      writer.write(numbered(i));
    }
  });
  int stuck = 0;
  for (int i = 0; i < 100; ++i) {
    for (int j = 0; j < 100; ++j)
      writer.write(numbered(j));
    const pid_t pid = ForkGate::fork_when_clear();
    ASSERT_GE(pid, 0);
    if (pid == 0) allocate_log_and_exit(writer);
    if (!finished_cleanly(pid, 10s)) ++stuck;
  }
  stop.store(true);
  feeding.join();
  EXPECT_EQ(stuck, 0) << "children that never finished";
  EXPECT_GT(writer.dropped(), 0u) << "the writer was never overrun";
}

// Whether a thread of this process is blocked in write(2) to `fd` (its /proc syscall file).
bool a_thread_writes_to(int fd) {
  char wanted[64];
  std::snprintf(wanted, sizeof wanted, "%d 0x%x ", static_cast<int>(SYS_write),
                static_cast<unsigned>(fd));
  for (const auto& task : std::filesystem::directory_iterator("/proc/self/task")) {
    std::ifstream file(task.path() / "syscall");
    std::string line;
    if (std::getline(file, line) && line.rfind(wanted, 0) == 0) return true;
  }
  return false;
}

TEST(LogWriter, AWriterStuckOnAStalledDescriptorNeverHoldsAForkBack) {
  Pipe pipe;
  // A pipe nobody reads, full to the last byte.
  ASSERT_EQ(::fcntl(pipe.write_end.get(), F_SETFL, O_NONBLOCK), 0);
  const std::string chunk(4096, 'f');
  while (::write(pipe.write_end.get(), chunk.data(), chunk.size()) > 0) {
  }
  while (::write(pipe.write_end.get(), "f", 1) > 0) {
  }
  ASSERT_EQ(::fcntl(pipe.write_end.get(), F_SETFL, 0), 0);
  LogWriter writer(pipe.write_end.get());
  writer.write("stuck\n");
  const auto give_up = std::chrono::steady_clock::now() + 60s;
  while (!a_thread_writes_to(pipe.write_end.get())) {
    ASSERT_LT(std::chrono::steady_clock::now(), give_up) << "the writer never blocked";
    std::this_thread::yield();
  }
  auto forking = std::async(std::launch::async, [] {
    const pid_t pid = ForkGate::fork_when_clear();
    if (pid == 0) ::_exit(0);
    return pid > 0 && finished_cleanly(pid, 10s);
  });
  const bool forked = forking.wait_for(10s) == std::future_status::ready;
  while (forking.wait_for(0s) != std::future_status::ready)
    read_until(pipe.read_end.get(), "");  // unblock it, so the test can end
  EXPECT_TRUE(forked) << "a fork waited for a write to a stalled descriptor";
  EXPECT_TRUE(forking.get());
  read_until(pipe.read_end.get(), "stuck\n");  // lets the writer end
}

TEST(LogWriter, ChildrenForkedRightAfterAWriterStartsAllFinish) {
  // As a server that forks its workers as soon as it is made: the writer's thread must not
  // be caught starting, in the allocator.
  const FileDescriptor null(::open("/dev/null", O_WRONLY | O_CLOEXEC));
  ASSERT_GE(null.get(), 0);
  int stuck = 0;
  for (int i = 0; i < 200; ++i) {
    LogWriter writer(null.get());
    const pid_t pid = ForkGate::fork_when_clear();
    ASSERT_GE(pid, 0);
    if (pid == 0) allocate_log_and_exit(writer);
    if (!finished_cleanly(pid, 10s)) ++stuck;
  }
  EXPECT_EQ(stuck, 0) << "children that never finished";
}

// Records which thread each signal's handler ran on: the test's own thread, or another.
std::atomic<pthread_t> g_test_thread{};
std::array<std::atomic<int>, NSIG> g_on_test_thread{};  // by signal number
std::atomic<int> g_elsewhere{0};

extern "C" void record_thread(int sig) {
  if (::pthread_equal(::pthread_self(), g_test_thread.load()) != 0) {
    g_on_test_thread[static_cast<std::size_t>(sig)].fetch_add(1);
  } else {
    g_elsewhere.fetch_add(1);
  }
}

// Handles `signals` with record_thread for its lifetime, then restores what was there.
class RecordingHandlers {
 public:
  explicit RecordingHandlers(std::vector<int> signals) : signals_(std::move(signals)) {
    struct sigaction action {};
    action.sa_handler = record_thread;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESTART;
    old_.resize(signals_.size());
    for (std::size_t i = 0; i < signals_.size(); ++i)
      ::sigaction(signals_[i], &action, &old_[i]);
  }
  ~RecordingHandlers() {
    for (std::size_t i = 0; i < signals_.size(); ++i)
      ::sigaction(signals_[i], &old_[i], nullptr);
  }
  RecordingHandlers(const RecordingHandlers&) = delete;
  RecordingHandlers& operator=(const RecordingHandlers&) = delete;

 private:
  std::vector<int> signals_;
  std::vector<struct sigaction> old_;
};

TEST(LogWriter, SignalsSentToTheProcessNeverRunTheirHandlersOnTheWriterThread) {
  // The writer thread outlives the server's signal handlers: a stop signal whose handler
  // ran there would race the server's teardown. Here the test's thread blocks the signals
  // while they are sent, so the writer is the only other thread that could take them; a
  // real-time signal queues every copy, so 200 of them give it 200 chances.
  const FileDescriptor null(::open("/dev/null", O_WRONLY | O_CLOEXEC));
  ASSERT_GE(null.get(), 0);
  const int queued = SIGRTMIN + 3;
  const std::vector<int> signals{SIGINT, SIGTERM, SIGHUP, SIGUSR2, SIGCHLD, queued};
  const RecordingHandlers handlers(signals);
  g_test_thread.store(::pthread_self());
  for (auto& count : g_on_test_thread)
    count.store(0);
  g_elsewhere.store(0);
  LogWriter writer(null.get());

  sigset_t set;
  sigemptyset(&set);
  for (const int sig : signals)
    sigaddset(&set, sig);
  sigset_t old;
  ASSERT_EQ(::pthread_sigmask(SIG_BLOCK, &set, &old), 0);
  constexpr int copies = 200;
  for (const int sig : signals) {
    if (sig != queued) {
      ASSERT_EQ(::kill(::getpid(), sig), 0);
    }
  }
  for (int i = 0; i < copies; ++i)
    ASSERT_EQ(::sigqueue(::getpid(), queued, sigval{i}), 0);
  // The writer wakes for this line: a signal it could take is handled on its way back to
  // work, before the line is written.
  writer.write("after the signals\n");
  EXPECT_TRUE(writer.flush(10s));
  const int elsewhere = g_elsewhere.load();
  // Unblocked, every signal still pending is handled on this thread (ThreadSanitizer runs
  // the handlers a little later, at its next call it intercepts, and once per signal
  // number however many copies came).
  ASSERT_EQ(::pthread_sigmask(SIG_SETMASK, &old, nullptr), 0);
  const auto all_handled_here = [&] {
    for (const int sig : signals) {
      if (g_on_test_thread[static_cast<std::size_t>(sig)].load() == 0) return false;
    }
    return true;
  };
  const auto give_up = std::chrono::steady_clock::now() + 10s;
  while (!all_handled_here() && std::chrono::steady_clock::now() < give_up)
    std::this_thread::sleep_for(1ms);

  EXPECT_EQ(elsewhere, 0) << "handlers that ran on the writer thread";
  EXPECT_EQ(g_elsewhere.load(), 0);
  for (const int sig : signals) {
    EXPECT_GE(g_on_test_thread[static_cast<std::size_t>(sig)].load(), 1)
        << "signal " << sig << " was never handled on this thread";
  }
}

}  // namespace
