// `sockit serve ... --metrics HOST:PORT` on a running server: what clients did shows in
// /metrics (read with curl, checked by Prometheus's promtool) and in /stats with the same
// totals, /live pushes, TLS handshakes are counted, on every architecture (fork and prefork
// count in shared memory) connections and bytes are, and the option's mistakes are usage errors.
// sockit-test-labels: threaded
#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "integration/cli_helpers.hpp"
#include "integration/serve_fixture.hpp"
#include "integration/tls_fixture.hpp"
#include "sockit/tls.hpp"
#include "support/require_tool.hpp"

namespace sockit::test {
namespace {

using namespace std::chrono_literals;

// The door's port, from the "metrics on http://127.0.0.1:PORT/" line.
std::optional<std::uint16_t> metrics_port(const Process& server) {
  std::smatch m;
  const std::string& err = server.stderr_text();
  static const std::regex line("metrics on http://127\\.0\\.0\\.1:([0-9]+)/");
  if (!std::regex_search(err, m, line)) return std::nullopt;
  return static_cast<std::uint16_t>(std::stoi(m[1]));
}

// GET /stats over a connection of our own, parsed.
nlohmann::json stats(std::uint16_t port) {
  Client http(port);
  http.send("GET /stats HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
  const std::string reply = http.read_to_eof();
  const auto blank = reply.find("\r\n\r\n");
  if (reply.rfind("HTTP/1.1 200", 0) != 0 || blank == std::string::npos) {
    ADD_FAILURE() << "GET /stats: " << reply;
    return {};
  }
  return nlohmann::json::parse(reply.substr(blank + 4));
}

// Reads /stats until `done` holds for it (the server counts a close after the client's
// close reaches it), or 20 seconds; the last read.
template <typename Done>
nlohmann::json stats_when(std::uint16_t port, Done done) {
  const Deadline deadline(20s);
  for (;;) {
    nlohmann::json got = stats(port);
    if (got.is_null() || done(got) || deadline.expired()) return got;
    std::this_thread::sleep_for(20ms);
  }
}

// The sum over its series of each sample name in a Prometheus text (labels ignored).
std::map<std::string, double> sums(const std::string& text) {
  std::map<std::string, double> result;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    const auto name_end = line.find_first_of("{ ");
    const auto value_at = line.rfind(' ');
    result[line.substr(0, name_end)] += std::stod(line.substr(value_at + 1));
  }
  return result;
}

TEST(MetricsServe, EchoCountsWhatItServedInEveryForm) {
  ServeProcess server("echo", "reactor", {"--metrics", "127.0.0.1:0"});
  ASSERT_TRUE(server.ok());
  const auto door = metrics_port(*server.process);
  ASSERT_TRUE(door) << server.process->stderr_text();
  // The door says where it is before the main server's listening line.
  EXPECT_LT(server.process->stderr_text().find("metrics on http://"),
            server.process->stderr_text().find("listening on"));

  constexpr int connections = 5;
  const std::string line = "hello\n";
  for (int i = 0; i < connections; ++i) {
    Client client(server.port);
    for (int n = 0; n < 3; ++n) {
      const std::size_t from = client.received().size();
      client.send(line);
      client.read_at_least(from + line.size(), 20s);
    }
    EXPECT_EQ(client.received(), line + line + line);
  }
  const nlohmann::json after = stats_when(*door, [&](const nlohmann::json& s) {
    return s["open"] == 0 && s["total"]["connections_closed"]["eof"] == connections;
  });
  const auto& total = after["total"];
  EXPECT_EQ(after["service"], "echo");
  EXPECT_EQ(after["architecture"], "reactor");
  EXPECT_EQ(total["connections_accepted"], connections) << after.dump();
  EXPECT_EQ(total["connections_closed"]["eof"], connections) << after.dump();
  EXPECT_EQ(total["received_bytes"], connections * 3 * line.size()) << after.dump();
  EXPECT_EQ(total["sent_bytes"], connections * 3 * line.size()) << after.dump();
  EXPECT_GE(total["messages_received"].get<int>(), connections) << after.dump();
  EXPECT_GE(total["messages_sent"].get<int>(), connections) << after.dump();

  SOCKIT_REQUIRE_TOOL("curl");
  const std::string base = "http://127.0.0.1:" + std::to_string(*door);
  const Finished metrics = run({"curl", "-sS", "--fail", base + "/metrics"});
  ASSERT_EQ(metrics.status.code, 0) << metrics.describe();
  const auto sum = sums(metrics.out);
  EXPECT_EQ(sum.at("sockit_connections_open"), 0);
  EXPECT_EQ(sum.at("sockit_connections_accepted_total"), connections) << metrics.out;
  EXPECT_EQ(sum.at("sockit_received_bytes_total"), total["received_bytes"].get<double>());
  EXPECT_EQ(sum.at("sockit_sent_bytes_total"), total["sent_bytes"].get<double>());
  EXPECT_EQ(sum.at("sockit_messages_received_total"), total["messages_received"].get<double>());
  EXPECT_EQ(sum.at("sockit_messages_sent_total"), total["messages_sent"].get<double>());
  EXPECT_NE(metrics.out.find("sockit_info{service=\"echo\",architecture=\"reactor\"} 1\n"),
            std::string::npos)
      << metrics.out;
  EXPECT_GT(sum.at("process_resident_memory_bytes"), 0);
  EXPECT_GT(sum.at("process_open_fds"), 0);

  SOCKIT_REQUIRE_TOOL("promtool");
  const Finished check = run({"promtool", "check", "metrics"}, metrics.out);
  EXPECT_EQ(check.status.code, 0) << check.describe() << "\n" << metrics.out;
  EXPECT_EQ(check.out + check.err, "") << metrics.out;

  // The page's WebSocket: a push at once and another a second later.
  Process live({sockit_bin(), "connect", "ws://127.0.0.1:" + std::to_string(*door) + "/live"});
  EXPECT_TRUE(live.wait_stdout("\"service\":\"echo\"", 20s)) << live.stderr_text();
  const std::size_t first = live.stdout_text().find('\n');
  ASSERT_NE(first, std::string::npos);
  const Deadline deadline(20s);
  while (live.stdout_text().find('\n', first + 1) == std::string::npos && !deadline.expired())
    live.pump(1s);
  const std::string& pushed = live.stdout_text();
  const auto second =
      nlohmann::json::parse(pushed.substr(first + 1, pushed.find('\n', first + 1) - first - 1));
  EXPECT_EQ(second["total"]["connections_accepted"], connections) << pushed;
  live.close_stdin();
  EXPECT_EQ(live.finish(20s).code, 0) << live.stderr_text();

  EXPECT_EQ(server.terminate().code, 0) << server.process->stderr_text();
}

// With TLS on the main server (the door itself stays plain HTTP): handshakes that finish
// and handshakes that fail are counted.
TEST(MetricsServe, TlsHandshakesAndFailuresAreCounted) {
  TlsTempDir dir;
  const CertPair pair = sockit_cert(dir, "localhost");
  ServeProcess server("hello", "reactor",
                      {"--tls-cert", pair.cert, "--tls-key", pair.key, "--metrics", "0"});
  ASSERT_TRUE(server.ok());
  const auto door = metrics_port(*server.process);
  ASSERT_TRUE(door) << server.process->stderr_text();
  {
    auto context = TlsContext::client({pair.cert, true, {}, {}});
    auto client = TlsClient::connect("127.0.0.1", server.port, context, 20s);
    EXPECT_EQ(client->stream().read_line(1024, 20s), "Hello, world!");
  }
  {
    Client plain(server.port);
    plain.send("GET / HTTP/1.0\r\n\r\n");
    plain.read_to_eof();
  }
  const nlohmann::json after = stats_when(*door, [](const nlohmann::json& s) {
    return s["total"]["tls_handshakes"] == 1 && s["total"]["tls_handshake_failures"] == 1;
  });
  EXPECT_EQ(after["total"]["tls_handshakes"], 1) << after.dump();
  EXPECT_EQ(after["total"]["tls_handshake_failures"], 1) << after.dump();
  EXPECT_EQ(after["total"]["connections_accepted"], 2) << after.dump();
  EXPECT_EQ(server.terminate().code, 0) << server.process->stderr_text();
}

class MetricsArchitectures : public ::testing::TestWithParam<std::string> {};

TEST_P(MetricsArchitectures, ConnectionsAndBytesAreCounted) {
  ServeProcess server("echo", GetParam(), {"--metrics", ":0", "--workers", "2"});
  ASSERT_TRUE(server.ok());
  const auto door = metrics_port(*server.process);
  ASSERT_TRUE(door) << server.process->stderr_text();
  constexpr int connections = 3;
  for (int i = 0; i < connections; ++i) {
    Client client(server.port);
    client.send("x\n");
    EXPECT_EQ(client.read_at_least(2, 20s), "x\n");
  }
  // Each connection closes after its peer's EOF, having carried "x\n" each way.
  const nlohmann::json after = stats_when(*door, [&](const nlohmann::json& s) {
    return s["total"]["connections_closed"]["eof"] == connections && s["open"] == 0;
  });
  const auto& total = after["total"];
  EXPECT_EQ(after["architecture"], GetParam());
  EXPECT_EQ(total["connections_accepted"], connections) << after.dump();
  EXPECT_EQ(total["connections_closed"]["eof"], connections) << after.dump();
  EXPECT_EQ(after["open"], 0) << after.dump();
  EXPECT_EQ(total["received_bytes"], 2 * connections) << after.dump();
  EXPECT_EQ(total["sent_bytes"], 2 * connections) << after.dump();
  EXPECT_FALSE(after["workers"].empty()) << after.dump();
  EXPECT_EQ(server.terminate().code, 0) << server.process->stderr_text();
}

INSTANTIATE_TEST_SUITE_P(Archs, MetricsArchitectures, ::testing::ValuesIn(all_architectures()),
                         arch_param_name);

TEST(MetricsServe, RefusesSigusr2Restarts) {
  ServeProcess server("echo", "reactor", {"--metrics", "0"});
  ASSERT_TRUE(server.ok());
  server.process->signal(SIGUSR2);
  EXPECT_TRUE(
      server.process->wait_stderr("restart: refused: --metrics serves a second listener", 20s))
      << server.process->stderr_text();
  Client client(server.port);
  client.send("still\n");
  EXPECT_EQ(client.read_at_least(6, 20s), "still\n");
  EXPECT_EQ(server.terminate().code, 0) << server.process->stderr_text();
}

TEST(MetricsServe, MalformedAddressesAndUdpAreUsageErrors) {
  const std::vector<std::pair<std::string, std::string>> cases{
      {"localhost:99999", "out of range"},
      {"127.0.0.1:http", "not a number"},
      {"::1:9100", "in brackets"},
      {"[::1:9100", "not HOST:PORT"},
  };
  for (const auto& [address, said] : cases) {
    const Finished f = run_sockit({"serve", "echo", "--port", "0", "--metrics", address});
    EXPECT_EQ(f.status.code, 2) << address << ": " << f.describe();
    EXPECT_NE(f.err.find("--metrics"), std::string::npos) << address << ": " << f.err;
    EXPECT_NE(f.err.find(said), std::string::npos) << address << ": " << f.err;
  }
  const Finished udp = run_sockit({"serve", "time", "--port", "0", "--metrics", "0"});
  EXPECT_EQ(udp.status.code, 2) << udp.describe();
  EXPECT_NE(udp.err.find("--metrics is for TCP services"), std::string::npos) << udp.err;
}

}  // namespace
}  // namespace sockit::test
