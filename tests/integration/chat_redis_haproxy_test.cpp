// One chat room behind HAProxy, run from the deploy files as shipped: redis-server with
// deploy/redis-room.conf (on a port picked here), three chat servers started by the ExecStart
// of deploy/sockit-chat@.service (its instance name, the port, 0; the room's address on that
// Redis), and deploy/haproxy.cfg in front with its health checks every 200 ms. Three clients
// come through haproxy from three loopback addresses and land on three servers: each hears
// the others' lines and joins and leaves once, in the seed's format, never its own, and
// nothing of the health checks; each server logs its client's address from the PROXY header.
#include <gtest/gtest.h>

#include <array>
#include <chrono>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "chat_redis_fixture.hpp"
#include "haproxy_fixture.hpp"
#include "serve_fixture.hpp"
#include "sockit/deadline.hpp"
#include "sockit/tcp.hpp"
#include "support/process.hpp"
#include "support/require_tool.hpp"
#include "support/temp_dir.hpp"
#include "unit_file.hpp"

namespace sockit::test {
namespace {

using namespace std::chrono_literals;

// Replaces `from` by `to` in `word`; true when it was there.
bool replace(std::string& word, const std::string& from, const std::string& to) {
  const std::size_t at = word.find(from);
  if (at == std::string::npos) return false;
  word.replace(at, from.size(), to);
  return true;
}

class ChatBehindHaproxy : public ::testing::Test {
 protected:
  void SetUp() override {
    SOCKIT_REQUIRE_TOOL("redis-server");
    SOCKIT_REQUIRE_TOOL("redis-cli");
    SOCKIT_REQUIRE_TOOL("haproxy");
  }

  // The server whose log names `source` as a proxied client (its index), or -1.
  int server_of(const std::string& source) {
    const std::string needle = "proxied connection from " + source + ":";
    const Deadline deadline(20s);
    while (!deadline.expired()) {
      for (std::size_t i = 0; i < servers_.size(); ++i) {
        if (servers_[i]->wait_stderr(needle, 50ms)) return static_cast<int>(i);
      }
    }
    return -1;
  }

  std::vector<std::unique_ptr<Process>> servers_;
};

TEST_F(ChatBehindHaproxy, ThreeServersShareOneRoomFromTheDeployFiles) {
  Redis redis;
  ASSERT_TRUE(redis.ok()) << redis.log();

  // The unit's command, with the built program, port 0 for the instance name and the
  // test's Redis for the room.
  auto unit = unit_settings(std::string(SOCKIT_SOURCE_DIR) + "/deploy/sockit-chat@.service");
  std::vector<std::string> command = split_words(unit["ExecStart"]);
  ASSERT_GE(command.size(), 2U);
  EXPECT_EQ(command[0], "/usr/local/bin/sockit");
  command[0] = binary("bin/sockit");
  int instance_names = 0;
  int rooms = 0;
  int proxy_protocol = 0;
  for (std::string& word : command) {
    instance_names += replace(word, "%i", "0") ? 1 : 0;
    rooms += replace(word, "redis://127.0.0.1:6379/",
                     "redis://127.0.0.1:" + std::to_string(redis.port()) + "/")
                 ? 1
                 : 0;
    proxy_protocol += word == "--proxy-protocol" ? 1 : 0;
  }
  ASSERT_EQ(instance_names, 1) << unit["ExecStart"];
  ASSERT_EQ(rooms, 1) << unit["ExecStart"];
  ASSERT_EQ(proxy_protocol, 1) << unit["ExecStart"];

  std::array<std::uint16_t, 3> ports{};
  for (std::uint16_t& port : ports) {
    servers_.push_back(std::make_unique<Process>(command));
    const auto listening = wait_listening_port(*servers_.back());
    ASSERT_TRUE(listening) << servers_.back()->stderr_text();
    port = *listening;
  }
  ASSERT_TRUE(redis.wait_subscribers(3)) << servers_[0]->stderr_text();

  TempDir dir("sockit-chat-haproxy");
  Haproxy haproxy(dir, ports);
  for (const char* app : {"app1", "app2", "app3"}) {
    ASSERT_TRUE(haproxy.wait_status(app, "UP")) << app << " never up\n" << haproxy.errors();
  }

  // Three clients, one after another: round robin puts each on another server.
  const std::array<std::string, 3> sources{"127.0.0.2", "127.0.0.3", "127.0.0.4"};
  auto through_haproxy = [&](std::size_t client) {
    return Client(TcpSocket(connect_from(sources[client], haproxy.port())));
  };
  Member alice(through_haproxy(0), "alice");
  ASSERT_EQ(alice.welcome(), "Welcome to the chat, alice\n") << haproxy.errors();
  Member bob(through_haproxy(1), "bob");
  ASSERT_EQ(bob.welcome(), "Welcome to the chat, bob\n");
  // Joins said on two servers reach a third in either order: carol comes once alice has
  // heard bob.
  EXPECT_EQ(alice.next_line(), "bob joined the chat\n");
  Member carol(through_haproxy(2), "carol");
  ASSERT_EQ(carol.welcome(), "Welcome to the chat, carol\n");
  std::set<int> used;
  for (const std::string& source : sources) {
    const int server = server_of(source);
    EXPECT_GE(server, 0) << source << " named in no server's log";
    used.insert(server);
  }
  EXPECT_EQ(used.size(), 3U) << "the clients did not land on three servers";

  std::set<std::string> late_for_bob{"alice joined the chat\n"};
  std::set<std::string> late_for_carol{"alice joined the chat\n", "bob joined the chat\n"};
  EXPECT_EQ(alice.next_line(), "carol joined the chat\n");
  EXPECT_EQ(next_after_late_joins(bob, late_for_bob), "carol joined the chat\n");

  carol.say("hello from the third");
  EXPECT_EQ(alice.next_line(), "carol: hello from the third\n");
  EXPECT_EQ(next_after_late_joins(bob, late_for_bob), "carol: hello from the third\n");
  alice.say("hi both");
  EXPECT_EQ(next_after_late_joins(bob, late_for_bob), "alice: hi both\n");
  EXPECT_EQ(next_after_late_joins(carol, late_for_carol), "alice: hi both\n");
  // Each line came once, and never back to its sender: the next line each hears is bob's.
  bob.say("bye");
  EXPECT_EQ(alice.next_line(), "bob: bye\n");
  EXPECT_EQ(carol.next_line(), "bob: bye\n");
  bob.leave();
  EXPECT_EQ(alice.next_line(), "bob left the chat\n");
  EXPECT_EQ(carol.next_line(), "bob left the chat\n");
  carol.say("just us");
  EXPECT_EQ(alice.next_line(), "carol: just us\n");
  alice.say("so it seems");
  EXPECT_EQ(carol.next_line(), "alice: so it seems\n");
  // Still nothing else: no line came of haproxy's health checks, which go on meanwhile.
  EXPECT_EQ(alice.next_line(300ms), "");
  EXPECT_EQ(carol.next_line(300ms), "");

  for (auto& server : servers_) {
    server->signal(SIGTERM);
    EXPECT_TRUE(server->finish(20s).success()) << server->stderr_text();
    EXPECT_EQ(server->stderr_text().find("ERROR"), std::string::npos) << server->stderr_text();
  }
}

}  // namespace
}  // namespace sockit::test
