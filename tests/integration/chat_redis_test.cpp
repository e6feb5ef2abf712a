// One chat room across three servers through a real redis-server (Debian's, run with
// deploy/redis-room.conf on a loopback port picked for it): `sockit serve chat --room
// redis://...` on reactor, hybrid and uring. A line typed on one server reaches the members
// of the others once, in the seed's format, and never comes back to its sender; with Redis
// killed, each server goes on serving its own members, logs the outage once, and delivers
// across servers again once Redis is back on the same port.
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
  Process serve({binary("bin/sockit"), "serve", "chat", "--arch", "thread", "--port", "0", "--room",
                 "redis://127.0.0.1:6379/lobby"});
  const ExitStatus status = serve.finish(20s);
  EXPECT_TRUE(status.exited);
  EXPECT_EQ(status.code, 2);
  EXPECT_NE(serve.stderr_text().find(
                "--room redis:// needs --arch reactor, hybrid, uring or uring-hybrid"),
            std::string::npos)
      << serve.stderr_text();
}

TEST_F(ChatRedis, OneRoomAcrossThreeServersSurvivesARedisRestart) {
  Redis redis;
  ASSERT_TRUE(redis.ok()) << redis.log();
  std::vector<std::unique_ptr<ServeProcess>> servers;
  for (const char* arch : {"reactor", "hybrid", "uring"}) {
    servers.push_back(std::make_unique<ServeProcess>(
        "chat", arch, std::vector<std::string>{"--room", redis.url()}));
    ASSERT_TRUE(servers.back()->ok());
  }
  ServeProcess& first = *servers[0];
  ServeProcess& third = *servers[2];
  ASSERT_TRUE(redis.wait_subscribers(3)) << first.process->stderr_text();
  for (auto& server : servers) {
    ASSERT_TRUE(server->process->wait_stderr("(publisher): connected", 20s))
        << server->process->stderr_text();
  }

  Member alice(first.port, "alice");
  EXPECT_EQ(alice.welcome(), "Welcome to the chat, alice\n");
  Member bob(third.port, "bob");
  EXPECT_EQ(bob.welcome(), "Welcome to the chat, bob\n");
  EXPECT_EQ(alice.next_line(), "bob joined the chat\n");
  bob.say("hello from three");
  EXPECT_EQ(alice.next_line(), "bob: hello from three\n");
  bob.say("second");
  EXPECT_EQ(alice.next_line(), "bob: second\n");  // the first one came once
  alice.say("hi bob");
  // Alice's join went out before bob joined, but may reach the third server after: bob
  // hears it then, once. His own lines never come back.
  std::string to_bob = bob.next_line();
  if (to_bob == "alice joined the chat\n") to_bob = bob.next_line();
  EXPECT_EQ(to_bob, "alice: hi bob\n");

  // Redis gone: each server still serves its own room.
  redis.kill();
  for (ServeProcess* server : {&first, &third}) {
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
  ASSERT_TRUE(redis.wait_subscribers(3)) << first.process->stderr_text();
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

  // The outage was logged once per link, and its end too.
  for (ServeProcess* server : {&first, &third}) {
    const std::string& log = server->process->stderr_text();
    for (const char* line : {"(subscriber): connection lost", "(publisher): connection lost"}) {
      const auto at = log.find(line);
      EXPECT_NE(at, std::string::npos) << log;
      EXPECT_EQ(log.find(line, at + 1), std::string::npos) << "logged twice: " << line << "\n"
                                                           << log;
    }
    EXPECT_TRUE(server->process->wait_stderr("(subscriber): connected again", 20s)) << log;
  }
  for (auto& server : servers) {
    EXPECT_TRUE(server->terminate().success()) << server->process->stderr_text();
  }
}

}  // namespace
}  // namespace sockit::test
