// What every echo server in bench/peers shares: `--host H --port P` parsing, the
// "listening on HOST:PORT" line `sockit bench --compare` waits for, and a listening socket
// with TCP_NODELAY set once (Linux hands it to every accepted socket), as our reactor does.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

namespace peer {

struct Args {
  std::string host = "127.0.0.1";
  int port = 0;
};

inline Args parse(int argc, char** argv, const char* name) {
  Args a;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string_view flag = argv[i];
    if (flag == "--host") {
      a.host = argv[i + 1];
    } else if (flag == "--port") {
      a.port = std::atoi(argv[i + 1]);
    } else {
      std::fprintf(stderr, "usage: %s [--host H] [--port P]\n", name);
      std::exit(2);
    }
  }
  return a;
}

[[noreturn]] inline void die(const char* name, const char* what) {
  std::fprintf(stderr, "%s: %s: %s\n", name, what, std::strerror(errno));
  std::exit(1);
}

// A bound, listening IPv4 socket; `flags` go to socket(2) (SOCK_NONBLOCK for event loops).
inline int listen_on(const Args& a, const char* name, int flags) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | flags, 0);
  if (fd < 0) die(name, "socket");
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<std::uint16_t>(a.port));
  if (::inet_pton(AF_INET, a.host.c_str(), &address.sin_addr) != 1) die(name, "inet_pton");
  if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) < 0) die(name, "bind");
  if (::listen(fd, SOMAXCONN) < 0) die(name, "listen");
  return fd;
}

inline void announce(int fd, const Args& a, const char* name) {
  sockaddr_in address{};
  socklen_t size = sizeof address;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &size);
  std::fprintf(stderr, "%s listening on %s:%d\n", name, a.host.c_str(), ntohs(address.sin_port));
  std::fflush(stderr);
}

}  // namespace peer
