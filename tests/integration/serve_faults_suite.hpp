// The server fault suite, run against `sockit serve` on one architecture per
// instantiation: resets mid-response, half-close, many idle connections, oversized lines,
// binary garbage, running out of descriptors, SIGTERM under load, the connection limits,
// the idle timeout and the rate limit. Instantiated by server_faults_test.cpp (process
// architectures) and server_faults_threaded_test.cpp (threaded ones, for ThreadSanitizer).
#pragma once

#include <gtest/gtest.h>
#include <linux/sockios.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "serve_fixture.hpp"
#include "sockit/options.hpp"
#include "support/require_tool.hpp"

namespace sockit::test {

inline bool is_concurrent(const std::string& arch) {
  return arch == "thread" || arch == "fork" || is_event_loop(arch);
}
// Serial and prefork workers hold one connection per process: others wait in the backlog,
// so a connection limit above the process count can never be reached there.
inline bool holds_one_connection_per_process(const std::string& arch) {
  return arch == "serial" || arch == "prefork";
}

// utime + stime of a process, in clock ticks.
inline long cpu_ticks(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  auto close_paren = text.rfind(')');
  if (close_paren == std::string::npos) return -1;
  std::istringstream fields(text.substr(close_paren + 2));
  std::string field;
  long utime = 0, stime = 0;
  for (int i = 3; fields >> field; ++i) {
    if (i == 14) utime = std::stol(field);
    if (i == 15) {
      stime = std::stol(field);
      break;
    }
  }
  return utime + stime;
}

inline std::size_t count_of(const std::string& text, const std::string& needle) {
  std::size_t n = 0;
  for (auto pos = text.find(needle); pos != std::string::npos; pos = text.find(needle, pos + 1)) {
    ++n;
  }
  return n;
}

class ServeFaults : public ::testing::TestWithParam<std::string> {
 protected:
  const std::string& arch() const { return GetParam(); }

  std::unique_ptr<ServeProcess> start(const std::string& service,
                                      std::vector<std::string> extra = {},
                                      std::vector<std::string> prefix = {}) {
    extra.insert(extra.begin(), {"--quiet", "--workers", "4"});
    auto server = std::make_unique<ServeProcess>(service, arch(), extra, prefix);
    return server;
  }

  // The server still answers a fresh client.
  void expect_alive(ServeProcess& server) {
    Client client(server.port);
    client.send("still there?\n");
    EXPECT_EQ(client.read_until("\n"), "still there?\n");
  }
};

#define SOCKIT_START(var, ...)   \
  auto var = start(__VA_ARGS__); \
  ASSERT_TRUE(var->ok())

TEST_P(ServeFaults, ClientResettingMidResponseDoesNotHurtTheServer) {
  SOCKIT_START(server, "echo");
  for (int round = 0; round < 3; ++round) {
    Client client(server->port);
    // Megabytes of lines the server must echo; the client reads none and resets.
    std::string line(1000, 'x');
    line += '\n';
    std::string burst;
    for (int i = 0; i < 256; ++i)
      burst += line;
    client.socket().set_nonblocking(true);
    for (int i = 0; i < 16; ++i) {
      try {
        if (!client.socket().write_nonblock(burst).ok()) break;
      } catch (const Error&) {
        break;
      }
    }
    client.socket().set(option::Linger{std::chrono::seconds(0)});
    client.socket().close();  // RST
  }
  expect_alive(*server);
  EXPECT_TRUE(server->terminate().success()) << server->process->stderr_text();
}

// A reset is an ordinary way for a client to go: the "closed" line names the client and
// the reason, and the server goes on serving.
TEST_P(ServeFaults, ResetIsLoggedByTheClientsAddress) {
  ServeProcess server("echo", arch(), {"--workers", "4"});
  ASSERT_TRUE(server.ok());
  Client client(server.port);
  client.send("hello\n");
  ASSERT_EQ(client.read_until("\n"), "hello\n");
  const std::string name = client.socket().local_address().to_string();
  client.socket().set(option::Linger{std::chrono::seconds(0)});
  client.socket().close();  // RST while the server waits for the next line
  EXPECT_TRUE(server.process->wait_stderr("closed " + name + " (Connection reset by peer)"))
      << server.process->stderr_text();
  expect_alive(server);
  EXPECT_TRUE(server.terminate().success()) << server.process->stderr_text();
}

TEST_P(ServeFaults, HalfClosedClientStillGetsEveryAnswer) {
  SOCKIT_START(server, "echo");
  Client client(server->port);
  client.send("first\nsecond\nno newline");
  client.shutdown_write();
  EXPECT_EQ(client.read_to_eof(), "first\nsecond\nno newline\n");
  EXPECT_TRUE(client.eof());
  EXPECT_FALSE(client.reset());
  EXPECT_TRUE(server->terminate().success()) << server->process->stderr_text();
}

TEST_P(ServeFaults, TwoHundredIdleConnectionsAndOneMore) {
  if (holds_one_connection_per_process(arch())) {
    GTEST_SKIP() << arch() << " serves one connection per process at a time";
  }
  SOCKIT_START(server, "echo", {"--queue", "16"});
  std::vector<std::unique_ptr<Client>> idle;
  for (int i = 0; i < 200; ++i)
    idle.push_back(std::make_unique<Client>(server->port));
  if (is_concurrent(arch())) {
    // Make sure every idle one was really accepted and is being served.
    for (int i = 0; i < 200; i += 20) {
      idle[i]->send("ping\n");
      ASSERT_EQ(idle[i]->read_until("\n"), "ping\n") << "idle client " << i;
    }
    expect_alive(*server);
  } else {
    // pool: 4 workers + a queue of 16; the rest must be told, not left hanging.
    Client extra(server->port);
    EXPECT_EQ(extra.read_to_eof(), "Server full, try again later\n");
    EXPECT_TRUE(extra.eof());
  }
  EXPECT_TRUE(server->terminate().success()) << server->process->stderr_text();
}

TEST_P(ServeFaults, OversizedLineGetsAnErrorAndTheConnectionCloses) {
  SOCKIT_START(server, "echo", {"--max-line", "100"});
  Client client(server->port);
  client.send("short\n");
  EXPECT_EQ(client.read_until("short\n"), "short\n");
  client.send(std::string(5000, 'y'));
  // Echo streams, so the first 100 bytes of the long line are already back.
  EXPECT_EQ(client.read_to_eof(),
            "short\n" + std::string(100, 'y') + "\nError: line too long (max 100 bytes)\n");
  EXPECT_TRUE(client.eof());
  expect_alive(*server);
  EXPECT_TRUE(server->terminate().success()) << server->process->stderr_text();
}

TEST_P(ServeFaults, BinaryGarbageIsEchoedByteForByte) {
  SOCKIT_START(server, "echo");
  std::mt19937 random(42);
  std::string garbage;
  for (int i = 0; i < 4000; ++i) {
    char c = static_cast<char>(random() % 256);
    if (c == '\n' || c == '\r') c = 0;
    garbage += c;
    if (i % 500 == 499) garbage += '\n';
  }
  garbage += '\n';
  Client client(server->port);
  client.send(garbage);
  client.shutdown_write();
  EXPECT_EQ(client.read_to_eof(), garbage);
  expect_alive(*server);
  EXPECT_TRUE(server->terminate().success()) << server->process->stderr_text();
}

TEST_P(ServeFaults, RunningOutOfDescriptorsPausesAcceptingThenRecovers) {
  SOCKIT_REQUIRE_TOOL("prlimit");
  if (std::string_view(SOCKIT_SANITIZE).find("undefined") != std::string_view::npos) {
    // UBSan checks a polymorphic object's type through an internal pipe whenever its small
    // cache misses; a process with no descriptor left cannot open one, and the check then
    // reports a bogus "invalid vptr" and aborts. Runs in the TSan and plain builds.
    GTEST_SKIP() << "UBSan's vptr check cannot work in a process out of descriptors";
  }
  // 40 descriptors: a few for the server itself, the rest for connections; 60 clients
  // is more than fits.
  SOCKIT_START(server, "echo", {"--queue", "64"}, {"prlimit", "--nofile=40:40", "--"});
  expect_alive(*server);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  constexpr int count = 60;
  std::vector<std::unique_ptr<Client>> clients;
  for (int i = 0; i < count; ++i) {
    clients.push_back(std::make_unique<Client>(server->port));  // the backlog takes them all
    clients.back()->send("ping " + std::to_string(i) + "\n");
  }
  // Out of descriptors now (on the architectures that hold many per process): the server
  // must not spin on its readable listener.
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  long before = cpu_ticks(server->process->pid());
  std::this_thread::sleep_for(std::chrono::seconds(2));
  long after = cpu_ticks(server->process->pid());
  long hz = ::sysconf(_SC_CLK_TCK);
  EXPECT_LT(after - before, hz) << "more than 50% CPU while out of descriptors: busy loop?";
  // Clients are answered as descriptors free up (not necessarily in order: hybrid has a
  // listener per reactor); each one answered leaves, which frees a descriptor.
  int answered = 0;
  Deadline deadline(std::chrono::seconds(90));
  while (answered < count && !deadline.expired()) {
    bool progress = false;
    for (int i = 0; i < count; ++i) {
      if (!clients[i] || !wait_readable(clients[i]->socket(), std::chrono::milliseconds(0))) {
        continue;
      }
      std::string expected = "ping " + std::to_string(i) + "\n";
      EXPECT_EQ(clients[i]->read_until("\n"), expected) << "client " << i;
      clients[i].reset();
      ++answered;
      progress = true;
    }
    if (!progress) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(answered, count) << "clients never answered after descriptors came back";
  expect_alive(*server);
  EXPECT_TRUE(server->terminate().success()) << server->process->stderr_text();
  if (arch() == "thread" || arch() == "pool") {
    const std::string& log = server->process->stderr_text();
    EXPECT_GE(count_of(log, "pausing new connections"), 1u) << log;
    EXPECT_LE(count_of(log, "pausing new connections"), 10u) << "logged on every retry:\n" << log;
  }
}

// Bytes waiting to be read on `socket` (FIONREAD).
inline int readable(const Socket& socket) {
  int bytes = -1;
  return ::ioctl(socket.fd(), FIONREAD, &bytes) == 0 ? bytes : -1;
}

TEST_P(ServeFaults, SigtermUnderLoadAnswersWhatWasAcceptedAndExitsZero) {
  // A drain deadline far longer than the test waits: idle connections must be closed at
  // once, not waited for.
  SOCKIT_START(server, "echo", {"--drain", "60", "--queue", "32"});
  // Pool and prefork hold one connection per worker (4 here), serial just one.
  int count = arch() == "serial" ? 1 : (arch() == "prefork" || arch() == "pool" ? 4 : 20);
  std::vector<std::unique_ptr<Client>> clients;
  for (int i = 0; i < count; ++i) {
    clients.push_back(std::make_unique<Client>(server->port));
    clients.back()->send("one\n");
    ASSERT_EQ(clients.back()->read_until("\n"), "one\n") << "client " << i;
  }
  // In flight when the signal arrives: sent and received by the server's kernel, not yet
  // answered. The server is stopped (SIGSTOP, every thread of it) while the requests go
  // out, so it cannot answer them before SIGTERM; it continues after. On fork and prefork
  // the connections are served by child processes, which keep running: there the requests
  // may be answered before the signal.
  const bool frozen = arch() != "fork" && arch() != "prefork";
  if (frozen) {
    server->process->signal(SIGSTOP);
    ASSERT_TRUE(wait_stopped(server->process->pid())) << "the server did not stop";
  }
  for (int i = 0; i + 1 < count || count == 1; ++i) {
    clients[i]->send("two " + std::to_string(i) + "\n");
    if (count == 1) break;
  }
  for (int i = 0; i < count; ++i) {
    const Deadline deadline(std::chrono::seconds(20));
    while (unacknowledged(clients[i]->socket()) != 0 && !deadline.expired())
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    ASSERT_EQ(unacknowledged(clients[i]->socket()), 0) << "client " << i << ": not received";
    if (frozen) {
      EXPECT_EQ(readable(clients[i]->socket()), 0) << "client " << i << ": answered already";
    }
  }
  auto started = std::chrono::steady_clock::now();
  server->process->signal(SIGTERM);
  if (frozen) server->process->signal(SIGCONT);
  for (int i = 0; i < count; ++i) {
    std::string expected = "one\n";
    if (i + 1 < count || count == 1) expected += "two " + std::to_string(i) + "\n";
    EXPECT_EQ(clients[i]->read_to_eof(), expected) << "client " << i;
    EXPECT_TRUE(clients[i]->eof()) << "client " << i << " (idle or not) was not closed";
  }
  auto status = server->process->wait(std::chrono::seconds(30));
  ASSERT_TRUE(status) << "still running 30 s after SIGTERM with only idle connections left";
  EXPECT_TRUE(status->success());
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(30));
  server->process->finish();
  EXPECT_NE(server->process->stderr_text().find("Shutdown complete"), std::string::npos);
}

TEST_P(ServeFaults, MaxConnsTurnsTheNextClientAway) {
  if (holds_one_connection_per_process(arch())) {
    GTEST_SKIP() << arch() << " serves one connection per process at a time";
  }
  SOCKIT_START(server, "echo", {"--max-conns", "3"});
  std::vector<std::unique_ptr<Client>> held;
  for (int i = 0; i < 3; ++i) {
    held.push_back(std::make_unique<Client>(server->port));
    held.back()->send("hi\n");
    ASSERT_EQ(held.back()->read_until("\n"), "hi\n");
  }
  Client extra(server->port);
  EXPECT_EQ(extra.read_to_eof(), "Server full, try again later\n");
  EXPECT_TRUE(extra.eof());
  held.pop_back();
  // The slot frees when the server has seen the close; retry for a while.
  bool served = false;
  for (int attempt = 0; attempt < 100 && !served; ++attempt) {
    Client again(server->port);
    again.send("back\n");
    served = again.read_until("\n") == "back\n";
    if (!served) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_TRUE(served);
  EXPECT_TRUE(server->terminate().success()) << server->process->stderr_text();
}

// On prefork each of the 4 workers holds one connection: the count is shared between the
// worker processes, and a connection that ends frees its place in whichever worker.
TEST_P(ServeFaults, MaxConnsPerIpCountsOneAddress) {
  if (arch() == "serial") GTEST_SKIP() << "serial serves one connection at a time";
  SOCKIT_START(server, "echo", {"--max-conns-per-ip", "2"});
  auto a = std::make_unique<Client>(server->port);
  Client b(server->port);
  for (Client* c : {a.get(), &b}) {
    c->send("hi\n");
    ASSERT_EQ(c->read_until("\n"), "hi\n");
  }
  Client third(server->port);
  EXPECT_EQ(third.read_to_eof(), "Server full, try again later\n");
  a.reset();
  // The server sees a's close at its own pace: a newcomer may still be turned away.
  bool served = false;
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (!served && std::chrono::steady_clock::now() < give_up) {
    Client next(server->port);
    next.send("again\n");
    served = next.read_until("\n") == "again\n";
  }
  EXPECT_TRUE(served) << "a closed connection did not free its place";
  EXPECT_TRUE(server->terminate().success()) << server->process->stderr_text();
}

TEST_P(ServeFaults, IdleTimeoutClosesASilentClient) {
  SOCKIT_START(server, "echo", {"--idle-timeout", "1"});
  // The server's idle clock starts no earlier than the connect: a close within the first
  // second breaks the promise. 900 ms leaves a margin for rounding; a server that closes
  // at once fails.
  const auto connecting = std::chrono::steady_clock::now();
  Client silent(server->port);
  silent.read_to_eof(std::chrono::seconds(30));
  const auto waited = std::chrono::steady_clock::now() - connecting;
  EXPECT_TRUE(silent.eof()) << "a silent client was not closed";
  EXPECT_EQ(silent.received(), "");
  EXPECT_GE(waited, std::chrono::milliseconds(900)) << "closed before the idle timeout";
  Client talker(server->port);
  talker.send("hi\n");
  EXPECT_EQ(talker.read_to_eof(std::chrono::seconds(30)), "hi\n");
  EXPECT_TRUE(talker.eof());
  EXPECT_TRUE(server->terminate().success()) << server->process->stderr_text();
}

// A client that drips a line a byte at a time is never idle; the line deadline cuts it:
// not before the line has had its time (a server that closes at once fails), well before
// the idle timeout. Lines finished in time, however slowly the next one starts, are served.
TEST_P(ServeFaults, LineTimeoutClosesAClientDrippingALine) {
  using namespace std::chrono_literals;
  SOCKIT_START(server, "echo", {"--idle-timeout", "300", "--line-timeout", "0.5"});
  {  // closed before the next client: serial serves one connection at a time
    Client paced(server->port);
    for (int i = 0; i < 6; ++i) {
      const std::size_t seen = paced.received().size();
      const std::string line = "line " + std::to_string(i) + "\n";
      paced.send(line);
      ASSERT_EQ(paced.read_until_from(seen, "\n", 20s).substr(seen), line);
      // 200 ms between lines, 1.2 s in all: more than the line timeout, which must not count.
      paced.read_to_eof(200ms);
      ASSERT_FALSE(paced.eof()) << "a client sending whole lines was closed";
    }
  }

  const auto began = std::chrono::steady_clock::now();
  Client drip(server->port);
  drip.send("s");
  for (int i = 0; i < 100 && !drip.eof(); ++i) {
    drip.read_to_eof(100ms);
    if (!drip.eof()) drip.send("l");
  }
  drip.read_to_eof(20s);
  const auto took = std::chrono::steady_clock::now() - began;
  EXPECT_TRUE(drip.eof()) << "a dripping line outlived the line timeout";
  EXPECT_GE(took, 450ms) << "closed before the line timeout";
  EXPECT_LT(took, 8s) << "closed by something slower than the 0.5 s line timeout";
  const std::string got = drip.received();
  EXPECT_NE(got.find("\nError: line not finished within 500 ms\n"), std::string::npos) << got;
  expect_alive(*server);
  EXPECT_TRUE(server->terminate().success()) << server->process->stderr_text();
}

TEST_P(ServeFaults, RateLimitAnswersAndKeepsTheConnection) {
  SOCKIT_START(server, "echo", {"--rate", "2"});
  Client client(server->port);
  std::string burst;
  for (int i = 0; i < 10; ++i)
    burst += "line " + std::to_string(i) + "\n";
  client.send(burst);
  // Each line gets one answer: its echo, or the refusal when it came too soon.
  while (count_of(client.received(), "\n") < 10 && !client.eof()) {
    const std::size_t before = client.received().size();
    if (client.read_until_from(before, "\n", std::chrono::seconds(20)).size() == before) break;
  }
  const std::string got = client.received();
  EXPECT_EQ(count_of(got, "\n"), 10u) << got;
  EXPECT_EQ(got.rfind("line 0\nline 1\n", 0), 0u) << got;
  EXPECT_NE(got.find("Rate limit exceeded\n"), std::string::npos) << got;
  // The connection stays open, and once the bucket has refilled (2 tokens a second) a
  // line is echoed again. Tried every 100 ms for up to 20 s: a refused try costs no token.
  bool echoed = false;
  for (int attempt = 0; attempt < 200 && !echoed && !client.eof(); ++attempt) {
    if (attempt > 0) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    const std::size_t seen = client.received().size();
    const std::string line = "again " + std::to_string(attempt) + "\n";
    client.send(line);
    const std::string answer =
        client.read_until_from(seen, "\n", std::chrono::seconds(20)).substr(seen);
    if (answer == line) {
      echoed = true;
    } else {
      ASSERT_EQ(answer, "Rate limit exceeded\n");
    }
  }
  EXPECT_TRUE(echoed) << "no line echoed in 20 s after the burst";
  EXPECT_TRUE(server->terminate().success()) << server->process->stderr_text();
}

}  // namespace sockit::test
