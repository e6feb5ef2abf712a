// Server::metrics(): what each architecture counts (connections accepted, refused and closed
// by reason, bytes, messages), read while it serves. Fork and prefork, whose counters live
// in memory their processes share, are checked through `sockit serve --metrics`, which does
// not fork a process running test threads.
// sockit-test-labels: threaded
#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "sockit/options.hpp"
#include "sockit/server/server.hpp"
#include "sockit/server/services.hpp"
#include "sockit/tcp.hpp"
#include "support/socket_io.hpp"

namespace sockit::test {
namespace {

using namespace std::chrono_literals;
using server::Architecture;
using server::Counter;
using server::ServerMetrics;

// A server of `service` on a thread of its own, stopped and joined when destroyed.
class RunningServer {
 public:
  RunningServer(const std::string& service, server::ServerOptions options)
      : server_(server::find_service(service), prepared(std::move(options))),
        thread_([this] { server_.run(); }) {}
  ~RunningServer() {
    server_.stop();
    thread_.join();
  }
  RunningServer(const RunningServer&) = delete;
  RunningServer& operator=(const RunningServer&) = delete;

  // A client whose reads give up after 10 s, so that a test fails rather than hangs.
  TcpSocket connect() {
    TcpSocket client = TcpSocket::connect(server_.local_address(), 10s);
    client.set(option::ReceiveTimeout{10s});
    return client;
  }
  ServerMetrics metrics() const { return server_.metrics(); }
  // Waits (10 s at most) until `done` holds of the metrics; returns the last read.
  ServerMetrics wait_for(const std::function<bool(const ServerMetrics&)>& done) const {
    const auto give_up = std::chrono::steady_clock::now() + 10s;
    ServerMetrics m = metrics();
    while (!done(m) && std::chrono::steady_clock::now() < give_up) {
      std::this_thread::sleep_for(5ms);
      m = metrics();
    }
    return m;
  }

 private:
  static server::ServerOptions prepared(server::ServerOptions o) {
    o.port = 0;
    o.log_level = server::LogLevel::quiet;
    o.handle_signals = false;
    o.announce = false;
    if (o.workers == 0) o.workers = 2;
    return o;
  }
  server::Server server_;
  std::thread thread_;
};

server::ServerOptions on(Architecture arch) {
  server::ServerOptions o;
  o.architecture = arch;
  return o;
}

bool closed(const ServerMetrics& m, std::uint64_t n) {
  return m.total.closed() >= n;
}

class ServerMetricsTest : public ::testing::TestWithParam<Architecture> {};

// With a line limit, echo reads line by line: its messages are lines. (Without one it passes
// bytes through unscanned, and a read is a message.)
TEST_P(ServerMetricsTest, CountsConnectionsBytesAndLinesOfEachClient) {
  server::ServerOptions o = on(GetParam());
  o.limits.max_line = 1024;
  RunningServer server("echo", o);
  for (int i = 0; i < 3; ++i) {
    TcpSocket client = server.connect();
    client.send("one\ntwo\n");
    EXPECT_EQ(receive_text(client, 8), "one\ntwo\n");
    client.close_write();
    EXPECT_EQ(receive_text(client, 1), "");  // the server's EOF
  }
  const ServerMetrics m = server.wait_for([](const ServerMetrics& s) { return closed(s, 3); });
  EXPECT_EQ(m.service, "echo");
  EXPECT_EQ(m.architecture, server::to_string(GetParam()));
  EXPECT_EQ(m.total[Counter::accepted], 3U);
  EXPECT_EQ(m.total[Counter::closed_eof], 3U);
  EXPECT_EQ(m.total.closed(), 3U);
  EXPECT_EQ(m.open, 0U);
  EXPECT_EQ(m.total[Counter::bytes_in], 24U);
  EXPECT_EQ(m.total[Counter::bytes_out], 24U);
  EXPECT_EQ(m.total[Counter::messages_in], 6U);
  EXPECT_GE(m.total[Counter::messages_out], 3U);
  EXPECT_EQ(m.total[Counter::refused_full], 0U);
}

TEST_P(ServerMetricsTest, CountsAConnectionOpenUntilItCloses) {
  RunningServer server("echo", on(GetParam()));
  TcpSocket client = server.connect();
  client.send("x\n");
  EXPECT_EQ(receive_text(client, 2), "x\n");
  EXPECT_EQ(server.metrics().open, 1U);
  client.close();
  const ServerMetrics m = server.wait_for([](const ServerMetrics& s) { return closed(s, 1); });
  EXPECT_EQ(m.open, 0U);
}

// One client served, a second one turned away by the limit `o` sets; the metrics once the
// refusal is counted.
ServerMetrics second_client_refused(const server::ServerOptions& o, Counter refusal) {
  RunningServer server("echo", o);
  TcpSocket first = server.connect();
  first.send("x\n");
  EXPECT_EQ(receive_text(first, 2), "x\n");
  TcpSocket second = server.connect();
  EXPECT_NE(receive_text(second, 64).find("Server full"), std::string::npos);
  return server.wait_for([&](const ServerMetrics& s) { return s.total[refusal] >= 1; });
}

TEST_P(ServerMetricsTest, CountsRefusalsByTheirLimit) {
  if (GetParam() == Architecture::serial) {
    GTEST_SKIP() << "serial takes the next connection only after the last: no limit refuses";
  }
  server::ServerOptions o = on(GetParam());
  o.max_connections = 8;
  o.max_connections_per_ip = 1;
  ServerMetrics m = second_client_refused(o, Counter::refused_per_address);
  EXPECT_EQ(m.total[Counter::refused_per_address], 1U);
  EXPECT_EQ(m.total[Counter::refused_full], 0U);
  EXPECT_EQ(m.total[Counter::accepted], 1U);

  o.max_connections = 1;
  o.max_connections_per_ip = 0;
  o.workers = 1;
  m = second_client_refused(o, Counter::refused_full);
  EXPECT_EQ(m.total[Counter::refused_full], 1U);
  EXPECT_EQ(m.total[Counter::refused_per_address], 0U);
  EXPECT_EQ(m.total[Counter::accepted], 1U);
}

TEST_P(ServerMetricsTest, CountsIdleTimeoutsAndResetsByTheirReason) {
  server::ServerOptions o = on(GetParam());
  o.idle_timeout = 300ms;
  RunningServer server("echo", o);
  {
    TcpSocket idle = server.connect();
    EXPECT_EQ(receive_text(idle, 1), "");  // closed by the server once idle
  }
  ServerMetrics m = server.wait_for([](const ServerMetrics& s) { return closed(s, 1); });
  EXPECT_EQ(m.total[Counter::closed_idle], 1U);
  {
    TcpSocket reset = server.connect();
    reset.send("x\n");
    EXPECT_EQ(receive_text(reset, 2), "x\n");
    reset.set(option::Linger{std::chrono::seconds(0)});
    reset.close();  // a reset, not a FIN
  }
  m = server.wait_for([](const ServerMetrics& s) { return closed(s, 2); });
  EXPECT_EQ(m.total[Counter::closed_reset], 1U);
  EXPECT_EQ(m.total[Counter::closed_idle], 1U);
}

TEST_P(ServerMetricsTest, CountsLinesOverTheRateLimit) {
  server::ServerOptions o = on(GetParam());
  o.limits.rate_per_second = 1;
  RunningServer server("echo", o);
  TcpSocket client = server.connect();
  client.send("a\nb\nc\n");
  client.close_write();
  receive_text(client, 1024);
  const ServerMetrics m = server.wait_for([](const ServerMetrics& s) { return closed(s, 1); });
  EXPECT_EQ(m.total[Counter::messages_in], 3U);
  EXPECT_GE(m.total[Counter::messages_rate_limited], 1U);
}

// Each worker's counters are its own: the connections of a server sum to the total.
TEST_P(ServerMetricsTest, WorkersSumToTheTotal) {
  RunningServer server("echo", on(GetParam()));
  for (int i = 0; i < 4; ++i) {
    TcpSocket client = server.connect();
    client.send("x\n");
    EXPECT_EQ(receive_text(client, 2), "x\n");
  }
  const ServerMetrics m = server.wait_for([](const ServerMetrics& s) { return closed(s, 4); });
  ASSERT_FALSE(m.workers.empty());
  server::CounterValues sum;
  for (const auto& w : m.workers)
    sum += w.counts;
  EXPECT_EQ(sum.values, m.total.values);
  EXPECT_EQ(m.total[Counter::accepted], 4U);
}

std::string arch_name(const ::testing::TestParamInfo<Architecture>& info) {
  std::string name(server::to_string(info.param));
  for (char& c : name) {
    if (c == '-') c = '_';
  }
  return name;
}

INSTANTIATE_TEST_SUITE_P(InProcess, ServerMetricsTest,
                         ::testing::Values(Architecture::serial, Architecture::thread,
                                           Architecture::pool, Architecture::reactor,
                                           Architecture::hybrid, Architecture::uring,
                                           Architecture::uring_hybrid),
                         arch_name);

// The labels: reactors and pool workers by number, the accepting thread, the threads that
// serve one connection each under one label.
TEST(ServerMetricsWorkers, AreLabelledByWhatTheyAre) {
  auto labels = [](Architecture arch) {
    server::ServerOptions o = on(arch);
    o.workers = 2;
    RunningServer server("echo", o);
    TcpSocket client = server.connect();
    client.send("x\n");
    EXPECT_EQ(receive_text(client, 2), "x\n");
    std::string all;
    for (const auto& w : server.metrics().workers) {
      all += w.worker;
      all += ' ';
    }
    return all;
  };
  EXPECT_EQ(labels(Architecture::hybrid), "0 1 ");
  EXPECT_EQ(labels(Architecture::reactor), "0 ");
  EXPECT_EQ(labels(Architecture::pool), "0 1 accept ");
  EXPECT_EQ(labels(Architecture::thread), "accept connections ");
}

}  // namespace
}  // namespace sockit::test
