// Shared by the tests behind a real HAProxy (Debian's haproxy, mode tcp): haproxy in the
// foreground on a listening socket the test made on port 0, with a config of the test's or
// deploy/haproxy.cfg as shipped, and a client connected through it from a chosen address.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <fstream>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "sockit/deadline.hpp"
#include "sockit/error.hpp"
#include "sockit/poll.hpp"
#include "sockit/socket.hpp"
#include "sockit/unix.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"

namespace sockit::test {

struct Backend {
  std::uint16_t port;
  std::string send_proxy;  // "send-proxy" (v1) or "send-proxy-v2"
};

// haproxy in the foreground, listening on a socket it inherits (bind fd@N), with a stats
// socket the test asks which servers are up.
class Haproxy {
 public:
  // A config written here, for the backends given (v1 or v2 headers).
  Haproxy(const TempDir& dir, const std::vector<Backend>& backends) : stats_(dir.file("stats")) {
    Socket listener = make_listener();
    std::string config =
        "global\n"
        "  stats socket " +
        stats_ +
        " level admin\n"
        "defaults\n"
        "  mode tcp\n"
        "  timeout connect 2s\n"
        "  timeout client 20s\n"
        "  timeout server 20s\n"
        "frontend front\n"
        "  bind fd@" +
        std::to_string(listener.fd()) +
        "\n"
        "  default_backend instances\n"
        "backend instances\n"
        "  balance roundrobin\n";
    for (std::size_t i = 0; i < backends.size(); ++i) {
      config += "  server app" + std::to_string(i + 1) +
                " 127.0.0.1:" + std::to_string(backends[i].port) + " " + backends[i].send_proxy +
                " check inter 200ms fall 1 rise 1\n";
    }
    const std::string path = dir.file("haproxy.cfg");
    std::ofstream(path) << config;
    start(listener, path, {});
  }

  // deploy/haproxy.cfg as shipped, its three instances on `ports` (a port may repeat), its
  // health checks every 200 ms.
  Haproxy(const TempDir& dir, const std::array<std::uint16_t, 3>& ports)
      : stats_(dir.file("stats")) {
    Socket listener = make_listener();
    std::vector<std::string> env{"SOCKIT_HAPROXY_STATS=" + stats_,
                                 "SOCKIT_FRONT=fd@" + std::to_string(listener.fd()),
                                 "SOCKIT_CHECK_INTER=200ms"};
    for (std::size_t i = 0; i < ports.size(); ++i) {
      env.push_back("SOCKIT_APP" + std::to_string(i + 1) +
                    "=127.0.0.1:" + std::to_string(ports[i]));
    }
    start(listener, std::string(SOCKIT_SOURCE_DIR) + "/deploy/haproxy.cfg", std::move(env));
  }
  ~Haproxy() {
    if (process_) {
      process_->signal(SIGTERM);
      process_->finish(std::chrono::seconds(10));
    }
  }

  std::uint16_t port() const { return port_; }
  std::string errors() const { return process_->stderr_text(); }

  // Asks the stats socket for the servers' states, until `server` reports `status`.
  bool wait_status(const std::string& server, const std::string& status,
                   std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
    Deadline deadline(timeout);
    while (!deadline.expired()) {
      const std::string csv = ask("show stat\n");
      // Lines: "BACKEND,app2,...,status,..." with status UP, DOWN, "DOWN 1/1"...
      const std::string key = "," + server + ",";
      const std::size_t line = csv.find(key);
      if (line != std::string::npos) {
        const std::string row = csv.substr(line, csv.find('\n', line) - line);
        if (row.find("," + status) != std::string::npos) return true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  }

 private:
  Socket make_listener() {
    Socket listener(AF_INET, SOCK_STREAM);
    listener.bind(Address::loopback_ipv4(0));
    listener.listen();
    port_ = listener.local_address().port();
    return listener;
  }
  // The listener goes to haproxy alone: inherited across its spawn, then closed here.
  void start(const Socket& listener, const std::string& config, std::vector<std::string> env) {
    ::fcntl(listener.fd(), F_SETFD, 0);
    process_.emplace(std::vector<std::string>{"haproxy", "-f", config, "-db", "-q"},
                     std::move(env));
  }

  std::string ask(const std::string& command) {
    try {
      Socket socket = UnixSocket::connect(stats_);
      socket.send(command);
      std::string reply;
      char chunk[4096];
      while (wait_readable(socket, Deadline(std::chrono::seconds(2)))) {
        const std::size_t n = socket.recv(std::span<char>(chunk, sizeof chunk));
        if (n == 0) break;
        reply.append(chunk, n);
      }
      return reply;
    } catch (const Error&) {
      return {};  // not up yet
    }
  }

  std::string stats_;
  std::uint16_t port_ = 0;
  std::optional<Process> process_;
};

// A client connected through haproxy from a given loopback address.
Socket connect_from(const std::string& source, std::uint16_t port) {
  Socket socket(AF_INET, SOCK_STREAM);
  socket.bind(Address::parse(source, 0));
  socket.connect(Address::loopback_ipv4(port), std::chrono::seconds(10));
  return socket;
}

// Reads until `needle` has arrived, EOF or 20 s.
std::string read_until(Socket& socket, std::string_view needle) {
  std::string text;
  char chunk[4096];
  Deadline deadline(std::chrono::seconds(20));
  while (text.find(needle) == std::string::npos && wait_readable(socket, deadline)) {
    std::size_t n = 0;
    try {
      n = socket.recv(std::span<char>(chunk, sizeof chunk));
    } catch (const Error&) {
      break;  // reset
    }
    if (n == 0) break;
    text.append(chunk, n);
  }
  return text;
}

}  // namespace sockit::test
