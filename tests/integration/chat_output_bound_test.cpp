// Output bounds on the chat server: members that send a nickname and then never read
// while another member floods the room. Each silent member's queue is capped, so it is
// dropped with a log line; the server's memory stays bounded; the members that read go on
// chatting. Run on every architecture that can hold a chat room (a shared address space).
#include <gtest/gtest.h>
#include <poll.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "serve_fixture.hpp"
#include "sockit/deadline.hpp"

namespace sockit::test {
namespace {

// A /proc/PID/status field in KiB (VmRSS, VmHWM); -1 when absent.
long status_kib(pid_t pid, const std::string& field) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind(field + ":", 0) == 0) return std::stol(line.substr(field.size() + 1));
  }
  return -1;
}

std::size_t count_of(const std::string& text, const std::string& needle) {
  std::size_t n = 0;
  for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1))
    ++n;
  return n;
}

// A member that reads everything on its own thread: the flood lines are counted, the
// other lines kept.
class ReadingMember {
 public:
  ReadingMember(std::uint16_t port, const std::string& nick) : client_(port) {
    client_.send(nick + "\n");
    reader_ = std::thread([this] { read_all(); });
  }
  ~ReadingMember() {
    stop_ = true;
    reader_.join();
  }
  ReadingMember(const ReadingMember&) = delete;
  ReadingMember& operator=(const ReadingMember&) = delete;

  void say(const std::string& line) { client_.send(line + "\n"); }

  bool sees(const std::string& line, std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] {
      return lines_.find(line + "\n") != std::string::npos || ended_;
    }) && lines_.find(line + "\n") != std::string::npos;
  }
  // Waits until `n` flood lines have arrived; false at the timeout or the end.
  bool flood_lines_reach(std::size_t n, std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] { return flood_lines_ >= n || ended_; }) &&
           flood_lines_ >= n;
  }
  std::string lines() {
    std::lock_guard lock(mutex_);
    return lines_;
  }

 private:
  void read_all() {
    std::string partial;
    std::vector<char> chunk(64 * 1024);
    while (!stop_) {
      pollfd p{client_.socket().fd(), POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) continue;
      std::size_t n = 0;
      try {
        n = client_.socket().recv(std::span<char>(chunk.data(), chunk.size()));
      } catch (const Error&) {
        n = 0;
      }
      std::lock_guard lock(mutex_);
      if (n == 0) {
        ended_ = true;
        changed_.notify_all();
        return;
      }
      partial.append(chunk.data(), n);
      std::size_t start = 0;
      for (auto end = partial.find('\n'); end != std::string::npos;
           end = partial.find('\n', start)) {
        std::string_view line(partial.data() + start, end - start);
        if (line.rfind("flooder: ", 0) == 0) {
          ++flood_lines_;
        } else {
          lines_.append(line);
          lines_ += '\n';
        }
        start = end + 1;
      }
      partial.erase(0, start);
      changed_.notify_all();
    }
  }

  Client client_;
  std::thread reader_;
  std::atomic<bool> stop_{false};
  std::mutex mutex_;
  std::condition_variable changed_;
  std::string lines_;
  std::size_t flood_lines_ = 0;
  bool ended_ = false;
};

class ChatOutputBound : public ::testing::TestWithParam<std::string> {};

// 20 members that never read, and one that writes 40 MiB in 60 KB lines: unbounded, the
// server would hold 20 copies of the flood (800 MiB and more; 1.5 GiB measured under ASan).
TEST_P(ChatOutputBound, SilentMembersAreDroppedAndTheServerStaysBounded) {
  constexpr std::size_t silent_members = 20;
  constexpr std::size_t flood_lines = 700;
  // Built in place: g++ 12 at -O3 warns falsely about std::string's operator+ here.
  std::string flood_line(60'002, 'x');
  flood_line.front() = 'F';
  flood_line.back() = '\n';

  // ASan keeps freed blocks aside (256 MB by default), which would count in the RSS.
  std::string asan = "ASAN_OPTIONS=";
  if (const char* given = std::getenv("ASAN_OPTIONS")) {
    asan += given;
    asan += ':';
  }
  asan += "quarantine_size_mb=8";
  // All queues together may hold 64 MiB (each its default 16 MiB): with 20 silent members,
  // the server-wide bound is the one they meet.
  std::vector<std::string> argv{
      binary("bin/sockit"), "serve", "chat",         "--arch", GetParam(), "--port", "0",
      "--workers",          "32",    "--max-output", "64MiB"};
  Process server(argv, {asan});
  auto port = wait_listening_port(server);
  if (!port) FAIL() << "server did not start: " << server.stderr_text();

  ReadingMember alice(*port, "alice");
  ASSERT_TRUE(alice.sees("Welcome to the chat, alice"));
  ReadingMember bob(*port, "bob");
  ASSERT_TRUE(bob.sees("Welcome to the chat, bob"));
  std::vector<std::unique_ptr<Client>> silent;
  for (std::size_t i = 0; i < silent_members; ++i) {
    silent.push_back(std::make_unique<Client>(*port));
    silent.back()->send("quiet" + std::to_string(i) + "\n");
    ASSERT_TRUE(alice.sees("quiet" + std::to_string(i) + " joined the chat"));
  }
  Client flooder(*port);
  flooder.send("flooder\n");
  ASSERT_TRUE(alice.sees("flooder joined the chat"));
  ASSERT_TRUE(bob.sees("flooder joined the chat"));

  // The flood keeps only a few lines ahead of the members that read, so they keep up; the
  // silent ones fall behind by all of it.
  for (std::size_t i = 0; i < flood_lines; ++i) {
    flooder.send(flood_line);
    if (i >= 4) {
      ASSERT_TRUE(alice.flood_lines_reach(i - 4, std::chrono::seconds(30))) << "line " << i;
      ASSERT_TRUE(bob.flood_lines_reach(i - 4, std::chrono::seconds(30))) << "line " << i;
    }
  }
  ASSERT_TRUE(alice.flood_lines_reach(flood_lines, std::chrono::seconds(30)));
  ASSERT_TRUE(bob.flood_lines_reach(flood_lines, std::chrono::seconds(30)));

  // Every silent member was dropped, each with a log line, and left the room.
  const Deadline drops(std::chrono::seconds(30));
  for (std::size_t i = 0; i < silent_members; ++i) {
    EXPECT_TRUE(alice.sees("quiet" + std::to_string(i) + " left the chat", *drops.remaining()))
        << i;
  }
  while (count_of(server.stderr_text(), "bytes of output unread") < silent_members &&
         !drops.expired()) {
    server.pump(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(count_of(server.stderr_text(), "bytes of output unread"), silent_members)
      << server.stderr_text().substr(0, 4000);

  // The server's peak memory stayed far below 20 copies of the flood.
  const long peak_kib = status_kib(server.pid(), "VmHWM");
  ASSERT_GT(peak_kib, 0);
  EXPECT_LT(peak_kib, 400 * 1024) << "peak RSS " << peak_kib / 1024 << " MiB";

  // The members that read are still there and still talking.
  alice.say("still here");
  EXPECT_TRUE(bob.sees("alice: still here"));
  bob.say("me too");
  EXPECT_TRUE(alice.sees("bob: me too"));
  EXPECT_EQ(alice.lines().find("alice left"), std::string::npos);
  EXPECT_EQ(alice.lines().find("bob left"), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(Serve, ChatOutputBound,
                         ::testing::Values("thread", "pool", "reactor", "hybrid", "uring",
                                           "uring-hybrid"),
                         arch_param_name);

}  // namespace
}  // namespace sockit::test
