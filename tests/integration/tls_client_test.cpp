// Our TLS clients against real TLS servers: TlsClient, `sockit connect --tls` and
// `sockit get https://` against openssl s_server and nginx (Debian's nginx-light, started
// here on a free loopback port with a certificate from `sockit cert`). A wrong CA, an
// expired certificate and a hostname mismatch each fail with their own message.
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
#include <thread>
#include <vector>

#include "sockit/error.hpp"
#include "sockit/socket.hpp"
#include "sockit/tls.hpp"
#include "support/require_tool.hpp"
#include "tls_fixture.hpp"

namespace sockit::test {
namespace {

using namespace std::chrono_literals;

std::string sockit_bin() {
  return binary("bin/sockit");
}

// A port nobody listens on right now (the server started next binds it).
std::uint16_t free_port() {
  Socket probe(AF_INET, SOCK_STREAM);
  probe.bind(Address::parse("127.0.0.1", 0));
  return probe.local_address().port();
}

// `openssl s_server -rev`: answers each line reversed.
struct SServer {
  std::optional<Process> process;
  std::uint16_t port = 0;

  explicit SServer(const CertPair& pair) {
    process.emplace(std::vector<std::string>{"openssl", "s_server", "-accept", "127.0.0.1:0",
                                             "-cert", pair.cert, "-key", pair.key, "-rev"});
    if (!process->wait_stdout("ACCEPT 127.0.0.1:", 20s)) return;
    process->wait_stdout("\n", 5s);
    std::smatch m;
    static const std::regex accept_line(R"(ACCEPT 127\.0\.0\.1:(\d+))");
    const std::string& out = process->stdout_text();
    if (std::regex_search(out, m, accept_line)) port = static_cast<std::uint16_t>(std::stoi(m[1]));
  }
};

// nginx serving `dir`/www over TLS on 127.0.0.1, in the foreground, killed by its PID.
class Nginx {
 public:
  static std::string binary_path() {
    for (const char* p : {"/usr/sbin/nginx", "/usr/local/sbin/nginx"}) {
      if (::access(p, X_OK) == 0) return p;
    }
    return have_tool("nginx") ? "nginx" : "";
  }

  Nginx(const TlsTempDir& dir, const CertPair& pair) {
    std::string bin = binary_path();
    std::filesystem::create_directories(dir.path() / "www");
    std::ofstream(dir.file("www/index.html")) << "hello from nginx\n";
    std::filesystem::permissions(
        dir.file("www/index.html"),
        std::filesystem::perms::owner_read | std::filesystem::perms::group_read |
            std::filesystem::perms::others_read | std::filesystem::perms::owner_write);
    ::chmod(dir.file("www").c_str(), 0755);
    // The port is found free, then bound by nginx: another process may take it in between,
    // so try a few.
    for (int attempt = 0; attempt < 5 && port_ == 0; ++attempt) {
      std::uint16_t port = free_port();
      write_config(dir, pair, port);
      process_.emplace(std::vector<std::string>{bin, "-e", dir.file("error.log"), "-p",
                                                dir.path().string(), "-c", dir.file("nginx.conf"),
                                                "-g", "daemon off;"});
      // nginx writes its pid file once its configuration is in place, listening socket
      // included; when another process holds the port it retries bind() for a while and
      // exits. So the port is nginx's once the pid file names it (a connect alone could
      // reach another test's listener). The file is checked every 20 ms meanwhile.
      const std::string pid = std::to_string(process_->pid()) + "\n";
      Deadline deadline(20s);
      while (!deadline.expired() && process_->running()) {
        if (read_file(dir.file("nginx.pid")) == pid) {
          port_ = port;
          break;
        }
        if (!process_->pump(20ms)) std::this_thread::sleep_for(20ms);  // output closed
      }
      if (port_ != 0) {
        Socket probe(AF_INET, SOCK_STREAM);
        std::error_code ec;
        probe.connect(Address::parse("127.0.0.1", port), 10s, ec);
        if (ec) port_ = 0;
      }
      if (port_ == 0) {
        process_->finish(5s);
        error_ = process_->stderr_text() + read_file(dir.file("error.log"));
        process_.reset();
      }
    }
  }
  ~Nginx() {
    if (process_) {
      process_->signal(SIGQUIT);  // graceful; Process kills it if that is not enough
      process_->finish(10s);
    }
  }
  std::uint16_t port() const { return port_; }
  const std::string& error() const { return error_; }

 private:
  static std::string read_file(const std::string& path) {
    std::ifstream in(path);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

  static void write_config(const TlsTempDir& dir, const CertPair& pair, std::uint16_t port) {
    std::string d = dir.path().string();
    std::ofstream conf(dir.file("nginx.conf"));
    conf << "worker_processes 1;\n"
         << "pid " << d << "/nginx.pid;\n"
         << "error_log " << d << "/error.log;\n"
         << "events { worker_connections 64; }\n"
         << "http {\n  access_log off;\n"
         << "  client_body_temp_path " << d << "/body;\n"
         << "  proxy_temp_path " << d << "/proxy;\n"
         << "  fastcgi_temp_path " << d << "/fastcgi;\n"
         << "  uwsgi_temp_path " << d << "/uwsgi;\n"
         << "  scgi_temp_path " << d << "/scgi;\n"
         << "  server {\n    listen 127.0.0.1:" << port << " ssl;\n"
         << "    server_name localhost;\n"
         << "    ssl_certificate " << pair.cert << ";\n"
         << "    ssl_certificate_key " << pair.key << ";\n"
         << "    root " << d << "/www;\n  }\n}\n";
  }

  std::optional<Process> process_;
  std::uint16_t port_ = 0;
  std::string error_;
};

class TlsClients : public ::testing::Test {
 protected:
  void SetUp() override {
    SOCKIT_REQUIRE_TOOL("openssl");
    good_ = sockit_cert(dir_, "localhost");
  }
  TlsTempDir dir_;
  CertPair good_;
};

TEST_F(TlsClients, TlsClientAndConnectAgainstOpensslServer) {
  SServer server(good_);
  ASSERT_NE(server.port, 0) << server.process->stderr_text();
  auto context = TlsContext::client({good_.cert, true, {}, {}});
  auto client = TlsClient::connect("localhost", server.port, context, 20s);
  client->stream().write_line("hello s_server", 20s);
  EXPECT_EQ(client->stream().read_line(1024, 20s), "revres_s olleh");
  client.reset();

  // s_server serves one client at a time: start a fresh one for the CLI.
  SServer again(good_);
  ASSERT_NE(again.port, 0);
  Process cli({sockit_bin(), "connect", "localhost", std::to_string(again.port), "--tls", "--ca",
               good_.cert});
  cli.write_stdin("abc\n");
  EXPECT_TRUE(cli.wait_stdout("cba\n")) << cli.stderr_text();
}

TEST_F(TlsClients, VerificationFailuresEachSayWhy) {
  CertPair other = sockit_cert(dir_, "other.test");
  TlsTempDir old_dir;
  CertPair expired = sockit_cert(old_dir, "localhost", {"--expired"});
  CertPair elsewhere = openssl_cert(dir_, "elsewhere.test");

  SServer good_server(good_);
  ASSERT_NE(good_server.port, 0);
  std::string port = std::to_string(good_server.port);
  Ran wrong_ca =
      run({sockit_bin(), "connect", "127.0.0.1", port, "--tls", "--ca", other.cert}, "x\n");
  EXPECT_EQ(wrong_ca.status.code, 1) << wrong_ca.describe();
  EXPECT_NE(wrong_ca.err.find("tls handshake with 127.0.0.1:" + port +
                              ": certificate verify failed (self-signed certificate)"),
            std::string::npos)
      << wrong_ca.err;

  SServer old_server(expired);
  ASSERT_NE(old_server.port, 0);
  port = std::to_string(old_server.port);
  Ran old = run({sockit_bin(), "connect", "localhost", port, "--tls", "--ca", expired.cert}, "x\n");
  EXPECT_EQ(old.status.code, 1) << old.describe();
  EXPECT_NE(old.err.find("tls handshake with 127.0.0.1:" + port +
                         ": certificate verify failed (certificate has expired)"),
            std::string::npos)
      << old.err;

  SServer other_name(elsewhere);
  ASSERT_NE(other_name.port, 0);
  port = std::to_string(other_name.port);
  Ran mismatch =
      run({sockit_bin(), "connect", "localhost", port, "--tls", "--ca", elsewhere.cert}, "x\n");
  EXPECT_EQ(mismatch.status.code, 1) << mismatch.describe();
  EXPECT_NE(mismatch.err.find("tls handshake with 127.0.0.1:" + port +
                              ": certificate verify failed (hostname mismatch)"),
            std::string::npos)
      << mismatch.err;

  // --insecure connects anyway, and says so.
  SServer insecure_server(elsewhere);
  ASSERT_NE(insecure_server.port, 0);
  Process insecure({sockit_bin(), "connect", "localhost", std::to_string(insecure_server.port),
                    "--tls", "--insecure"});
  insecure.write_stdin("xyz\n");
  EXPECT_TRUE(insecure.wait_stdout("zyx\n")) << insecure.stderr_text();
  EXPECT_NE(insecure.stderr_text().find("warning: --insecure"), std::string::npos)
      << insecure.stderr_text();
}

TEST_F(TlsClients, GetAndConnectAgainstNginx) {
  if (Nginx::binary_path().empty()) SOCKIT_MISSING_TOOL("nginx (nginx-light)");
  Nginx nginx(dir_, good_);
  ASSERT_NE(nginx.port(), 0) << nginx.error();
  std::string port = std::to_string(nginx.port());

  Ran get = run({sockit_bin(), "get", "https://localhost:" + port + "/", "--ca", good_.cert});
  ASSERT_TRUE(get.status.success()) << get.describe();
  EXPECT_EQ(get.out, "hello from nginx\n");

  Ran head = run(
      {sockit_bin(), "get", "-i", "https://127.0.0.1:" + port + "/index.html", "--ca", good_.cert});
  ASSERT_TRUE(head.status.success()) << head.describe();
  EXPECT_EQ(head.out.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << head.out;
  EXPECT_NE(head.out.find("Server: nginx"), std::string::npos) << head.out;

  Ran connect = run({sockit_bin(), "connect", "localhost", port, "--tls", "--ca", good_.cert},
                    "GET / HTTP/1.0\r\nHost: localhost\r\n\r\n");
  ASSERT_TRUE(connect.status.success()) << connect.describe();
  EXPECT_EQ(connect.out.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << connect.out;
  EXPECT_NE(connect.out.find("\r\n\r\nhello from nginx\n"), std::string::npos) << connect.out;

  // The system CA store does not know our certificate.
  Ran untrusted = run({sockit_bin(), "get", "https://localhost:" + port + "/"});
  EXPECT_EQ(untrusted.status.code, 1) << untrusted.describe();
  EXPECT_NE(untrusted.err.find("certificate verify failed (self-signed certificate)"),
            std::string::npos)
      << untrusted.err;

  // The library client, several requests on fresh connections.
  auto context = TlsContext::client({good_.cert, true, {}, {}});
  for (int i = 0; i < 3; ++i) {
    auto client = TlsClient::connect("localhost", nginx.port(), context, 20s);
    client->stream().write_all("GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
                               20s);
    std::string response = client->stream().read_to_eof(1 << 20, 20s);
    EXPECT_NE(response.find("hello from nginx"), std::string::npos) << response;
  }
}

}  // namespace
}  // namespace sockit::test
