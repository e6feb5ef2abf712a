// The baseline of the architecture comparison: the plainest fast epoll echo server. One
// thread, level-triggered epoll, one read into a shared 64 KiB buffer and one write back
// per readiness event; only output the socket would not take is kept per connection.
// Usage: epoll_echo [--host 127.0.0.1] [--port 0]; prints "listening on HOST:PORT".
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <unordered_map>

namespace {

[[noreturn]] void die(const char* what) {
  std::fprintf(stderr, "epoll_echo: %s: %s\n", what, std::strerror(errno));
  std::exit(1);
}

volatile sig_atomic_t stop_requested = 0;
void on_signal(int) {
  stop_requested = 1;
}

}  // namespace

int main(int argc, char** argv) {
  std::string host = "127.0.0.1";
  int port = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string_view flag = argv[i];
    if (flag == "--host") {
      host = argv[i + 1];
    } else if (flag == "--port") {
      port = std::atoi(argv[i + 1]);
    } else {
      std::fprintf(stderr, "usage: epoll_echo [--host H] [--port P]\n");
      return 2;
    }
  }
  struct sigaction action {};
  action.sa_handler = on_signal;
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
  signal(SIGPIPE, SIG_IGN);

  int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (listener < 0) die("socket");
  int one = 1;
  ::setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  // Inherited by accepted sockets on Linux.
  ::setsockopt(listener, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<std::uint16_t>(port));
  if (::inet_pton(AF_INET, host.c_str(), &address.sin_addr) != 1) die("inet_pton");
  if (::bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof address) < 0) die("bind");
  if (::listen(listener, SOMAXCONN) < 0) die("listen");
  socklen_t size = sizeof address;
  ::getsockname(listener, reinterpret_cast<sockaddr*>(&address), &size);
  std::fprintf(stderr, "epoll_echo listening on %s:%d\n", host.c_str(), ntohs(address.sin_port));

  int epoll = ::epoll_create1(EPOLL_CLOEXEC);
  if (epoll < 0) die("epoll_create1");
  epoll_event event{};
  event.events = EPOLLIN;
  event.data.fd = listener;
  ::epoll_ctl(epoll, EPOLL_CTL_ADD, listener, &event);

  static char buffer[64 * 1024];
  std::unordered_map<int, std::string> pending;  // only connections whose output backed up
  epoll_event events[256];
  while (stop_requested == 0) {
    int count = ::epoll_wait(epoll, events, 256, -1);
    if (count < 0) {
      if (errno == EINTR) continue;
      die("epoll_wait");
    }
    for (int i = 0; i < count; ++i) {
      const int fd = events[i].data.fd;
      if (fd == listener) {
        for (;;) {
          int client = ::accept4(listener, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
          if (client < 0) break;
          epoll_event add{};
          add.events = EPOLLIN;
          add.data.fd = client;
          ::epoll_ctl(epoll, EPOLL_CTL_ADD, client, &add);
        }
        continue;
      }
      if ((events[i].events & EPOLLOUT) != 0) {
        auto it = pending.find(fd);
        if (it != pending.end()) {
          ssize_t n = ::send(fd, it->second.data(), it->second.size(), MSG_NOSIGNAL);
          if (n > 0) it->second.erase(0, static_cast<std::size_t>(n));
          if (it->second.empty()) {
            pending.erase(it);
            epoll_event mod{};
            mod.events = EPOLLIN;
            mod.data.fd = fd;
            ::epoll_ctl(epoll, EPOLL_CTL_MOD, fd, &mod);
          }
        }
        continue;
      }
      ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
      if (n <= 0) {
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
        pending.erase(fd);
        ::close(fd);
        continue;
      }
      ssize_t written = ::send(fd, buffer, static_cast<std::size_t>(n), MSG_NOSIGNAL);
      if (written < 0) {
        if (errno != EAGAIN) {
          pending.erase(fd);
          ::close(fd);
          continue;
        }
        written = 0;
      }
      if (written < n) {
        // Keeps it simple: while output is backed up, stop reading (no unbounded growth).
        pending[fd].append(buffer + written, static_cast<std::size_t>(n - written));
        epoll_event mod{};
        mod.events = EPOLLOUT;
        mod.data.fd = fd;
        ::epoll_ctl(epoll, EPOLL_CTL_MOD, fd, &mod);
      }
    }
  }
  return 0;
}
