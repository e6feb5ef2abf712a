// How long ordinary requests wait while logins are being checked: N clients send a command
// and wait for its answer, over and over, while AUTH lines arrive at a fixed rate on fresh
// connections. Prints the request latency percentiles and the logins done. With the
// password hash on the server's own loop, every login stalls every client of that loop.
//
//   auth_latency HOST PORT USER PASSWORD [--clients 50] [--auth-rate 20] [--duration 10]
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

int connect_to(const char* host, int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<std::uint16_t>(port));
  ::inet_pton(AF_INET, host, &sa.sin_addr);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
    std::perror("connect");
    std::exit(1);
  }
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

struct Conn {
  int fd = -1;
  bool login = false;  // a fresh connection sending one AUTH
  Clock::time_point sent;
  std::string in;
};

void send_all(int fd, const std::string& s) {
  std::size_t done = 0;
  while (done < s.size()) {
    ssize_t n = ::send(fd, s.data() + done, s.size() - done, MSG_NOSIGNAL);
    if (n <= 0) {
      std::perror("send");
      std::exit(1);
    }
    done += static_cast<std::size_t>(n);
  }
}

double percentile(std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  std::size_t i =
      std::min(v.size() - 1, static_cast<std::size_t>(p * static_cast<double>(v.size())));
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(i), v.end());
  return v[i];
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 5) {
    std::fprintf(stderr,
                 "usage: auth_latency HOST PORT USER PASSWORD [--clients N] [--auth-rate R] "
                 "[--duration S]\n");
    return 2;
  }
  const char* host = argv[1];
  const int port = std::atoi(argv[2]);
  const std::string auth = std::string("AUTH ") + argv[3] + " " + argv[4] + "\n";
  int clients = 50;
  double rate = 20, duration = 10;
  for (int i = 5; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    if (flag == "--clients") clients = std::atoi(argv[i + 1]);
    if (flag == "--auth-rate") rate = std::atof(argv[i + 1]);
    if (flag == "--duration") duration = std::atof(argv[i + 1]);
  }
  const std::string request = "HELP\n";  // answered "Unauthorized" without any hashing
  std::vector<Conn> conns;
  for (int i = 0; i < clients; ++i) {
    Conn c;
    c.fd = connect_to(host, port);
    c.sent = Clock::now();
    send_all(c.fd, request);
    conns.push_back(std::move(c));
  }
  std::vector<double> latencies_ms, login_ms;
  const auto start = Clock::now();
  const auto end = start + std::chrono::duration<double>(duration);
  auto next_login = start;
  const auto login_every = std::chrono::duration<double>(1.0 / rate);
  char buf[4096];
  while (Clock::now() < end) {
    auto now = Clock::now();
    while (rate > 0 && next_login <= now) {
      Conn c;
      c.fd = connect_to(host, port);
      c.login = true;
      c.sent = Clock::now();
      send_all(c.fd, auth);
      conns.push_back(std::move(c));
      next_login += std::chrono::duration_cast<Clock::duration>(login_every);
    }
    std::vector<pollfd> fds;
    for (auto& c : conns)
      fds.push_back({c.fd, POLLIN, 0});
    int wait_ms = std::max<int>(
        1, static_cast<int>(
               std::chrono::duration_cast<std::chrono::milliseconds>(next_login - now).count()));
    ::poll(fds.data(), fds.size(), std::min(wait_ms, 100));
    for (std::size_t i = 0; i < fds.size(); ++i) {
      if (fds[i].revents == 0) continue;
      Conn& c = conns[i];
      ssize_t n = ::recv(c.fd, buf, sizeof buf, 0);
      if (n <= 0) {
        std::fprintf(stderr, "server closed a connection\n");
        return 1;
      }
      c.in.append(buf, static_cast<std::size_t>(n));
      std::size_t nl;
      while ((nl = c.in.find('\n')) != std::string::npos) {
        c.in.erase(0, nl + 1);
        double ms = std::chrono::duration<double, std::milli>(Clock::now() - c.sent).count();
        if (c.login) {
          login_ms.push_back(ms);
          ::close(c.fd);
          c.fd = -1;
          break;
        }
        latencies_ms.push_back(ms);
        c.sent = Clock::now();
        send_all(c.fd, request);
      }
    }
    conns.erase(std::remove_if(conns.begin(), conns.end(), [](const Conn& c) { return c.fd < 0; }),
                conns.end());
  }
  std::printf(
      "requests %zu  p50 %.3f ms  p99 %.3f ms  p99.9 %.3f ms  max %.3f ms  logins %zu (p50 %.1f "
      "ms)\n",
      latencies_ms.size(), percentile(latencies_ms, 0.50), percentile(latencies_ms, 0.99),
      percentile(latencies_ms, 0.999), percentile(latencies_ms, 1.0), login_ms.size(),
      percentile(login_ms, 0.5));
  return 0;
}
