// `sockit serve --proxy-protocol` on every architecture: the echo service answers what
// follows a header and logs the client the header names; garbage before any header, and a
// header that never completes, are closed with a log line. Over TLS (once): the header
// comes first, then the handshake, as HAProxy sends it to a TLS backend.
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "serve_fixture.hpp"
#include "sockit/proxy_protocol.hpp"
#include "support/require_tool.hpp"
#include "tls_fixture.hpp"

namespace sockit::test {
namespace {

using namespace std::chrono_literals;

const Address kClient = Address::parse("203.0.113.7", 5555);
const Address kFrontend = Address::parse("198.51.100.1", 7777);

class ProxyProtocolServe : public ::testing::TestWithParam<std::string> {};

TEST_P(ProxyProtocolServe, AnswersWhatFollowsTheHeaderAndLogsTheClient) {
  ServeProcess server("echo", GetParam(), {"--proxy-protocol"});
  ASSERT_TRUE(server.ok());
  for (const std::string& header :
       {proxy_header_v1(kClient, kFrontend), proxy_header_v2(kClient, kFrontend)}) {
    Client client(server.port);
    client.send(header + "first\n");
    EXPECT_EQ(client.read_until("first\n"), "first\n");
    client.send("second\n");
    EXPECT_EQ(client.read_until("second\n"), "first\nsecond\n");
  }
  EXPECT_TRUE(server.process->wait_stderr("proxied connection from 203.0.113.7:5555 via", 10s))
      << server.process->stderr_text();
}

TEST_P(ProxyProtocolServe, GarbageAndALateHeaderAreClosedWithALogLine) {
  ServeProcess server("echo", GetParam(), {"--proxy-protocol", "--handshake-timeout", "0.5"});
  ASSERT_TRUE(server.ok());
  Client garbage(server.port);
  garbage.send("hello\n");
  EXPECT_EQ(garbage.read_to_eof(20s), "");
  EXPECT_TRUE(garbage.eof());
  EXPECT_TRUE(server.process->wait_stderr(": not a PROXY protocol header", 10s))
      << server.process->stderr_text();
  const auto start = std::chrono::steady_clock::now();
  Client slow(server.port);
  slow.send("PROXY TCP4 203.0.113.7 ");
  EXPECT_EQ(slow.read_to_eof(20s), "");
  EXPECT_TRUE(slow.eof());
  EXPECT_GE(std::chrono::steady_clock::now() - start, 450ms) << "closed before its deadline";
  EXPECT_TRUE(server.process->wait_stderr("no PROXY header within 500 ms", 10s))
      << server.process->stderr_text();
}

INSTANTIATE_TEST_SUITE_P(Architectures, ProxyProtocolServe,
                         ::testing::ValuesIn(all_architectures()), arch_param_name);

TEST(ProxyProtocolServeTls, TheHeaderComesBeforeTheHandshake) {
  SOCKIT_REQUIRE_TOOL("/usr/bin/python3");
  TlsTempDir dir;
  const CertPair pair = sockit_cert(dir, "localhost");
  ServeProcess server("echo", "reactor",
                      {"--proxy-protocol", "--tls-cert", pair.cert, "--tls-key", pair.key});
  ASSERT_TRUE(server.ok());
  const std::string script =
      "import socket, ssl, sys\n"
      "s = socket.create_connection(('127.0.0.1', int(sys.argv[1])), timeout=20)\n"
      "s.sendall(b'PROXY TCP4 203.0.113.7 198.51.100.1 5555 443\\r\\n')\n"
      "ctx = ssl.create_default_context(cafile=sys.argv[2])\n"
      "t = ctx.wrap_socket(s, server_hostname='localhost')\n"
      "t.sendall(b'secure\\n')\n"
      "print(t.recv(100).decode(), end='')\n";
  Ran ran = run({"/usr/bin/python3", "-c", script, std::to_string(server.port), pair.cert});
  EXPECT_TRUE(ran.status.success()) << ran.describe();
  EXPECT_EQ(ran.out, "secure\n") << ran.describe();
  EXPECT_TRUE(server.process->wait_stderr("proxied connection from 203.0.113.7:5555", 10s))
      << server.process->stderr_text();
}

}  // namespace
}  // namespace sockit::test
