// Test support: a connected TCP pair on loopback (with its listener), and a timer whose
// signal interrupts blocking calls, for tests of waits that must survive EINTR.
#pragma once

#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <chrono>

#include "sockit/address.hpp"
#include "sockit/socket.hpp"

namespace sockit::test {

struct TcpPair {
  Socket listener;
  Socket client;
  Socket server;
};

inline TcpPair make_tcp_pair() {
  using namespace std::chrono_literals;
  TcpPair p;
  p.listener = Socket(AF_INET, SOCK_STREAM);
  p.listener.bind(Address::loopback_ipv4(0));
  p.listener.listen();
  p.client = Socket(AF_INET, SOCK_STREAM);
  p.client.connect(p.listener.local_address(), 10s);
  p.server = p.listener.accept(10s).socket;
  return p;
}

// An interval timer whose handler interrupts poll/epoll_wait (they are never restarted).
class AlarmGuard {
 public:
  explicit AlarmGuard(std::chrono::milliseconds first) {
    struct sigaction action {};
    action.sa_handler = [](int) {};
    ::sigaction(SIGALRM, &action, &previous_);
    itimerval timer{};
    timer.it_value.tv_usec = static_cast<suseconds_t>(first.count() * 1000);
    timer.it_interval.tv_usec = 20'000;
    ::setitimer(ITIMER_REAL, &timer, nullptr);
  }
  ~AlarmGuard() {
    itimerval off{};
    ::setitimer(ITIMER_REAL, &off, nullptr);
    ::sigaction(SIGALRM, &previous_, nullptr);
  }
  AlarmGuard(const AlarmGuard&) = delete;
  AlarmGuard& operator=(const AlarmGuard&) = delete;

 private:
  struct sigaction previous_ {};
};

}  // namespace sockit::test
