// `sockit connect ws://` and `wss://`: against sockit's own echo endpoint (plain and over
// TLS, certificate verified) and against a server not written here (Python's websockets,
// tests/integration/websocket_server.py): lines out as text messages, messages back on
// lines, the server's pings answered while the client waits, the close handshake, and a
// server that refuses the upgrade, closes with 1008, sends a message over the limit or drops
// the connection ending the command with status 1 and the reason.
#include <gtest/gtest.h>

#include <chrono>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "integration/cli_helpers.hpp"
#include "integration/http_fixture.hpp"
#include "integration/tls_fixture.hpp"
#include "support/process.hpp"

namespace sockit::test {
namespace {

using namespace std::chrono_literals;

// The Python server, started once for the tests that use it.
class PythonServer {
 public:
  PythonServer()
      : process_({"/usr/bin/python3",
                  std::string(SOCKIT_SOURCE_DIR) + "/tests/integration/websocket_server.py"}) {
    if (process_.wait_stdout("\n", 20s)) {
      const std::string out = process_.stdout_text();
      if (out.rfind("missing", 0) != 0) port_ = std::stoi(out);
    }
  }
  ~PythonServer() {
    process_.signal(SIGKILL);
    process_.finish(10s);
  }
  std::string url(const std::string& path) const {
    return "ws://127.0.0.1:" + std::to_string(port_) + path;
  }
  bool ok() const { return port_ != 0; }
  std::string errors() const { return process_.stderr_text(); }

 private:
  Process process_;
  int port_ = 0;
};

TEST(ConnectWebSocket, LinesGoOutAsMessagesAndComeBackOnLines) {
  Site site;
  ServeProcess server("http", "reactor", {"--root", site.root(), "--quiet", "--ws-echo", "/echo"});
  ASSERT_TRUE(server.ok());
  const std::string url = "ws://127.0.0.1:" + std::to_string(server.port) + "/echo";
  // The last line has no newline: it is still one message, sent when stdin ends.
  Finished f = run_sockit({"connect", url}, "hello\nw\xc3\xb6rld\r\n\nlast");
  EXPECT_EQ(f.status.code, 0) << describe(f);
  EXPECT_EQ(f.out, "hello\nw\xc3\xb6rld\n\nlast\n");
}

TEST(ConnectWebSocket, WssVerifiesTheServerAndEchoes) {
  TlsTempDir dir;
  CertPair pair = sockit_cert(dir, "localhost");
  Site site;
  ServeProcess server("http", "pool",
                      {"--root", site.root(), "--quiet", "--ws-echo", "/echo", "--tls-cert",
                       pair.cert, "--tls-key", pair.key});
  ASSERT_TRUE(server.ok());
  const std::string url = "wss://localhost:" + std::to_string(server.port) + "/echo";
  Finished f = run_sockit({"connect", url, "--ca", pair.cert}, "over tls\n");
  EXPECT_EQ(f.status.code, 0) << describe(f);
  EXPECT_EQ(f.out, "over tls\n");
  // Without the CA the certificate is not trusted: nothing is sent.
  Finished untrusted = run_sockit({"connect", url}, "no\n");
  EXPECT_EQ(untrusted.status.code, 1) << describe(untrusted);
  EXPECT_EQ(untrusted.out, "");
}

TEST(ConnectWebSocket, RefusalsAndOversizedMessagesEndWithTheReason) {
  Site site;
  ServeProcess server(
      "http", "reactor",
      {"--root", site.root(), "--quiet", "--ws-echo", "/echo", "--ws-max-message", "1000"});
  ASSERT_TRUE(server.ok());
  const std::string base = "ws://127.0.0.1:" + std::to_string(server.port);
  Finished missing = run_sockit({"connect", base + "/elsewhere"}, "x\n");
  EXPECT_EQ(missing.status.code, 1);
  EXPECT_NE(missing.err.find("refused the WebSocket upgrade: 404"), std::string::npos)
      << describe(missing);
  Finished big = run_sockit({"connect", base + "/echo"}, std::string(5000, 'a') + "\n");
  EXPECT_EQ(big.status.code, 1);
  EXPECT_NE(big.err.find("the server closed with 1009"), std::string::npos) << describe(big);
  Finished bad = run_sockit({"connect", base + "/echo", "--udp"}, "");
  EXPECT_EQ(bad.status.code, 2) << describe(bad);
}

class ConnectWebSocketToPython : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!python_.ok()) GTEST_SKIP() << "python3-websockets missing: " << python_.errors();
  }
  PythonServer python_;
};

TEST_F(ConnectWebSocketToPython, PingsAreAnsweredWhileTheClientWaits) {
  Process client({sockit_bin(), "connect", python_.url("/echo")});
  client.write_stdin("first\n");
  ASSERT_TRUE(client.wait_stdout("echo: first\n", 20s)) << client.stderr_text();
  // The server pings every 100 ms and gives up on a silent client after 2 s.
  std::this_thread::sleep_for(3s);
  client.write_stdin("second\n");
  EXPECT_TRUE(client.wait_stdout("echo: second\n", 20s)) << client.stderr_text();
  client.close_stdin();
  const ExitStatus status = client.finish(20s);
  EXPECT_TRUE(status.success()) << client.stderr_text();
  EXPECT_EQ(client.stdout_text(), "echo: first\necho: second\n");
}

TEST_F(ConnectWebSocketToPython, ACloseWithAnotherCodeFailsWithItsReason) {
  Finished f = run_sockit({"connect", python_.url("/policy")}, "");
  EXPECT_EQ(f.status.code, 1);
  EXPECT_NE(f.err.find("closed with 1008: policy says no"), std::string::npos) << describe(f);
}

TEST_F(ConnectWebSocketToPython, ADroppedConnectionIsReportedAs1006) {
  Finished f = run_sockit({"connect", python_.url("/drop")}, "");
  EXPECT_EQ(f.status.code, 1);
  EXPECT_NE(f.err.find("closed without a close frame (1006)"), std::string::npos) << describe(f);
}

}  // namespace
}  // namespace sockit::test
