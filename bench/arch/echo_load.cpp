// Load generator for the architecture comparison. One thread, epoll, every echoed byte
// checked against what was sent.
//   pingpong: N connections, each sends a SIZE-byte line and waits for its echo, repeat.
//   churn:    N connections in flight, each connects, sends one line, reads the echo, closes.
// Usage: echo_load --port P [--host 127.0.0.1] [--mode pingpong|churn] [--conns 50]
//                  [--size 64] [--duration 5] [--warmup 0]
// Prints one line: "mode=pingpong conns=50 size=64 seconds=5.000 messages=N rate=R errors=E".
// Churn on loopback spreads its source addresses over 127.0.0.2-127.0.0.250 so that closed
// connections in TIME_WAIT do not use up the ephemeral ports of a single address.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif

namespace {

using Clock = std::chrono::steady_clock;

struct Options {
  std::string host = "127.0.0.1";
  int port = 0;
  bool churn = false;
  int conns = 50;
  std::size_t size = 64;
  double duration = 5;
  double warmup = 0;
};

struct Errors {
  std::uint64_t connect = 0, reset = 0, early_eof = 0, mismatch = 0;
  std::uint64_t total() const { return connect + reset + early_eof + mismatch; }
};

struct Connection {
  int fd = -1;
  bool connecting = false;
  std::string message;  // what was sent last; the echo must equal it
  std::size_t got = 0;
  std::uint64_t sequence = 0;
};

[[noreturn]] void usage() {
  std::fprintf(stderr,
               "usage: echo_load --port P [--host H] [--mode pingpong|churn] [--conns N] "
               "[--size BYTES] [--duration S] [--warmup S]\n");
  std::exit(2);
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; i += 2) {
    if (i + 1 >= argc) usage();
    std::string_view flag = argv[i];
    const char* value = argv[i + 1];
    if (flag == "--host") {
      o.host = value;
    } else if (flag == "--port") {
      o.port = std::atoi(value);
    } else if (flag == "--mode") {
      if (std::string_view(value) != "pingpong" && std::string_view(value) != "churn") usage();
      o.churn = std::string_view(value) == "churn";
    } else if (flag == "--conns") {
      o.conns = std::atoi(value);
    } else if (flag == "--size") {
      o.size = static_cast<std::size_t>(std::atol(value));
    } else if (flag == "--duration") {
      o.duration = std::atof(value);
    } else if (flag == "--warmup") {
      o.warmup = std::atof(value);
    } else {
      usage();
    }
  }
  if (o.port <= 0 || o.conns <= 0 || o.size < 16) usage();
  return o;
}

class Load {
 public:
  explicit Load(const Options& options)
      : o_(options), connections_(static_cast<std::size_t>(options.conns)) {
    server_.sin_family = AF_INET;
    server_.sin_port = htons(static_cast<std::uint16_t>(o_.port));
    if (::inet_pton(AF_INET, o_.host.c_str(), &server_.sin_addr) != 1) {
      std::fprintf(stderr, "echo_load: not an IPv4 address: %s\n", o_.host.c_str());
      std::exit(2);
    }
    spread_sources_ = o_.churn && o_.host.rfind("127.", 0) == 0;
    epoll_ = ::epoll_create1(EPOLL_CLOEXEC);
    for (std::size_t i = 0; i < connections_.size(); ++i) {
      connections_[i].message.assign(o_.size, 'x');
      connections_[i].message.back() = '\n';
    }
  }

  void run() {
    for (std::size_t i = 0; i < connections_.size(); ++i)
      start(i);
    const auto begin = Clock::now();
    const auto measure_from = begin + to_duration(o_.warmup);
    const auto end = measure_from + to_duration(o_.duration);
    bool measuring = o_.warmup <= 0;
    epoll_event events[256];
    for (;;) {
      int count = ::epoll_wait(epoll_, events, 256, 100);
      for (int i = 0; i < count; ++i)
        on_event(events[i].data.u64, events[i].events);
      const auto now = Clock::now();
      if (!measuring && now >= measure_from) {
        measuring = true;
        completed_ = 0;
        errors_ = {};
      }
      if (now >= end) break;
    }
    const double seconds = o_.duration;
    std::printf(
        "mode=%s conns=%d size=%zu seconds=%.3f messages=%llu rate=%.1f errors=%llu "
        "(connect=%llu reset=%llu eof=%llu mismatch=%llu)\n",
        o_.churn ? "churn" : "pingpong", o_.conns, o_.size, seconds,
        static_cast<unsigned long long>(completed_), static_cast<double>(completed_) / seconds,
        static_cast<unsigned long long>(errors_.total()),
        static_cast<unsigned long long>(errors_.connect),
        static_cast<unsigned long long>(errors_.reset),
        static_cast<unsigned long long>(errors_.early_eof),
        static_cast<unsigned long long>(errors_.mismatch));
  }

 private:
  static Clock::duration to_duration(double seconds) {
    return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  }

  void watch(std::size_t index, std::uint32_t events, int op) {
    epoll_event event{};
    event.events = events;
    event.data.u64 = index;
    ::epoll_ctl(epoll_, op, connections_[index].fd, &event);
  }

  void start(std::size_t index) {
    Connection& c = connections_[index];
    for (;;) {
      c.fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
      if (c.fd < 0) {
        std::perror("echo_load: socket");
        std::exit(1);
      }
      int one = 1;
      ::setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      if (spread_sources_) {
        ::setsockopt(c.fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
        sockaddr_in source{};
        source.sin_family = AF_INET;
        source.sin_addr.s_addr = htonl(0x7f000000u | (2 + next_source_++ % 249));
        ::bind(c.fd, reinterpret_cast<sockaddr*>(&source), sizeof source);
      }
      int rc = ::connect(c.fd, reinterpret_cast<const sockaddr*>(&server_), sizeof server_);
      if (rc == 0 || errno == EINPROGRESS) break;
      // Counted, so a server that refuses under load does not look fast; churn retries.
      const int err = errno;
      ++errors_.connect;
      ::close(c.fd);
      if (!o_.churn || ++consecutive_failures_ > 100000) {
        std::fprintf(stderr, "echo_load: connect: %s\n", std::strerror(err));
        std::exit(1);
      }
    }
    c.connecting = true;
    watch(index, EPOLLOUT, EPOLL_CTL_ADD);
  }

  void send_next(std::size_t index) {
    Connection& c = connections_[index];
    // A fresh tag per message, so an echo of an older message cannot pass the check.
    const int tag = std::snprintf(c.message.data(), c.message.size() - 1, "%zu:%llu:", index,
                                  static_cast<unsigned long long>(++c.sequence));
    c.message[std::min(static_cast<std::size_t>(tag), c.message.size() - 2)] = 'x';
    c.got = 0;
    ssize_t n = ::send(c.fd, c.message.data(), c.message.size(), MSG_NOSIGNAL);
    if (n != static_cast<ssize_t>(c.message.size())) fail(index, errors_.reset);
  }

  void fail(std::size_t index, std::uint64_t& counter) {
    ++counter;
    Connection& c = connections_[index];
    ::close(c.fd);
    c.fd = -1;
    start(index);
  }

  void on_event(std::uint64_t index, std::uint32_t events) {
    Connection& c = connections_[index];
    if (c.connecting) {
      int err = 0;
      socklen_t size = sizeof err;
      ::getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &size);
      if (err != 0) return fail(index, errors_.connect);
      consecutive_failures_ = 0;
      c.connecting = false;
      watch(index, EPOLLIN, EPOLL_CTL_MOD);
      return send_next(index);
    }
    if ((events & (EPOLLIN | EPOLLHUP | EPOLLERR)) == 0) return;
    ssize_t n = ::recv(c.fd, buffer_, sizeof buffer_, 0);
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) return;
      return fail(index, errors_.reset);
    }
    if (n == 0) return fail(index, errors_.early_eof);
    const auto got = static_cast<std::size_t>(n);
    if (c.got + got > c.message.size() ||
        std::memcmp(buffer_, c.message.data() + c.got, got) != 0) {
      return fail(index, errors_.mismatch);
    }
    c.got += got;
    if (c.got < c.message.size()) return;
    ++completed_;
    if (o_.churn) {
      ::close(c.fd);
      c.fd = -1;
      start(index);
    } else {
      send_next(index);
    }
  }

  Options o_;
  std::vector<Connection> connections_;
  sockaddr_in server_{};
  bool spread_sources_ = false;
  std::uint32_t next_source_ = 0;
  int consecutive_failures_ = 0;
  int epoll_ = -1;
  std::uint64_t completed_ = 0;
  Errors errors_;
  char buffer_[64 * 1024];
};

}  // namespace

int main(int argc, char** argv) {
  Options options = parse(argc, argv);
  Load load(options);
  load.run();
  return 0;
}
