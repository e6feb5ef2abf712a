// Running a Service: pick one of seven architectures at run time, with the production
// policies every architecture honours (connection limits, idle timeout, line limit, rate
// limit, graceful drain on SIGINT/SIGTERM). Ruby: "Working with TCP Sockets", Part 3.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "sockit/address.hpp"
#include "sockit/server/metrics.hpp"
#include "sockit/server/session.hpp"

namespace sockit::server {

enum class Architecture {
  serial,
  thread,
  fork,
  prefork,
  pool,
  reactor,
  hybrid,
  uring,
  uring_hybrid
};

// All seven, in the order --help lists them.
std::span<const Architecture> all_architectures() noexcept;

std::string_view to_string(Architecture arch) noexcept;
std::optional<Architecture> parse_architecture(std::string_view name) noexcept;
// One line for --help, e.g. "reactor: one thread, epoll, non-blocking everything".
std::string_view describe(Architecture arch) noexcept;
// Whether sessions of this architecture share one address space (threads, reactors).
bool shares_memory(Architecture arch) noexcept;

enum class LogLevel { quiet, info, verbose };

// Writes one INFO line the way the server logs ("sockit[PID] INFO message", one write per
// line), for code that logs beside a server, such as a TlsService's handshake failures.
void log_info(std::string_view message);

struct ServerOptions {
  Architecture architecture = Architecture::reactor;
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;      // 0: the kernel picks a free port; local_address() tells which
  std::string unix_path;       // non-empty: listen on this Unix socket instead of host:port
  unsigned workers = 0;        // prefork processes, pool threads, hybrid reactors; 0 = per core
  std::size_t queue_size = 0;  // pool: bound of the accept queue; 0 = 4 x workers
  std::size_t max_connections = 1024;
  std::size_t max_connections_per_ip = 0;  // 0 = no per-address limit
  std::chrono::milliseconds idle_timeout{300'000};
  std::chrono::milliseconds drain_timeout{5'000};
  SessionLimits limits;  // max line, request rate
  // Output waiting for slow peers (written, by the session or through its Peer, and not yet
  // taken by the kernel). A connection whose queue passes max_output_per_connection, or its
  // share of max_output (over the connections open; at least 64 KiB) while all queues
  // together pass max_output, is closed as too slow. Per process (fork and prefork workers
  // each hold their own). 0: no such bound.
  std::size_t max_output_per_connection = std::size_t{16} * 1024 * 1024;
  std::size_t max_output = std::size_t{256} * 1024 * 1024;
  // The worker pool sessions hand blocking work to (Output::run_off_loop): its threads (0 =
  // one per core) and how many jobs may wait (0 = 64 per thread) before it says busy.
  unsigned off_loop_threads = 0;
  std::size_t off_loop_queue = 0;
  LogLevel log_level = LogLevel::info;
  bool handle_signals = true;  // SIGINT/SIGTERM start a graceful stop; SIGPIPE ignored
  // false: a server run beside the process's main one (the web page of `sockit serve chat
  // --web`), which speaks for the process: this one prints no "listening on" line and tells
  // a supervisor nothing (READY=1, STOPPING=1). Give it handle_signals = false too, and
  // stop() it when the main one returns.
  bool announce = true;
  // Non-empty: SIGUSR2 is caught but starts no new copy; the log says this reason instead
  // (a listener of the process's that a restart would not hand over).
  std::string restart_refused;
};

// One server: binds at construction (so the port is known before run()), runs until
// stop() or a signal.
class Server {
 public:
  // Throws Error when the address cannot be bound, or std::invalid_argument when the
  // architecture cannot run this service (fork/prefork with shared state).
  Server(std::shared_ptr<Service> service, ServerOptions options);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  Address local_address() const;
  // Serves until stopped; returns once the drain has finished (or its deadline passed).
  void run();
  // run() on a thread of the server's own, for a server beside a program's main one (a web
  // page, a metrics door): that thread takes no asynchronous signal, so the program's
  // handlers (and its main server's) run on the program's threads. If run() throws, `failed`
  // is called with it on that thread. Destroying the server stops it and waits for its
  // drain. At most once; do not call run() as well.
  void start(std::function<void(const std::exception&)> failed = {});
  // Graceful stop, from any thread: stop accepting, finish in-flight work, close idle
  // connections, return from run() within the drain timeout.
  void stop() noexcept;
  // What it has done so far (sockit/server/metrics.hpp), from any thread, at any time from
  // construction on. Costs a walk over the workers' counters.
  ServerMetrics metrics() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sockit::server
