// `sockit serve` under a supervisor: socket activation by systemd's own
// systemd-socket-activate (a Unix listener, on every architecture) and by hand (a TCP
// listener on port 0 passed as descriptor 3 with LISTEN_FDS/LISTEN_PID), a passed descriptor
// that is not a listener refused, and readiness told to NOTIFY_SOCKET: READY=1 with the
// server's PID once it listens, STOPPING=1 when a SIGTERM starts the drain. The unit files
// in deploy/ run as written.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <chrono>
#include <fstream>
#include <string>
#include <vector>

#include "serve_fixture.hpp"
#include "sockit/deadline.hpp"
#include "sockit/options.hpp"
#include "sockit/poll.hpp"
#include "sockit/unix.hpp"
#include "support/process.hpp"
#include "support/require_tool.hpp"
#include "support/temp_dir.hpp"
#include "unit_file.hpp"

namespace sockit::test {
namespace {

using namespace std::chrono_literals;

std::string echo_once(Socket socket, const std::string& line) {
  socket.send(line);
  std::string text;
  char chunk[256];
  Deadline deadline(20s);
  while (text.size() < line.size() && wait_readable(socket, deadline)) {
    const std::size_t n = socket.recv(std::span<char>(chunk, sizeof chunk));
    if (n == 0) break;
    text.append(chunk, n);
  }
  return text;
}

class SocketActivation : public ::testing::TestWithParam<std::string> {};

TEST_P(SocketActivation, SystemdSocketActivateHandsOverAUnixListener) {
  SOCKIT_REQUIRE_TOOL("systemd-socket-activate");
  TempDir dir("sockit-activate");
  const std::string path = dir.file("echo.sock");
  Process activator({"systemd-socket-activate", "-l", path, binary("bin/sockit"), "serve", "echo",
                     "--arch", GetParam()});
  // The activator listens first and starts the server on the first connection, which the
  // server then accepts from the socket it was given.
  ASSERT_TRUE(activator.wait_stderr("Listening on " + path, 20s)) << activator.stderr_text();
  EXPECT_EQ(echo_once(UnixSocket::connect(path, Deadline(10s)), "activated\n"), "activated\n")
      << activator.stderr_text();
  EXPECT_TRUE(activator.wait_stderr(
      "listening on " + path + " (echo, " + GetParam() + "), socket passed by LISTEN_FDS", 10s))
      << activator.stderr_text();
  EXPECT_EQ(echo_once(UnixSocket::connect(path, Deadline(10s)), "again\n"), "again\n");
  activator.signal(SIGTERM);
  EXPECT_TRUE(activator.finish(20s).success()) << activator.stderr_text();
}

INSTANTIATE_TEST_SUITE_P(Architectures, SocketActivation, ::testing::ValuesIn(all_architectures()),
                         arch_param_name);

// Starts `sockit serve echo --arch ARCH` with `fd` as its descriptor 3 and LISTEN_PID set to
// its own PID by a shell that then execs it. Its --port is one it cannot bind: the passed
// socket is served instead.
Process start_with_listener(int fd, std::vector<std::string> command,
                            std::vector<std::string> env = {}) {
  ::fcntl(fd, F_SETFD, 0);
  const std::string move_to_3 =
      fd == 3 ? "" : "exec 3<&" + std::to_string(fd) + " " + std::to_string(fd) + "<&-; ";
  const std::string script = move_to_3 + "LISTEN_PID=$$ LISTEN_FDS=1 exec \"$0\" \"$@\"";
  command.insert(command.begin(), {"/bin/sh", "-c", script});
  return Process(std::move(command), std::move(env));
}

Process start_with_listener(int fd, const std::string& arch) {
  return start_with_listener(
      fd, {binary("bin/sockit"), "serve", "echo", "--arch", arch, "--port", "1"});
}

TEST(SocketActivationByHand, ATcpListenerOnPortZeroIsServedAndItsPortIsTheOneUsed) {
  for (const std::string arch : {"reactor", "hybrid", "prefork"}) {
    Socket listener(AF_INET, SOCK_STREAM);
    listener.bind(Address::loopback_ipv4(0));
    listener.listen();
    const Address address = listener.local_address();
    Process server = start_with_listener(listener.fd(), arch);
    listener.close();
    ASSERT_TRUE(server.wait_stderr("listening on " + address.to_string(), 20s))
        << arch << ": " << server.stderr_text();
    for (int i = 0; i < 4; ++i) {
      const std::string line = arch + " " + std::to_string(i) + "\n";
      EXPECT_EQ(echo_once(TcpSocket::connect(address, 10s), line), line);
    }
    server.signal(SIGTERM);
    EXPECT_TRUE(server.finish(20s).success()) << server.stderr_text();
  }
}

TEST(SocketActivationByHand, ADescriptorThatIsNotAListenerIsRefused) {
  TempDir dir("sockit-activate");
  const std::string path = dir.file("plain");
  std::ofstream(path) << "not a socket\n";
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  Process server = start_with_listener(fd, "reactor");
  ::close(fd);
  const ExitStatus status = server.finish(20s);
  EXPECT_FALSE(status.success());
  EXPECT_NE(server.stderr_text().find(
                "descriptor 3 passed by LISTEN_FDS is not a listening stream socket"),
            std::string::npos)
      << server.stderr_text();
}

class Readiness : public ::testing::TestWithParam<std::string> {};

TEST_P(Readiness, ReadyOnceListeningAndStoppingAtTheDrain) {
  TempDir dir("sockit-notify");
  const std::string path = dir.file("notify");
  UnixSocket supervisor(SOCK_DGRAM);
  supervisor.bind(Address::unix_path(path));
  auto next_state = [&]() -> std::string {
    if (!wait_readable(supervisor, Deadline(20s))) return "(nothing within 20 s)";
    char datagram[1024];
    const std::size_t n = supervisor.recv(std::span<char>(datagram, sizeof datagram));
    return std::string(datagram, n);
  };
  Process server({binary("bin/sockit"), "serve", "echo", "--arch", GetParam(), "--port", "0"},
                 {"NOTIFY_SOCKET=" + path});
  const std::string ready = next_state();
  EXPECT_EQ(ready.rfind("READY=1\n", 0), 0U) << ready;
  EXPECT_NE(ready.find("\nMAINPID=" + std::to_string(server.pid())), std::string::npos) << ready;
  EXPECT_NE(ready.find("STATUS=listening on 127.0.0.1:"), std::string::npos) << ready;
  const auto port = wait_listening_port(server);
  ASSERT_TRUE(port);
  EXPECT_EQ(echo_once(TcpSocket::connect(Address::loopback_ipv4(*port), 10s), "ready\n"),
            "ready\n");
  server.signal(SIGTERM);
  EXPECT_EQ(next_state(), "STOPPING=1");
  EXPECT_TRUE(server.finish(20s).success()) << server.stderr_text();
  // Nothing else: forked workers and children never speak for the server.
  EXPECT_FALSE(wait_readable(supervisor, Deadline(200ms)));
}

INSTANTIATE_TEST_SUITE_P(Architectures, Readiness,
                         ::testing::Values("thread", "prefork", "uring-hybrid"), arch_param_name);

// deploy/sockit-echo.socket and .service, as written: the socket's address (on a port the
// test picks) with SO_REUSEPORT as the unit asks, the service's ExecStart (the installed
// path replaced by the built program) with NOTIFY_SOCKET, since the unit says Type=notify:
// ready, serving, reloaded by its ExecReload (the old copy naming the new main PID), then
// stopping and gone within TimeoutStopSec.
TEST(DeployUnits, TheEchoSocketAndServiceRunAsWritten) {
  ::prctl(PR_SET_CHILD_SUBREAPER, 1);
  auto socket_unit = unit_settings(std::string(SOCKIT_SOURCE_DIR) + "/deploy/sockit-echo.socket");
  auto service = unit_settings(std::string(SOCKIT_SOURCE_DIR) + "/deploy/sockit-echo.service");
  ASSERT_EQ(service["Type"], "notify");
  const std::string listen = socket_unit["ListenStream"];
  const std::string host = listen.substr(0, listen.rfind(':'));
  Socket listener(AF_INET, SOCK_STREAM);
  if (socket_unit["ReusePort"] == "yes") listener.set(option::ReusePort{true});
  listener.bind(Address::parse(host, 0));
  listener.listen();
  const Address address = listener.local_address();

  std::vector<std::string> command = split_words(service["ExecStart"]);
  ASSERT_GE(command.size(), 2U);
  EXPECT_EQ(command[0], "/usr/local/bin/sockit");
  command[0] = binary("bin/sockit");
  TempDir dir("sockit-units");
  const std::string notify = dir.file("notify");
  UnixSocket supervisor(SOCK_DGRAM);
  supervisor.bind(Address::unix_path(notify));
  Process server = start_with_listener(listener.fd(), command, {"NOTIFY_SOCKET=" + notify});
  listener.close();
  ASSERT_TRUE(wait_readable(supervisor, Deadline(20s))) << server.stderr_text();
  char datagram[1024];
  std::size_t n = supervisor.recv(std::span<char>(datagram, sizeof datagram));
  EXPECT_EQ(std::string(datagram, n).rfind("READY=1\n", 0), 0U);
  for (int i = 0; i < 4; ++i) {
    const std::string line = "unit " + std::to_string(i) + "\n";
    EXPECT_EQ(echo_once(TcpSocket::connect(address, 10s), line), line);
  }
  // systemctl reload: ExecReload with $MAINPID. The old copy names its successor, which
  // serves the same socket and is the one that stops at last.
  std::string reload = service["ExecReload"];
  ASSERT_NE(reload.find("$MAINPID"), std::string::npos);
  reload.replace(reload.find("$MAINPID"), 8, std::to_string(server.pid()));
  Process reloader(split_words(reload));
  EXPECT_TRUE(reloader.finish(10s).success());
  ASSERT_TRUE(wait_readable(supervisor, Deadline(60s))) << server.stderr_text();
  n = supervisor.recv(std::span<char>(datagram, sizeof datagram));
  const std::string handover(datagram, n);
  ASSERT_EQ(handover.rfind("MAINPID=", 0), 0U) << handover;
  const auto main_pid = static_cast<pid_t>(std::stol(handover.substr(8)));
  const auto stop_within = std::chrono::seconds(std::stoi(service["TimeoutStopSec"]));
  EXPECT_TRUE(server.finish(stop_within).success()) << server.stderr_text();
  EXPECT_EQ(echo_once(TcpSocket::connect(address, 10s), "reloaded\n"), "reloaded\n");
  ::kill(main_pid, SIGTERM);
  ASSERT_TRUE(wait_readable(supervisor, Deadline(20s)));
  n = supervisor.recv(std::span<char>(datagram, sizeof datagram));
  EXPECT_EQ(std::string(datagram, n), "STOPPING=1");
  // The new copy came back to this process, the subreaper, when the old one ended.
  int status = 0;
  EXPECT_EQ(::waitpid(main_pid, &status, 0), main_pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
}
}  // namespace
}  // namespace sockit::test
