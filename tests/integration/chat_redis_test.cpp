// One chat room across three servers through a real redis-server (Debian's, run with
// deploy/redis-room.conf on a loopback port picked for it): `sockit serve chat --room
// redis://...` on reactor, hybrid, uring, and thread and pool (which keep the links on
// threads of their own). A line typed on one server reaches the members of the others once,
// in the seed's format, and never comes back to its sender; with Redis killed, each server
// goes on serving its own members, logs the outage once, and delivers across servers again
// once Redis is back on the same port.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "chat_redis_fixture.hpp"
#include "serve_fixture.hpp"
#include "sockit/deadline.hpp"
#include "sockit/tcp.hpp"
#include "support/process.hpp"
#include "support/require_tool.hpp"

namespace sockit::test {
namespace {

using namespace std::chrono_literals;

class ChatRedis : public ::testing::Test {
 protected:
  void SetUp() override {
    SOCKIT_REQUIRE_TOOL("redis-server");
    SOCKIT_REQUIRE_TOOL("redis-cli");
  }
};

TEST_F(ChatRedis, RefusedOnArchitecturesThatKeepNoLink) {
  Process serve({binary("bin/sockit"), "serve", "chat", "--arch", "prefork", "--port", "0",
                 "--room", "redis://127.0.0.1:6379/lobby"});
  const ExitStatus status = serve.finish(20s);
  EXPECT_TRUE(status.exited);
  EXPECT_EQ(status.code, 2);
  EXPECT_NE(serve.stderr_text().find(
                "--room redis:// needs --arch reactor, hybrid, uring, uring-hybrid, thread or pool "
                "(not prefork)"),
            std::string::npos)
      << serve.stderr_text();
}

TEST_F(ChatRedis, OneRoomAcrossFiveServersSurvivesARedisRestart) {
  Redis redis;
  ASSERT_TRUE(redis.ok()) << redis.log();
  std::vector<std::unique_ptr<ServeProcess>> servers;
  for (const char* arch : {"reactor", "hybrid", "uring", "thread", "pool"}) {
    servers.push_back(std::make_unique<ServeProcess>(
        "chat", arch, std::vector<std::string>{"--room", redis.url()}));
    ASSERT_TRUE(servers.back()->ok());
  }
  ServeProcess& first = *servers[0];
  ServeProcess& third = *servers[2];
  ServeProcess& blocking = *servers[3];  // thread
  ASSERT_TRUE(redis.wait_subscribers(5)) << blocking.process->stderr_text();
  for (auto& server : servers) {
    ASSERT_TRUE(server->process->wait_stderr("(publisher): connected", 20s))
        << server->process->stderr_text();
  }

  Member alice(first.port, "alice");
  EXPECT_EQ(alice.welcome(), "Welcome to the chat, alice\n");
  Member bob(third.port, "bob");
  EXPECT_EQ(bob.welcome(), "Welcome to the chat, bob\n");
  EXPECT_EQ(alice.next_line(), "bob joined the chat\n");
  Member dave(blocking.port, "dave");
  EXPECT_EQ(dave.welcome(), "Welcome to the chat, dave\n");
  EXPECT_EQ(alice.next_line(), "dave joined the chat\n");
  // A join said before a member of another server joined may still reach it after, once.
  std::set<std::string> late_for_bob{"alice joined the chat\n"};
  std::set<std::string> late_for_dave{"alice joined the chat\n", "bob joined the chat\n"};
  EXPECT_EQ(next_after_late_joins(bob, late_for_bob), "dave joined the chat\n");
  bob.say("hello from three");
  EXPECT_EQ(alice.next_line(), "bob: hello from three\n");
  EXPECT_EQ(next_after_late_joins(dave, late_for_dave), "bob: hello from three\n");
  bob.say("second");
  EXPECT_EQ(alice.next_line(), "bob: second\n");  // the first one came once
  EXPECT_EQ(dave.next_line(), "bob: second\n");
  alice.say("hi bob");
  // His own lines never come back.
  EXPECT_EQ(next_after_late_joins(bob, late_for_bob), "alice: hi bob\n");
  EXPECT_EQ(dave.next_line(), "alice: hi bob\n");
  dave.say("from a thread");
  EXPECT_EQ(alice.next_line(), "dave: from a thread\n");
  EXPECT_EQ(bob.next_line(), "dave: from a thread\n");

  // Redis gone: each server still serves its own room.
  redis.kill();
  for (ServeProcess* server : {&first, &third, &blocking}) {
    EXPECT_TRUE(server->process->wait_stderr("(subscriber): connection lost; reconnecting", 20s))
        << server->process->stderr_text();
  }
  Member carol(first.port, "carol");
  EXPECT_EQ(carol.welcome(), "Welcome to the chat, carol\n");
  EXPECT_EQ(alice.next_line(), "carol joined the chat\n");
  alice.say("local only");
  EXPECT_EQ(carol.next_line(), "alice: local only\n");
  bob.say("while redis is down");  // reaches no other server, and breaks nothing

  // Back on the same port: delivery across servers resumes. Lines said before a server's
  // subscription is back are lost to it, so bob says numbered lines until alice hears one;
  // from then on each comes once, in order.
  redis.restart();
  ASSERT_TRUE(redis.ok()) << redis.log();
  ASSERT_TRUE(redis.wait_subscribers(5)) << blocking.process->stderr_text();
  std::optional<int> heard;
  for (int n = 0; n < 100 && !heard; ++n) {
    bob.say("after restart " + std::to_string(n));
    const std::string line = alice.next_line(200ms);
    if (line.empty()) continue;
    ASSERT_EQ(line.rfind("bob: after restart ", 0), 0u) << line;
    heard = std::stoi(line.substr(19));
  }
  ASSERT_TRUE(heard) << third.process->stderr_text();
  bob.say("final");
  std::set<std::string> seen;
  for (;;) {
    const std::string line = alice.next_line();
    ASSERT_FALSE(line.empty()) << "alice never heard bob's final line";
    if (line == "bob: final\n") break;
    ASSERT_EQ(line.rfind("bob: after restart ", 0), 0u) << line;
    EXPECT_GT(std::stoi(line.substr(19)), *heard) << line;
    EXPECT_TRUE(seen.insert(line).second) << "twice: " << line;
  }
  EXPECT_EQ(carol.next_line(), "bob: after restart " + std::to_string(*heard) + "\n");
  // On the thread server too: some of the numbered lines, each once, then the final one;
  // nothing said on the first server while Redis was down.
  std::set<std::string> seen_by_dave;
  for (;;) {
    const std::string line = dave.next_line();
    ASSERT_FALSE(line.empty()) << "dave never heard bob's final line\n"
                               << blocking.process->stderr_text();
    if (line == "bob: final\n") break;
    ASSERT_EQ(line.rfind("bob: after restart ", 0), 0u) << line;
    EXPECT_TRUE(seen_by_dave.insert(line).second) << "twice: " << line;
  }

  // The outage was logged once per link, and its end too (on thread, each link has a thread
  // of its own and logs when it finds out: read the log until both are back).
  for (ServeProcess* server : {&first, &third, &blocking}) {
    const std::string& log = server->process->stderr_text();
    EXPECT_TRUE(server->process->wait_stderr("(subscriber): connected again", 20s)) << log;
    EXPECT_TRUE(server->process->wait_stderr("(publisher): connected again", 20s)) << log;
    for (const char* line : {"(subscriber): connection lost", "(publisher): connection lost"}) {
      const auto at = log.find(line);
      EXPECT_NE(at, std::string::npos) << log;
      EXPECT_EQ(log.find(line, at + 1), std::string::npos) << "logged twice: " << line << "\n"
                                                           << log;
    }
  }
  for (auto& server : servers) {
    EXPECT_TRUE(server->terminate().success()) << server->process->stderr_text();
  }
}

}  // namespace
}  // namespace sockit::test
