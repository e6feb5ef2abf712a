// sockit-test-labels: threaded
// The server's log writer: lines queue in a bounded buffer that a thread of its own writes
// out, so a stalled stderr never blocks the thread that logs; what does not fit is dropped,
// counted and reported; a flush writes everything queued, in order; a forked child logs
// without the writer thread it does not have.
#include "../../src/server/log_writer.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "sockit/file_descriptor.hpp"

namespace {

using namespace std::chrono_literals;
using sockit::FileDescriptor;
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

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::size_t start = 0;
  for (auto end = text.find('\n'); end != std::string::npos; end = text.find('\n', start)) {
    lines.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return lines;
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

  // Once the reader catches up, what was kept arrives in order, then the count.
  auto flushed = std::async(std::launch::async, [&] { return writer.flush(120s); });
  const std::string report = std::to_string(dropped) + " log lines dropped";
  const std::string text = read_until(pipe.read_end.get(), report);
  EXPECT_TRUE(flushed.get());
  const auto lines = lines_of(text);
  ASSERT_FALSE(lines.empty());
  int last = -1;
  std::size_t kept = 0;
  for (const auto& line : lines) {
    if (line.rfind("line ", 0) != 0) continue;
    const int n = std::stoi(line.substr(5));
    EXPECT_GT(n, last) << "out of order";
    last = n;
    ++kept;
  }
  EXPECT_EQ(kept + dropped, static_cast<std::uint64_t>(count));
  EXPECT_NE(text.find(report), std::string::npos) << text.substr(text.size() - 300);
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

}  // namespace
