// A blocking architecture draining at a stop, whose flush of unread output cannot wait for
// the socket (poll(2) fails): the connection's close says why, rather than passing the lost
// output off as an ordinary stop. poll(2) is made to fail with EINVAL by lowering the
// server's descriptor limit below the one descriptor it polls.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <thread>

#include "serve_fixture.hpp"
#include "sockit/deadline.hpp"
#include "support/require_tool.hpp"

namespace sockit::test {
namespace {

// True once every thread of `pid` is blocked in a system call (none "running"), on three
// looks in a row: the server has done all it can and waits.
bool all_threads_wait(pid_t pid, std::chrono::milliseconds timeout) {
  const Deadline deadline(timeout);
  int quiet_looks = 0;
  while (!deadline.expired()) {
    bool any_running = false;
    const std::string tasks = "/proc/" + std::to_string(pid) + "/task";
    for (const auto& task : std::filesystem::directory_iterator(tasks)) {
      std::ifstream syscall(task.path() / "syscall");
      std::string first;
      syscall >> first;
      if (first.empty() || first == "running") any_running = true;
    }
    quiet_looks = any_running ? 0 : quiet_looks + 1;
    if (quiet_looks == 3) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

class DrainFlushError : public ::testing::TestWithParam<std::string> {};

TEST_P(DrainFlushError, FailedWaitIsLoggedAsTheReasonForTheClose) {
  SOCKIT_REQUIRE_TOOL("prlimit");
  // The sanitizers need descriptors of their own (without one UBSan's vptr check reports a
  // false error, which stops the server): this runs on the builds without them.
  if (!std::string_view(SOCKIT_SANITIZE).empty()) {
    GTEST_SKIP() << "a sanitized server cannot run without a spare descriptor";
  }
  Process server({binary("bin/sockit"), "serve", "chat", "--arch", GetParam(), "--port", "0",
                  "--workers", "8", "--drain", "5"});
  const auto port = wait_listening_port(server);
  ASSERT_TRUE(port) << server.stderr_text();

  // A member that never reads, one that reads, and one that sends 14 MB: more than the
  // kernel's buffers hold for the silent one, so its thread holds the rest and waits for
  // its socket.
  Client reader(*port);
  reader.send("reader\n");
  ASSERT_NE(reader.read_until("Welcome").find("Welcome"), std::string::npos);
  Client silent(*port);
  silent.send("quiet\n");
  ASSERT_NE(reader.read_until("quiet joined the chat").find("quiet joined"), std::string::npos);
  Client flooder(*port);
  flooder.send("flooder\n");
  const std::string line = std::string(60'000, 'x') + "\n";
  for (int i = 0; i < 240; ++i)
    flooder.send(line);
  flooder.send("END\n");
  ASSERT_NE(reader.read_until("flooder: END\n", std::chrono::seconds(60)).find("flooder: END"),
            std::string::npos);
  ASSERT_TRUE(all_threads_wait(server.pid(), std::chrono::seconds(20)));

  Process limit({"prlimit", "--pid", std::to_string(server.pid()), "--nofile=0:"});
  ASSERT_TRUE(limit.finish().success()) << limit.stderr_text();
  server.signal(SIGTERM);
  server.finish();

  const std::string& log = server.stderr_text();
  const std::string closed = "closed " + silent.socket().local_address().to_string() + " (";
  const auto at = log.find(closed);
  ASSERT_NE(at, std::string::npos) << log;
  const std::string closed_line = log.substr(at, log.find('\n', at) - at);
  EXPECT_NE(closed_line.find("(poll: "), std::string::npos) << log;
}

INSTANTIATE_TEST_SUITE_P(Serve, DrainFlushError, ::testing::Values("thread", "pool"),
                         arch_param_name);

}  // namespace
}  // namespace sockit::test
