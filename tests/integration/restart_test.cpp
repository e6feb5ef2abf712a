// Restarts that drop nothing: while clients connect, send and read back without pause, the
// server is sent SIGUSR2 three times. Each time a new copy of the program takes the
// listening socket over, says it is ready, and the old one drains and exits; no client is
// refused, reset or left unanswered, and every answer comes back whole. On every
// architecture. Then five restarts with `sockit bench --mode churn` beside the pinging
// client (the bench checks every echoed byte and counts every error).
// Also: a Unix socket's file outlives the old copy, a supervisor hears each new main PID,
// and a new copy that cannot start leaves the old one serving.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "serve_fixture.hpp"
#include "sockit/deadline.hpp"
#include "sockit/poll.hpp"
#include "sockit/unix.hpp"
#include "support/temp_dir.hpp"

namespace sockit::test {
namespace {

using namespace std::chrono_literals;

// One connection: connect, send a line, read it back, close. The error, or "" when it came
// back whole.
std::string ping(const std::function<Socket()>& connect, int n) {
  const std::string line = "ping " + std::to_string(n) + "\n";
  try {
    Socket socket = connect();
    socket.send(line);
    std::string back;
    char chunk[256];
    Deadline deadline(20s);
    while (back.size() < line.size()) {
      if (!wait_readable(socket, deadline)) return "no answer within 20 s";
      const std::size_t got = socket.recv(std::span<char>(chunk, sizeof chunk));
      if (got == 0) return "closed after " + std::to_string(back.size()) + " bytes";
      back.append(chunk, got);
    }
    return back == line ? "" : "wrong bytes: " + back;
  } catch (const std::exception& e) {
    return e.what();
  }
}

// Pings without pause from a thread of its own until stopped.
class Load {
 public:
  explicit Load(std::function<Socket()> connect)
      : connect_(std::move(connect)), thread_([this] { run(); }) {}
  ~Load() { stop(); }
  void stop() {
    done_ = true;
    if (thread_.joinable()) thread_.join();
  }
  int ok() const { return ok_.load(); }
  int failed() const { return failed_.load(); }
  const std::string& first_failure() const { return first_failure_; }
  // Waits until `more` pings past the current count have succeeded.
  bool wait_more(int more) {
    const int target = ok_.load() + more;
    const auto until = std::chrono::steady_clock::now() + 30s;
    while (ok_.load() < target && std::chrono::steady_clock::now() < until)
      std::this_thread::sleep_for(5ms);
    return ok_.load() >= target;
  }

 private:
  void run() {
    for (int n = 0; !done_; ++n) {
      const std::string error = ping(connect_, n);
      if (error.empty()) {
        ++ok_;
      } else if (failed_++ == 0) {
        first_failure_ = error;
      }
    }
  }
  std::function<Socket()> connect_;
  std::atomic<bool> done_{false};
  std::atomic<int> ok_{0};
  std::atomic<int> failed_{0};
  std::string first_failure_;
  std::thread thread_;
};

// The PID in the n-th (1-based) "restart: PID N is ready" line, or 0.
pid_t ready_pid(const std::string& log, int n) {
  std::size_t at = 0;
  const std::string marker = "restart: PID ";
  for (int seen = 0; seen < n; ++seen) {
    at = log.find(marker, at);
    if (at == std::string::npos) return 0;
    at += marker.size();
  }
  return static_cast<pid_t>(std::stol(log.substr(at)));
}

void wait_exit(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
}

// Ends every copy the log says was started (after a failure some may still run), then
// reaps them: they came back to this process, the subreaper.
void end_copies(const std::string& log) {
  const std::string marker = " as PID ";
  for (std::size_t at = log.find(marker); at != std::string::npos; at = log.find(marker, at + 1)) {
    const auto pid = static_cast<pid_t>(std::stol(log.substr(at + marker.size())));
    if (::kill(pid, SIGTERM) == 0) wait_exit(pid);
  }
}

class Restart : public ::testing::TestWithParam<std::string> {
 protected:
  // The copies outlive their parents: they come back to this process, which reaps them.
  static void SetUpTestSuite() { ::prctl(PR_SET_CHILD_SUBREAPER, 1); }
};

// Sends SIGUSR2 `times` times while `load` runs, each time to the copy serving then.
void restart_under_load(Process& first, Load& load, int times) {
  pid_t serving = first.pid();
  for (int i = 1; i <= times; ++i) {
    EXPECT_TRUE(load.wait_more(20)) << "pings stalled before restart " << i;
    ::kill(serving, SIGUSR2);
    pid_t next = 0;
    const auto until = std::chrono::steady_clock::now() + 60s;
    while ((next = ready_pid(first.stderr_text(), i)) == 0 &&
           std::chrono::steady_clock::now() < until) {
      first.pump(100ms);
    }
    if (next == 0) {
      ADD_FAILURE() << "restart " << i << " never got ready: " << first.stderr_text();
      return;
    }
    if (serving == first.pid()) {
      first.wait(30s);
    } else {
      wait_exit(serving);
    }
    serving = next;
  }
  EXPECT_TRUE(load.wait_more(20)) << "pings stalled after the last restart";
}

TEST_P(Restart, ThreeRestartsUnderLoadDropNothing) {
  ServeProcess server("echo", GetParam(), {"--quiet"});
  ASSERT_TRUE(server.ok());
  const Address address = Address::loopback_ipv4(server.port);
  Load load([&address] { return Socket(TcpSocket::connect(address, 10s)); });
  restart_under_load(*server.process, load, 3);
  load.stop();
  server.process->pump(100ms);
  end_copies(server.process->stderr_text());
  EXPECT_EQ(load.failed(), 0) << "first failure: " << load.first_failure() << "\n"
                              << server.process->stderr_text();
  EXPECT_GT(load.ok(), 60);
}

// `sockit bench --mode churn` (connect, one echo, close, on four connections at once, every
// echoed byte checked), run back to back in runs of two seconds from a thread of its own
// until stopped. Each run's JSON report is read and its counts added up.
class ChurnBench {
 public:
  explicit ChurnBench(std::uint16_t port) : port_(port), thread_([this] { run(); }) {}
  ~ChurnBench() { stop(); }
  ChurnBench(const ChurnBench&) = delete;
  ChurnBench& operator=(const ChurnBench&) = delete;
  // Waits for the run under way to end. The counts below are read after this.
  void stop() {
    done_ = true;
    if (thread_.joinable()) thread_.join();
  }
  int runs() const { return runs_; }
  std::uint64_t connections() const { return connections_; }
  std::uint64_t verified_bytes() const { return verified_bytes_; }
  std::uint64_t errors() const { return errors_; }
  // What the first run that failed printed, or "".
  const std::string& first_failure() const { return first_failure_; }

 private:
  void run() {
    while (!done_) {
      Process bench({binary("bin/sockit"), "bench", "127.0.0.1", std::to_string(port_), "--mode",
                     "churn", "--conns", "4", "--duration", "2", "--warmup", "0", "--json"});
      const ExitStatus status = bench.finish(60s);
      ++runs_;
      bool failed = !status.success();
      try {
        const nlohmann::json report = nlohmann::json::parse(bench.stdout_text());
        connections_ += report.at("connections").get<std::uint64_t>();
        verified_bytes_ += report.at("verified_bytes").get<std::uint64_t>();
        const auto errors = report.at("errors").at("total").get<std::uint64_t>();
        errors_ += errors;
        failed = failed || errors != 0;
      } catch (const std::exception&) {
        ++errors_;  // no report: the run itself failed
        failed = true;
      }
      if (failed && first_failure_.empty()) {
        first_failure_ = bench.stdout_text() + bench.stderr_text();
        if (first_failure_.empty()) first_failure_ = "bench failed and printed nothing";
      }
    }
  }

  std::uint16_t port_;
  std::atomic<bool> done_{false};
  int runs_ = 0;
  std::uint64_t connections_ = 0;
  std::uint64_t verified_bytes_ = 0;
  std::uint64_t errors_ = 0;
  std::string first_failure_;
  std::thread thread_;
};

// The test the restart promise is held to: the churning bench and the pinging client run
// against one server while it is restarted five times. Neither sees a refusal, a reset, an
// early close or a wrong byte.
// A restart under ASan takes one to three seconds (a new copy of the program starts), so
// five take up to fifteen, beside the three-restart test above on all nine: this one runs
// on one architecture of each kind, the event loop on epoll and on io_uring, the
// pre-forked processes and a thread per connection.
class RestartChurn : public Restart {};

TEST_P(RestartChurn, FiveRestartsUnderChurnAndPingsDropNothing) {
  ServeProcess server("echo", GetParam(), {"--quiet"});
  ASSERT_TRUE(server.ok());
  const Address address = Address::loopback_ipv4(server.port);
  ChurnBench bench(server.port);
  Load load([&address] { return Socket(TcpSocket::connect(address, 10s)); });
  restart_under_load(*server.process, load, 5);
  load.stop();
  bench.stop();
  server.process->pump(100ms);
  end_copies(server.process->stderr_text());
  EXPECT_EQ(load.failed(), 0) << "first failure: " << load.first_failure() << "\n"
                              << server.process->stderr_text();
  EXPECT_GT(load.ok(), 100);
  EXPECT_EQ(bench.errors(), 0U) << "first failed run: " << bench.first_failure();
  EXPECT_GT(bench.connections(), 100U);
  EXPECT_GT(bench.verified_bytes(), 0U);
  RecordProperty("bench_runs", bench.runs());
}

INSTANTIATE_TEST_SUITE_P(Architectures, Restart, ::testing::ValuesIn(all_architectures()),
                         arch_param_name);
INSTANTIATE_TEST_SUITE_P(Architectures, RestartChurn,
                         ::testing::Values("reactor", "uring", "prefork", "thread"),
                         arch_param_name);

TEST(RestartUnix, TheSocketFileOutlivesTheOldCopy) {
  ::prctl(PR_SET_CHILD_SUBREAPER, 1);
  TempDir dir("sockit-restart");
  const std::string path = dir.file("echo.sock");
  Process server({binary("bin/sockit"), "serve", "echo", "--unix", path, "--quiet"});
  ASSERT_TRUE(server.wait_stderr("listening on " + path, 20s)) << server.stderr_text();
  Load load([&path] { return Socket(UnixSocket::connect(path, Deadline(10s))); });
  restart_under_load(server, load, 1);
  load.stop();
  EXPECT_TRUE(std::filesystem::exists(path));
  EXPECT_EQ(ping([&path] { return Socket(UnixSocket::connect(path, Deadline(10s))); }, 0), "");
  server.pump(100ms);
  end_copies(server.stderr_text());
  EXPECT_EQ(load.failed(), 0) << load.first_failure();
}

// A supervisor's notification socket that learns each sender's PID (SO_PASSCRED), as
// systemd's does.
class SupervisorSocket {
 public:
  explicit SupervisorSocket(const std::string& path) : socket_(SOCK_DGRAM) {
    socket_.bind(Address::unix_path(path));
    socket_.set_option_raw(SOL_SOCKET, SO_PASSCRED, &kOn, sizeof kOn);
  }
  struct Message {
    std::string state;
    pid_t sender = 0;
  };
  // The next datagram, or an empty state after `patience`.
  Message next(std::chrono::milliseconds patience = 20s) {
    if (!wait_readable(socket_, Deadline(patience))) return {};
    char data[1024];
    iovec io{data, sizeof data};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(ucred))];
    msghdr header{};
    header.msg_iov = &io;
    header.msg_iovlen = 1;
    header.msg_control = control;
    header.msg_controllen = sizeof control;
    const ssize_t n = ::recvmsg(socket_.fd(), &header, 0);
    if (n < 0) return {};
    Message message{std::string(data, static_cast<std::size_t>(n)), 0};
    for (cmsghdr* c = CMSG_FIRSTHDR(&header); c != nullptr; c = CMSG_NXTHDR(&header, c)) {
      if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS) {
        ucred credentials{};
        std::memcpy(&credentials, CMSG_DATA(c), sizeof credentials);
        message.sender = credentials.pid;
      }
    }
    return message;
  }

 private:
  static constexpr int kOn = 1;
  UnixSocket socket_;
};

// Under a supervisor (systemd's Type=notify, ExecReload sending SIGUSR2): each copy that
// hands over tells the supervisor its successor's PID, and never says STOPPING=1 itself;
// a copy started by a restart speaks to the supervisor from then on, so the second restart
// and the final stop are told by the copies that own them.
TEST_F(Restart, TheSupervisorFollowsTheNewMainProcess) {
  TempDir dir("sockit-restart");
  const std::string path = dir.file("notify");
  SupervisorSocket supervisor(path);
  Process first({binary("bin/sockit"), "serve", "echo", "--arch", "reactor", "--port", "0"},
                {"NOTIFY_SOCKET=" + path});
  auto message = supervisor.next();
  EXPECT_EQ(message.state.rfind("READY=1\n", 0), 0U) << message.state;
  EXPECT_EQ(message.sender, first.pid());
  pid_t serving = first.pid();
  for (int i = 1; i <= 2; ++i) {
    ::kill(serving, SIGUSR2);
    message = supervisor.next(60s);
    ASSERT_EQ(message.state.rfind("MAINPID=", 0), 0U) << message.state << first.stderr_text();
    EXPECT_EQ(message.sender, serving);
    const pid_t next = static_cast<pid_t>(std::stol(message.state.substr(8)));
    first.pump(100ms);
    EXPECT_EQ(next, ready_pid(first.stderr_text(), i)) << first.stderr_text();
    if (serving == first.pid()) {
      first.wait(30s);
    } else {
      wait_exit(serving);
    }
    serving = next;
  }
  ::kill(serving, SIGTERM);
  message = supervisor.next();
  EXPECT_EQ(message.state, "STOPPING=1");
  EXPECT_EQ(message.sender, serving);
  wait_exit(serving);
  // Nothing else: no STOPPING=1 from the copies that handed over.
  EXPECT_EQ(supervisor.next(200ms).state, "");
}

// An upgrade whose new binary cannot start: the old copy says so and serves on.
TEST(RestartFailed, ANewCopyThatExitsLeavesTheOldOneServing) {
  TempDir dir("sockit-restart");
  const std::string program = dir.file("sockit");
  std::filesystem::copy_file(binary("bin/sockit"), program);
  Process old({program, "serve", "echo", "--port", "0"});
  const auto port = wait_listening_port(old);
  ASSERT_TRUE(port) << old.stderr_text();
  // The "upgrade" installed at the same path is broken.
  std::filesystem::remove(program);
  {
    std::ofstream script(program);
    script << "#!/bin/sh\nexit 3\n";
  }
  std::filesystem::permissions(program, std::filesystem::perms::owner_all);
  ::kill(old.pid(), SIGUSR2);
  EXPECT_TRUE(old.wait_stderr("exited with status 3 before it was ready; serving on", 30s))
      << old.stderr_text();
  const Address address = Address::loopback_ipv4(*port);
  EXPECT_EQ(ping([&address] { return Socket(TcpSocket::connect(address, 10s)); }, 1), "");
  EXPECT_TRUE(old.running());
  old.signal(SIGTERM);
  EXPECT_TRUE(old.finish(20s).success()) << old.stderr_text();
}

}  // namespace
}  // namespace sockit::test
