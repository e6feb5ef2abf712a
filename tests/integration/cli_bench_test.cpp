// `sockit bench`, functionally (never its speed): against `sockit serve echo` it completes
// messages with no errors and verifies what it reads; against an echo server that corrupts
// one byte it reports a verification error and fails. (The architecture comparison built on
// its load generator is tested in bench_compare_test.cpp.)
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "cli_helpers.hpp"
#include "sockit/error.hpp"
#include "sockit/tcp.hpp"
#include "support/process.hpp"

namespace sockit::test {
namespace {

struct EchoServer {
  EchoServer() : process({sockit_bin(), "serve", "echo", "--arch", "reactor", "--port", "0"}) {
    port = wait_listening_port(process).value_or(0);
  }
  Process process;
  std::uint16_t port = 0;
};

nlohmann::json parse_json(const Finished& f) {
  try {
    return nlohmann::json::parse(f.out);
  } catch (const std::exception& e) {
    ADD_FAILURE() << "not JSON: " << e.what() << "\n" << describe(f);
    return {};
  }
}

TEST(CliBench, PingPongAgainstServeEchoCompletesMessagesWithoutErrors) {
  EchoServer server;
  ASSERT_NE(server.port, 0) << server.process.stderr_text();
  auto f = run_sockit({"bench", "127.0.0.1", std::to_string(server.port), "--conns", "4", "--size",
                       "64", "--duration", "1", "--warmup", "0.2", "--json"});
  ASSERT_TRUE(f.status.success()) << describe(f);
  auto j = parse_json(f);
  EXPECT_GT(j.value("messages", 0U), 0U) << f.out;
  EXPECT_EQ(j["errors"].value("total", 1U), 0U) << f.out;
  EXPECT_GE(j.value("verified_bytes", 0U), 64U * j.value("messages", 0U)) << f.out;
  EXPECT_GT(j["latency_us"].value("p50", 0.0), 0.0) << f.out;
}

TEST(CliBench, PipelinedLargeMessagesAndChurnVerifyEveryByte) {
  Process server(
      {sockit_bin(), "serve", "echo", "--arch", "reactor", "--port", "0", "--max-line", "200000"});
  auto port = wait_listening_port(server);
  ASSERT_TRUE(port) << server.stderr_text();
  auto big =
      run_sockit({"bench", "127.0.0.1", std::to_string(*port), "--conns", "2", "--size", "100000",
                  "--pipeline", "3", "--duration", "1", "--warmup", "0", "--json"});
  ASSERT_TRUE(big.status.success()) << describe(big);
  auto j = parse_json(big);
  EXPECT_GT(j.value("messages", 0U), 0U) << big.out;
  EXPECT_EQ(j["errors"].value("total", 1U), 0U) << big.out;

  auto churn = run_sockit({"bench", "127.0.0.1", std::to_string(*port), "--mode", "churn",
                           "--conns", "4", "--duration", "1", "--warmup", "0"});
  ASSERT_TRUE(churn.status.success()) << describe(churn);
  EXPECT_NE(churn.out.find("connections:"), std::string::npos) << churn.out;
  EXPECT_NE(churn.out.find("every one as sent"), std::string::npos) << churn.out;
}

// An echo server that flips one bit of every answer.
class LyingEchoServer {
 public:
  LyingEchoServer() : server_("127.0.0.1", 0), thread_([this] { serve(); }) {}
  ~LyingEchoServer() {
    stop_ = true;
    thread_.join();
  }
  std::uint16_t port() const { return server_.port(); }

 private:
  void serve() {
    while (!stop_) {
      try {
        auto client = server_.accept(std::chrono::milliseconds(100));
        char buffer[4096];
        const std::size_t n = client.socket.recv({buffer, sizeof buffer});
        if (n == 0) continue;
        buffer[n / 2] = static_cast<char>(buffer[n / 2] ^ 1);
        client.socket.send({buffer, n});
      } catch (const Error&) {
        // Timeouts (to look at stop_) and clients that went away.
      }
    }
  }

  TcpServer server_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

TEST(CliBench, CorruptedEchoIsAVerificationErrorAndFails) {
  LyingEchoServer liar;
  auto f = run_sockit({"bench", "127.0.0.1", std::to_string(liar.port()), "--conns", "1",
                       "--duration", "0.5", "--warmup", "0", "--json"});
  EXPECT_TRUE(f.status.exited) << describe(f);
  EXPECT_EQ(f.status.code, 1) << describe(f);
  EXPECT_NE(f.err.find("verification failed"), std::string::npos) << describe(f);
  auto j = parse_json(f);
  EXPECT_GT(j["errors"].value("mismatch", 0U), 0U) << f.out;
  EXPECT_EQ(j.value("messages", 1U), 0U) << f.out;
}

TEST(CliBench, RefusesANonLoopbackTargetWithoutAllowRemote) {
  auto f = run_sockit({"bench", "192.0.2.1", "7", "--duration", "1"});
  EXPECT_EQ(f.status.code, 2) << describe(f);
  EXPECT_NE(f.err.find("--allow-remote"), std::string::npos) << describe(f);
}

}  // namespace
}  // namespace sockit::test
