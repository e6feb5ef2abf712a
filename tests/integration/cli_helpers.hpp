// Helpers for the CLI client tests: run `sockit` (or a peer) to its end, describe the result
// for failure messages, and find loopback ports that nothing listens on.
#pragma once

#include <sys/socket.h>

#include <chrono>
#include <cstdint>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sockit/tcp.hpp"
#include "sockit/udp.hpp"
#include "support/process.hpp"

namespace sockit::test {

inline constexpr auto generous = std::chrono::seconds(60);

struct Finished {
  ExitStatus status;
  std::string out;
  std::string err;
  std::string describe() const;  // for failure messages
};

inline std::string sockit_bin() {
  return binary("bin/sockit");
}

// Runs a program to its end, stdin fed `input` and then closed.
inline Finished run(std::vector<std::string> argv, std::string_view input = {}) {
  Process p(std::move(argv));
  if (!input.empty()) p.write_stdin(input);
  p.close_stdin();
  auto status = p.finish(generous);
  return {status, p.stdout_text(), p.stderr_text()};
}

inline Finished run_sockit(std::vector<std::string> args, std::string_view input = {}) {
  args.insert(args.begin(), sockit_bin());
  return run(std::move(args), input);
}

inline std::string describe(const Finished& f) {
  std::ostringstream os;
  os << "exited=" << f.status.exited << " code=" << f.status.code << " signal=" << f.status.signal
     << "\nstdout: " << f.out << "\nstderr: " << f.err;
  return os.str();
}

inline std::string Finished::describe() const {
  return sockit::test::describe(*this);
}

// A TCP port on 127.0.0.1 that was free a moment ago (bound on port 0, then closed). Another
// process may take it before it is used: callers that listen on it retry with a new one.
inline std::uint16_t free_tcp_port() {
  TcpServer probe("127.0.0.1", 0);
  return probe.port();
}

inline std::uint16_t free_udp_port() {
  auto probe = UdpSocket::bound("127.0.0.1", 0);
  return probe.local_address().port();
}

}  // namespace sockit::test
