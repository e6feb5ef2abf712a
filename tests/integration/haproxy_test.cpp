// sockit behind a real HAProxy (Debian's haproxy, mode tcp, send-proxy and send-proxy-v2,
// health checks), started on a listening socket this test made on port 0: connections are
// spread over the instances, each instance sees the real client (127.0.0.2, 127.0.0.3) in
// its logs, its HTTP access log and its per-client limit, and a killed instance is routed
// around once its health check has failed. Two of the tests run deploy/haproxy.cfg as shipped.
#include <gtest/gtest.h>
#include <sys/socket.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "haproxy_fixture.hpp"
#include "serve_fixture.hpp"
#include "sockit/deadline.hpp"
#include "sockit/socket.hpp"
#include "support/process.hpp"
#include "support/require_tool.hpp"
#include "support/temp_dir.hpp"

namespace sockit::test {
namespace {

using namespace std::chrono_literals;

std::string echo_through(const std::string& source, std::uint16_t port, const std::string& line) {
  Socket socket = connect_from(source, port);
  socket.send(line);
  return read_until(socket, line);
}

class HaproxyFront : public ::testing::Test {
 protected:
  void SetUp() override { SOCKIT_REQUIRE_TOOL("haproxy"); }
  TempDir dir_{"sockit-haproxy"};
};

TEST_F(HaproxyFront, SpreadsConnectionsAndEachInstanceSeesTheRealClients) {
  // One blocking, one epoll and one io_uring architecture, fed v1 and v2 headers.
  std::vector<std::unique_ptr<ServeProcess>> instances;
  for (const char* arch : {"thread", "reactor", "uring"}) {
    instances.push_back(
        std::make_unique<ServeProcess>("echo", arch, std::vector<std::string>{"--proxy-protocol"}));
    ASSERT_TRUE(instances.back()->ok());
  }
  Haproxy haproxy(dir_, {{instances[0]->port, "send-proxy"},
                         {instances[1]->port, "send-proxy-v2"},
                         {instances[2]->port, "send-proxy-v2"}});
  for (int i = 0; i < 6; ++i) {
    const std::string source = i % 2 == 0 ? "127.0.0.2" : "127.0.0.3";
    const std::string line = "hello " + std::to_string(i) + " from " + source + "\n";
    EXPECT_EQ(echo_through(source, haproxy.port(), line), line) << haproxy.errors();
  }
  // Round robin gave each instance two of the six, and each logged the client's address.
  for (auto& instance : instances) {
    EXPECT_TRUE(instance->process->wait_stderr("proxied connection from 127.0.0.2:", 10s) ||
                instance->process->wait_stderr("proxied connection from 127.0.0.3:", 10s))
        << instance->process->stderr_text();
  }
}

TEST_F(HaproxyFront, PerClientLimitCountsEachClientBehindTheBalancer) {
  ServeProcess instance("echo", "reactor", {"--proxy-protocol", "--max-conns-per-ip", "1"});
  ASSERT_TRUE(instance.ok());
  Haproxy haproxy(dir_, {instance.port, instance.port, instance.port});
  Socket first = connect_from("127.0.0.2", haproxy.port());
  first.send("one\n");
  ASSERT_EQ(read_until(first, "one\n"), "one\n");
  // The same client again: over its limit, although every connection comes from haproxy.
  Socket again = connect_from("127.0.0.2", haproxy.port());
  EXPECT_EQ(read_until(again, "\n"), "Server full, try again later\n");
  // Another client through the same balancer has its own count.
  EXPECT_EQ(echo_through("127.0.0.3", haproxy.port(), "three\n"), "three\n");
  EXPECT_TRUE(instance.process->wait_stderr("per-address limit 1 reached for 127.0.0.2", 10s))
      << instance.process->stderr_text();
}

TEST_F(HaproxyFront, TheHttpAccessLogNamesTheClient) {
  const std::string root = dir_.file("site");
  std::filesystem::create_directory(root);
  std::ofstream(root + "/index.html") << "behind haproxy\n";
  ServeProcess instance("http", "pool", {"--proxy-protocol", "--root", root, "--access-log", "-"});
  ASSERT_TRUE(instance.ok());
  Haproxy haproxy(dir_, {{instance.port, "send-proxy"}});
  Socket client = connect_from("127.0.0.3", haproxy.port());
  client.send("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  const std::string reply = read_until(client, "behind haproxy\n");
  EXPECT_EQ(reply.rfind("HTTP/1.1 200 OK\r\n", 0), 0U) << reply;
  EXPECT_TRUE(instance.process->wait_stdout("127.0.0.3 - - [", 10s))
      << instance.process->stdout_text();
}

TEST_F(HaproxyFront, AKilledInstanceIsRoutedAroundAfterItsHealthCheckFails) {
  std::vector<std::unique_ptr<ServeProcess>> instances;
  for (int i = 0; i < 3; ++i) {
    instances.push_back(std::make_unique<ServeProcess>(
        "echo", "reactor", std::vector<std::string>{"--proxy-protocol", "--quiet"}));
    ASSERT_TRUE(instances.back()->ok());
  }
  Haproxy haproxy(dir_, {instances[0]->port, instances[1]->port, instances[2]->port});
  ASSERT_TRUE(haproxy.wait_status("app2", "UP")) << haproxy.errors();
  EXPECT_EQ(echo_through("127.0.0.2", haproxy.port(), "before\n"), "before\n");
  instances[1]->process->signal(SIGKILL);
  instances[1]->process->finish(10s);
  ASSERT_TRUE(haproxy.wait_status("app2", "DOWN")) << "haproxy never saw app2 go down";
  for (int i = 0; i < 30; ++i) {
    const std::string line = "after " + std::to_string(i) + "\n";
    EXPECT_EQ(echo_through(i % 2 == 0 ? "127.0.0.2" : "127.0.0.3", haproxy.port(), line), line);
  }
}

}  // namespace
}  // namespace sockit::test
