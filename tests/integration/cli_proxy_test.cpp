// `sockit proxy` against clients and servers that are not ours: curl through it to Python's
// http.server, nc with a half-close both ways, `sockit bench` verifying every byte of 100
// connections, a reader that never reads (the proxy's memory stays flat), TLS terminated
// and originated, upstreams that refuse, the drain on SIGTERM, and every architecture.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "cli_helpers.hpp"
#include "sockit/poll.hpp"
#include "sockit/proxy_protocol.hpp"
#include "sockit/tcp.hpp"
#include "support/process.hpp"
#include "support/require_tool.hpp"
#include "support/temp_dir.hpp"

namespace sockit::test {
namespace {

const char* const kPython = "/usr/bin/python3";

// A process that announces "listening on HOST:PORT" (ours) or a port line (a script).
struct Started {
  std::optional<Process> process;
  std::uint16_t port = 0;
};

std::uint16_t port_after(const std::string& text, const std::string& marker) {
  auto at = text.find(marker);
  if (at == std::string::npos) return 0;
  return static_cast<std::uint16_t>(std::stoi(text.substr(at + marker.size())));
}

// A sockit command that prints "listening on 127.0.0.1:PORT" when ready.
Started start_sockit(std::vector<std::string> args) {
  args.insert(args.begin(), sockit_bin());
  Started s;
  s.process.emplace(std::move(args));
  if (s.process->wait_stderr("listening on 127.0.0.1:", 20s)) {
    s.process->wait_stderr(" (", 5s);
    s.port = port_after(s.process->stderr_text(), "listening on 127.0.0.1:");
  }
  return s;
}

// A Python script that prints "PORT n" on stdout when it listens.
Started start_python(const std::string& script, std::vector<std::string> args = {}) {
  std::vector<std::string> argv{kPython, "-u", "-c", script};
  argv.insert(argv.end(), args.begin(), args.end());
  Started s;
  s.process.emplace(std::move(argv));
  if (s.process->wait_stdout("\n", 20s)) s.port = port_after(s.process->stdout_text(), "PORT ");
  return s;
}

Started start_proxy(std::vector<std::string> upstreams, std::vector<std::string> extra = {}) {
  std::vector<std::string> args{"proxy", "0"};
  args.insert(args.end(), upstreams.begin(), upstreams.end());
  args.insert(args.end(), extra.begin(), extra.end());
  return start_sockit(std::move(args));
}

std::string at(std::uint16_t port) {
  return "127.0.0.1:" + std::to_string(port);
}

long rss_kib(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  }
  return -1;
}

TEST(Proxy, CurlFetchesFromPythonHttpServerThroughIt) {
  SOCKIT_REQUIRE_TOOL("curl");
  TempDir dir;
  std::ofstream(dir.file("hello.txt")) << "hello through the proxy\n";
  std::string content(300'000, 'x');  // larger than every buffer on the way
  for (std::size_t i = 0; i < content.size(); i += 97)
    content[i] = '\n';
  std::ofstream(dir.file("big.txt")) << content;
  Started http = start_python(
      "import http.server, functools, sys\n"
      "h = functools.partial(http.server.SimpleHTTPRequestHandler, directory=sys.argv[1])\n"
      "s = http.server.ThreadingHTTPServer(('127.0.0.1', 0), h)\n"
      "print('PORT', s.server_address[1])\n"
      "s.serve_forever()\n",
      {dir.path().string()});
  ASSERT_NE(http.port, 0) << http.process->stderr_text();
  Started proxy = start_proxy({at(http.port)});
  ASSERT_NE(proxy.port, 0) << proxy.process->stderr_text();
  auto small = run({"curl", "-sS", "--max-time", "20", "http://" + at(proxy.port) + "/hello.txt"});
  EXPECT_TRUE(small.status.success()) << describe(small);
  EXPECT_EQ(small.out, "hello through the proxy\n");
  auto big = run({"curl", "-sS", "--max-time", "20", "http://" + at(proxy.port) + "/big.txt"});
  EXPECT_TRUE(big.status.success()) << describe(big);
  EXPECT_TRUE(big.out == content) << "got " << big.out.size() << " bytes";
  EXPECT_TRUE(proxy.process->running());
}

// The client's EOF must reach the upstream while the way back stays open: the upstream
// answers only after it has seen EOF, and nc prints the answer after sending its own EOF.
TEST(Proxy, HalfCloseIsCarriedBothWays) {
  SOCKIT_REQUIRE_TOOL("nc");
  Started upstream = start_python(
      "import socket\n"
      "l = socket.socket(); l.bind(('127.0.0.1', 0)); l.listen()\n"
      "print('PORT', l.getsockname()[1])\n"
      "c, _ = l.accept(); n = 0\n"
      "while True:\n"
      "    b = c.recv(65536)\n"
      "    if not b: break\n"
      "    n += len(b)\n"
      "c.sendall(b'got %d bytes after your EOF\\n' % n); c.close()\n");
  ASSERT_NE(upstream.port, 0);
  Started proxy = start_proxy({at(upstream.port)});
  ASSERT_NE(proxy.port, 0) << proxy.process->stderr_text();
  auto client = run({"nc", "-N", "127.0.0.1", std::to_string(proxy.port)}, "twelve bytes");
  EXPECT_TRUE(client.status.success()) << describe(client);
  EXPECT_EQ(client.out, "got 12 bytes after your EOF\n");
}

TEST(Proxy, HundredBenchConnectionsGetEveryByteBack) {
  Started echo = start_sockit({"serve", "echo", "--port", "0", "--quiet"});
  ASSERT_NE(echo.port, 0);
  Started proxy = start_proxy({at(echo.port)}, {"--quiet"});
  ASSERT_NE(proxy.port, 0) << proxy.process->stderr_text();
  auto bench = run_sockit({"bench", "127.0.0.1", std::to_string(proxy.port), "--conns", "100",
                           "--size", "1000", "--duration", "2"});
  EXPECT_TRUE(bench.status.success()) << describe(bench);
  EXPECT_NE(bench.out.find("every one as sent"), std::string::npos) << describe(bench);
}

TEST(Proxy, RefusingUpstreamsAreSkippedAndTheRestTakeTurns) {
  Started a = start_sockit({"serve", "echo", "--port", "0"});
  Started b = start_sockit({"serve", "echo", "--port", "0"});
  ASSERT_NE(a.port, 0);
  ASSERT_NE(b.port, 0);
  Started proxy = start_proxy({at(free_tcp_port()), at(a.port), at(b.port)});
  ASSERT_NE(proxy.port, 0) << proxy.process->stderr_text();
  for (int i = 0; i < 6; ++i) {
    auto client = TcpSocket::connect(Address::loopback_ipv4(proxy.port), 10s);
    client.send("ping\n");
    std::string got;
    char buf[64];
    Deadline deadline(10s);
    while (got.find('\n') == std::string::npos && wait_readable(client, deadline)) {
      std::size_t n = client.recv(std::span<char>(buf, sizeof buf));
      if (n == 0) break;
      got.append(buf, n);
    }
    EXPECT_EQ(got, "ping\n") << "connection " << i;
  }
  a.process->wait_stderr("connection from", 5s);
  b.process->wait_stderr("connection from", 5s);
  EXPECT_NE(a.process->stderr_text().find("connection from"), std::string::npos);
  EXPECT_NE(b.process->stderr_text().find("connection from"), std::string::npos);
  EXPECT_TRUE(proxy.process->wait_stderr("failed", 5s)) << "the refusing upstream is logged";
}

TEST(Proxy, NoUpstreamReachableClosesTheClientAndLogsIt) {
  Started proxy = start_proxy({at(free_tcp_port())});
  ASSERT_NE(proxy.port, 0) << proxy.process->stderr_text();
  auto client = run({"nc", "127.0.0.1", std::to_string(proxy.port)}, "anyone?\n");
  EXPECT_EQ(client.out, "");
  EXPECT_TRUE(proxy.process->wait_stderr("no upstream reachable", 10s))
      << proxy.process->stderr_text();
}

// An upstream that sends 200 MiB to a client that never reads: the proxy stops reading
// the upstream once its way to the client is full, so its memory does not grow.
TEST(Proxy, AClientThatNeverReadsDoesNotGrowTheProxy) {
  Started upstream = start_python(
      "import socket, time\n"
      "l = socket.socket(); l.bind(('127.0.0.1', 0)); l.listen()\n"
      "print('PORT', l.getsockname()[1])\n"
      "c, _ = l.accept(); c.settimeout(4); chunk = b'z' * 65536; sent = 0\n"
      "try:\n"
      "    while sent < 200 * 1024 * 1024:\n"
      "        sent += c.send(chunk)\n"
      "except socket.timeout:\n"
      "    pass\n"
      "print('SENT', sent); time.sleep(30)\n");
  ASSERT_NE(upstream.port, 0);
  Started proxy = start_proxy({at(upstream.port)}, {"--quiet"});
  ASSERT_NE(proxy.port, 0) << proxy.process->stderr_text();
  const long before = rss_kib(proxy.process->pid());
  auto client = TcpSocket::connect(Address::loopback_ipv4(proxy.port), 10s);
  client.send("start\n");
  ASSERT_TRUE(upstream.process->wait_stdout("SENT", 30s)) << "the upstream never stalled";
  const long after = rss_kib(proxy.process->pid());
  const long sent = std::stol(
      upstream.process->stdout_text().substr(upstream.process->stdout_text().find("SENT ") + 5));
  EXPECT_LT(sent, 100L * 1024 * 1024) << "the upstream was never slowed down";
  EXPECT_LT(after - before, 32 * 1024) << "proxy RSS grew from " << before << " to " << after
                                       << " KiB while the upstream sent " << sent << " bytes";
}

TEST(Proxy, TerminatesAndOriginatesTls) {
  TempDir dir;
  auto cert = run_sockit({"cert", "localhost", "--out", dir.path().string()});
  ASSERT_TRUE(cert.status.success()) << describe(cert);
  const std::string crt = dir.file("localhost.crt");
  const std::string key = dir.file("localhost.key");
  Started upstream =
      start_sockit({"serve", "echo", "--port", "0", "--tls-cert", crt, "--tls-key", key});
  ASSERT_NE(upstream.port, 0);
  Started proxy =
      start_proxy({at(upstream.port)}, {"--tls-cert", crt, "--tls-key", key, "--upstream-tls",
                                        "--upstream-name", "localhost", "--ca", crt});
  ASSERT_NE(proxy.port, 0) << proxy.process->stderr_text();
  auto client = run_sockit(
      {"connect", "localhost", std::to_string(proxy.port), "--tls", "--ca", crt}, "secret\n");
  EXPECT_TRUE(client.status.success()) << describe(client);
  EXPECT_EQ(client.out, "secret\n") << proxy.process->stderr_text();

  // An upstream whose certificate the proxy does not trust: the client is closed, and the
  // proxy says why.
  Started strict =
      start_proxy({at(upstream.port)}, {"--upstream-tls", "--upstream-name", "localhost"});
  ASSERT_NE(strict.port, 0);
  auto refused = run({"nc", "127.0.0.1", std::to_string(strict.port)}, "secret\n");
  EXPECT_EQ(refused.out, "");
  EXPECT_TRUE(strict.process->wait_stderr("certificate verify failed", 10s))
      << strict.process->stderr_text();
}

// A download: the upstream talks, the client only listens. The client's connection carries
// traffic all along, so a 1 s idle timeout must not cut it, on an event loop or a thread.
TEST(Proxy, TrafficEitherWayKeepsAConnectionFromIdlingOut) {
  for (const char* arch : {"reactor", "thread"}) {
    Started upstream = start_python(
        "import socket, time\n"
        "l = socket.socket(); l.bind(('127.0.0.1', 0)); l.listen()\n"
        "print('PORT', l.getsockname()[1])\n"
        "c, _ = l.accept()\n"
        "for i in range(10):\n"
        "    c.sendall(b'tick %d\\n' % i); time.sleep(0.3)\n"
        "c.close()\n");
    ASSERT_NE(upstream.port, 0);
    Started proxy = start_proxy({at(upstream.port)}, {"--arch", arch, "--idle-timeout", "1"});
    ASSERT_NE(proxy.port, 0) << proxy.process->stderr_text();
    auto client = TcpSocket::connect(Address::loopback_ipv4(proxy.port), 10s);
    std::string got;
    char buf[256];
    Deadline deadline(20s);
    while (wait_readable(client, deadline)) {
      std::size_t n = client.recv(std::span<char>(buf, sizeof buf));
      if (n == 0) break;
      got.append(buf, n);
    }
    EXPECT_NE(got.find("tick 9\n"), std::string::npos)
        << arch << ": the download was cut after: " << got;
  }
}

TEST(Proxy, SigtermDrainsAndExits) {
  Started echo = start_sockit({"serve", "echo", "--port", "0"});
  Started proxy = start_proxy({at(echo.port)}, {"--drain", "2"});
  ASSERT_NE(proxy.port, 0);
  auto client = TcpSocket::connect(Address::loopback_ipv4(proxy.port), 10s);
  client.send("hold\n");
  ASSERT_TRUE(proxy.process->wait_stderr("connected to", 10s));
  proxy.process->signal(SIGTERM);
  auto status = proxy.process->wait(15s);
  ASSERT_TRUE(status.has_value()) << "the proxy did not exit";
  EXPECT_TRUE(status->success());
  EXPECT_NE(proxy.process->stderr_text().find("Shutdown complete"), std::string::npos);
}

// A client from 127.0.0.2, through the proxy, to an upstream socket of the test's own.
TEST(Proxy, SendsAProxyHeaderNamingTheClientUpstream) {
  for (const std::string flag : {"--send-proxy", "--send-proxy-v2"}) {
    Socket upstream(AF_INET, SOCK_STREAM);
    upstream.bind(Address::loopback_ipv4(0));
    upstream.listen();
    Started proxy = start_proxy({at(upstream.local_address().port())}, {flag});
    ASSERT_NE(proxy.port, 0);
    Socket client(AF_INET, SOCK_STREAM);
    client.bind(Address::parse("127.0.0.2", 0));
    client.connect(Address::loopback_ipv4(proxy.port), 10s);
    client.send("hi\n");
    ASSERT_TRUE(wait_readable(upstream, Deadline(20s)));
    auto [conn, from] = upstream.accept();
    std::string received;
    char chunk[512];
    while (received.find("hi\n") == std::string::npos && wait_readable(conn, Deadline(20s))) {
      const std::size_t n = conn.recv(std::span<char>(chunk, sizeof chunk));
      if (n == 0) break;
      received.append(chunk, n);
    }
    const ProxyParse header = parse_proxy_header(received);
    ASSERT_EQ(header.status, ProxyParse::Status::done) << flag << ": " << header.error;
    EXPECT_EQ(header.header.version, flag == "--send-proxy" ? 1 : 2);
    EXPECT_EQ(header.header.source, client.local_address());
    EXPECT_EQ(header.header.destination, Address::loopback_ipv4(proxy.port));
    EXPECT_EQ(received.substr(header.size), "hi\n");
  }
}

// Chained: the upstream, speaking the PROXY protocol, sees the client and not the proxy.
TEST(Proxy, AnUpstreamWithProxyProtocolSeesTheClient) {
  Started echo = start_sockit({"serve", "echo", "--port", "0", "--proxy-protocol"});
  ASSERT_NE(echo.port, 0);
  Started proxy = start_proxy({at(echo.port)}, {"--send-proxy-v2"});
  ASSERT_NE(proxy.port, 0);
  Socket client(AF_INET, SOCK_STREAM);
  client.bind(Address::parse("127.0.0.3", 0));
  client.connect(Address::loopback_ipv4(proxy.port), 10s);
  client.send("through\n");
  std::string echoed;
  char chunk[64];
  while (echoed.size() < 8 && wait_readable(client, Deadline(20s))) {
    const std::size_t n = client.recv(std::span<char>(chunk, sizeof chunk));
    if (n == 0) break;
    echoed.append(chunk, n);
  }
  EXPECT_EQ(echoed, "through\n");
  EXPECT_TRUE(echo.process->wait_stderr(
      "proxied connection from " + client.local_address().to_string(), 10s))
      << echo.process->stderr_text();
}

class ProxyOnArchitecture : public ::testing::TestWithParam<std::string> {};

TEST_P(ProxyOnArchitecture, ForwardsAndCarriesTheHalfClose) {
  Started echo = start_sockit({"serve", "echo", "--port", "0", "--quiet"});
  ASSERT_NE(echo.port, 0);
  Started proxy = start_proxy({at(echo.port)}, {"--arch", GetParam(), "--quiet"});
  ASSERT_NE(proxy.port, 0) << proxy.process->stderr_text();
  std::string lines;
  for (int i = 0; i < 200; ++i)
    lines += "line " + std::to_string(i) + "\n";
  // connect shuts its write side when stdin ends; the echo answers and closes after EOF.
  auto client = run_sockit({"connect", "127.0.0.1", std::to_string(proxy.port)}, lines);
  EXPECT_TRUE(client.status.success()) << describe(client);
  EXPECT_EQ(client.out, lines);
  proxy.process->signal(SIGTERM);
  auto status = proxy.process->wait(20s);
  ASSERT_TRUE(status.has_value()) << "the proxy did not stop";
  EXPECT_TRUE(status->success()) << proxy.process->stderr_text();
}

INSTANTIATE_TEST_SUITE_P(Architectures, ProxyOnArchitecture,
                         ::testing::Values("serial", "thread", "fork", "prefork", "pool", "reactor",
                                           "hybrid", "uring"));

}  // namespace
}  // namespace sockit::test
