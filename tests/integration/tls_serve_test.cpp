// `sockit serve --tls-cert --tls-key` on every architecture, against real TLS clients:
// openssl s_client, Ruby's OpenSSL (the seed's secure_connect), and our own TlsClient.
// Plaintext and garbage are closed and logged while the server keeps serving; greetings
// end with close_notify; a stalled handshake is cut by the idle timeout.
// sockit-test-labels: threaded
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "serve_fixture.hpp"
#include "sockit/tls.hpp"
#include "support/require_tool.hpp"
#include "tls_fixture.hpp"

namespace sockit::test {
namespace {

using namespace std::chrono_literals;

std::string peer_script(std::string_view name) {
  return source("tests/peers/" + std::string(name));
}

class TlsServe : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    SOCKIT_REQUIRE_TOOL("openssl");
    pair_ = sockit_cert(dir_, "localhost");
  }

  std::vector<std::string> tls_args(std::vector<std::string> extra = {}) const {
    std::vector<std::string> args{"--tls-cert", pair_.cert,  "--tls-key",
                                  pair_.key,    "--workers", "2"};
    for (auto& e : extra)
      args.push_back(std::move(e));
    return args;
  }

  // One line through openssl s_client, verifying the certificate and the name.
  void s_client_echo(std::uint16_t port, const std::string& line) {
    Process client({"openssl", "s_client", "-connect", "127.0.0.1:" + std::to_string(port),
                    "-CAfile", pair_.cert, "-verify_return_error", "-verify_hostname", "localhost",
                    "-brief"});
    client.write_stdin(line + "\n");
    EXPECT_TRUE(client.wait_stdout(line + "\n")) << client.stderr_text();
    client.close_stdin();  // s_client sends close_notify and exits
    auto status = client.finish(30s);
    EXPECT_TRUE(status.success()) << client.stderr_text();
    EXPECT_NE(client.stderr_text().find("Verification: OK"), std::string::npos)
        << client.stderr_text();
  }

  TlsTempDir dir_;
  CertPair pair_;
};

TEST_P(TlsServe, EchoesForRealClientsAndSurvivesPlaintext) {
  ServeProcess server("echo", GetParam(), tls_args());
  ASSERT_TRUE(server.ok());

  s_client_echo(server.port, "hello from s_client");

  // A plaintext HTTP client and a binary one: closed without an answer, each logged.
  {
    Client plain(server.port);
    plain.send("GET / HTTP/1.0\r\nHost: localhost\r\n\r\n");
    plain.read_to_eof();
    EXPECT_TRUE(plain.eof()) << "the server did not close a plaintext client";
    EXPECT_EQ(plain.received().find("HTTP"), std::string::npos);
  }
  EXPECT_TRUE(server.process->wait_stderr("tls handshake with 127.0.0.1:"))
      << server.process->stderr_text();
  {
    Client garbage(server.port);
    garbage.send(std::string("\x16\x03\x01\x00\x05hello-not-a-handshake", 26));
    garbage.read_to_eof();
    EXPECT_TRUE(garbage.eof()) << "the server did not close a garbage client";
  }

  // Still serving: Ruby's OpenSSL client, then ours.
  if (have_tool("ruby")) {
    Ran ruby = run({"ruby", peer_script("tls_client.rb"), "localhost", std::to_string(server.port),
                    pair_.cert, "one", "two"});
    ASSERT_TRUE(ruby.status.success()) << ruby.describe();
    EXPECT_NE(ruby.out.find("tls TLSv1."), std::string::npos) << ruby.out;
    EXPECT_NE(ruby.out.find("\none\ntwo\n"), std::string::npos) << ruby.out;
  } else if (in_ci()) {
    ADD_FAILURE() << "ruby is missing: CI expects scripts/install-deps.sh to install it";
  }
  auto context = TlsContext::client({pair_.cert, true, {}, {}});
  auto ours = TlsClient::connect("localhost", server.port, context, 20s);
  ours->stream().write_line("from TlsClient", 20s);
  EXPECT_EQ(ours->stream().read_line(1024, 20s), "from TlsClient");
  ours->stream().close_write();
  EXPECT_EQ(ours->stream().read_line(1024, 20s), std::nullopt);
  ours.reset();

  s_client_echo(server.port, "and s_client again");
  auto status = server.terminate();
  EXPECT_TRUE(status.success()) << server.process->stderr_text();
  const std::string& log = server.process->stderr_text();
  EXPECT_EQ(log.find("ERROR"), std::string::npos) << log;
}

TEST_P(TlsServe, GreetingEndsWithCloseNotify) {
  ServeProcess server("hello", GetParam(), tls_args());
  ASSERT_TRUE(server.ok());
  auto context = TlsContext::client({pair_.cert, true, {}, {}});
  for (int i = 0; i < 3; ++i) {
    auto client = TlsClient::connect("127.0.0.1", server.port, context, 20s);
    EXPECT_EQ(client->stream().read_line(1024, 20s), "Hello, world!");
    // A TCP close without close_notify would throw closed_without_notify here.
    EXPECT_EQ(client->stream().read_line(1024, 20s), std::nullopt);
  }
}

TEST_P(TlsServe, StalledHandshakeIsCutByTheIdleTimeout) {
  ServeProcess server("echo", GetParam(), tls_args({"--idle-timeout", "1"}));
  ASSERT_TRUE(server.ok());
  Client slow(server.port);
  slow.send(std::string("\x16\x03\x01\x02\x00\x01", 6));  // a ClientHello that never ends
  slow.read_to_eof(30s);
  EXPECT_TRUE(slow.eof()) << "a stalled handshake was not closed by the idle timeout";
  s_client_echo(server.port, "still here");
}

// A client that connects and never finishes its handshake (silent, or dripping a byte at a
// time so the idle timeout never passes) holds its connection slot only for the handshake
// timeout, on every architecture.
TEST_P(TlsServe, HandshakeTimeoutClosesSilentAndDrippingClients) {
  ServeProcess server("echo", GetParam(),
                      tls_args({"--idle-timeout", "300", "--handshake-timeout", "1"}));
  ASSERT_TRUE(server.ok());
  const auto start = std::chrono::steady_clock::now();
  Client silent(server.port);
  Client drip(server.port);
  const std::string hello("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11);
  for (std::size_t i = 0; i < hello.size() && !drip.eof(); ++i) {
    drip.send(hello.substr(i, 1));
    drip.read_to_eof(300ms);
  }
  drip.read_to_eof(10s);
  silent.read_to_eof(10s);
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_TRUE(drip.eof()) << "a dripping handshake outlived the handshake timeout";
  EXPECT_TRUE(silent.eof()) << "a silent client outlived the handshake timeout";
  EXPECT_LT(took, 8s) << "closed by something slower than the 1 s handshake timeout";
  EXPECT_GE(took, 900ms) << "closed before the handshake had its time";
  s_client_echo(server.port, "still here");
  server.terminate();
  EXPECT_NE(server.process->stderr_text().find("no handshake within 1000 ms"), std::string::npos)
      << server.process->stderr_text();
}

// The chat room sends to other connections through their Peer handles, from other threads:
// those sends must be encrypted in order too.
TEST_P(TlsServe, ChatRoomBroadcastsOverTls) {
  const std::string& arch = GetParam();
  if (arch == "serial" || arch == "fork" || arch == "prefork") {
    GTEST_SKIP() << arch << " cannot run a shared chat room";
  }
  ServeProcess server("chat", arch, tls_args());
  ASSERT_TRUE(server.ok());
  auto context = TlsContext::client({pair_.cert, true, {}, {}});
  auto alice = TlsClient::connect("localhost", server.port, context, 20s);
  alice->stream().write_line("alice", 20s);
  EXPECT_EQ(alice->stream().read_line(1024, 20s), "Welcome to the chat, alice");
  auto bob = TlsClient::connect("localhost", server.port, context, 20s);
  bob->stream().write_line("bob", 20s);
  EXPECT_EQ(bob->stream().read_line(1024, 20s), "Welcome to the chat, bob");
  EXPECT_EQ(alice->stream().read_line(1024, 20s), "bob joined the chat");
  for (int i = 0; i < 20; ++i) {
    bob->stream().write_line("line " + std::to_string(i), 20s);
  }
  for (int i = 0; i < 20; ++i) {
    EXPECT_EQ(alice->stream().read_line(1024, 20s), "bob: line " + std::to_string(i));
  }
  alice->stream().write_line("bye", 20s);
  EXPECT_EQ(bob->stream().read_line(1024, 20s), "alice: bye");
  alice.reset();
  bob.reset();
  // A sanitizer report in the server makes it exit non-zero.
  auto status = server.terminate();
  EXPECT_TRUE(status.success()) << server.process->stderr_text();
}

INSTANTIATE_TEST_SUITE_P(Architectures, TlsServe, ::testing::ValuesIn(all_architectures()),
                         arch_param_name);

TEST(TlsServeOptions, BadFilesAndHalfOptionsFailAtStartUp) {
  TlsTempDir dir;
  CertPair pair = sockit_cert(dir, "localhost");
  Ran missing = run({binary("bin/sockit"), "serve", "echo", "--port", "0", "--tls-cert",
                     dir.file("nope.crt"), "--tls-key", pair.key});
  EXPECT_EQ(missing.status.code, 1) << missing.describe();
  EXPECT_NE(missing.err.find("tls load certificate " + dir.file("nope.crt") +
                             ": No such file or directory"),
            std::string::npos)
      << missing.err;
  Ran half = run({binary("bin/sockit"), "serve", "echo", "--port", "0", "--tls-cert", pair.cert});
  EXPECT_EQ(half.status.code, 2) << half.describe();
  EXPECT_NE(half.err.find("--tls-cert and --tls-key go together"), std::string::npos) << half.err;
}

}  // namespace
}  // namespace sockit::test
