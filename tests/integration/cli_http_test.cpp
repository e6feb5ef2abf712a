// `sockit http` against servers that are not ours: tests/peers/http_peer.py (Python's
// http.server: an echo of the request, redirects with every status, connection numbers to
// prove keep-alive reuse, a connection that closes, HTTP/1.0) and nginx (keep-alive reuse
// seen through its $connection variable, and an https -> http redirect refused).
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <regex>
#include <string>
#include <vector>

#include "sockit/error.hpp"
#include "sockit/socket.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"
#include "tls_fixture.hpp"

namespace {

using namespace std::chrono_literals;
using sockit::test::binary;
using sockit::test::ExitStatus;
using sockit::test::have_tool;
using sockit::test::Process;
using sockit::test::source;

struct Run {
  ExitStatus status;
  std::string out;
  std::string err;
};

Run sockit_http(std::vector<std::string> args, const std::string& command = "http") {
  std::vector<std::string> argv = {binary("bin/sockit"), command};
  argv.insert(argv.end(), args.begin(), args.end());
  Process p(std::move(argv));
  p.close_stdin();
  Run run;
  run.status = p.finish(60s);
  run.out = p.stdout_text();
  run.err = p.stderr_text();
  return run;
}

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

std::size_t count(const std::string& haystack, const std::string& needle) {
  std::size_t n = 0;
  for (auto at = haystack.find(needle); at != std::string::npos;
       at = haystack.find(needle, at + 1)) {
    ++n;
  }
  return n;
}

// ---- tests/peers/http_peer.py, one for the whole suite ----

class HttpPeerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (::access("/usr/bin/python3", X_OK) != 0) return;
    peer_ = new Process({"/usr/bin/python3", "-u", source("tests/peers/http_peer.py")});
    const auto port = sockit::test::wait_listening_port(*peer_, 30s);
    if (port) origin_ = "127.0.0.1:" + std::to_string(*port);
  }
  static void TearDownTestSuite() {
    delete peer_;
    peer_ = nullptr;
  }
  void SetUp() override {
    if (::access("/usr/bin/python3", X_OK) != 0)
      GTEST_SKIP() << "/usr/bin/python3 is not installed";
    ASSERT_FALSE(origin_.empty()) << peer_->stderr_text();
  }
  static std::string url(const std::string& path) { return "http://" + origin_ + path; }

  static Process* peer_;
  static std::string origin_;
};

Process* HttpPeerTest::peer_ = nullptr;
std::string HttpPeerTest::origin_;

TEST_F(HttpPeerTest, SendsAnyMethodWithABody) {
  auto run = sockit_http({"PUT", url("/echo"), "-d", "hello", "-H", "X-A: 1"});
  EXPECT_TRUE(run.status.success()) << run.err;
  EXPECT_TRUE(contains(run.out, R"("method": "PUT")")) << run.out;
  EXPECT_TRUE(contains(run.out, R"("body": "hello")")) << run.out;
  EXPECT_TRUE(contains(run.out, R"(["X-A", "1"])")) << run.out;
  EXPECT_TRUE(contains(run.out, R"(["Content-Length", "5"])")) << run.out;
  run = sockit_http({"-X", "DELETE", url("/echo")});
  EXPECT_TRUE(run.status.success()) << run.err;
  EXPECT_TRUE(contains(run.out, R"("method": "DELETE")")) << run.out;
  EXPECT_FALSE(contains(run.out, "Content-Length")) << run.out;
}

TEST_F(HttpPeerTest, DataAndJsonPostByDefault) {
  sockit::test::TempDir dir;
  const auto file = dir.path() / "body.json";
  std::ofstream(file) << R"({"from": "file"})";
  auto run = sockit_http({url("/echo"), "--json", "@" + file.string()});
  EXPECT_TRUE(run.status.success()) << run.err;
  EXPECT_TRUE(contains(run.out, R"("method": "POST")")) << run.out;
  EXPECT_TRUE(contains(run.out, R"("body": "{\"from\": \"file\"}")")) << run.out;
  EXPECT_TRUE(contains(run.out, R"(["Content-Type", "application/json"])")) << run.out;
  EXPECT_TRUE(contains(run.out, R"(["Accept", "application/json"])")) << run.out;
  run = sockit_http({url("/echo"), "-d", "a=1"});
  EXPECT_TRUE(run.status.success()) << run.err;
  EXPECT_TRUE(contains(run.out, R"("method": "POST")")) << run.out;
  EXPECT_TRUE(contains(run.out, R"(["Content-Type", "application/x-www-form-urlencoded"])"))
      << run.out;
}

TEST_F(HttpPeerTest, SeveralUrlsShareOneKeptAliveConnection) {
  const auto run = sockit_http({"-v", url("/conn"), url("/conn"), url("/conn")});
  EXPECT_TRUE(run.status.success()) << run.err;
  std::smatch m;
  ASSERT_TRUE(std::regex_match(run.out, m, std::regex("([0-9]+)\n([0-9]+)\n([0-9]+)\n")))
      << run.out;
  EXPECT_EQ(m[1], m[2]);
  EXPECT_EQ(m[2], m[3]);
  EXPECT_EQ(count(run.err, "* connected to " + origin_ + "\n"), 1U) << run.err;
  EXPECT_EQ(count(run.err, "* reusing connection to " + origin_ + "\n"), 2U) << run.err;
  EXPECT_TRUE(contains(run.err, "> GET /conn HTTP/1.1\n")) << run.err;
  EXPECT_TRUE(contains(run.err, "< HTTP/1.1 200 OK\n")) << run.err;
  EXPECT_EQ(count(run.err, "> Connection: close\n"), 1U) << "only the last request: " << run.err;
}

TEST_F(HttpPeerTest, AConnectionTheServerClosesOrSpeaksHttp10IsNotReused) {
  for (const char* first : {"/close", "/http10"}) {
    SCOPED_TRACE(first);
    const auto run = sockit_http({"-v", url(first), url("/conn")});
    EXPECT_TRUE(run.status.success()) << run.err;
    std::smatch m;
    ASSERT_TRUE(std::regex_match(run.out, m, std::regex("[a-z]+ ([0-9]+)\n([0-9]+)\n"))) << run.out;
    EXPECT_NE(m[1], m[2]);
    EXPECT_FALSE(contains(run.err, "reusing")) << run.err;
  }
}

TEST_F(HttpPeerTest, HeadHasNoBodyAndKeepsTheConnection) {
  const auto run = sockit_http({"HEAD", "-i", "-v", url("/echo"), url("/echo")});
  EXPECT_TRUE(run.status.success()) << run.err;
  EXPECT_EQ(count(run.out, "HTTP/1.1 200 OK\r\n"), 2U) << run.out;
  EXPECT_FALSE(contains(run.out, "method")) << run.out;
  EXPECT_TRUE(contains(run.err, "reusing connection")) << run.err;
}

TEST_F(HttpPeerTest, RedirectsChangeTheMethodAsTheStatusSays) {
  struct Case {
    std::string status, method, body;
  };
  for (const Case& c : {Case{"303", "GET", ""}, Case{"307", "POST", "x=1"}}) {
    SCOPED_TRACE(c.status);
    const auto run = sockit_http({"-L", "-d", "x=1", url("/status/" + c.status + "?to=/echo")});
    EXPECT_TRUE(run.status.success()) << run.err;
    EXPECT_TRUE(contains(run.out, R"("method": ")" + c.method + "\"")) << run.out;
    EXPECT_TRUE(contains(run.out, R"("body": ")" + c.body + "\"")) << run.out;
  }
}

TEST_F(HttpPeerTest, ANon2xxStatusExitsOneButTheOtherUrlsStillRun) {
  const auto run = sockit_http({url("/missing"), url("/conn")});
  EXPECT_EQ(run.status.code, 1);
  EXPECT_TRUE(std::regex_match(run.out, std::regex("no such thing\n[0-9]+\n"))) << run.out;
  EXPECT_EQ(run.err, "sockit: get " + url("/missing") + ": HTTP 404 Not Found\n");
}

TEST_F(HttpPeerTest, AServersReasonPhraseIsEscapedOnTheTerminal) {
  const auto run = sockit_http({url("/evil-reason")});
  EXPECT_EQ(run.status.code, 1);
  EXPECT_FALSE(contains(run.err, "\x1b")) << run.err;
  EXPECT_TRUE(contains(run.err, "HTTP 404 Not\\x1b[31mFound")) << run.err;
}

TEST_F(HttpPeerTest, GetIsTheSameCodePath) {
  const auto run = sockit_http({url("/echo")}, "get");
  EXPECT_TRUE(run.status.success()) << run.err;
  EXPECT_TRUE(contains(run.out, R"("method": "GET")")) << run.out;
  EXPECT_TRUE(contains(run.out, R"(["Connection", "close"])")) << run.out;
}

// ---- no server needed ----

TEST(HttpArguments, UsageErrors) {
  auto run = sockit_http({"http://127.0.0.1:1/a", "http://127.0.0.1:1/b", "-o", "x"});
  EXPECT_EQ(run.status.code, 2);
  EXPECT_EQ(run.err, "sockit: http: --output takes one URL (2 given)\n");
  run = sockit_http({"http://127.0.0.1:1/", "-d", "a", "--json", "{}"});
  EXPECT_EQ(run.status.code, 2);
  EXPECT_EQ(run.err, "sockit: http: --data and --json cannot both be given\n");
  run = sockit_http({"-X", "G T", "http://127.0.0.1:1/"});
  EXPECT_EQ(run.status.code, 2);
  EXPECT_TRUE(contains(run.err, "request method 'G T': not a token")) << run.err;
  run = sockit_http({"--help"});
  EXPECT_EQ(run.status.code, 0);
  EXPECT_TRUE(contains(run.out, "--json")) << run.out;
  EXPECT_TRUE(contains(run.out, "Examples:")) << run.out;
}

}  // namespace
