// Socket activation and readiness notification (see supervisor.hpp).
#include "supervisor.hpp"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <mutex>
#include <stdexcept>
#include <string>

#include "../quiet_thread.hpp"
#include "sockit/options.hpp"

namespace sockit::server::detail {
namespace {

constexpr int kFirstPassedFd = 3;  // SD_LISTEN_FDS_START

std::optional<long> number(const char* text) {
  if (text == nullptr) return std::nullopt;
  const std::string_view view(text);
  long value = 0;
  const auto [end, error] = std::from_chars(view.data(), view.data() + view.size(), value);
  if (error != std::errc() || end != view.data() + view.size()) return std::nullopt;
  return value;
}

std::mutex g_siblings_mutex;
std::vector<int> g_sibling_fds;
std::vector<Socket> g_inherited_siblings;

}  // namespace

void register_sibling_listener(int fd) {
  const std::lock_guard lock(g_siblings_mutex);
  g_sibling_fds.push_back(fd);
}

void unregister_sibling_listener(int fd) noexcept {
  const std::lock_guard lock(g_siblings_mutex);
  std::erase(g_sibling_fds, fd);
}

std::vector<int> sibling_listeners() {
  const std::lock_guard lock(g_siblings_mutex);
  return g_sibling_fds;
}

void keep_inherited_siblings(std::vector<Socket> sockets) {
  const std::lock_guard lock(g_siblings_mutex);
  g_inherited_siblings = std::move(sockets);
}

std::vector<Socket> take_inherited_siblings() {
  const std::lock_guard lock(g_siblings_mutex);
  return std::exchange(g_inherited_siblings, {});
}

std::vector<Socket> take_inherited_listeners() {
  const auto pid = number(std::getenv("LISTEN_PID"));
  const auto count = number(std::getenv("LISTEN_FDS"));
  ::unsetenv("LISTEN_PID");
  ::unsetenv("LISTEN_FDS");
  ::unsetenv("LISTEN_FDNAMES");
  std::vector<Socket> sockets;
  if (!pid || !count || *pid != ::getpid() || *count <= 0) return sockets;
  for (long i = 0; i < *count; ++i) {
    const int fd = kFirstPassedFd + static_cast<int>(i);
    Socket socket;
    bool listening = false;
    try {
      socket = Socket::adopt(fd);  // close-on-exec from now on
      listening = socket.get<option::SocketType>().value == SOCK_STREAM &&
                  socket.get<option::AcceptConnections>().value;
    } catch (const std::exception&) {
      listening = false;  // not open, or not a socket at all
    }
    if (!listening) {
      throw std::runtime_error("descriptor " + std::to_string(fd) +
                               " passed by LISTEN_FDS is not a listening stream socket");
    }
    sockets.push_back(std::move(socket));
  }
  return sockets;
}

SupervisorNotifier::SupervisorNotifier(bool enabled) {
  if (!enabled) return;
  const char* where = std::getenv("NOTIFY_SOCKET");
  const char* supervisor = std::getenv(kSupervisorSocketVariable);
  // Started by a restart: the supervisor's socket was passed on; else it is NOTIFY_SOCKET.
  supervisor_ = supervisor != nullptr ? supervisor : (where != nullptr ? where : "");
  if (where != nullptr) aim(where);
}

void SupervisorNotifier::aim(const std::string& where) {
  socket_ = Socket();
  if (where.empty()) return;
  const std::string_view path(where);
  try {
    target_ =
        path.front() == '@' ? Address::unix_abstract(path.substr(1)) : Address::unix_path(path);
    socket_ = Socket(AF_UNIX, SOCK_DGRAM);
  } catch (const std::exception&) {
    socket_ = Socket();  // an unusable NOTIFY_SOCKET: nobody to tell
  }
}

void SupervisorNotifier::ready(std::string_view state) {
  notify(state);
  if (std::getenv(kSupervisorSocketVariable) != nullptr) aim(supervisor_);
}

void SupervisorNotifier::notify(std::string_view state) const noexcept {
  if (!active()) return;
  static_cast<void>(::sendto(socket_.fd(), state.data(), state.size(), MSG_NOSIGNAL, target_.data(),
                             target_.size()));
}

StoppingNotice::StoppingNotice(const SupervisorNotifier& notifier, const StopSignal& stop,
                               const std::atomic<bool>& handed_over) {
  if (!notifier.active()) return;
  done_ = FileDescriptor(::eventfd(0, EFD_CLOEXEC));
  if (done_.get() < 0) return;
  // Returns once the thread runs, so no fork catches it half-started (see restart.cpp).
  std::atomic<bool> started{false};
  thread_ = sockit::detail::quiet_thread([this, &notifier, &stop, &handed_over, &started] {
    started.store(true);
    started.notify_one();
    std::array<pollfd, 2> fds{pollfd{stop.fd(), POLLIN, 0}, pollfd{done_.get(), POLLIN, 0}};
    while (::poll(fds.data(), fds.size(), -1) < 0 && errno == EINTR) {
    }
    if ((fds[0].revents & POLLIN) != 0 && !handed_over.load()) notifier.notify("STOPPING=1");
  });
  started.wait(false);
}

StoppingNotice::~StoppingNotice() {
  if (!thread_.joinable()) return;
  const std::uint64_t one = 1;
  static_cast<void>(::write(done_.get(), &one, sizeof one));
  thread_.join();
}

}  // namespace sockit::server::detail
