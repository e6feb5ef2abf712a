// Thread per connection, the naive baseline: blocking accept, one detached thread per
// client, blocking 64 KiB reads and whole writes.
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>

#include "peer_common.hpp"

namespace {

void serve(int fd) {
  char buffer[64 * 1024];
  for (;;) {
    ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n <= 0) break;
    ssize_t sent = 0;
    while (sent < n) {
      ssize_t w = ::send(fd, buffer + sent, static_cast<std::size_t>(n - sent), MSG_NOSIGNAL);
      if (w <= 0) {
        ::close(fd);
        return;
      }
      sent += w;
    }
  }
  ::close(fd);
}

}  // namespace

int main(int argc, char** argv) {
  const peer::Args args = peer::parse(argc, argv, "thread_echo");
  ::signal(SIGPIPE, SIG_IGN);
  const int listener = peer::listen_on(args, "thread_echo", 0);
  peer::announce(listener, args, "thread_echo");
  for (;;) {
    int client = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      ::usleep(10000);  // out of descriptors: rest rather than spin
      continue;
    }
    std::thread(serve, client).detach();
  }
}
