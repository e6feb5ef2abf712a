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
#include "support/require_tool.hpp"
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
    if (::access("/usr/bin/python3", X_OK) != 0) SOCKIT_MISSING_TOOL("/usr/bin/python3");
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
  std::string at_file = "@";
  at_file += file.string();
  auto run = sockit_http({url("/echo"), "--json", at_file});
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

TEST_F(HttpPeerTest, ARedirectsLocationAndReasonAreEscapedOnTheTerminal) {
  const auto run = sockit_http({url("/evil-location")}, "get");
  EXPECT_EQ(run.status.code, 1);
  EXPECT_FALSE(contains(run.err, "\x9b")) << run.err;
  EXPECT_TRUE(contains(run.err,
                       "HTTP 302 Fo\\x9bund (use --location to follow it to "
                       "/target\\x9b[31m)"))
      << run.err;
}

TEST_F(HttpPeerTest, GetIsTheSameCodePath) {
  const auto run = sockit_http({url("/echo")}, "get");
  EXPECT_TRUE(run.status.success()) << run.err;
  EXPECT_TRUE(contains(run.out, R"("method": "GET")")) << run.out;
  EXPECT_TRUE(contains(run.out, R"(["Connection", "close"])")) << run.out;
}

// ---- nginx (Debian's nginx-light) ----

// A port nobody listens on right now (nginx binds it next).
std::uint16_t free_port() {
  sockit::Socket probe(AF_INET, SOCK_STREAM);
  probe.bind(sockit::Address::parse("127.0.0.1", 0));
  return probe.local_address().port();
}

std::string nginx_binary() {
  for (const char* p : {"/usr/sbin/nginx", "/usr/local/sbin/nginx"}) {
    if (::access(p, X_OK) == 0) return p;
  }
  return "";
}

// nginx on two loopback ports: plain HTTP answering with its connection number and request
// count on that connection ($connection, $connection_requests), and TLS redirecting every
// request to the plain one.
class Nginx {
 public:
  Nginx(const sockit::test::TlsTempDir& dir, const sockit::test::CertPair& pair) {
    for (int attempt = 0; attempt < 5 && http_port_ == 0; ++attempt) {
      const std::uint16_t http = free_port();
      const std::uint16_t https = free_port();
      write_config(dir, pair, http, https);
      process_.emplace(std::vector<std::string>{nginx_binary(), "-e", dir.file("error.log"), "-p",
                                                dir.path().string(), "-c", dir.file("nginx.conf"),
                                                "-g", "daemon off;"});
      sockit::Deadline deadline(10s);
      while (!deadline.expired() && process_->running()) {
        try {
          sockit::Socket a(AF_INET, SOCK_STREAM);
          a.connect(sockit::Address::parse("127.0.0.1", http), 1s);
          sockit::Socket b(AF_INET, SOCK_STREAM);
          b.connect(sockit::Address::parse("127.0.0.1", https), 1s);
          // Another process may have taken a port first: nginx then logs a failed bind().
          ::usleep(100'000);
          std::ifstream log(dir.file("error.log"));
          const std::string text(std::istreambuf_iterator<char>(log), {});
          if (text.find("bind()") == std::string::npos && process_->running()) {
            http_port_ = http;
            https_port_ = https;
          }
          break;
        } catch (const sockit::Error&) {
          ::usleep(50'000);
        }
      }
      if (http_port_ == 0) {
        process_->finish(5s);
        error_ = process_->stderr_text();
        process_.reset();
      }
    }
  }
  Nginx(const Nginx&) = delete;
  Nginx& operator=(const Nginx&) = delete;
  ~Nginx() {
    if (process_) {
      process_->signal(SIGQUIT);
      process_->finish(10s);
    }
  }
  std::uint16_t http_port() const { return http_port_; }
  std::uint16_t https_port() const { return https_port_; }
  const std::string& error() const { return error_; }

 private:
  static void write_config(const sockit::test::TlsTempDir& dir, const sockit::test::CertPair& pair,
                           std::uint16_t http, std::uint16_t https) {
    const std::string d = dir.path().string();
    std::ofstream conf(dir.file("nginx.conf"));
    conf << "worker_processes 1;\npid " << d << "/nginx.pid;\nerror_log " << d
         << "/error.log;\nevents { worker_connections 64; }\nhttp {\n  access_log off;\n";
    for (const char* temp : {"client_body", "proxy", "fastcgi", "uwsgi", "scgi"}) {
      conf << "  " << temp << "_temp_path " << d << "/" << temp << ";\n";
    }
    conf << "  server {\n    listen 127.0.0.1:" << http << ";\n"
         << "    location /conn { return 200 \"$connection $connection_requests\\n\"; }\n"
         << "    location /post { return 200 \"$request_method $content_length\\n\"; }\n  }\n"
         << "  server {\n    listen 127.0.0.1:" << https << " ssl;\n"
         << "    server_name localhost;\n    ssl_certificate " << pair.cert
         << ";\n    ssl_certificate_key " << pair.key << ";\n"
         << "    location / { return 302 http://127.0.0.1:" << http << "/conn; }\n  }\n}\n";
  }

  std::optional<Process> process_;
  std::uint16_t http_port_ = 0;
  std::uint16_t https_port_ = 0;
  std::string error_;
};

class NginxTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (nginx_binary().empty()) SOCKIT_MISSING_TOOL("nginx (nginx-light)");
    pair_ = sockit::test::sockit_cert(dir_, "localhost");
    nginx_.emplace(dir_, pair_);
    ASSERT_NE(nginx_->http_port(), 0) << nginx_->error();
  }
  std::string plain(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(nginx_->http_port()) + path;
  }

  sockit::test::TlsTempDir dir_;
  sockit::test::CertPair pair_;
  std::optional<Nginx> nginx_;
};

TEST_F(NginxTest, SeveralRequestsShareOneConnection) {
  const auto ok = sockit_http({"-v", "-d", "abc", plain("/post"), plain("/conn"), plain("/conn")});
  EXPECT_TRUE(ok.status.success()) << ok.err;
  std::smatch m;
  ASSERT_TRUE(std::regex_match(ok.out, m, std::regex("POST 3\n([0-9]+) 2\n([0-9]+) 3\n")))
      << ok.out;
  EXPECT_EQ(m[1], m[2]);
  EXPECT_EQ(count(ok.err, "* reusing connection to 127.0.0.1:"), 2U) << ok.err;
}

TEST_F(NginxTest, AnHttpsToHttpRedirectIsRefusedUnlessAllowed) {
  const std::string secure = "https://localhost:" + std::to_string(nginx_->https_port()) + "/";
  auto run = sockit_http({"-L", "--ca", pair_.cert, secure});
  EXPECT_EQ(run.status.code, 1);
  EXPECT_EQ(run.out, "");
  EXPECT_TRUE(contains(run.err, "sockit: get " + secure + ": insecure redirect to " +
                                    plain("/conn") + " refused (from https to http)"))
      << run.err;
  EXPECT_TRUE(contains(run.err, "--allow-insecure-redirect")) << run.err;
  run = sockit_http({"-L", "--allow-insecure-redirect", "--ca", pair_.cert, secure});
  EXPECT_TRUE(run.status.success()) << run.err;
  EXPECT_TRUE(std::regex_match(run.out, std::regex("[0-9]+ 1\n"))) << run.out;
  // Kept-alive TLS connections are reused too (the 302s exit 1 without -L).
  run = sockit_http({"-v", "--ca", pair_.cert, secure + "a", secure + "b"});
  EXPECT_EQ(run.status.code, 1) << run.err;
  EXPECT_TRUE(contains(
      run.err, "* reusing connection to localhost:" + std::to_string(nginx_->https_port()) + "\n"))
      << run.err;
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
