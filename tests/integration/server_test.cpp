// Every service on every architecture, through the real CLI: `sockit serve SERVICE --arch A
// --port 0` as a child process, with one client and with 50 concurrent clients (serial:
// one after the other). Answers are checked byte for byte.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <regex>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "serve_fixture.hpp"
#include "sockit/unix.hpp"

namespace sockit::test {
namespace {

using Param = std::tuple<std::string, std::string>;  // architecture, service

// Runs one exchange of `service` and reports what was wrong, or "" when it was right.
std::string exchange(const std::string& service, std::uint16_t port, int n) {
  try {
    Client client(port);
    if (service == "echo") {
      std::string lines = "hello " + std::to_string(n) + "\nsecond line\n";
      client.send(lines);
      std::string got = client.read_until("second line\n");
      if (got != lines) return "echo answered '" + got + "'";
      client.shutdown_write();
      client.read_to_eof();
      if (!client.eof()) return "echo did not close after the client's EOF";
      if (client.received() != lines) return "echo sent more: '" + client.received() + "'";
      return "";
    }
    std::string got = client.read_to_eof();
    if (!client.eof()) return service + " did not close";
    if (service == "hello") {
      return got == "Hello, world!\n" ? "" : "hello answered '" + got + "'";
    }
    static const std::regex ruby(R"(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} [+-]\d{4}\n)");
    return std::regex_match(got, ruby) ? "" : "daytime answered '" + got + "'";
  } catch (const std::exception& e) {
    return std::string("client: ") + e.what();
  }
}

class ServeEveryArchitecture : public ::testing::TestWithParam<Param> {
 protected:
  // The pool's queue must hold 50 simultaneous clients: when it is full, clients are
  // turned away by design (the fault tests check that).
  std::vector<std::string> args() const { return {"--quiet", "--workers", "4", "--queue", "64"}; }
  const std::string& arch() const { return std::get<0>(GetParam()); }
  const std::string& service() const { return std::get<1>(GetParam()); }
};

TEST_P(ServeEveryArchitecture, OneClient) {
  ServeProcess server(service(), arch(), args());
  if (!server.skip_reason.empty()) GTEST_SKIP() << server.skip_reason;
  ASSERT_TRUE(server.ok());
  EXPECT_EQ(exchange(service(), server.port, 0), "");
  EXPECT_EQ(exchange(service(), server.port, 1), "");  // and the server is still there
  ExitStatus status = server.terminate();
  EXPECT_TRUE(status.success()) << server.process->stderr_text();
  EXPECT_NE(server.process->stderr_text().find("Shutdown complete"), std::string::npos);
}

TEST_P(ServeEveryArchitecture, FiftyClients) {
  ServeProcess server(service(), arch(), args());
  if (!server.skip_reason.empty()) GTEST_SKIP() << server.skip_reason;
  ASSERT_TRUE(server.ok());
  constexpr int clients = 50;
  std::vector<std::string> errors(clients);
  if (arch() == "serial") {
    for (int i = 0; i < clients; ++i)
      errors[i] = exchange(service(), server.port, i);
  } else {
    std::vector<std::thread> threads;
    for (int i = 0; i < clients; ++i) {
      threads.emplace_back([&, i] { errors[i] = exchange(service(), server.port, i); });
    }
    for (auto& t : threads)
      t.join();
  }
  for (int i = 0; i < clients; ++i)
    EXPECT_EQ(errors[i], "") << "client " << i;
  ExitStatus status = server.terminate();
  EXPECT_TRUE(status.success()) << server.process->stderr_text();
}

std::string param_name(const ::testing::TestParamInfo<Param>& p) {
  return std::get<0>(p.param) + "_" + std::get<1>(p.param);
}

INSTANTIATE_TEST_SUITE_P(Serve, ServeEveryArchitecture,
                         ::testing::Combine(::testing::ValuesIn(all_architectures()),
                                            ::testing::Values("echo", "daytime", "hello")),
                         param_name);

class ServeUnixSocket : public ::testing::TestWithParam<std::string> {};

TEST_P(ServeUnixSocket, EchoesOverAUnixSocket) {
  char dir_template[] = "/tmp/sockit-serve-XXXXXX";
  ASSERT_NE(::mkdtemp(dir_template), nullptr);
  std::string dir = dir_template;
  std::string path = dir + "/echo.sock";
  Process server({binary("bin/sockit"), "serve", "echo", "--arch", GetParam(), "--unix", path,
                  "--quiet", "--workers", "2"});
  ASSERT_TRUE(server.wait_stderr("listening on " + path)) << server.stderr_text();
  {
    UnixSocket client = UnixSocket::connect(path, std::chrono::seconds(20));
    client.send("over unix\n");
    std::string got;
    char buf[256];
    while (got.find('\n') == std::string::npos && wait_readable(client, std::chrono::seconds(20))) {
      std::size_t n = client.recv(std::span<char>(buf, sizeof buf));
      if (n == 0) break;
      got.append(buf, n);
    }
    EXPECT_EQ(got, "over unix\n");
  }
  server.signal(SIGTERM);
  EXPECT_TRUE(server.finish().success()) << server.stderr_text();
  struct stat st {};
  EXPECT_NE(::stat(path.c_str(), &st), 0) << "socket file left behind";
  ::unlink(path.c_str());
  ::rmdir(dir.c_str());
}

INSTANTIATE_TEST_SUITE_P(Serve, ServeUnixSocket, ::testing::ValuesIn(all_architectures()),
                         [](const auto& p) { return p.param; });

TEST(ServeCommand, HelpListsServicesAndArchitectures) {
  Process help({binary("bin/sockit"), "serve", "--help"});
  ASSERT_TRUE(help.finish().success());
  const std::string& text = help.stdout_text();
  for (const char* word : {"echo", "daytime", "hello", "serial", "thread", "fork", "prefork",
                           "pool", "reactor", "hybrid", "Example"}) {
    EXPECT_NE(text.find(word), std::string::npos) << word << " missing from:\n" << text;
  }
}

TEST(ServeCommand, BusyPortIsAnErrorNamingTheAddress) {
  ServeProcess first("echo", "thread", {"--quiet"});
  ASSERT_TRUE(first.ok());
  Process second({binary("bin/sockit"), "serve", "echo", "--arch", "thread", "--port",
                  std::to_string(first.port)});
  ExitStatus status = second.finish();
  EXPECT_TRUE(status.exited);
  EXPECT_EQ(status.code, 1);
  EXPECT_NE(second.stderr_text().find("sockit: serve: bind 127.0.0.1:" +
                                      std::to_string(first.port) + ": Address already in use"),
            std::string::npos)
      << second.stderr_text();
  EXPECT_TRUE(first.terminate().success());
}

TEST(ServeCommand, BadArgumentsExitTwo) {
  for (std::vector<std::string> args : {std::vector<std::string>{"serve", "nosuch"},
                                        {"serve", "echo", "--arch", "nosuch"},
                                        {"serve", "echo", "--port", "70000"},
                                        {"serve"}}) {
    args.insert(args.begin(), binary("bin/sockit"));
    Process p(args);
    ExitStatus status = p.finish();
    EXPECT_TRUE(status.exited);
    EXPECT_EQ(status.code, 2) << args[2] << ": " << p.stderr_text();
  }
}

TEST(ServeCommand, QuietStillPrintsTheListeningLine) {
  ServeProcess server("hello", "serial", {"--quiet"});
  ASSERT_TRUE(server.ok());
  EXPECT_EQ(exchange("hello", server.port, 0), "");
  EXPECT_TRUE(server.terminate().success());
  EXPECT_EQ(server.process->stderr_text().find("connection from"), std::string::npos);
}

}  // namespace
}  // namespace sockit::test
