// The client subcommands against peers that are not ours: `sockit listen` with nc as the
// client, `sockit connect` against socat and nc -l (TCP, UDP, Unix), half-close semantics,
// `sockit time` against `sockit serve`, and resolve/ifaddrs output, text and --json.
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <regex>
#include <string>
#include <vector>

#include "cli_helpers.hpp"
#include "sockit/udp.hpp"
#include "support/process.hpp"
#include "support/require_tool.hpp"
#include "support/temp_dir.hpp"
#include "support/unresolvable.hpp"

namespace sockit::test {
namespace {

// A socat server on a free loopback port running `command` for its one connection. The
// port is found free first, so another process may win it: retried a few times.
std::unique_ptr<Process> start_socat_tcp(const std::string& command, std::uint16_t& port) {
  for (int attempt = 0; attempt < 5; ++attempt) {
    port = free_tcp_port();
    auto p = std::make_unique<Process>(std::vector<std::string>{
        "socat", "-d", "-d", "TCP-LISTEN:" + std::to_string(port) + ",bind=127.0.0.1,reuseaddr",
        "SYSTEM:" + command});
    if (p->wait_stderr("listening on", generous)) return p;
  }
  return nullptr;
}

using sockit::test::TempDir;

// --- listen, with nc as the client ---------------------------------------------------

TEST(CliListen, RelaysBothWaysWithNcAndExitsWhenItCloses) {
  SOCKIT_REQUIRE_TOOL("nc");
  Process listener({sockit_bin(), "listen", "0"});
  auto port = wait_listening_port(listener);
  ASSERT_TRUE(port) << listener.stderr_text();
  EXPECT_NE(listener.stderr_text().find("listening on 127.0.0.1:"), std::string::npos);

  // Step by step: like nc, listen exits as soon as its peer closes, so input it has not
  // read by then is not sent.
  Process client({"nc", "-N", "127.0.0.1", std::to_string(*port)});
  client.write_stdin("hello from nc\n");
  ASSERT_TRUE(listener.wait_stdout("hello from nc\n", generous)) << listener.stderr_text();
  listener.write_stdin("reply from sockit\n");
  listener.close_stdin();
  EXPECT_TRUE(client.wait_stdout("reply from sockit\n", generous)) << client.stderr_text();
  client.close_stdin();

  EXPECT_TRUE(client.finish(generous).success()) << client.stderr_text();
  auto status = listener.finish(generous);
  EXPECT_TRUE(status.success()) << listener.stderr_text();
  EXPECT_EQ(listener.stdout_text(), "hello from nc\n");
  EXPECT_EQ(client.stdout_text(), "reply from sockit\n");
}

TEST(CliListen, KeepOpenServesOneConnectionAfterAnother) {
  SOCKIT_REQUIRE_TOOL("nc");
  Process listener({sockit_bin(), "listen", "--keep-open", "0"});
  auto port = wait_listening_port(listener);
  ASSERT_TRUE(port) << listener.stderr_text();
  listener.close_stdin();

  for (std::string word : {"first", "second"}) {
    auto client = run({"nc", "-N", "127.0.0.1", std::to_string(*port)}, word + "\n");
    EXPECT_TRUE(client.status.success()) << describe(client);
    EXPECT_TRUE(listener.wait_stdout(word + "\n", generous)) << listener.stdout_text();
  }
  EXPECT_TRUE(listener.running()) << "--keep-open must outlive its connections";
  listener.signal(SIGTERM);
  listener.finish(generous);
  EXPECT_EQ(listener.stdout_text(), "first\nsecond\n");
}

TEST(CliListen, UdpTakesTheFirstSenderAsItsPeer) {
  SOCKIT_REQUIRE_TOOL("nc");
  Process listener({sockit_bin(), "listen", "--udp", "--wait", "1", "0"});
  auto port = wait_listening_port(listener);
  ASSERT_TRUE(port) << listener.stderr_text();

  Process client({"nc", "-u", "127.0.0.1", std::to_string(*port)});
  client.write_stdin("ping\n");
  ASSERT_TRUE(listener.wait_stdout("ping\n", generous)) << listener.stderr_text();
  listener.write_stdin("pong\n");
  EXPECT_TRUE(client.wait_stdout("pong\n", generous)) << client.stderr_text();

  // With stdin ended, --wait 1 lets it go after a second without datagrams.
  listener.close_stdin();
  auto status = listener.finish(generous);
  EXPECT_TRUE(status.success()) << listener.stderr_text();
}

TEST(CliListen, UnixSocketWithSocatClient) {
  SOCKIT_REQUIRE_TOOL("socat");
  TempDir dir;
  std::string path = dir.file("listen.sock");
  Process listener({sockit_bin(), "listen", "--unix", path});
  ASSERT_TRUE(listener.wait_stderr("listening on " + path, generous)) << listener.stderr_text();
  listener.write_stdin("from sockit\n");
  listener.close_stdin();

  auto client = run({"socat", "-", "UNIX-CONNECT:" + path}, "from socat\n");
  EXPECT_TRUE(client.status.success()) << describe(client);
  EXPECT_EQ(client.out, "from sockit\n");
  EXPECT_TRUE(listener.finish(generous).success()) << listener.stderr_text();
  EXPECT_EQ(listener.stdout_text(), "from socat\n");
}

TEST(CliListen, BadPortIsAUsageError) {
  auto r = run_sockit({"listen", "70000"});
  EXPECT_EQ(r.status.code, 2) << describe(r);
  EXPECT_EQ(r.err, "sockit: listen: port 70000 out of range (0-65535)\n");
}

// --- connect, against socat and nc -l -----------------------------------------------

TEST(CliConnect, HalfClosesOnStdinEofAndStillReadsTheReply) {
  SOCKIT_REQUIRE_TOOL("socat");
  std::uint16_t port = 0;
  // The peer answers only after it has seen our EOF: proof of the half-close.
  auto server = start_socat_tcp("cat; echo done", port);
  ASSERT_TRUE(server);
  auto r = run_sockit({"connect", "127.0.0.1", std::to_string(port)}, "abc\nxyz\n");
  EXPECT_TRUE(r.status.success()) << describe(r);
  EXPECT_EQ(r.out, "abc\nxyz\ndone\n");
  EXPECT_EQ(r.err, "");
}

TEST(CliConnect, CarriesAMegabyteOfBinaryBothWays) {
  SOCKIT_REQUIRE_TOOL("socat");
  TempDir dir;
  std::string input(1 << 20, '\0');
  std::uint32_t x = 12345;
  for (auto& c : input) {
    x = x * 1103515245u + 12345u;
    c = static_cast<char>(x >> 24);
  }
  std::string file = dir.file("input.bin");
  std::ofstream(file, std::ios::binary).write(input.data(), static_cast<long>(input.size()));

  std::uint16_t port = 0;
  auto server = start_socat_tcp("cat", port);
  ASSERT_TRUE(server);
  // stdin from a file, so the whole megabyte is there at once while the echo comes back.
  auto r = run({"sh", "-c",
                "exec \"$0\" connect --retries 2 127.0.0.1 " + std::to_string(port) + " < \"$1\"",
                sockit_bin(), file});
  EXPECT_TRUE(r.status.success()) << r.err;
  EXPECT_EQ(r.out.size(), input.size());
  EXPECT_TRUE(r.out == input) << "echoed bytes differ";
}

TEST(CliConnect, UdpWithNcListening) {
  SOCKIT_REQUIRE_TOOL("nc");
  std::unique_ptr<Process> server;
  std::uint16_t port = 0;
  for (int attempt = 0; attempt < 5 && !server; ++attempt) {
    port = free_udp_port();
    server = std::make_unique<Process>(
        std::vector<std::string>{"nc", "-v", "-u", "-l", "127.0.0.1", std::to_string(port)});
    if (!server->wait_stderr("Bound on", generous)) server.reset();
  }
  ASSERT_TRUE(server);

  Process client(
      {sockit_bin(), "connect", "--udp", "--wait", "1", "127.0.0.1", std::to_string(port)});
  client.write_stdin("ping\n");
  ASSERT_TRUE(server->wait_stdout("ping\n", generous)) << server->stderr_text();
  server->write_stdin("pong\n");
  EXPECT_TRUE(client.wait_stdout("pong\n", generous)) << client.stderr_text();
  client.close_stdin();
  auto status = client.finish(generous);
  EXPECT_TRUE(status.success()) << client.stderr_text();
}

TEST(CliConnect, UnixSocketAgainstSocat) {
  SOCKIT_REQUIRE_TOOL("socat");
  TempDir dir;
  std::string path = dir.file("peer.sock");
  Process server({"socat", "-d", "-d", "UNIX-LISTEN:" + path, "SYSTEM:cat; echo bye"});
  ASSERT_TRUE(server.wait_stderr("listening on", generous)) << server.stderr_text();
  auto r = run_sockit({"connect", "--unix", path}, "over unix\n");
  EXPECT_TRUE(r.status.success()) << describe(r);
  EXPECT_EQ(r.out, "over unix\nbye\n");
}

TEST(CliConnect, RefusedIsANetworkFailure) {
  std::uint16_t port = free_tcp_port();
  auto r = run_sockit({"connect", "--retries", "3", "127.0.0.1", std::to_string(port)});
  EXPECT_EQ(r.status.code, 1) << describe(r);
  EXPECT_EQ(r.err, "sockit: connect 127.0.0.1:" + std::to_string(port) + ": Connection refused\n");
}

TEST(CliConnect, UnresolvableHostIsANetworkFailure) {
  const std::string host = unresolvable_host;
  auto r = run_sockit({"connect", host, "80"});
  EXPECT_EQ(r.status.code, 1) << describe(r);
  EXPECT_EQ(r.err, "sockit: resolve " + host + ": Name or service not known\n");
}

TEST(CliConnect, BadArgumentsAreUsageErrors) {
  auto r = run_sockit({"connect", "127.0.0.1", "70000"});
  EXPECT_EQ(r.status.code, 2) << describe(r);
  EXPECT_EQ(r.err, "sockit: connect: port 70000 out of range (1-65535)\n");

  r = run_sockit({"connect", "127.0.0.1", "http"});
  EXPECT_EQ(r.status.code, 2) << describe(r);
  EXPECT_EQ(r.err, "sockit: connect: port 'http' is not a number\n");

  r = run_sockit({"connect", "127.0.0.1"});
  EXPECT_EQ(r.status.code, 2) << describe(r);

  r = run_sockit({"connect", "--no-such-flag", "127.0.0.1", "80"});
  EXPECT_EQ(r.status.code, 2) << describe(r);
  EXPECT_EQ(r.err.rfind("sockit: ", 0), 0u) << r.err;
}

// --- time -----------------------------------------------------------------------------

TEST(CliTime, ReadsTheDaytimeAnswerOverTcp) {
  Process server({sockit_bin(), "serve", "daytime", "--port", "0"});
  auto port = wait_listening_port(server);
  ASSERT_TRUE(port) << server.stderr_text();
  auto r = run_sockit({"time", "127.0.0.1", "--port", std::to_string(*port)});
  EXPECT_TRUE(r.status.success()) << describe(r);
  EXPECT_TRUE(std::regex_match(r.out, std::regex(R"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d{4}\n)")))
      << r.out;
}

TEST(CliTime, AsksTheUdpTimeServiceInEachFormat) {
  Process server({sockit_bin(), "serve", "time", "--port", "0"});
  auto port = wait_listening_port(server, std::chrono::seconds(10));
  ASSERT_TRUE(port) << server.stderr_text();
  const std::pair<const char*, const char*> cases[] = {
      {"time", R"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d{4}\n)"},
      {"timestamp", R"(\d{9,}\n)"},
      {"iso8601", R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d\n)"},
  };
  for (auto [format, pattern] : cases) {
    auto r = run_sockit(
        {"time", "127.0.0.1", "--udp", "--port", std::to_string(*port), "--format", format});
    EXPECT_TRUE(r.status.success()) << format << ": " << describe(r);
    EXPECT_TRUE(std::regex_match(r.out, std::regex(pattern))) << format << ": " << r.out;
  }
}

TEST(CliTime, UdpRetriesOnceThenFailsWhenNobodyAnswers) {
  // A socket that receives and never answers: the requests are counted.
  auto silent = UdpSocket::bound("127.0.0.1", 0);
  auto r = run_sockit({"time", "127.0.0.1", "--udp", "--port",
                       std::to_string(silent.local_address().port()), "--timeout", "0.3"});
  EXPECT_EQ(r.status.code, 1) << describe(r);
  EXPECT_NE(r.err.find("no answer within 0.3 s (2 attempts)"), std::string::npos) << r.err;
  int requests = 0;
  char buffer[64];
  while (silent.recv_from_nonblock(buffer))
    ++requests;
  EXPECT_EQ(requests, 2);
}

TEST(CliTime, FormatWithoutUdpIsAUsageError) {
  auto r = run_sockit({"time", "127.0.0.1", "--format", "iso8601"});
  EXPECT_EQ(r.status.code, 2) << describe(r);
  EXPECT_NE(r.err.find("--format needs --udp"), std::string::npos) << r.err;
}

// --- resolve and ifaddrs ------------------------------------------------------------------

TEST(CliResolve, LocalhostShowsTheLoopbackAddress) {
  auto r = run_sockit({"resolve", "localhost", "80"});
  ASSERT_TRUE(r.status.success()) << describe(r);
  EXPECT_NE(r.out.find("127.0.0.1:80"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("stream"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("dgram"), std::string::npos) << r.out;
}

TEST(CliResolve, JsonListsEveryResultWithFamilyAndType) {
  auto r = run_sockit({"resolve", "127.0.0.1", "--tcp", "--reverse", "--json"});
  ASSERT_TRUE(r.status.success()) << describe(r);
  auto doc = nlohmann::json::parse(r.out);
  EXPECT_EQ(doc["host"], "127.0.0.1");
  ASSERT_EQ(doc["addresses"].size(), 1u) << r.out;
  const auto& a = doc["addresses"][0];
  EXPECT_EQ(a["address"], "127.0.0.1");
  EXPECT_EQ(a["family"], "inet");
  EXPECT_EQ(a["socktype"], "stream");
  EXPECT_EQ(a["protocol"], "tcp");
  EXPECT_TRUE(a.contains("reverse"));
}

TEST(CliResolve, UnknownNameIsANetworkFailure) {
  const std::string host = unresolvable_host;
  auto r = run_sockit({"resolve", host});
  EXPECT_EQ(r.status.code, 1) << describe(r);
  EXPECT_EQ(r.err, "sockit: resolve " + host + ": Name or service not known\n");
}

TEST(CliIfaddrs, ShowsLoopbackWithItsAddress) {
  auto r = run_sockit({"ifaddrs"});
  ASSERT_TRUE(r.status.success()) << describe(r);
  EXPECT_TRUE(std::regex_search(r.out, std::regex(R"((^|\n)lo: index \d+ <[A-Z_,]*LOOPBACK)")))
      << r.out;
  EXPECT_NE(r.out.find("127.0.0.1 netmask 255.0.0.0 (loopback)"), std::string::npos) << r.out;
}

TEST(CliIfaddrs, JsonParsesAndMarksLoopback) {
  auto r = run_sockit({"ifaddrs", "--json"});
  ASSERT_TRUE(r.status.success()) << describe(r);
  auto doc = nlohmann::json::parse(r.out);
  ASSERT_TRUE(doc.is_array());
  bool found = false;
  for (const auto& iface : doc) {
    if (iface["name"] != "lo") continue;
    EXPECT_TRUE(iface["loopback"].get<bool>());
    for (const auto& a : iface["addresses"]) {
      if (a["address"] == "127.0.0.1") {
        found = true;
        EXPECT_TRUE(a["loopback"].get<bool>());
        EXPECT_FALSE(a["private"].get<bool>());
      }
    }
  }
  EXPECT_TRUE(found) << r.out;
}

// --- conventions --------------------------------------------------------------------------

TEST(CliConventions, EveryClientSubcommandHasHelpWithAnExample) {
  for (std::string command : {"connect", "listen", "time", "scan", "ifaddrs", "resolve"}) {
    auto r = run_sockit({command, "--help"});
    EXPECT_TRUE(r.status.success()) << command << ": " << describe(r);
    auto example = r.out.find("Example:\n");
    ASSERT_NE(example, std::string::npos) << command << ":\n" << r.out;
    EXPECT_NE(r.out.find("sockit " + command, example), std::string::npos) << command << ":\n"
                                                                           << r.out;
  }
}

}  // namespace
}  // namespace sockit::test
