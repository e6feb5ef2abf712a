// Shared by the `sockit serve` integration tests: start the CLI's server as a child process
// on port 0, and a small blocking client with deadlines on every read.
#pragma once

#include <gtest/gtest.h>
#include <linux/sockios.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "sockit/address.hpp"
#include "sockit/error.hpp"
#include "sockit/poll.hpp"
#include "sockit/socket.hpp"
#include "sockit/tcp.hpp"
#include "support/process.hpp"

namespace sockit::test {

inline const std::vector<std::string>& all_architectures() {
  static const std::vector<std::string> archs{"serial",  "thread", "fork",  "prefork",     "pool",
                                              "reactor", "hybrid", "uring", "uring-hybrid"};
  return archs;
}

// A test name may hold letters, digits and underscores: "uring-hybrid" -> "uring_hybrid".
inline std::string test_name(std::string arch) {
  for (char& c : arch) {
    if (c == '-') c = '_';
  }
  return arch;
}
inline std::string arch_param_name(const ::testing::TestParamInfo<std::string>& info) {
  return test_name(info.param);
}

inline bool is_event_loop(std::string_view arch) {
  return arch == "reactor" || arch == "hybrid" || arch == "uring" || arch == "uring-hybrid";
}

// The child processes of process `parent` (fork's connection processes, prefork's workers).
inline std::vector<pid_t> children_of(pid_t parent) {
  std::vector<pid_t> kids;
  std::ifstream list("/proc/" + std::to_string(parent) + "/task/" + std::to_string(parent) +
                     "/children");
  pid_t pid = 0;
  while (list >> pid)
    kids.push_back(pid);
  return kids;
}

// Bytes `socket` sent that the peer's kernel has not acknowledged yet (SIOCOUTQ).
inline int unacknowledged(const Socket& socket) {
  int bytes = -1;
  return ::ioctl(socket.fd(), SIOCOUTQ, &bytes) == 0 ? bytes : -1;
}
// Waits (bounded) until every thread of process `pid` is stopped (state 'T').
inline bool wait_stopped(pid_t pid) {
  const Deadline deadline(std::chrono::seconds(20));
  const std::filesystem::path tasks = "/proc/" + std::to_string(pid) + "/task";
  for (;;) {
    bool all = true;
    std::error_code ec;
    for (const auto& task : std::filesystem::directory_iterator(tasks, ec)) {
      std::ifstream in(task.path() / "stat");
      std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      const auto paren = stat.rfind(')');  // "pid (comm) S ...": comm may hold spaces
      if (paren == std::string::npos || stat.size() < paren + 3 || stat[paren + 2] != 'T') {
        all = false;
      }
    }
    if (all && !ec) return true;
    if (deadline.expired()) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

// A `sockit serve` child. `prefix` runs the server through a wrapper (prlimit...).
struct ServeProcess {
  std::optional<Process> process;
  std::uint16_t port = 0;

  ServeProcess(const std::string& service, const std::string& arch,
               std::vector<std::string> extra = {}, std::vector<std::string> prefix = {}) {
    std::vector<std::string> argv = prefix;
    argv.push_back(binary("bin/sockit"));
    for (const char* a : {"serve", service.c_str(), "--arch", arch.c_str(), "--port", "0"}) {
      argv.emplace_back(a);
    }
    for (auto& e : extra)
      argv.push_back(std::move(e));
    process.emplace(std::move(argv));
    auto p = wait_listening_port(*process);
    if (p) {
      port = *p;
      return;
    }
    auto status = process->wait(std::chrono::seconds(2));
    ADD_FAILURE() << "server did not start (" << arch << ", " << service
                  << "), exited=" << (status ? status->exited : false) << ": "
                  << process->stderr_text();
  }

  bool ok() const { return port != 0; }

  // SIGTERM, then the exit status (SIGKILL after the timeout).
  ExitStatus terminate(std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
    process->signal(SIGTERM);
    return process->finish(timeout);
  }
};

// A blocking client with a deadline on each operation.
class Client {
 public:
  explicit Client(std::uint16_t port, std::chrono::milliseconds timeout = std::chrono::seconds(20))
      : socket_(TcpSocket::connect(Address::loopback_ipv4(port), timeout)) {}
  // On a connection made elsewhere (from a chosen source address, say).
  explicit Client(TcpSocket socket) : socket_(std::move(socket)) {}

  Socket& socket() { return socket_; }

  void send(std::string_view bytes) {
    while (!bytes.empty())
      bytes.remove_prefix(socket_.send(bytes));
  }
  void shutdown_write() { socket_.close_write(); }

  // Reads until `text` holds `needle`, EOF, an error or the timeout; returns what it read.
  std::string read_until(std::string_view needle,
                         std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
    Deadline deadline(timeout);
    while (buffer_.find(needle) == std::string::npos && !eof_) {
      if (!read_some(deadline)) break;
    }
    return buffer_;
  }
  // Like read_until, looking for `needle` only from `from` on (what was read before
  // `from` has been used already).
  const std::string& read_until_from(std::size_t from, std::string_view needle,
                                     std::chrono::milliseconds timeout) {
    Deadline deadline(timeout);
    while (buffer_.find(needle, from) == std::string::npos && !eof_) {
      if (!read_some(deadline)) break;
    }
    return buffer_;
  }
  // Reads until `size` bytes in all have arrived, EOF, an error or the timeout.
  const std::string& read_at_least(std::size_t size, std::chrono::milliseconds timeout) {
    Deadline deadline(timeout);
    while (buffer_.size() < size && !eof_) {
      if (!read_some(deadline)) break;
    }
    return buffer_;
  }
  // Reads until the server closes (EOF or reset) or the timeout.
  std::string read_to_eof(std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
    Deadline deadline(timeout);
    while (!eof_) {
      if (!read_some(deadline)) break;
    }
    return buffer_;
  }
  bool eof() const { return eof_; }
  bool reset() const { return reset_; }
  const std::string& received() const { return buffer_; }

 private:
  bool read_some(const Deadline& deadline) {
    if (!wait_readable(socket_, deadline)) return false;
    char chunk[16384];
    try {
      std::size_t n = socket_.recv(std::span<char>(chunk, sizeof chunk));
      if (n == 0) {
        eof_ = true;
        return false;
      }
      buffer_.append(chunk, n);
      return true;
    } catch (const Error&) {
      eof_ = reset_ = true;
      return false;
    }
  }

  TcpSocket socket_;
  std::string buffer_;
  bool eof_ = false;
  bool reset_ = false;
};

}  // namespace sockit::test
