// sockit behind a real HAProxy (Debian's haproxy, mode tcp, send-proxy and send-proxy-v2,
// health checks), started on a listening socket this test made on port 0: connections are
// spread over the instances, each instance sees the real client (127.0.0.2, 127.0.0.3) in
// its logs, its HTTP access log and its per-client limit, and a killed instance is routed
// around once its health check has failed. Two of the tests run deploy/haproxy.cfg as shipped.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <array>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "serve_fixture.hpp"
#include "sockit/deadline.hpp"
#include "sockit/poll.hpp"
#include "sockit/socket.hpp"
#include "sockit/unix.hpp"
#include "support/process.hpp"
#include "support/require_tool.hpp"
#include "support/temp_dir.hpp"

namespace sockit::test {
namespace {

using namespace std::chrono_literals;

struct Backend {
  std::uint16_t port;
  std::string send_proxy;  // "send-proxy" (v1) or "send-proxy-v2"
};

// haproxy in the foreground, listening on a socket it inherits (bind fd@N), with a stats
// socket the test asks which servers are up.
class Haproxy {
 public:
  // A config written here, for the backends given (v1 or v2 headers).
  Haproxy(const TempDir& dir, const std::vector<Backend>& backends) : stats_(dir.file("stats")) {
    Socket listener = make_listener();
    std::string config =
        "global\n"
        "  stats socket " +
        stats_ +
        " level admin\n"
        "defaults\n"
        "  mode tcp\n"
        "  timeout connect 2s\n"
        "  timeout client 20s\n"
        "  timeout server 20s\n"
        "frontend front\n"
        "  bind fd@" +
        std::to_string(listener.fd()) +
        "\n"
        "  default_backend instances\n"
        "backend instances\n"
        "  balance roundrobin\n";
    for (std::size_t i = 0; i < backends.size(); ++i) {
      config += "  server app" + std::to_string(i + 1) +
                " 127.0.0.1:" + std::to_string(backends[i].port) + " " + backends[i].send_proxy +
                " check inter 200ms fall 1 rise 1\n";
    }
    const std::string path = dir.file("haproxy.cfg");
    std::ofstream(path) << config;
    start(listener, path, {});
  }

  // deploy/haproxy.cfg as shipped, its three instances on `ports` (a port may repeat), its
  // health checks every 200 ms.
  Haproxy(const TempDir& dir, const std::array<std::uint16_t, 3>& ports)
      : stats_(dir.file("stats")) {
    Socket listener = make_listener();
    std::vector<std::string> env{"SOCKIT_HAPROXY_STATS=" + stats_,
                                 "SOCKIT_FRONT=fd@" + std::to_string(listener.fd()),
                                 "SOCKIT_CHECK_INTER=200ms"};
    for (std::size_t i = 0; i < ports.size(); ++i) {
      env.push_back("SOCKIT_APP" + std::to_string(i + 1) +
                    "=127.0.0.1:" + std::to_string(ports[i]));
    }
    start(listener, std::string(SOCKIT_SOURCE_DIR) + "/deploy/haproxy.cfg", std::move(env));
  }
  ~Haproxy() {
    if (process_) {
      process_->signal(SIGTERM);
      process_->finish(10s);
    }
  }

  std::uint16_t port() const { return port_; }
  std::string errors() const { return process_->stderr_text(); }

  // Asks the stats socket for the servers' states, until `server` reports `status`.
  bool wait_status(const std::string& server, const std::string& status,
                   std::chrono::milliseconds timeout = 20s) {
    Deadline deadline(timeout);
    while (!deadline.expired()) {
      const std::string csv = ask("show stat\n");
      // Lines: "BACKEND,app2,...,status,..." with status UP, DOWN, "DOWN 1/1"...
      const std::string key = "," + server + ",";
      const std::size_t line = csv.find(key);
      if (line != std::string::npos) {
        const std::string row = csv.substr(line, csv.find('\n', line) - line);
        if (row.find("," + status) != std::string::npos) return true;
      }
      std::this_thread::sleep_for(50ms);
    }
    return false;
  }

 private:
  Socket make_listener() {
    Socket listener(AF_INET, SOCK_STREAM);
    listener.bind(Address::loopback_ipv4(0));
    listener.listen();
    port_ = listener.local_address().port();
    return listener;
  }
  // The listener goes to haproxy alone: inherited across its spawn, then closed here.
  void start(const Socket& listener, const std::string& config, std::vector<std::string> env) {
    ::fcntl(listener.fd(), F_SETFD, 0);
    process_.emplace(std::vector<std::string>{"haproxy", "-f", config, "-db", "-q"},
                     std::move(env));
  }

  std::string ask(const std::string& command) {
    try {
      Socket socket = UnixSocket::connect(stats_);
      socket.send(command);
      std::string reply;
      char chunk[4096];
      while (wait_readable(socket, Deadline(2s))) {
        const std::size_t n = socket.recv(std::span<char>(chunk, sizeof chunk));
        if (n == 0) break;
        reply.append(chunk, n);
      }
      return reply;
    } catch (const Error&) {
      return {};  // not up yet
    }
  }

  std::string stats_;
  std::uint16_t port_ = 0;
  std::optional<Process> process_;
};

// A client connected through haproxy from a given loopback address.
Socket connect_from(const std::string& source, std::uint16_t port) {
  Socket socket(AF_INET, SOCK_STREAM);
  socket.bind(Address::parse(source, 0));
  socket.connect(Address::loopback_ipv4(port), 10s);
  return socket;
}

// Reads until `needle` has arrived, EOF or 20 s.
std::string read_until(Socket& socket, std::string_view needle) {
  std::string text;
  char chunk[4096];
  Deadline deadline(20s);
  while (text.find(needle) == std::string::npos && wait_readable(socket, deadline)) {
    std::size_t n = 0;
    try {
      n = socket.recv(std::span<char>(chunk, sizeof chunk));
    } catch (const Error&) {
      break;  // reset
    }
    if (n == 0) break;
    text.append(chunk, n);
  }
  return text;
}

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
