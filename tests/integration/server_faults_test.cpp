// The fault suite (serve_faults_suite.hpp) on the process architectures, plus what only
// the process architectures have: a prefork worker killed with SIGKILL is logged and
// respawned, and a signal to one worker or one connection process ends only that process.
#include <signal.h>

#include <algorithm>

#include "serve_faults_suite.hpp"

namespace sockit::test {
namespace {

INSTANTIATE_TEST_SUITE_P(Serve, ServeFaults, ::testing::Values("serial", "fork", "prefork"),
                         arch_param_name);

TEST(ServePrefork, KilledWorkerIsLoggedAndRespawned) {
  ServeProcess server("echo", "prefork", {"--quiet", "--workers", "2"});
  ASSERT_TRUE(server.ok());
  pid_t master = server.process->pid();
  std::vector<pid_t> workers;
  for (int i = 0; i < 100 && workers.size() < 2; ++i) {
    workers = children_of(master);
    if (workers.size() < 2) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_EQ(workers.size(), 2u);
  ASSERT_EQ(::kill(workers[0], SIGKILL), 0);
  std::string expected =
      "worker " + std::to_string(workers[0]) + " exited with status signal 9 (Killed); respawning";
  EXPECT_TRUE(server.process->wait_stderr(expected)) << server.process->stderr_text();
  std::vector<pid_t> now;
  for (int i = 0; i < 100; ++i) {
    now = children_of(master);
    if (now.size() == 2 && now != workers) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(now.size(), 2u);
  EXPECT_NE(now, workers);
  for (int i = 0; i < 10; ++i) {
    Client client(server.port);
    client.send("after\n");
    EXPECT_EQ(client.read_until("\n"), "after\n");
  }
  EXPECT_TRUE(server.terminate().success()) << server.process->stderr_text();
  EXPECT_TRUE(children_of(master).empty());
}

// Polls the master's children until `done(children)` holds or about 10 s have passed.
template <typename Done>
std::vector<pid_t> wait_for_children(pid_t master, Done done) {
  std::vector<pid_t> now;
  for (int i = 0; i < 200; ++i) {
    now = children_of(master);
    if (done(now)) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return now;
}

TEST(ServePrefork, SigtermToOneWorkerEndsOnlyThatWorker) {
  ServeProcess server("echo", "prefork", {"--quiet", "--workers", "2"});
  ASSERT_TRUE(server.ok());
  pid_t master = server.process->pid();
  std::vector<pid_t> workers =
      wait_for_children(master, [](const std::vector<pid_t>& c) { return c.size() == 2; });
  ASSERT_EQ(workers.size(), 2u);
  ASSERT_EQ(::kill(workers[0], SIGTERM), 0);
  // The worker is replaced; the other one and the master go on.
  std::vector<pid_t> now = wait_for_children(master, [&](const std::vector<pid_t>& c) {
    return c.size() == 2 && std::find(c.begin(), c.end(), workers[0]) == c.end();
  });
  ASSERT_TRUE(server.process->running()) << server.process->stderr_text();
  EXPECT_EQ(now.size(), 2u);
  EXPECT_EQ(std::count(now.begin(), now.end(), workers[0]), 0);
  EXPECT_EQ(std::count(now.begin(), now.end(), workers[1]), 1);
  for (int i = 0; i < 10; ++i) {
    Client client(server.port);
    client.send("after\n");
    EXPECT_EQ(client.read_until("\n"), "after\n");
  }
  EXPECT_TRUE(server.terminate().success()) << server.process->stderr_text();
  EXPECT_TRUE(children_of(master).empty());
}

TEST(ServeFork, SigtermToOneConnectionProcessEndsOnlyThatConnection) {
  ServeProcess server("echo", "fork", {"--quiet"});
  ASSERT_TRUE(server.ok());
  pid_t master = server.process->pid();
  Client first(server.port);
  first.send("one\n");
  ASSERT_EQ(first.read_until("\n"), "one\n");
  std::vector<pid_t> children =
      wait_for_children(master, [](const std::vector<pid_t>& c) { return c.size() == 1; });
  ASSERT_EQ(children.size(), 1u);
  ASSERT_EQ(::kill(children[0], SIGTERM), 0);
  // Its client sees the connection close; the server keeps accepting.
  first.read_to_eof();
  EXPECT_TRUE(first.eof());
  ASSERT_TRUE(server.process->running()) << server.process->stderr_text();
  for (int i = 0; i < 5; ++i) {
    Client client(server.port);
    client.send("two\n");
    EXPECT_EQ(client.read_until("\n"), "two\n");
  }
  EXPECT_TRUE(server.process->running()) << server.process->stderr_text();
  EXPECT_TRUE(server.terminate().success()) << server.process->stderr_text();
}

TEST(ServeFork, NoZombiesAreLeftBehind) {
  ServeProcess server("hello", "fork", {"--quiet"});
  ASSERT_TRUE(server.ok());
  for (int i = 0; i < 20; ++i) {
    Client client(server.port);
    EXPECT_EQ(client.read_to_eof(), "Hello, world!\n");
  }
  // Children are reaped within a few ticks of the accept loop.
  std::vector<pid_t> left;
  for (int i = 0; i < 100; ++i) {
    left = children_of(server.process->pid());
    if (left.empty()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_TRUE(left.empty()) << left.size() << " children (zombies?) left";
  EXPECT_TRUE(server.terminate().success());
}

}  // namespace
}  // namespace sockit::test
