// Restarts on SIGUSR2 (see restart.hpp): the signal wakes a thread of the server's own,
// which starts the new copy, waits for its READY=1, then requests this server's stop.
#include "restart.hpp"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "../quiet_thread.hpp"
#include "fork_gate.hpp"
#include "signals.hpp"
#include "sockit/address.hpp"
#include "sockit/error.hpp"
#include "sockit/unix.hpp"
#include "supervisor.hpp"

extern char** environ;  // NOLINT(readability-redundant-declaration): POSIX declares it nowhere

namespace sockit::server::detail {
namespace {

constexpr auto kReadyWithin = std::chrono::seconds(60);

std::atomic<int> g_wake_fd{-1};
std::atomic<pid_t> g_owner{0};
struct sigaction g_old_usr2 {};

// Forked workers inherit the handler: only the server's own process restarts.
extern "C" void on_restart_signal(int) {
  const int saved = errno;
  const int fd = g_wake_fd.load();
  if (fd >= 0 && ::getpid() == g_owner.load()) {
    const std::uint64_t one = 1;
    static_cast<void>(::write(fd, &one, sizeof one));
  }
  errno = saved;
}

// This process's own arguments, argv[0] first.
std::vector<std::string> own_arguments() {
  std::ifstream file("/proc/self/cmdline", std::ios::binary);
  const std::string all((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  std::vector<std::string> args;
  std::size_t at = 0;
  while (at < all.size()) {
    const std::size_t end = all.find('\0', at);
    args.push_back(all.substr(at, end - at));
    if (end == std::string::npos) break;
    at = end + 1;
  }
  return args;
}

// The program to start: argv[0] as the shell found it, so an upgraded binary installed at
// that path is the one that runs; this process's own image when it cannot be found.
std::string program_path(const std::string& argv0) {
  if (argv0.find('/') != std::string::npos) return argv0;
  const char* path = std::getenv("PATH");
  std::string_view dirs = path != nullptr ? path : "";
  while (!dirs.empty()) {
    const std::size_t colon = dirs.find(':');
    std::string candidate = std::string(dirs.substr(0, colon)) + "/" + argv0;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    if (colon == std::string_view::npos) break;
    dirs.remove_prefix(colon + 1);
  }
  return "/proc/self/exe";
}

bool is_supervisor_variable(std::string_view entry) {
  for (const std::string_view name : {"LISTEN_PID=", "LISTEN_FDS=", "LISTEN_FDNAMES=",
                                      "NOTIFY_SOCKET=", "SOCKIT_SUPERVISOR_NOTIFY_SOCKET="}) {
    if (entry.starts_with(name)) return true;
  }
  return false;
}

std::string describe_exit(int status) {
  if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return "was killed by signal " + std::to_string(WTERMSIG(status));
  return "ended";
}

}  // namespace

RestartOnSignal::RestartOnSignal(const Socket& listener, StopSignal& stop, const Logger& log,
                                 bool enabled, std::string supervisor_socket,
                                 std::function<void(pid_t)> handover)
    : listener_(listener),
      stop_(stop),
      log_(log),
      supervisor_socket_(std::move(supervisor_socket)),
      handover_(std::move(handover)) {
  if (!enabled) return;
  wake_ = FileDescriptor(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (wake_.get() < 0) throw_errno("eventfd", "restart signal", errno);
  g_owner.store(::getpid());
  g_wake_fd.store(wake_.get());
  struct sigaction action {};
  action.sa_handler = on_restart_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  ::sigaction(SIGUSR2, &action, &g_old_usr2);
  installed_ = true;
}

void RestartOnSignal::start() {
  if (!installed_ || thread_.joinable()) return;
  // Returns once the thread is running: a fork that prefork or fork makes right after must
  // not catch it half-started, holding a lock of the runtime's its child would inherit.
  std::atomic<bool> started{false};
  thread_ = sockit::detail::quiet_thread([this, &started] {
    started.store(true);
    started.notify_one();
    watch();
  });
  started.wait(false);
}

RestartOnSignal::~RestartOnSignal() {
  if (!installed_) return;
  ::sigaction(SIGUSR2, &g_old_usr2, nullptr);
  g_wake_fd.store(-1);
  if (!thread_.joinable()) return;
  done_.store(true);
  const std::uint64_t one = 1;
  static_cast<void>(::write(wake_.get(), &one, sizeof one));
  thread_.join();
}

void RestartOnSignal::watch() {
  bool handed_over = false;
  for (;;) {
    pollfd wake{wake_.get(), POLLIN, 0};
    if (::poll(&wake, 1, -1) < 0 && errno != EINTR) return;
    std::uint64_t count = 0;
    static_cast<void>(::read(wake_.get(), &count, sizeof count));
    if (done_.load()) return;
    // Everything from here allocates or logs: forks wait for it (see fork_gate.hpp).
    ForkGate::Hold hold;
    if (!refused_.empty()) {
      log_.error("restart: refused: " + refused_ + "; serving on");
      continue;
    }
    if (handed_over) {
      log_.info("restart: already handed over to a new copy; this one is draining");
      continue;
    }
    try {
      handed_over = restart(hold);
    } catch (const std::exception& e) {
      log_.error(std::string("restart: ") + e.what() + "; serving on");
    }
  }
}

bool RestartOnSignal::restart(ForkGate::Hold& hold) {
  const std::vector<std::string> args = own_arguments();
  if (args.empty()) {
    log_.error("restart: cannot read this process's arguments; serving on");
    return false;
  }
  if (stop_requested(stop_)) {
    log_.info("restart: the server is stopping already; no new copy");
    return false;
  }
  const std::string path = program_path(args.front());
  // The new copy reports its readiness here.
  static std::atomic<unsigned> restarts{0};
  const std::string name = "sockit-restart-" + std::to_string(::getpid()) + "-" +
                           std::to_string(restarts.fetch_add(1) + 1);
  UnixSocket notify(SOCK_DGRAM);
  notify.bind(Address::unix_abstract(name));

  // Everything the child needs is built before fork: between fork and exec it may only
  // make async-signal-safe calls.
  std::vector<std::string> env;
  for (char** entry = environ; *entry != nullptr; ++entry) {
    if (!is_supervisor_variable(*entry)) env.emplace_back(*entry);
  }
  std::vector<int> listeners{listener_.fd()};
  for (const int fd : sibling_listeners())
    listeners.push_back(fd);
  const int count = static_cast<int>(listeners.size());
  env.emplace_back("LISTEN_FDS=" + std::to_string(count));
  env.emplace_back("NOTIFY_SOCKET=@" + name);
  // Set even when empty: it tells the new copy that NOTIFY_SOCKET is this one's alone.
  env.emplace_back(std::string(kSupervisorSocketVariable) + "=" + supervisor_socket_);
  std::string pid_variable = "LISTEN_PID=" + std::string(24, '\0');
  std::vector<char*> argv;
  for (const std::string& arg : args)
    argv.push_back(
        const_cast<char*>(arg.c_str()));  // NOLINT(cppcoreguidelines-pro-type-const-cast)
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (std::string& entry : env)
    envp.push_back(entry.data());
  envp.push_back(pid_variable.data());
  envp.push_back(nullptr);

  // This fork's child only calls exec, so it needs no gate; the gate opens for the server's
  // own forks while this thread forks, and waits for the new copy.
  hold.release();
  const pid_t child = ::fork();
  if (child == 0) {
    sigset_t none;
    sigemptyset(&none);
    ::pthread_sigmask(SIG_SETMASK, &none, nullptr);
    // The listeners become 3, 4...: first moved above that range, so none is overwritten
    // before it is moved, then into place (dup2 leaves them open across exec).
    for (int& fd : listeners) {
      fd = ::fcntl(fd, F_DUPFD_CLOEXEC, 3 + count);
      if (fd < 0) ::_exit(127);
    }
    for (int i = 0; i < count; ++i) {
      if (::dup2(listeners[static_cast<std::size_t>(i)], 3 + i) < 0) ::_exit(127);
    }
    // LISTEN_PID names this process, whose PID is known only now.
    char digits[24];
    int n = 0;
    for (pid_t pid = ::getpid(); pid > 0; pid /= 10)
      digits[n++] = static_cast<char>('0' + pid % 10);
    char* out = pid_variable.data() + std::strlen("LISTEN_PID=");
    while (n > 0)
      *out++ = digits[--n];
    ::execve(path.c_str(), argv.data(), envp.data());
    ::_exit(127);
  }
  // Only here, in the parent: the child may have copied the gate closed for a fork of the
  // server's, by a thread it does not have.
  hold.acquire();
  if (child < 0) throw_errno("fork", "restart", errno);
  // Said even when quiet, as the listening line is: scripts wait for these.
  const Logger say(LogLevel::info);
  say.info("restart: started " + path + " as PID " + std::to_string(child) +
           "; waiting until it is ready");
  const auto give_up = std::chrono::steady_clock::now() + kReadyWithin;
  while (std::chrono::steady_clock::now() < give_up) {
    int status = 0;
    if (::waitpid(child, &status, WNOHANG) == child) {
      log_.error("restart: the new copy (PID " + std::to_string(child) + ") " +
                 describe_exit(status) + " before it was ready; serving on");
      return false;
    }
    pollfd ready{notify.fd(), POLLIN, 0};
    hold.release();
    const int polled = ::poll(&ready, 1, 100);
    hold.acquire();
    if (polled <= 0) continue;
    char datagram[512];
    const ssize_t got = ::recv(notify.fd(), datagram, sizeof datagram, 0);
    if (got <= 0) continue;
    const std::string_view state(datagram, static_cast<std::size_t>(got));
    if (!state.starts_with("READY=1") && state.find("\nREADY=1") == std::string_view::npos) {
      continue;
    }
    say.info("restart: PID " + std::to_string(child) +
             " is ready and serves the same socket; this one drains and exits");
    if (handover_) handover_(child);
    stop_.request();
    return true;
  }
  ::kill(child, SIGKILL);
  int status = 0;
  while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  log_.error("restart: the new copy (PID " + std::to_string(child) + ") was not ready within " +
             std::to_string(kReadyWithin.count()) + " s and was ended; serving on");
  return false;
}

}  // namespace sockit::server::detail
