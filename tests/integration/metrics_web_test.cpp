// The metrics door (sockit/http/metrics_web.hpp) on a server of its own, fed hand-made
// counters, read by real clients: curl for /metrics (checked by Prometheus's promtool),
// /stats and the page, and `sockit connect` for the pushes of /live.
// sockit-test-labels: threaded
#include "sockit/http/metrics_web.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "integration/cli_helpers.hpp"
#include "sockit/http/http_service.hpp"
#include "sockit/server/server.hpp"
#include "support/require_tool.hpp"

namespace sockit::test {
namespace {

using namespace std::chrono_literals;
using server::Counter;

class MetricsDoor : public ::testing::Test {
 protected:
  void SetUp() override {
    http::HttpOptions http_options;
    http_options.log_errors = false;
    auto door = std::make_shared<http::HttpService>(std::move(http_options));
    http::add_metrics_web(*door, [this] { return snapshot(); });
    server::ServerOptions options;
    options.architecture = server::Architecture::reactor;
    options.port = 0;
    options.log_level = server::LogLevel::quiet;
    options.handle_signals = false;
    options.announce = false;
    server_ = std::make_unique<server::Server>(door, options);
    base_ = "http://127.0.0.1:" + std::to_string(server_->local_address().port());
    thread_ = std::thread([this] { server_->run(); });
  }

  void TearDown() override {
    server_->stop();
    thread_.join();
  }

  // Two workers; every read counts one more accepted connection on worker "1", so that
  // two reads are told apart.
  server::ServerMetrics snapshot() {
    server::ServerMetrics m;
    m.service = "echo";
    m.architecture = "hybrid";
    m.open = 3;
    server::WorkerMetrics first{"0", {}};
    first.counts[Counter::accepted] = 4;
    first.counts[Counter::closed_eof] = 2;
    first.counts[Counter::bytes_in] = 1000;
    server::WorkerMetrics second{"1", {}};
    second.counts[Counter::accepted] = ++reads_;
    second.counts[Counter::messages_in] = 7;
    m.workers = {first, second};
    m.total = first.counts;
    m.total += second.counts;
    return m;
  }

  // curl -i: the head (with CRLFs) and the body, split at the blank line.
  std::pair<std::string, std::string> get(const std::string& path) {
    const Finished got = run({"curl", "-sS", "-i", base_ + path});
    EXPECT_EQ(got.status.code, 0) << got.describe();
    const auto blank = got.out.find("\r\n\r\n");
    if (blank == std::string::npos) return {got.out, {}};
    return {got.out.substr(0, blank + 2), got.out.substr(blank + 4)};
  }

  std::atomic<std::uint64_t> reads_{0};
  std::unique_ptr<server::Server> server_;
  std::thread thread_;
  std::string base_;
};

TEST_F(MetricsDoor, MetricsIsPrometheusTextThatPromtoolAccepts) {
  SOCKIT_REQUIRE_TOOL("curl");
  const auto [head, body] = get("/metrics");
  EXPECT_NE(head.find("HTTP/1.1 200"), std::string::npos) << head;
  EXPECT_NE(head.find("Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n"),
            std::string::npos)
      << head;
  EXPECT_NE(body.find("sockit_info{service=\"echo\",architecture=\"hybrid\"} 1\n"),
            std::string::npos)
      << body;
  EXPECT_NE(body.find("sockit_connections_open 3\n"), std::string::npos) << body;
  EXPECT_NE(body.find("sockit_connections_accepted_total{worker=\"0\"} 4\n"), std::string::npos)
      << body;
  EXPECT_NE(body.find("sockit_connections_closed_total{worker=\"0\",reason=\"eof\"} 2\n"),
            std::string::npos)
      << body;
  EXPECT_NE(body.find("sockit_messages_received_total{worker=\"1\"} 7\n"), std::string::npos)
      << body;
  EXPECT_NE(body.find("\nprocess_resident_memory_bytes "), std::string::npos) << body;

  SOCKIT_REQUIRE_TOOL("promtool");
  const Finished check = run({"promtool", "check", "metrics"}, body);
  EXPECT_EQ(check.status.code, 0) << check.describe() << "\n" << body;
  EXPECT_EQ(check.out + check.err, "") << body;
}

TEST_F(MetricsDoor, StatsIsTheSameAsJson) {
  SOCKIT_REQUIRE_TOOL("curl");
  const auto [head, body] = get("/stats");
  EXPECT_NE(head.find("Content-Type: application/json\r\n"), std::string::npos) << head;
  const auto json = nlohmann::json::parse(body);
  EXPECT_EQ(json["service"], "echo");
  EXPECT_EQ(json["architecture"], "hybrid");
  EXPECT_EQ(json["open"], 3);
  EXPECT_EQ(json["total"]["connections_accepted"], 4 + reads_.load());
  EXPECT_EQ(json["total"]["connections_closed"]["eof"], 2);
  EXPECT_EQ(json["total"]["received_bytes"], 1000);
  ASSERT_EQ(json["workers"].size(), 2U);
  EXPECT_EQ(json["workers"][1]["worker"], "1");
  EXPECT_EQ(json["workers"][1]["counters"]["messages_received"], 7);
  EXPECT_GT(json["process"]["resident_bytes"].get<std::uint64_t>(), 0U);
}

TEST_F(MetricsDoor, ThePageIsSelfContainedAndReadsLive) {
  SOCKIT_REQUIRE_TOOL("curl");
  const auto [head, body] = get("/");
  EXPECT_NE(head.find("Content-Type: text/html; charset=utf-8\r\n"), std::string::npos) << head;
  EXPECT_NE(head.find("Content-Security-Policy: default-src 'none';"), std::string::npos) << head;
  EXPECT_EQ(body, std::string(http::metrics_page()));
  EXPECT_NE(body.find("\"/live\""), std::string::npos);
  EXPECT_NE(body.find("<canvas"), std::string::npos);
  // Nothing fetched from elsewhere.
  EXPECT_EQ(body.find("src=\"http"), std::string::npos);
  EXPECT_EQ(body.find("<link"), std::string::npos);
}

// `sockit connect ws://.../live` prints each message as a line.
Process live_client(const std::string& base, std::vector<std::string> extra = {}) {
  std::vector<std::string> argv{sockit_bin(), "connect", "ws" + base.substr(4) + "/live"};
  for (auto& e : extra)
    argv.push_back(std::move(e));
  return Process(std::move(argv));
}

TEST_F(MetricsDoor, LivePushesTheStatsAtOnceThenEverySecond) {
  Process client = live_client(base_);
  std::vector<nlohmann::json> pushes;
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (pushes.size() < 2 && std::chrono::steady_clock::now() < deadline) {
    client.pump(1s);
    const std::string& out = client.stdout_text();
    std::size_t start = 0;
    pushes.clear();
    for (std::size_t end; (end = out.find('\n', start)) != std::string::npos; start = end + 1)
      pushes.push_back(nlohmann::json::parse(out.substr(start, end - start)));
  }
  ASSERT_GE(pushes.size(), 2U) << client.stdout_text() << client.stderr_text();
  EXPECT_EQ(pushes[0]["service"], "echo");
  EXPECT_EQ(pushes[1]["service"], "echo");
  // Each push is a new read of the counters, taken on the one-second timer.
  EXPECT_GT(pushes[1]["total"]["connections_accepted"], pushes[0]["total"]["connections_accepted"]);
  EXPECT_GE(pushes[1]["process"]["time_seconds"].get<double>() -
                pushes[0]["process"]["time_seconds"].get<double>(),
            0.9);
  client.close_stdin();
  EXPECT_EQ(client.finish(20s).code, 0) << client.stderr_text();
}

TEST_F(MetricsDoor, LiveRefusesAnotherSitesPage) {
  Process evil = live_client(base_, {"--origin", "http://evil.example"});
  evil.close_stdin();
  EXPECT_NE(evil.finish(20s).code, 0);
  EXPECT_NE(evil.stderr_text().find("403"), std::string::npos) << evil.stderr_text();
}

TEST(MetricsWeb, AnEmptySourceIsACallersMistake) {
  http::HttpService door(http::HttpOptions{});
  EXPECT_THROW(http::add_metrics_web(door, {}), std::invalid_argument);
}

}  // namespace
}  // namespace sockit::test
