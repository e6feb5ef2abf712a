// Load generator for the TLS benchmark: echo ping-pong and handshakes per second against one
// server, plaintext or TLS through sockit's TlsTransport, on one thread with epoll (so the
// load costs exactly one core, which run.sh pins away from the server).
//   echo:      N connections, each sends a SIZE-byte line and waits for its echo, repeat.
//   handshake: K connections in flight; each connects, completes the handshake (plaintext:
//              the TCP connect alone), sends close_notify and FIN, closes, and starts again.
// With --server-pid, the server's CPU time over the measured interval (utime + stime from
// /proc/PID/stat) is reported per message or handshake; load_cpu_pct says whether this
// program, rather than the server, was the limit. Prints one line of key=value pairs:
//   mode=echo tls=1 conns=50 seconds=5.001 count=812345 rate=162440.1 server_us_per_op=5.81 ...
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "sockit/address.hpp"
#include "sockit/error.hpp"
#include "sockit/poller.hpp"
#include "sockit/socket.hpp"
#include "sockit/stream.hpp"
#include "sockit/tls.hpp"

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif

namespace {

using Clock = std::chrono::steady_clock;
using sockit::Direction;

struct Options {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;
  std::string mode = "echo";
  bool tls = false;
  std::string ca_file;  // empty with --tls: no verification (--insecure)
  std::string server_name = "localhost";
  int conns = 50;
  std::size_t size = 64;
  double seconds = 5;
  double warmup = 1;
  int server_pid = 0;
};

// utime + stime of a process, in seconds; -1 when it cannot be read.
double process_cpu_seconds(int pid) {
  std::ifstream file("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  // The command name (field 2) may hold spaces; fields are counted after its ')'.
  const auto close = text.rfind(')');
  if (close == std::string::npos) return -1;
  std::istringstream fields(text.substr(close + 1));
  std::string field;
  long long utime = 0;
  long long stime = 0;
  for (int index = 3; index <= 15 && fields >> field; ++index) {
    if (index == 14) utime = std::stoll(field);
    if (index == 15) stime = std::stoll(field);
  }
  return static_cast<double>(utime + stime) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

double self_cpu_seconds() {
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  auto seconds = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
  };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

struct Connection {
  enum class State { idle, connecting, handshaking, running };
  State state = State::idle;
  sockit::Socket socket;
  std::unique_ptr<sockit::Transport> transport;
  sockit::TlsTransport* tls = nullptr;  // the same object as transport, when TLS
  std::uint32_t interest = 0;
  std::size_t to_send = 0;  // bytes of the current line not yet written
  std::size_t received = 0;
};

class Load {
 public:
  Load(const Options& options, std::optional<sockit::TlsContext> context)
      : options_(options),
        context_(std::move(context)),
        server_(sockit::Address::parse(options.host, options.port)),
        line_(options.size - 1, 'x'),
        // Closed connections wait in TIME_WAIT on our side: spreading their source
        // addresses over 127.0.0.2-250 keeps one address's ephemeral ports from running out.
        spread_sources_(options.host == "127.0.0.1") {
    line_.push_back('\n');
    read_buffer_.resize(64 * 1024);
  }

  void run() {
    connections_.resize(static_cast<std::size_t>(options_.conns));
    for (std::size_t i = 0; i < connections_.size(); ++i) {
      connections_[i] = std::make_unique<Connection>();
      start(i);
    }
    const auto begin = Clock::now();
    const auto measure_from = begin + to_duration(options_.warmup);
    const auto measure_until = measure_from + to_duration(options_.seconds);
    bool measuring = false;
    std::vector<sockit::PollEvent> events(256);
    for (;;) {
      const auto now = Clock::now();
      if (!measuring && now >= measure_from) {
        measuring = true;
        snapshot(start_);
      }
      if (now >= measure_until) break;
      const auto next = measuring ? measure_until : measure_from;
      const auto wait_ms =
          std::chrono::duration_cast<std::chrono::milliseconds>(next - now).count() + 1;
      const std::size_t n = poller_.wait(events, static_cast<int>(wait_ms));
      for (std::size_t i = 0; i < n; ++i)
        handle(static_cast<std::size_t>(events[i].token));
    }
    snapshot(end_);
  }

  void report() const {
    const double seconds = std::chrono::duration<double>(end_.time - start_.time).count();
    const auto count = end_.count - start_.count;
    const double rate = seconds > 0 ? static_cast<double>(count) / seconds : 0;
    std::printf("mode=%s tls=%d conns=%d size=%zu seconds=%.3f count=%llu rate=%.1f",
                options_.mode.c_str(), options_.tls ? 1 : 0, options_.conns, options_.size, seconds,
                static_cast<unsigned long long>(count), rate);
    if (options_.server_pid > 0 && start_.server_cpu >= 0 && end_.server_cpu >= 0) {
      const double cpu = end_.server_cpu - start_.server_cpu;
      std::printf(" server_cpu_pct=%.1f server_us_per_op=%.2f", 100 * cpu / seconds,
                  count > 0 ? 1e6 * cpu / static_cast<double>(count) : 0.0);
    }
    std::printf(" load_cpu_pct=%.1f errors=%llu", 100 * (end_.self_cpu - start_.self_cpu) / seconds,
                static_cast<unsigned long long>(errors_));
    if (!protocol_.empty())
      std::printf(" protocol=%s cipher=%s", protocol_.c_str(), cipher_.c_str());
    std::printf("\n");
  }

 private:
  struct Snapshot {
    Clock::time_point time;
    std::uint64_t count = 0;
    double server_cpu = -1;
    double self_cpu = 0;
  };

  static Clock::duration to_duration(double seconds) {
    return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  }

  void snapshot(Snapshot& s) const {
    s.time = Clock::now();
    s.count = count_;
    s.server_cpu = options_.server_pid > 0 ? process_cpu_seconds(options_.server_pid) : -1;
    s.self_cpu = self_cpu_seconds();
  }

  bool handshake_mode() const { return options_.mode == "handshake"; }

  void start(std::size_t index) {
    Connection& c = *connections_[index];
    c.transport.reset();  // before the socket it points to
    c = Connection{};
    c.socket = sockit::Socket(AF_INET, SOCK_STREAM);
    c.socket.set_nonblocking(true);
    c.socket.set(sockit::option::NoDelay{true});
    if (spread_sources_) {
      const int one = 1;
      c.socket.set_option_raw(IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
      const std::string source = "127.0.0." + std::to_string(2 + next_source_++ % 249);
      c.socket.bind(sockit::Address::parse(source, 0));
    }
    // Even a connect that completed at once goes through the poller: a plaintext handshake
    // run would otherwise start the next connection from inside this one, without end.
    (void)c.socket.connect_nonblock(server_);
    c.state = Connection::State::connecting;
    c.interest = EPOLLOUT;
    poller_.add(c.socket.fd(), c.interest, index);
  }

  void want(std::size_t index, std::uint32_t interest) {
    Connection& c = *connections_[index];
    if (c.interest == interest) return;
    c.interest = interest;
    poller_.modify(c.socket.fd(), interest, index);
  }

  void connected(std::size_t index) {
    Connection& c = *connections_[index];
    if (context_) {
      auto tls = std::make_unique<sockit::TlsTransport>(c.socket, *context_, options_.server_name);
      c.tls = tls.get();
      c.transport = std::move(tls);
      c.state = Connection::State::handshaking;
      step_handshake(index);
    } else {
      c.transport = std::make_unique<sockit::SocketTransport>(c.socket);
      established(index);
    }
  }

  void step_handshake(std::size_t index) {
    Connection& c = *connections_[index];
    if (auto direction = c.tls->handshake_step()) {
      want(index, *direction == Direction::read ? EPOLLIN : EPOLLOUT);
      return;
    }
    established(index);
  }

  void established(std::size_t index) {
    Connection& c = *connections_[index];
    if (c.tls != nullptr && protocol_.empty()) {
      protocol_ = c.tls->protocol();
      cipher_ = c.tls->cipher();
    }
    if (handshake_mode()) {
      ++count_;
      c.transport->close_write();  // TLS: close_notify, then FIN
      poller_.remove(c.socket.fd());
      c.transport.reset();
      c.socket.close();
      start(index);
      return;
    }
    c.state = Connection::State::running;
    send_line(index);
  }

  void send_line(std::size_t index) {
    Connection& c = *connections_[index];
    if (c.to_send == 0) c.to_send = line_.size();
    while (c.to_send > 0) {
      auto result =
          c.transport->write_some(std::string_view(line_).substr(line_.size() - c.to_send));
      if (!result.ok()) break;
      c.to_send -= result.bytes;
    }
    want(index, c.to_send > 0 ? EPOLLOUT : EPOLLIN);
  }

  void receive(std::size_t index) {
    Connection& c = *connections_[index];
    for (;;) {
      auto result = c.transport->read_some(read_buffer_);
      if (result.would_block()) return;
      if (result.eof()) throw sockit::Error(sockit::errc::connection_closed, "echo", options_.host);
      c.received += result.bytes;
      while (c.received >= line_.size()) {
        c.received -= line_.size();
        ++count_;
        send_line(index);
      }
    }
  }

  void handle(std::size_t index) {
    Connection& c = *connections_[index];
    try {
      switch (c.state) {
        case Connection::State::connecting:
          if (auto ec = c.socket.finish_connect()) {
            throw sockit::Error(ec, "connect", server_.to_string());
          }
          connected(index);
          break;
        case Connection::State::handshaking:
          step_handshake(index);
          break;
        case Connection::State::running:
          if (c.to_send > 0) send_line(index);
          if (c.to_send == 0) receive(index);
          break;
        case Connection::State::idle:
          break;
      }
    } catch (const std::exception& e) {
      // Counted, so a server that fails under load does not look fast; the first is shown.
      if (errors_++ == 0) std::fprintf(stderr, "tls_bench: %s\n", e.what());
      poller_.remove(c.socket.fd());
      c.transport.reset();
      c.socket.close();
      c.state = Connection::State::idle;
      if (handshake_mode()) start(index);
    }
  }

  Options options_;
  std::optional<sockit::TlsContext> context_;
  sockit::Address server_;
  std::string line_;
  bool spread_sources_;
  unsigned next_source_ = 0;
  std::vector<char> read_buffer_;
  sockit::Poller poller_;
  std::vector<std::unique_ptr<Connection>> connections_;
  std::uint64_t count_ = 0;
  std::uint64_t errors_ = 0;
  std::string protocol_;  // what the first TLS handshake negotiated
  std::string cipher_;
  Snapshot start_;
  Snapshot end_;
};

}  // namespace

int main(int argc, char** argv) {
  Options options;
  CLI::App app{"TLS benchmark load: echo ping-pong or handshakes per second"};
  app.add_option("--host", options.host, "Server address (numeric)")->capture_default_str();
  app.add_option("--port", options.port, "Server port")->required();
  app.add_option("--mode", options.mode, "echo or handshake")
      ->check(CLI::IsMember({"echo", "handshake"}))
      ->capture_default_str();
  app.add_flag("--tls", options.tls, "Speak TLS (TlsTransport)");
  app.add_option("--ca", options.ca_file, "Verify the server against this CA file [no checks]");
  app.add_option("--server-name", options.server_name, "Name checked in the certificate")
      ->capture_default_str();
  app.add_option("--conns,-c", options.conns, "Connections (echo) or handshakes in flight")
      ->check(CLI::Range(1, 10000))
      ->capture_default_str();
  app.add_option("--size", options.size, "Line size in bytes, newline included")
      ->check(CLI::Range(2, 65536))
      ->capture_default_str();
  app.add_option("--seconds", options.seconds, "Measured time")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--warmup", options.warmup, "Unmeasured time first")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  app.add_option("--server-pid", options.server_pid, "Report this process's CPU time per op");
  CLI11_PARSE(app, argc, argv);

  try {
    std::optional<sockit::TlsContext> context;
    if (options.tls) {
      sockit::TlsClientOptions tls_options;
      tls_options.ca_file = options.ca_file;
      tls_options.verify = !options.ca_file.empty();
      context = sockit::TlsContext::client(tls_options);
    }
    Load load(options, std::move(context));
    load.run();
    load.report();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tls_bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
