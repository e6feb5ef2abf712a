// `sockit serve`: every service on the process-based architectures (serial, fork, prefork;
// the threaded ones are in server_threaded_test.cpp), Unix sockets on every architecture,
// and the command line itself (help, errors, exit codes).
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

#include "serve_services_suite.hpp"
#include "sockit/unix.hpp"

namespace sockit::test {
namespace {

INSTANTIATE_TEST_SUITE_P(Serve, ServeEveryArchitecture, services_on({"serial", "fork", "prefork"}),
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
                         arch_param_name);

TEST(ServeCommand, HelpListsServicesAndArchitectures) {
  Process help({binary("bin/sockit"), "serve", "--help"});
  ASSERT_TRUE(help.finish().success());
  const std::string& text = help.stdout_text();
  for (const char* word : {"echo", "daytime", "hello", "serial", "thread", "fork", "prefork",
                           "pool", "reactor", "hybrid", "uring", "uring-hybrid", "Example"}) {
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

TEST(ServeCommand, DurationsTooLargeForTheClockExitTwoAndSaySo) {
  for (const char* option : {"--idle-timeout", "--drain"}) {
    for (const char* value : {"1e300", "1e15"}) {
      Process p({binary("bin/sockit"), "serve", "echo", "--port", "0", option, value});
      ExitStatus status = p.finish(std::chrono::seconds(10));
      EXPECT_TRUE(status.exited) << option << " " << value << ": " << p.stderr_text();
      EXPECT_EQ(status.code, 2) << option << " " << value << ": " << p.stderr_text();
      EXPECT_NE(p.stderr_text().find(std::string(option) + " is too large"), std::string::npos)
          << p.stderr_text();
    }
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
