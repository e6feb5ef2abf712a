// `sockit serve chat --web 0`: one room with two doors. A TCP client (as nc would be) and a
// WebSocket client (`sockit connect ws://.../chat`, one message per line) see each other's
// joins, lines and leaves; the page itself is served at /; a nickname in use is refused on
// the web door as on TCP; an Origin other than the page's own is refused; and the
// architectures that give each connection its own process (prefork, fork) refuse --web
// with the reason, as they refuse chat. With TLS the page is https and the room wss.
#include <gtest/gtest.h>

#include <chrono>
#include <optional>
#include <regex>
#include <string>
#include <vector>

#include "integration/cli_helpers.hpp"
#include "integration/serve_fixture.hpp"
#include "integration/tls_fixture.hpp"
#include "support/process.hpp"

namespace sockit::test {
namespace {

using namespace std::chrono_literals;

// The web door's port, from the "web page on http://127.0.0.1:PORT/" line (https with TLS).
std::optional<std::uint16_t> web_port(const Process& server) {
  std::smatch m;
  const std::string& err = server.stderr_text();
  static const std::regex line("web page on https?://127\\.0\\.0\\.1:([0-9]+)/");
  if (!std::regex_search(err, m, line)) return std::nullopt;
  return static_cast<std::uint16_t>(std::stoi(m[1]));
}

// `sockit connect ws://127.0.0.1:PORT/chat`: a line on its stdin is one message, each
// message received a line on its stdout.
Process web_client(std::uint16_t port, std::vector<std::string> extra = {}) {
  std::vector<std::string> argv{sockit_bin(), "connect",
                                "ws://127.0.0.1:" + std::to_string(port) + "/chat"};
  for (auto& e : extra)
    argv.push_back(std::move(e));
  return Process(std::move(argv));
}

class ChatWeb : public ::testing::TestWithParam<std::string> {};

TEST_P(ChatWeb, TcpAndWebMembersShareOneRoom) {
  ServeProcess server("chat", GetParam(), {"--web", "0"});
  ASSERT_TRUE(server.ok());
  const auto web = web_port(*server.process);
  ASSERT_TRUE(web) << server.process->stderr_text();

  Process browser = web_client(*web);
  browser.write_stdin("web\n");
  ASSERT_TRUE(browser.wait_stdout("Welcome to the chat, web\n", 20s)) << browser.stderr_text();

  Client nc(server.port);
  nc.send("nc\n");
  EXPECT_NE(nc.read_until("Welcome to the chat, nc\n").find("Welcome to the chat, nc\n"),
            std::string::npos);
  EXPECT_TRUE(browser.wait_stdout("nc joined the chat\n", 20s)) << browser.stdout_text();

  nc.send("hello from nc\n");
  EXPECT_TRUE(browser.wait_stdout("nc: hello from nc\n", 20s)) << browser.stdout_text();

  browser.write_stdin("hello from the page\n");
  std::size_t from = nc.received().size();
  EXPECT_NE(nc.read_until_from(from, "web: hello from the page\n", 20s)
                .find("web: hello from the page\n", from),
            std::string::npos)
      << nc.received();

  // A second page may not take a nickname in use (ignoring case), and gets the TCP answer.
  Process second = web_client(*web);
  second.write_stdin("WEB\n");
  EXPECT_TRUE(second.wait_stdout("Nickname taken: WEB, choose another\n", 20s))
      << second.stdout_text() << second.stderr_text();
  second.close_stdin();
  EXPECT_EQ(second.finish(20s).code, 0) << second.stderr_text();

  // The page leaves: the TCP member hears it.
  from = nc.received().size();
  browser.close_stdin();
  EXPECT_EQ(browser.finish(20s).code, 0) << browser.stderr_text();
  EXPECT_NE(nc.read_until_from(from, "web left the chat\n", 20s).find("web left the chat\n", from),
            std::string::npos)
      << nc.received();
  // Nothing of the second page's reached the room.
  EXPECT_EQ(nc.received().find("WEB"), std::string::npos) << nc.received();

  // And the other way: the TCP member leaves, a page hears it.
  Process third = web_client(*web);
  third.write_stdin("page3\n");
  ASSERT_TRUE(third.wait_stdout("Welcome to the chat, page3\n", 20s)) << third.stderr_text();
  nc.shutdown_write();
  EXPECT_TRUE(third.wait_stdout("nc left the chat\n", 20s)) << third.stdout_text();
  third.close_stdin();
  EXPECT_EQ(third.finish(20s).code, 0) << third.stderr_text();

  EXPECT_EQ(server.terminate().code, 0) << server.process->stderr_text();
}

INSTANTIATE_TEST_SUITE_P(Archs, ChatWeb, ::testing::Values("reactor", "thread"), arch_param_name);

TEST(ChatWebPage, IsServedAtTheRootAsHtml) {
  ServeProcess server("chat", "reactor", {"--web", "0"});
  ASSERT_TRUE(server.ok());
  const auto web = web_port(*server.process);
  ASSERT_TRUE(web) << server.process->stderr_text();
  Client http(*web);
  http.send("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
  const std::string answer = http.read_to_eof();
  EXPECT_EQ(answer.rfind("HTTP/1.1 200", 0), 0u) << answer;
  EXPECT_NE(answer.find("Content-Type: text/html; charset=utf-8\r\n"), std::string::npos);
  EXPECT_NE(answer.find("<title>sockit chat</title>"), std::string::npos);
  EXPECT_NE(answer.find("new WebSocket("), std::string::npos);
  // Peer text is never put in as markup.
  EXPECT_EQ(answer.find("innerHTML"), std::string::npos);
  EXPECT_EQ(server.terminate().code, 0) << server.process->stderr_text();
}

TEST(ChatWebPage, RefusesAnotherOriginUnlessAllowed) {
  ServeProcess server("chat", "reactor", {"--web", "0", "--allow-origin", "https://chat.example"});
  ASSERT_TRUE(server.ok());
  const auto web = web_port(*server.process);
  ASSERT_TRUE(web) << server.process->stderr_text();
  Process evil = web_client(*web, {"--origin", "http://evil.example"});
  evil.close_stdin();
  const ExitStatus refused = evil.finish(20s);
  EXPECT_NE(refused.code, 0);
  EXPECT_NE(evil.stderr_text().find("403"), std::string::npos) << evil.stderr_text();

  Process allowed = web_client(*web, {"--origin", "https://chat.example"});
  allowed.write_stdin("ok\n");
  EXPECT_TRUE(allowed.wait_stdout("Welcome to the chat, ok\n", 20s)) << allowed.stderr_text();
  allowed.close_stdin();
  EXPECT_EQ(allowed.finish(20s).code, 0) << allowed.stderr_text();
  EXPECT_EQ(server.terminate().code, 0) << server.process->stderr_text();
}

TEST(ChatWebPage, TheDefaultOriginIsThePagesOwn) {
  ServeProcess server("chat", "reactor", {"--web", "0"});
  ASSERT_TRUE(server.ok());
  const auto web = web_port(*server.process);
  ASSERT_TRUE(web) << server.process->stderr_text();
  Process evil = web_client(*web, {"--origin", "http://evil.example"});
  evil.close_stdin();
  EXPECT_NE(evil.finish(20s).code, 0);
  EXPECT_NE(evil.stderr_text().find("403"), std::string::npos) << evil.stderr_text();

  Process own = web_client(*web, {"--origin", "http://127.0.0.1:" + std::to_string(*web)});
  own.write_stdin("own\n");
  EXPECT_TRUE(own.wait_stdout("Welcome to the chat, own\n", 20s)) << own.stderr_text();
  own.close_stdin();
  EXPECT_EQ(own.finish(20s).code, 0) << own.stderr_text();
  EXPECT_EQ(server.terminate().code, 0) << server.process->stderr_text();
}

TEST(ChatWebPage, TlsServesThePageOverHttpsAndTheRoomOverWss) {
  TlsTempDir dir;
  const CertPair pair = sockit_cert(dir, "127.0.0.1");
  ServeProcess server("chat", "reactor",
                      {"--web", "0", "--tls-cert", pair.cert, "--tls-key", pair.key});
  ASSERT_TRUE(server.ok());
  EXPECT_NE(server.process->stderr_text().find("web page on https://"), std::string::npos)
      << server.process->stderr_text();
  const auto web = web_port(*server.process);
  ASSERT_TRUE(web) << server.process->stderr_text();
  Process secure({sockit_bin(), "connect", "wss://127.0.0.1:" + std::to_string(*web) + "/chat",
                  "--ca", pair.cert});
  secure.write_stdin("secure\n");
  EXPECT_TRUE(secure.wait_stdout("Welcome to the chat, secure\n", 20s)) << secure.stderr_text();
  secure.close_stdin();
  EXPECT_EQ(secure.finish(20s).code, 0) << secure.stderr_text();
  EXPECT_EQ(server.terminate().code, 0) << server.process->stderr_text();
}

TEST(ChatWebServe, ProcessArchitecturesAndOtherServicesRefuseIt) {
  for (const char* arch : {"prefork", "fork"}) {
    Finished f = run_sockit({"serve", "chat", "--arch", arch, "--port", "0", "--web", "0"});
    EXPECT_EQ(f.status.code, 2) << arch << ": " << describe(f);
    EXPECT_NE(f.err.find("shares state between connections"), std::string::npos)
        << arch << ": " << f.err;
    EXPECT_EQ(f.err.find("web page on"), std::string::npos) << f.err;
  }
  Finished echo = run_sockit({"serve", "echo", "--port", "0", "--web", "0"});
  EXPECT_EQ(echo.status.code, 2) << describe(echo);
  EXPECT_NE(echo.err.find("--web is the chat service's"), std::string::npos) << echo.err;
  Finished origin = run_sockit({"serve", "chat", "--port", "0", "--allow-origin", "https://x"});
  EXPECT_EQ(origin.status.code, 2) << describe(origin);
  EXPECT_NE(origin.err.find("--allow-origin applies to --web only"), std::string::npos)
      << origin.err;
}

TEST(ChatWebServe, RefusesSigusr2Restarts) {
  ServeProcess server("chat", "reactor", {"--web", "0"});
  ASSERT_TRUE(server.ok());
  server.process->signal(SIGUSR2);
  EXPECT_TRUE(server.process->wait_stderr("restart: refused: --web serves a second listener", 20s))
      << server.process->stderr_text();
  // Still serving.
  Client nc(server.port);
  nc.send("still\n");
  EXPECT_NE(nc.read_until("Welcome to the chat, still\n").find("Welcome"), std::string::npos);
  EXPECT_EQ(server.terminate().code, 0) << server.process->stderr_text();
}

}  // namespace
}  // namespace sockit::test
