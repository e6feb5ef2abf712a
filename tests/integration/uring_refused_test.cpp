// Where io_uring is refused (a container's seccomp profile, an old kernel), `--arch uring`
// fails at start with a message naming the cause, and never falls back to epoll. Simulated
// without privileges: the child installs a seccomp filter that answers io_uring_setup with
// an error, then runs the CLI.
#include <gtest/gtest.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

#include "support/process.hpp"

namespace sockit::test {
namespace {

struct Outcome {
  int exit_code = -1;
  bool killed = false;  // still running when the test stopped waiting
  std::string stderr_text;
};

// Runs `sockit serve echo --arch ARCH --port 0` with io_uring_setup answering `err`, until it
// exits or says it listens (then it is killed), for up to `limit`.
Outcome serve_without_io_uring(const std::string& arch, int err, std::chrono::milliseconds limit) {
  int pipe_fds[2];
  if (::pipe(pipe_fds) != 0) throw std::runtime_error("pipe");
  const std::string program = binary("bin/sockit");
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(pipe_fds[1], STDERR_FILENO);
    ::close(pipe_fds[0]);
    sock_filter filter[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_setup, 0, 1),
        BPF_STMT(BPF_RET | BPF_K,
                 SECCOMP_RET_ERRNO | (static_cast<unsigned>(err) & SECCOMP_RET_DATA)),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    sock_fprog prog{static_cast<unsigned short>(sizeof filter / sizeof filter[0]), filter};
    if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
        ::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) != 0) {
      ::_exit(120);
    }
    const char* argv[] = {program.c_str(), "serve",  "echo", "--arch",
                          arch.c_str(),    "--port", "0",    nullptr};
    ::execv(program.c_str(), const_cast<char* const*>(argv));
    ::_exit(121);
  }
  ::close(pipe_fds[1]);
  Outcome outcome;
  const auto until = std::chrono::steady_clock::now() + limit;
  char buffer[4096];
  bool closed = false;  // stderr reached EOF: the process is exiting
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        until - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    pollfd p{pipe_fds[0], POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
    const ssize_t n = ::read(pipe_fds[0], buffer, sizeof buffer);
    if (n <= 0) {
      closed = true;
      break;
    }
    outcome.stderr_text.append(buffer, static_cast<std::size_t>(n));
    if (outcome.stderr_text.find("listening on") != std::string::npos) break;
  }
  int status = 0;
  if (!closed) {
    outcome.killed = ::waitpid(pid, &status, WNOHANG) == 0;
    if (outcome.killed) ::kill(pid, SIGKILL);
  }
  ::waitpid(pid, &status, 0);
  if (!outcome.killed && WIFEXITED(status)) outcome.exit_code = WEXITSTATUS(status);
  ::close(pipe_fds[0]);
  return outcome;
}

TEST(UringRefused, SeccompFilterIsNamedAndNothingListens) {
  for (const char* arch : {"uring", "uring-hybrid"}) {
    const Outcome o = serve_without_io_uring(arch, EPERM, 20s);
    ASSERT_NE(o.exit_code, 120) << "could not install the seccomp filter";
    EXPECT_FALSE(o.killed) << arch << " kept running: " << o.stderr_text;
    EXPECT_EQ(o.exit_code, 1) << o.stderr_text;
    EXPECT_NE(o.stderr_text.find("--arch " + std::string(arch) + " cannot run here"),
              std::string::npos)
        << o.stderr_text;
    EXPECT_NE(o.stderr_text.find("seccomp"), std::string::npos) << o.stderr_text;
    EXPECT_NE(o.stderr_text.find("Operation not permitted"), std::string::npos) << o.stderr_text;
    EXPECT_EQ(o.stderr_text.find("listening on"), std::string::npos) << o.stderr_text;
  }
}

TEST(UringRefused, KernelWithoutIoUringIsNamed) {
  const Outcome o = serve_without_io_uring("uring", ENOSYS, 20s);
  EXPECT_EQ(o.exit_code, 1) << o.stderr_text;
  EXPECT_NE(o.stderr_text.find("this kernel has no io_uring"), std::string::npos) << o.stderr_text;
}

// The control: the same filter leaves the epoll reactor serving, so what failed above was
// io_uring alone.
TEST(UringRefused, EpollReactorIsUntouchedByTheFilter) {
  const Outcome o = serve_without_io_uring("reactor", EPERM, 20s);
  EXPECT_TRUE(o.killed) << o.stderr_text;
  EXPECT_NE(o.stderr_text.find("listening on"), std::string::npos) << o.stderr_text;
}

}  // namespace
}  // namespace sockit::test
