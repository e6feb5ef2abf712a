#include "support/process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <regex>
#include <stdexcept>
#include <string_view>

extern char** environ;

namespace sockit::test {

std::string binary(std::string_view relative) {
  return std::string(SOCKIT_BINARY_DIR) + "/" + std::string(relative);
}

std::string source(std::string_view relative) {
  return std::string(SOCKIT_SOURCE_DIR) + "/" + std::string(relative);
}

bool have_tool(std::string_view name) {
  const char* path = std::getenv("PATH");
  if (path == nullptr) return false;
  std::string_view rest(path);
  while (!rest.empty()) {
    auto colon = rest.find(':');
    std::filesystem::path candidate(std::string(rest.substr(0, colon)));
    candidate /= std::string(name);
    if (::access(candidate.c_str(), X_OK) == 0) return true;
    if (colon == std::string_view::npos) break;
    rest.remove_prefix(colon + 1);
  }
  return false;
}

namespace {
ExitStatus decode(int status) {
  ExitStatus s;
  if (WIFEXITED(status)) {
    s.exited = true;
    s.code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    s.signal = WTERMSIG(status);
  }
  return s;
}
void close_fd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}
}  // namespace

Process::Process(std::vector<std::string> argv, std::vector<std::string> env) {
  int in[2], out[2], err[2];
  if (::pipe2(in, O_CLOEXEC) != 0 || ::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0) {
    throw std::runtime_error("pipe2 failed");
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in[0], 0);
  posix_spawn_file_actions_adddup2(&actions, out[1], 1);
  posix_spawn_file_actions_adddup2(&actions, err[1], 2);

  // The child starts with default signal dispositions and an empty mask, whatever the
  // test process has set.
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t all, none;
  sigfillset(&all);
  sigemptyset(&none);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);

  std::vector<char*> args;
  for (auto& a : argv)
    args.push_back(a.data());
  args.push_back(nullptr);
  // An entry of `env` replaces the inherited variable of the same name (the C library
  // would find the inherited one first).
  auto given = [&env](std::string_view inherited) {
    const std::string_view name = inherited.substr(0, inherited.find('=') + 1);
    return std::any_of(env.begin(), env.end(),
                       [name](const std::string& e) { return e.rfind(name, 0) == 0; });
  };
  std::vector<std::string> env_storage;
  for (char** e = environ; *e != nullptr; ++e) {
    if (!given(*e)) env_storage.emplace_back(*e);
  }
  for (auto& e : env)
    env_storage.push_back(e);
  std::vector<char*> envp;
  for (auto& e : env_storage)
    envp.push_back(e.data());
  envp.push_back(nullptr);

  int rc = ::posix_spawnp(&pid_, args[0], &actions, &attr, args.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  ::close(in[0]);
  ::close(out[1]);
  ::close(err[1]);
  in_ = in[1];
  out_fd_ = out[0];
  err_fd_ = err[0];
  if (rc != 0) {
    close_fd(in_);
    close_fd(out_fd_);
    close_fd(err_fd_);
    pid_ = -1;
    throw std::runtime_error("posix_spawnp " + argv[0] + ": " + std::strerror(rc));
  }
  ::signal(SIGPIPE, SIG_IGN);  // a child that exits early must not kill the test on write
}

Process::Process(Process&& o) noexcept
    : pid_(o.pid_),
      in_(o.in_),
      out_fd_(o.out_fd_),
      err_fd_(o.err_fd_),
      out_(std::move(o.out_)),
      err_(std::move(o.err_)),
      status_(o.status_) {
  o.pid_ = -1;
  o.in_ = o.out_fd_ = o.err_fd_ = -1;
}

Process::~Process() {
  if (pid_ > 0 && !status_) {
    ::kill(pid_, SIGKILL);
    int st = 0;
    while (::waitpid(pid_, &st, 0) < 0 && errno == EINTR) {
    }
  }
  close_fd(in_);
  close_fd(out_fd_);
  close_fd(err_fd_);
}

void Process::write_stdin(std::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t n = ::write(in_, bytes.data(), bytes.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      throw std::runtime_error(std::string("write to child stdin: ") + std::strerror(errno));
    }
    bytes.remove_prefix(static_cast<size_t>(n));
  }
}

void Process::close_stdin() {
  close_fd(in_);
}

bool Process::pump(std::chrono::milliseconds timeout) {
  pollfd fds[2];
  nfds_t n = 0;
  int* owners[2];
  std::string* sinks[2];
  if (out_fd_ >= 0) {
    fds[n] = {out_fd_, POLLIN, 0};
    owners[n] = &out_fd_;
    sinks[n++] = &out_;
  }
  if (err_fd_ >= 0) {
    fds[n] = {err_fd_, POLLIN, 0};
    owners[n] = &err_fd_;
    sinks[n++] = &err_;
  }
  if (n == 0) return false;
  int rc = ::poll(fds, n, static_cast<int>(timeout.count()));
  if (rc <= 0) return rc == 0 ? true : errno == EINTR;
  for (nfds_t i = 0; i < n; ++i) {
    if (fds[i].revents == 0) continue;
    char buf[16384];
    ssize_t got = ::read(fds[i].fd, buf, sizeof buf);
    if (got > 0) {
      sinks[i]->append(buf, static_cast<size_t>(got));
    } else if (got == 0 || errno != EINTR) {
      close_fd(*owners[i]);
    }
  }
  return true;
}

namespace {
bool wait_text(const std::string& text, std::string_view needle,
               std::chrono::steady_clock::time_point until,
               const std::function<bool(std::chrono::milliseconds)>& pump) {
  while (text.find(needle) == std::string::npos) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        until - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    if (!pump(std::min(left, std::chrono::milliseconds(100)))) {
      return text.find(needle) != std::string::npos;
    }
  }
  return true;
}
}  // namespace

bool Process::wait_stdout(std::string_view needle, std::chrono::milliseconds timeout) {
  return wait_text(out_, needle, std::chrono::steady_clock::now() + timeout,
                   [this](std::chrono::milliseconds t) { return pump(t); });
}

bool Process::wait_stderr(std::string_view needle, std::chrono::milliseconds timeout) {
  return wait_text(err_, needle, std::chrono::steady_clock::now() + timeout,
                   [this](std::chrono::milliseconds t) { return pump(t); });
}

std::optional<ExitStatus> Process::wait(std::chrono::milliseconds timeout) {
  if (status_) return status_;
  auto until = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    int st = 0;
    pid_t r = ::waitpid(pid_, &st, WNOHANG);
    if (r == pid_) {
      status_ = decode(st);
      return status_;
    }
    if (r < 0 && errno != EINTR) return std::nullopt;
    if (std::chrono::steady_clock::now() >= until) return std::nullopt;
    if (!pump(std::chrono::milliseconds(20))) ::usleep(20'000);
  }
}

ExitStatus Process::finish(std::chrono::milliseconds timeout) {
  auto until = std::chrono::steady_clock::now() + timeout;
  while ((out_fd_ >= 0 || err_fd_ >= 0) && std::chrono::steady_clock::now() < until) {
    pump(std::chrono::milliseconds(50));
  }
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      until - std::chrono::steady_clock::now());
  if (auto st = wait(std::max(left, std::chrono::milliseconds(1)))) return *st;
  signal(SIGKILL);
  int st = 0;
  while (::waitpid(pid_, &st, 0) < 0 && errno == EINTR) {
  }
  status_ = decode(st);
  return *status_;
}

void Process::signal(int sig) {
  if (pid_ > 0 && !status_) ::kill(pid_, sig);
}

bool Process::running() {
  return !wait(std::chrono::milliseconds(0)).has_value();
}

std::optional<std::uint16_t> wait_listening_port(Process& process,
                                                 std::chrono::milliseconds timeout) {
  if (!process.wait_stderr("listening on ", timeout)) return std::nullopt;
  // Let the rest of the line arrive.
  auto until = std::chrono::steady_clock::now() + timeout;
  static const std::regex re(R"(listening on \S*:(\d+))");
  std::smatch m;
  while (!std::regex_search(process.stderr_text(), m, re) ||
         process.stderr_text().find('\n', static_cast<size_t>(m.position(0))) ==
             std::string::npos) {
    if (std::chrono::steady_clock::now() >= until) return std::nullopt;
    if (!process.pump(std::chrono::milliseconds(50))) return std::nullopt;
  }
  return static_cast<std::uint16_t>(std::stoi(m[1].str()));
}

}  // namespace sockit::test
