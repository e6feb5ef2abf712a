// The examples (examples/*.cpp, one per seed program) driven by clients that are not ours:
// Ruby's own socket library running the seeds' client code (tests/peers/*.rb), nc and
// socat; and by our own example clients. Every server runs on port 0 or a fresh Unix path.
// sockit-test-labels: threaded
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <optional>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "sockit/address.hpp"
#include "sockit/tcp.hpp"
#include "support/process.hpp"
#include "support/require_tool.hpp"
#include "support/temp_dir.hpp"

namespace sockit::test {
namespace {

constexpr auto generous = std::chrono::seconds(30);

std::string example(std::string_view name) {
  return binary("bin/examples/" + std::string(name));
}
std::string peer(std::string_view script) {
  return source("tests/peers/" + std::string(script));
}

struct Finished {
  ExitStatus status;
  std::string out;
  std::string err;
};

// Runs a client to its end with stdin closed (or fed `input` first).
Finished run(std::vector<std::string> argv, std::string_view input = {}) {
  Process p(std::move(argv));
  if (!input.empty()) p.write_stdin(input);
  p.close_stdin();
  auto status = p.finish(generous);
  return {status, p.stdout_text(), p.stderr_text()};
}

std::string describe(const Finished& f) {
  std::ostringstream os;
  os << "exited=" << f.status.exited << " code=" << f.status.code << " signal=" << f.status.signal
     << "\nstdout: " << f.out << "\nstderr: " << f.err;
  return os.str();
}

// A server example on port 0; the port comes from its "listening on HOST:PORT" line.
struct TcpExample {
  Process process;
  std::uint16_t port = 0;
};

std::optional<TcpExample> start_tcp(std::string_view name, std::vector<std::string> extra = {}) {
  std::vector<std::string> argv{example(name), "--port", "0"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  TcpExample server{Process(std::move(argv))};
  auto port = wait_listening_port(server.process, generous);
  if (!port) return std::nullopt;
  server.port = *port;
  return server;
}

// `var` names a variable, so it cannot be parenthesized.
// NOLINTBEGIN(bugprone-macro-parentheses)
#define START_TCP(var, name)                                                      \
  auto var##_started = start_tcp(name);                                           \
  ASSERT_TRUE(var##_started.has_value()) << (name) << " did not report its port"; \
  auto& var = *var##_started
// NOLINTEND(bugprone-macro-parentheses)

#define REQUIRE_TOOL(tool) SOCKIT_REQUIRE_TOOL(tool)

using sockit::test::TempDir;

std::string port_text(std::uint16_t port) {
  return std::to_string(port);
}

// ---------------------------------------------------------------- hello (Interweb)

// What the seed's Socket.ip_address_list.detect(&:ipv4_private?) gives, or loopback.
std::string expected_hello_ip() {
  for (const auto& address : ip_address_list()) {
    if (address.is_ipv4() && address.is_private()) return address.ip();
  }
  return "127.0.0.1";
}

TEST(HelloServer, PrintsAnAddressOfThisMachineForClients) {
  START_TCP(server, "hello_server");
  ASSERT_TRUE(server.process.wait_stdout("\n", generous));
  static const std::regex line(R"(^Clients should connect to: (\d+\.\d+\.\d+\.\d+):(\d+)\n)");
  std::smatch m;
  const std::string out = server.process.stdout_text();
  ASSERT_TRUE(std::regex_search(out, m, line)) << out;
  EXPECT_EQ(m[1].str(), expected_hello_ip());
  EXPECT_EQ(m[2].str(), port_text(server.port));

  bool of_this_machine = m[1].str() == "127.0.0.1";
  for (const auto& address : ip_address_list()) {
    if (address.is_ipv4() && address.ip() == m[1].str()) of_this_machine = true;
  }
  EXPECT_TRUE(of_this_machine) << m[1].str();
  // Bound to every interface, as the seed's Addrinfo.tcp("0.0.0.0", 7777).
  EXPECT_NE(server.process.stderr_text().find("listening on 0.0.0.0:"), std::string::npos);
}

TEST(HelloServer, AnswersTheSeedsRubyClientAndTcpSocketRepeatedly) {
  REQUIRE_TOOL("ruby");
  START_TCP(server, "hello_server");
  // The seed's client.rb: Socket.new + connect(Addrinfo.tcp(ip, port)) + puts recv.gets.
  for (int i = 0; i < 3; ++i) {
    auto client = run({"ruby", peer("hello_client.rb"), "127.0.0.1", port_text(server.port)});
    ASSERT_TRUE(client.status.success()) << describe(client);
    EXPECT_EQ(client.out, "Hello, world!\n");
  }
  auto tcp_socket =
      run({"ruby", "-rsocket", "-e", "print TCPSocket.new('127.0.0.1', Integer(ARGV[0])).read",
           port_text(server.port)});
  ASSERT_TRUE(tcp_socket.status.success()) << describe(tcp_socket);
  // puts then close: exactly one line, then end of stream.
  EXPECT_EQ(tcp_socket.out, "Hello, world!\n");
}

TEST(HelloServer, AnswersNetcat) {
  REQUIRE_TOOL("nc");
  START_TCP(server, "hello_server");
  auto nc = run({"nc", "-N", "127.0.0.1", port_text(server.port)});
  ASSERT_TRUE(nc.status.success()) << describe(nc);
  EXPECT_EQ(nc.out, "Hello, world!\n");
}

TEST(HelloClient, PrintsWhatOurServerSays) {
  START_TCP(server, "hello_server");
  auto client = run({example("hello_client"), "127.0.0.1", port_text(server.port)});
  ASSERT_TRUE(client.status.success()) << describe(client);
  EXPECT_EQ(client.out, "Hello, world!\n");
}

TEST(HelloClient, ReportsARefusedConnectionNamingTheAddress) {
  // A port nobody listens on: bind one, read its number, close it.
  std::uint16_t port = 0;
  {
    TcpServer probe("127.0.0.1", 0);
    port = probe.port();
  }
  auto client = run({example("hello_client"), "127.0.0.1", port_text(port)});
  EXPECT_EQ(client.status.code, 1) << describe(client);
  EXPECT_NE(client.err.find("connect 127.0.0.1:" + port_text(port) + ": Connection refused"),
            std::string::npos)
      << client.err;
}

// ---------------------------------------------------------------- date-time (threads)

// Ruby's Time.now.to_s, e.g. "2026-11-25 23:36:57 +0000".
const std::regex ruby_time(R"(^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} [+-]\d{4}$)");

std::string first_line(const std::string& text) {
  return text.substr(0, text.find('\n'));
}

TEST(DatetimeServer, TheSeedsRubyClientReadsRubysTimeFormat) {
  REQUIRE_TOOL("ruby");
  START_TCP(server, "datetime_server");
  auto client = run({"ruby", peer("datetime_client.rb"), port_text(server.port)});
  ASSERT_TRUE(client.status.success()) << describe(client);
  EXPECT_TRUE(std::regex_match(first_line(client.out), ruby_time)) << client.out;
  EXPECT_EQ(client.out.size(), first_line(client.out).size() + 1) << client.out;

  // The seed's server prints "#{socket} connected" and "#{socket} closing" per client.
  EXPECT_TRUE(server.process.wait_stdout(" closing\n", generous));
  EXPECT_NE(server.process.stdout_text().find(" connected\n"), std::string::npos);
}

TEST(DatetimeServer, OurClientReadsRubysTimeFormat) {
  START_TCP(server, "datetime_server");
  for (int i = 0; i < 3; ++i) {
    auto client = run({example("datetime_client"), port_text(server.port)});
    ASSERT_TRUE(client.status.success()) << describe(client);
    EXPECT_TRUE(std::regex_match(first_line(client.out), ruby_time)) << client.out;
  }
}

TEST(DatetimeServer, ServesAClientWhileAnotherHoldsItsConnection) {
  REQUIRE_TOOL("ruby");
  START_TCP(server, "datetime_server");
  // A client that connects and never reads nor closes: the next one is still answered.
  const std::string idle_client =
      "s = TCPSocket.new('127.0.0.1', Integer(ARGV[0])); puts 'connected'; "
      "$stdout.flush; sleep 60";
  Process idle({"ruby", "-rsocket", "-e", idle_client, port_text(server.port)});
  ASSERT_TRUE(idle.wait_stdout("connected", generous));
  auto client = run({example("datetime_client"), port_text(server.port)});
  ASSERT_TRUE(client.status.success()) << describe(client);
  EXPECT_TRUE(std::regex_match(first_line(client.out), ruby_time)) << client.out;
}

// ---------------------------------------------------------------- echo servers

TEST(LineEchoServer, EchoesLinesToNetcat) {
  REQUIRE_TOOL("nc");
  START_TCP(server, "line_echo_server");
  auto nc = run({"nc", "-N", "127.0.0.1", port_text(server.port)}, "hello\nsecond line\n");
  ASSERT_TRUE(nc.status.success()) << describe(nc);
  EXPECT_EQ(nc.out, "hello\nsecond line\n");
  // The seed's log lines: "Client connected: ADDR" and "ADDR: line".
  EXPECT_TRUE(server.process.wait_stdout("127.0.0.1: second line\n", generous))
      << server.process.stdout_text();
  EXPECT_NE(
      server.process.stdout_text().find("Echo server listening on port " + port_text(server.port)),
      std::string::npos);
  EXPECT_NE(server.process.stdout_text().find("Client connected: 127.0.0.1"), std::string::npos);
}

TEST(SelectEchoServer, ThreeInterleavedRubyClients) {
  REQUIRE_TOOL("ruby");
  START_TCP(server, "select_echo_server");
  auto clients = run({"ruby", peer("select_echo_clients.rb"), port_text(server.port)});
  ASSERT_TRUE(clients.status.success()) << describe(clients);
  std::string expected;
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < 3; ++i) {
      expected += "Echo: client " + std::to_string(i) + " round " + std::to_string(round) + "\n";
    }
  }
  EXPECT_EQ(clients.out, expected);
}

TEST(SelectEchoServer, AnswersNetcatThatHalfClosesAtOnce) {
  REQUIRE_TOOL("nc");
  START_TCP(server, "select_echo_server");
  // nc -N sends its FIN right after the data: the replies must still arrive.
  auto nc = run({"nc", "-N", "127.0.0.1", port_text(server.port)}, "one\ntwo\n");
  ASSERT_TRUE(nc.status.success()) << describe(nc);
  EXPECT_EQ(nc.out, "Echo: one\nEcho: two\n");
}

// The seeds' async-gem echo: one coroutine per client on a CoroutineService.
TEST(AsyncEchoServer, AnswersNetcatLineByLine) {
  REQUIRE_TOOL("nc");
  START_TCP(server, "async_echo_server");
  auto nc = run({"nc", "-N", "127.0.0.1", port_text(server.port)}, "one\ntwo\r\nthree");
  ASSERT_TRUE(nc.status.success()) << describe(nc);
  EXPECT_EQ(nc.out, "Echo: one\nEcho: two\nEcho: three\n");
}

TEST(AsyncEchoServer, AnswersThreeInterleavedRubyClients) {
  REQUIRE_TOOL("ruby");
  START_TCP(server, "async_echo_server");
  auto clients = run({"ruby", peer("select_echo_clients.rb"), port_text(server.port)});
  ASSERT_TRUE(clients.status.success()) << describe(clients);
  std::string expected;
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < 3; ++i) {
      expected += "Echo: client " + std::to_string(i) + " round " + std::to_string(round) + "\n";
    }
  }
  EXPECT_EQ(clients.out, expected);
}

// The smallest forwarder, in front of the async echo: nc's EOF travels through it to the
// echo, whose answers and EOF travel back.
TEST(AsyncProxy, ForwardsNetcatToTheEchoAndBack) {
  REQUIRE_TOOL("nc");
  START_TCP(echo, "async_echo_server");
  auto proxy_started = start_tcp("async_proxy", {"127.0.0.1", port_text(echo.port)});
  ASSERT_TRUE(proxy_started.has_value()) << "async_proxy did not report its port";
  auto& proxy = *proxy_started;
  auto nc = run({"nc", "-N", "127.0.0.1", port_text(proxy.port)}, "one\ntwo\n");
  ASSERT_TRUE(nc.status.success()) << describe(nc);
  EXPECT_EQ(nc.out, "Echo: one\nEcho: two\n");
}

TEST(NonblockingAcceptServer, EchoesThenShutsDownCleanlyOnSigterm) {
  REQUIRE_TOOL("nc");
  START_TCP(server, "nonblocking_accept_server");
  // A client that stays connected across the shutdown.
  Process nc({"nc", "127.0.0.1", port_text(server.port)});
  nc.write_stdin("ping\n");
  ASSERT_TRUE(nc.wait_stdout("ping\n", generous)) << nc.stdout_text();

  server.process.signal(SIGTERM);
  auto status = server.process.finish(generous);
  EXPECT_TRUE(status.success()) << "code=" << status.code << " signal=" << status.signal << "\n"
                                << server.process.stderr_text();
  const auto& out = server.process.stdout_text();
  EXPECT_NE(out.find("Received TERM, shutting down..."), std::string::npos) << out;
  EXPECT_NE(out.find("Waiting for 1 client threads..."), std::string::npos) << out;
  EXPECT_NE(out.find("Shutdown complete\n"), std::string::npos) << out;
}

// ---------------------------------------------------------------- UDP

TEST(UdpServer, AnswersRubyUdpSocket) {
  REQUIRE_TOOL("ruby");
  START_TCP(server, "udp_server");
  auto client = run({"ruby", peer("udp_client.rb"), port_text(server.port), "hello udp"});
  ASSERT_TRUE(client.status.success()) << describe(client);
  EXPECT_EQ(client.out, "Received: hello udp\n");
}

TEST(UdpServer, AnswersNetcatInUdpMode) {
  REQUIRE_TOOL("nc");
  START_TCP(server, "udp_server");
  Process nc({"nc", "-u", "127.0.0.1", port_text(server.port)});
  nc.write_stdin("hello nc\n");
  EXPECT_TRUE(nc.wait_stdout("Received: hello nc\n", generous)) << nc.stdout_text();
}

// ---------------------------------------------------------------- Unix

// unix_server on a fresh path; waits for its "listening on PATH" line.
class UnixServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = dir_.file("app.sock");
    server_.emplace(std::vector<std::string>{example("unix_server"), "--path", path_});
    ASSERT_TRUE(server_->wait_stderr("listening on " + path_, generous)) << server_->stderr_text();
  }

  TempDir dir_;
  std::string path_;
  std::optional<Process> server_;
};

TEST_F(UnixServerTest, AnswersRubyUnixSocket) {
  REQUIRE_TOOL("ruby");
  auto ruby = run({"ruby", peer("unix_client.rb"), path_, "Hello"});
  ASSERT_TRUE(ruby.status.success()) << describe(ruby);
  EXPECT_EQ(ruby.out, "Processed: Hello\n");
}

TEST_F(UnixServerTest, AnswersSocat) {
  REQUIRE_TOOL("socat");
  auto socat = run({"socat", "-t", "20", "-", "UNIX-CONNECT:" + path_}, "from socat\n");
  ASSERT_TRUE(socat.status.success()) << describe(socat);
  EXPECT_EQ(socat.out, "Processed: from socat\n");
}

TEST_F(UnixServerTest, AnswersOurClientThenRemovesItsSocketOnSigterm) {
  auto ours = run({example("unix_client"), path_, "from us"});
  ASSERT_TRUE(ours.status.success()) << describe(ours);
  EXPECT_EQ(ours.out, "Processed: from us\n");
  ASSERT_TRUE(std::filesystem::exists(path_));

  server_->signal(SIGTERM);
  auto status = server_->finish(generous);
  EXPECT_TRUE(status.success()) << server_->stderr_text();
  EXPECT_FALSE(std::filesystem::exists(path_));
}

TEST(UnixServer, RefusesToReplaceAFileThatIsNotASocket) {
  TempDir dir;
  const auto path = dir.file("not-a-socket");
  { std::ofstream(path) << "precious"; }
  auto server = run({example("unix_server"), "--path", path});
  EXPECT_EQ(server.status.code, 1) << describe(server);
  EXPECT_NE(server.err.find(path), std::string::npos) << server.err;
  EXPECT_TRUE(std::filesystem::is_regular_file(path));
}

// ---------------------------------------------------------------- length-prefixed framing

TEST(LengthPrefix, OurClientAndServerPair) {
  START_TCP(server, "length_prefix_server");
  auto client = run({example("length_prefix_client"), "--port", port_text(server.port), "one",
                     "two words", std::string(100'000, 'z')});
  ASSERT_TRUE(client.status.success()) << describe(client);
  EXPECT_EQ(client.out, "one\ntwo words\n" + std::string(100'000, 'z') + "\n");
}

TEST(LengthPrefix, TheSeedsRubyHelpersTalkToOurServer) {
  REQUIRE_TOOL("ruby");
  START_TCP(server, "length_prefix_server");
  auto client = run({"ruby", peer("length_prefix_client.rb"), port_text(server.port), "alpha", "",
                     "with\nnewline"});
  ASSERT_TRUE(client.status.success()) << describe(client);
  EXPECT_EQ(client.out, "alpha\n\nwith\nnewline\n");
}

TEST(LengthPrefix, OurClientTalksToARubyServerUsingTheSeedsFraming) {
  REQUIRE_TOOL("ruby");
  // A server written with Ruby's socket library: [len].pack('N') framing, upper-cases.
  Process ruby({"ruby", "-rsocket", "-e", R"(
    server = TCPServer.new('127.0.0.1', 0)
    $stderr.puts "listening on 127.0.0.1:#{server.addr[1]}"
    client = server.accept
    while (header = client.read(4))
      message = client.read(header.unpack1('N'))
      reply = message.upcase
      client.write([reply.bytesize].pack('N') + reply)
    end
  )"});
  auto port = wait_listening_port(ruby, generous);
  ASSERT_TRUE(port.has_value()) << ruby.stderr_text();
  auto client = run({example("length_prefix_client"), "--port", port_text(*port), "shout", "it"});
  ASSERT_TRUE(client.status.success()) << describe(client);
  EXPECT_EQ(client.out, "SHOUT\nIT\n");
}

TEST(LengthPrefix, AHostileLengthClosesThatConnectionOnly) {
  REQUIRE_TOOL("ruby");
  START_TCP(server, "length_prefix_server");
  const std::string hostile_client =
      "s = TCPSocket.new('127.0.0.1', Integer(ARGV[0])); "
      "s.write([0xFFFFFFFF].pack('N')); p s.read";
  auto hostile = run({"ruby", "-rsocket", "-e", hostile_client, port_text(server.port)});
  ASSERT_TRUE(hostile.status.success()) << describe(hostile);
  EXPECT_EQ(hostile.out, "\"\"\n");  // closed without a reply
  EXPECT_TRUE(server.process.wait_stderr("frame too large", generous))
      << server.process.stderr_text();

  auto client = run({example("length_prefix_client"), "--port", port_text(server.port), "ok"});
  ASSERT_TRUE(client.status.success()) << describe(client);
  EXPECT_EQ(client.out, "ok\n");
}

// ---------------------------------------------------------------- bounded receiver

constexpr std::size_t mib = 1024 * 1024;

TEST(BoundedReceiver, AcceptsExactlyOneMebibyte) {
  REQUIRE_TOOL("ruby");
  START_TCP(server, "bounded_receiver");
  auto client =
      run({"ruby", peer("bounded_client.rb"), port_text(server.port), std::to_string(mib)});
  ASSERT_TRUE(client.status.success()) << describe(client);
  EXPECT_EQ(client.out, "OK 1048576 bytes\n");
}

TEST(BoundedReceiver, RejectsOneByteMoreWithTheSeedsMessage) {
  REQUIRE_TOOL("ruby");
  START_TCP(server, "bounded_receiver");
  auto client =
      run({"ruby", peer("bounded_client.rb"), port_text(server.port), std::to_string(mib + 1)});
  ASSERT_TRUE(client.status.success()) << describe(client);
  EXPECT_EQ(client.out, "ERROR Message exceeds maximum size of 1048576 bytes\n");
  EXPECT_TRUE(
      server.process.wait_stdout("Message exceeds maximum size of 1048576 bytes", generous));

  // The server goes on serving.
  auto next = run({"ruby", peer("bounded_client.rb"), port_text(server.port), "10"});
  ASSERT_TRUE(next.status.success()) << describe(next);
  EXPECT_EQ(next.out, "OK 10 bytes\n");
}

TEST(BoundedReceiver, RejectsAnEndlessLineFromNetcat) {
  REQUIRE_TOOL("nc");
  START_TCP(server, "bounded_receiver");
  // 2 MiB without a newline, then EOF.
  auto nc = run({"nc", "-N", "127.0.0.1", port_text(server.port)}, std::string(2 * mib, 'y'));
  ASSERT_TRUE(nc.status.success()) << describe(nc);
  EXPECT_EQ(nc.out, "ERROR Message exceeds maximum size of 1048576 bytes\n");
}

// ---------------------------------------------------------------- timeout socket

TEST(TimeoutSocket, TimesOutAgainstASilentServer) {
  // Listening, so the handshake completes, but never accepting nor writing.
  TcpServer silent("127.0.0.1", 0);
  const auto started = std::chrono::steady_clock::now();
  auto client =
      run({example("timeout_socket"), "127.0.0.1", port_text(silent.port()), "--timeout", "1"});
  const auto took = std::chrono::steady_clock::now() - started;
  EXPECT_TRUE(client.status.exited) << describe(client);  // ended by itself, not killed
  EXPECT_EQ(client.status.code, 1) << describe(client);
  EXPECT_NE(client.err.find("Read timeout after 1 seconds"), std::string::npos) << client.err;
  EXPECT_EQ(client.out, "");
  // Not a speed assertion: only that the timeout, not the test's guard, ended it.
  EXPECT_LT(took, generous);
}

TEST(TimeoutSocket, ReadsWhatAServerSendsBeforeItsDeadline) {
  START_TCP(server, "hello_server");
  auto client =
      run({example("timeout_socket"), "127.0.0.1", port_text(server.port), "--timeout", "20"});
  ASSERT_TRUE(client.status.success()) << describe(client);
  EXPECT_EQ(client.out, "Hello, world!\n");
}

}  // namespace
}  // namespace sockit::test
