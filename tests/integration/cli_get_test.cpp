// `sockit get` against real HTTP servers that are not ours: Python's stock http.server
// serving a temporary directory (a small file, a 2 MiB file, a directory redirect, IPv6),
// and tests/peers/http_peer.py (http.server-based) for chunked bodies, redirects, lying
// lengths, garbage and stalls. Bad URLs and arguments need no server.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <regex>
#include <string>
#include <vector>

#include "sockit/tcp.hpp"
#include "support/process.hpp"
#include "support/require_tool.hpp"
#include "support/temp_dir.hpp"

namespace {

using namespace std::chrono_literals;
using sockit::test::binary;
using sockit::test::ExitStatus;
using sockit::test::have_tool;
using sockit::test::Process;
using sockit::test::source;

constexpr auto generous = 60s;

bool have_python_http_server() {
  if (!have_tool("python3")) return false;
  Process probe({"python3", "-c", "import http.server"});
  return probe.finish(generous).success();
}

#define REQUIRE_PYTHON()                                                             \
  do {                                                                               \
    if (!have_python_http_server()) SOCKIT_MISSING_TOOL("python3 with http.server"); \
  } while (0)

using sockit::test::TempDir;

void write_file(const std::filesystem::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  ASSERT_TRUE(out.good()) << path;
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// Bytes that differ all the way through, so a lost or repeated block is noticed.
std::string pattern_bytes(std::size_t n) {
  std::string bytes(n, '\0');
  std::uint32_t x = 2463534242U;
  for (auto& b : bytes) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    b = static_cast<char>(x & 0xff);
  }
  return bytes;
}

struct Run {
  ExitStatus status;
  std::string out;
  std::string err;
};

Run sockit_get(std::vector<std::string> args) {
  std::vector<std::string> argv = {binary("bin/sockit"), "get"};
  argv.insert(argv.end(), args.begin(), args.end());
  Process p(std::move(argv));
  Run run;
  run.status = p.finish(generous);
  run.out = p.stdout_text();
  run.err = p.stderr_text();
  return run;
}

// Python's own `python3 -m http.server`, serving `dir`.
struct StockServer {
  Process process;
  std::string origin;  // "http://127.0.0.1:PORT"
};

std::unique_ptr<StockServer> start_stock_server(const std::filesystem::path& dir,
                                                const std::string& host = "127.0.0.1") {
  // -u: the "Serving HTTP on HOST port N" line must not sit in a pipe buffer.
  auto server = std::make_unique<StockServer>(
      StockServer{Process({"python3", "-u", "-m", "http.server", "--bind", host, "0", "--directory",
                           dir.string()}),
                  {}});
  if (!server->process.wait_stdout(") ...", 30s)) return nullptr;
  std::smatch match;
  const std::string& text = server->process.stdout_text();
  if (!std::regex_search(text, match, std::regex("port ([0-9]+)"))) return nullptr;
  const std::string shown = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  server->origin = "http://" + shown + ":" + match[1].str();
  return server;
}

struct Peer {
  Process process;
  std::string origin;
};

Peer start_peer(const std::string& host = "127.0.0.1") {
  Peer peer{Process({"python3", "-u", source("tests/peers/http_peer.py"), "--host", host}), {}};
  const auto port = sockit::test::wait_listening_port(peer.process, 30s);
  EXPECT_TRUE(port) << peer.process.stderr_text();
  const std::string shown = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  peer.origin = "http://" + shown + ":" + std::to_string(port.value_or(1));
  return peer;
}

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// ---- Python's stock http.server ----

class StockServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    REQUIRE_PYTHON();
    small_ = "hello from http.server\n";
    big_ = pattern_bytes(2 * 1024 * 1024);
    write_file(dir_.path() / "small.txt", small_);
    write_file(dir_.path() / "big.bin", big_);
    std::filesystem::create_directory(dir_.path() / "sub");
    write_file(dir_.path() / "sub" / "index.html", "<p>sub</p>\n");
    server_ = start_stock_server(dir_.path());
    ASSERT_TRUE(server_) << "http.server did not start";
  }

  TempDir dir_;
  std::string small_, big_;
  std::unique_ptr<StockServer> server_;
};

TEST_F(StockServerTest, SmallFileToStdout) {
  const auto run = sockit_get({server_->origin + "/small.txt"});
  EXPECT_TRUE(run.status.success()) << run.err;
  EXPECT_EQ(run.out, small_);
  EXPECT_EQ(run.err, "");
}

TEST_F(StockServerTest, BigFileToOutputFileIsByteExact) {
  const auto target = dir_.path() / "download.bin";
  const auto run = sockit_get({server_->origin + "/big.bin", "--output", target.string()});
  EXPECT_TRUE(run.status.success()) << run.err;
  EXPECT_EQ(run.out, "");
  EXPECT_EQ(run.err, "") << "no progress bar when stderr is not a terminal";
  const std::string got = read_file(target);
  EXPECT_EQ(got.size(), big_.size());
  EXPECT_TRUE(got == big_) << "downloaded bytes differ";
}

TEST_F(StockServerTest, ProgressBarOnATerminalReachesTheFullSizeThenIsErased) {
  SOCKIT_REQUIRE_TOOL("script");
  const auto target = dir_.path() / "download.bin";
  // script(1) runs the command on a pseudo-terminal and copies what it shows to stdout.
  const std::string command =
      binary("bin/sockit") + " get " + server_->origin + "/big.bin --output " + target.string();
  Process p({"script", "-qec", command, "/dev/null"});
  p.close_stdin();
  const ExitStatus status = p.finish(generous);
  EXPECT_TRUE(status.success()) << p.stdout_text() << p.stderr_text();
  const std::string shown = p.stdout_text();
  const std::string total = std::to_string(big_.size());
  EXPECT_NE(shown.find("\rget [" + std::string(30, '#') + "] " + total + "/" + total + " (100%)"),
            std::string::npos)
      << shown;
  // Erased when done: nothing of the bar is left after the last carriage return.
  const std::size_t last = shown.rfind('\r');
  ASSERT_NE(last, std::string::npos) << shown;
  EXPECT_EQ(shown.substr(last).find("get ["), std::string::npos) << shown;
  EXPECT_NE(shown.find("\r\x1b[K"), std::string::npos) << shown;
  EXPECT_TRUE(read_file(target) == big_) << "downloaded bytes differ";
}

TEST_F(StockServerTest, BigFileToStdout) {
  const auto run = sockit_get({server_->origin + "/big.bin"});
  EXPECT_TRUE(run.status.success()) << run.err;
  EXPECT_EQ(run.out.size(), big_.size());
  EXPECT_TRUE(run.out == big_);
}

TEST_F(StockServerTest, IncludePrintsStatusLineAndHeaders) {
  const auto run = sockit_get({"--include", server_->origin + "/small.txt"});
  EXPECT_TRUE(run.status.success()) << run.err;
  EXPECT_EQ(run.out.rfind("HTTP/1.0 200 OK\r\n", 0), 0U) << run.out;
  EXPECT_TRUE(contains(run.out, "\r\nContent-Length: " + std::to_string(small_.size()) + "\r\n"))
      << run.out;
  EXPECT_TRUE(contains(run.out, "\r\n\r\n" + small_)) << run.out;
}

TEST_F(StockServerTest, NotFoundPrintsBodyAndExitsOne) {
  const auto run = sockit_get({server_->origin + "/nope.txt"});
  ASSERT_TRUE(run.status.exited);
  EXPECT_EQ(run.status.code, 1);
  EXPECT_EQ(run.err, "sockit: get " + server_->origin + "/nope.txt: HTTP 404 File not found\n");
  EXPECT_TRUE(contains(run.out, "404")) << "the error page is still printed: " << run.out;
}

TEST_F(StockServerTest, DirectoryRedirectFollowedOnlyWithLocation) {
  auto run = sockit_get({server_->origin + "/sub"});
  EXPECT_EQ(run.status.code, 1);
  EXPECT_TRUE(
      contains(run.err, "HTTP 301 Moved Permanently (use --location to follow it to /sub/)"))
      << run.err;
  run = sockit_get({"--location", server_->origin + "/sub"});
  EXPECT_TRUE(run.status.success()) << run.err;
  EXPECT_EQ(run.out, "<p>sub</p>\n");
}

TEST(StockServerIpv6, Ipv6LiteralUrl) {
  REQUIRE_PYTHON();
  TempDir dir;
  write_file(dir.path() / "small.txt", "over IPv6\n");
  auto server = start_stock_server(dir.path(), "::1");
  if (!server) GTEST_SKIP() << "cannot serve on ::1 here (no IPv6 loopback?)";
  const auto run = sockit_get({server->origin + "/small.txt"});
  EXPECT_TRUE(run.status.success()) << run.err;
  EXPECT_EQ(run.out, "over IPv6\n");
}

// ---- tests/peers/http_peer.py ----

class PeerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    REQUIRE_PYTHON();
    peer_.emplace(start_peer());
    ASSERT_FALSE(HasFailure());
  }
  std::string url(const std::string& path) const { return peer_->origin + path; }

  std::optional<Peer> peer_;
};

TEST_F(PeerTest, ChunkedBodyWithExtensionsAndTrailer) {
  const auto run = sockit_get({"--include", url("/chunked")});
  EXPECT_TRUE(run.status.success()) << run.err;
  EXPECT_TRUE(contains(run.out, "Transfer-Encoding: chunked\r\n")) << run.out;
  EXPECT_TRUE(run.out.size() > 14 && run.out.substr(run.out.size() - 14) == "hello chunked\n")
      << run.out;
}

TEST_F(PeerTest, BigChunkedBodyIsByteExact) {
  TempDir dir;
  const auto target = dir.path() / "out.bin";
  const auto run = sockit_get({url("/big-chunked"), "-o", target.string()});
  EXPECT_TRUE(run.status.success()) << run.err;
  const std::string got = read_file(target);
  ASSERT_EQ(got.size(), 1024U * 1024U + 17U);
  for (std::size_t i = 0; i < got.size(); ++i) {
    ASSERT_EQ(static_cast<unsigned char>(got[i]), (i * 31 + 7) % 251) << "at byte " << i;
  }
}

TEST_F(PeerTest, BodyUntilConnectionCloses) {
  const auto run = sockit_get({url("/eof")});
  EXPECT_TRUE(run.status.success()) << run.err;
  EXPECT_EQ(run.out, "until the connection closes\n");
}

TEST_F(PeerTest, FollowsRelativeAbsoluteAndDotDotRedirects) {
  for (const char* path : {"/redirect/301", "/redirect/302-absolute", "/redirect/dir/relative"}) {
    SCOPED_TRACE(path);
    const auto run = sockit_get({"-L", url(path)});
    EXPECT_TRUE(run.status.success()) << run.err;
    EXPECT_EQ(run.out, "you made it\n");
  }
}

TEST_F(PeerTest, IncludeWithLocationShowsEveryHead) {
  const auto run = sockit_get({"-i", "-L", url("/redirect/301")});
  EXPECT_TRUE(run.status.success()) << run.err;
  EXPECT_EQ(run.out.rfind("HTTP/1.1 301 Moved Permanently\r\n", 0), 0U) << run.out;
  EXPECT_TRUE(contains(run.out, "\r\n\r\nHTTP/1.1 200 OK\r\n")) << run.out;
  EXPECT_FALSE(contains(run.out, "moved to")) << "a followed redirect's body is not printed";
}

TEST_F(PeerTest, RedirectToAnotherOriginDropsCredentials) {
  // localhost is another host than 127.0.0.1 (same server): a secret set for one must not
  // travel to the other; a harmless header does.
  const std::string port = peer_->origin.substr(peer_->origin.rfind(':') + 1);
  const std::string elsewhere = "http://localhost:" + port + "/headers";
  auto run = sockit_get({"-L", "-H", "Authorization: Bearer s3cret", "-H", "Cookie: session=abc",
                         "-H", "Proxy-Authorization: Basic eDp5", "-H", "X-Kept: yes",
                         url("/status/302?to=" + elsewhere)});
  EXPECT_TRUE(run.status.success()) << run.err;
  EXPECT_TRUE(contains(run.out, "Host: localhost:" + port + "\n")) << run.out;
  EXPECT_TRUE(contains(run.out, "X-Kept: yes\n")) << run.out;
  EXPECT_FALSE(contains(run.out, "s3cret")) << run.out;
  EXPECT_FALSE(contains(run.out, "session=abc")) << run.out;
  EXPECT_FALSE(contains(run.out, "Proxy-Authorization")) << run.out;
  // The same origin keeps them.
  run = sockit_get({"-L", "-H", "Authorization: Bearer s3cret", "-H", "Cookie: session=abc",
                    url("/status/302?to=/headers")});
  EXPECT_TRUE(run.status.success()) << run.err;
  EXPECT_TRUE(contains(run.out, "Authorization: Bearer s3cret\n")) << run.out;
  EXPECT_TRUE(contains(run.out, "Cookie: session=abc\n")) << run.out;
}

TEST_F(PeerTest, RedirectLoopIsBounded) {
  auto run = sockit_get({"-L", url("/loop")});
  EXPECT_EQ(run.status.code, 1);
  EXPECT_TRUE(
      contains(run.err, "sockit: get " + url("/loop") + ": too many redirects (more than 10)"))
      << run.err;
  run = sockit_get({"-L", "--max-redirs", "3", url("/chain/3")});
  EXPECT_TRUE(run.status.success()) << run.err;
  EXPECT_EQ(run.out, "end of chain\n");
  run = sockit_get({"-L", "--max-redirs", "2", url("/chain/3")});
  EXPECT_EQ(run.status.code, 1);
  EXPECT_TRUE(contains(run.err, "too many redirects (more than 2)")) << run.err;
}

TEST_F(PeerTest, LyingContentLengthFails) {
  const auto run = sockit_get({url("/lie")});
  EXPECT_EQ(run.status.code, 1);
  EXPECT_EQ(run.err,
            "sockit: get " + url("/lie") + ": connection closed after 10 of 100 body bytes\n");
  EXPECT_EQ(run.out, "0123456789") << "what did arrive is still written";
}

TEST_F(PeerTest, BytesBeyondContentLengthAreIgnoredWithAWarning) {
  const auto run = sockit_get({url("/extra")});
  EXPECT_TRUE(run.status.success()) << run.err;
  EXPECT_EQ(run.out, "abc");
  EXPECT_TRUE(contains(run.err, "warning: ignored 3 bytes after the 3-byte body")) << run.err;
}

TEST_F(PeerTest, GarbageInsteadOfAStatusLine) {
  const auto run = sockit_get({url("/garbage")});
  EXPECT_EQ(run.status.code, 1);
  EXPECT_EQ(run.err,
            "sockit: get " + url("/garbage") + ": malformed status line 'this is not http'\n");
  EXPECT_EQ(run.out, "");
}

TEST_F(PeerTest, NotFound) {
  const auto run = sockit_get({url("/missing")});
  EXPECT_EQ(run.status.code, 1);
  EXPECT_EQ(run.out, "no such thing\n");
  EXPECT_EQ(run.err, "sockit: get " + url("/missing") + ": HTTP 404 Not Found\n");
}

TEST_F(PeerTest, SendsTheExpectedRequestHeaders) {
  const auto run =
      sockit_get({"-H", "X-Test: yes", "--header", "Accept: text/plain", url("/headers")});
  EXPECT_TRUE(run.status.success()) << run.err;
  const std::string host = peer_->origin.substr(std::string("http://").size());
  EXPECT_TRUE(contains(run.out, "Host: " + host + "\n")) << run.out;
  EXPECT_TRUE(contains(run.out, "User-Agent: sockit/")) << run.out;
  EXPECT_TRUE(contains(run.out, "Connection: close\n")) << run.out;
  EXPECT_TRUE(contains(run.out, "Accept: text/plain\n")) << run.out;
  EXPECT_FALSE(contains(run.out, "Accept: */*")) << run.out;
  EXPECT_TRUE(contains(run.out, "X-Test: yes\n")) << run.out;
}

TEST_F(PeerTest, TimeoutStopsAStalledTransfer) {
  const auto run = sockit_get({"--timeout", "1", url("/slow")});
  EXPECT_EQ(run.status.code, 1);
  EXPECT_TRUE(contains(run.err, "sockit: get " + url("/slow") + ": ")) << run.err;
  EXPECT_TRUE(contains(run.err, "timed out")) << run.err;
  EXPECT_EQ(run.out, "12345");
}

TEST(PeerIpv6, ChunkedOverIpv6) {
  REQUIRE_PYTHON();
  Peer peer{Process({"python3", "-u", source("tests/peers/http_peer.py"), "--host", "::1"}), {}};
  const auto port = sockit::test::wait_listening_port(peer.process, 30s);
  if (!port) GTEST_SKIP() << "cannot serve on ::1 here: " << peer.process.stderr_text();
  const auto run = sockit_get({"http://[::1]:" + std::to_string(*port) + "/chunked"});
  EXPECT_TRUE(run.status.success()) << run.err;
  EXPECT_EQ(run.out, "hello chunked\n");
}

// ---- no server needed ----

TEST(GetArguments, MalformedUrlsAreUsageErrors) {
  auto run = sockit_get({"htp:/x"});
  EXPECT_EQ(run.status.code, 2);
  EXPECT_EQ(run.err,
            "sockit: get: parse url 'htp:/x': unsupported scheme 'htp' (expected http or https)\n");
  run = sockit_get({"http://127.0.0.1:70000/"});
  EXPECT_EQ(run.status.code, 2);
  EXPECT_EQ(run.err,
            "sockit: get: parse url 'http://127.0.0.1:70000/': port 70000 out of range "
            "(1-65535)\n");
  run = sockit_get({"http://[::1/"});
  EXPECT_EQ(run.status.code, 2);
  run = sockit_get({"-H", "no colon", "http://127.0.0.1:1/"});
  EXPECT_EQ(run.status.code, 2);
  EXPECT_EQ(run.err, "sockit: get: --header 'no colon': expected 'Name: value'\n");
  run = sockit_get({"--timeout", "soon", "http://127.0.0.1:1/"});
  EXPECT_EQ(run.status.code, 2);
  run = sockit_get({});
  EXPECT_EQ(run.status.code, 2);
}

TEST(GetArguments, RefusedConnection) {
  std::uint16_t port = 0;
  {
    sockit::TcpServer server("127.0.0.1", 0);
    port = server.port();
  }  // closed: nothing listens there now
  const std::string url = "http://127.0.0.1:" + std::to_string(port) + "/";
  const auto run = sockit_get({url});
  EXPECT_EQ(run.status.code, 1);
  EXPECT_TRUE(contains(run.err, "sockit: get " + url + ": connect 127.0.0.1:" +
                                    std::to_string(port) + ": Connection refused"))
      << run.err;
}

TEST(GetArguments, HttpsRefusedConnectionNamesTheUrlAndAddress) {
  std::uint16_t port = 0;
  {
    sockit::TcpServer server("127.0.0.1", 0);
    port = server.port();
  }
  const std::string url = "https://127.0.0.1:" + std::to_string(port) + "/";
  const auto run = sockit_get({url});
  EXPECT_EQ(run.status.code, 1);
  EXPECT_TRUE(contains(run.err, "sockit: get " + url + ": connect 127.0.0.1:" +
                                    std::to_string(port) + ": Connection refused"))
      << run.err;
}

}  // namespace
