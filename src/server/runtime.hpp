// Internal to the server layer: what every architecture runner is handed. The policies
// shared by all seven architectures (logging, the connection gate, the stop signal) live
// here so that each runner only decides how connections are scheduled.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "log_writer.hpp"
#include "metrics_registry.hpp"
#include "output_budget.hpp"
#include "shared_address_slots.hpp"
#include "sockit/address.hpp"
#include "sockit/file_descriptor.hpp"
#include "sockit/server/server.hpp"
#include "sockit/server/session.hpp"
#include "sockit/socket.hpp"
#include "worker_pool.hpp"

namespace sockit::server::detail {

// Thread-safe line logger to stderr: "sockit[PID] LEVEL message". Errors always print;
// info unless quiet; debug only when verbose. Through a LogWriter, lines are queued for
// its thread and never wait for stderr (and may be dropped, counted, when it stalls);
// without one, or in a forked child, each line is one write(2), so lines never interleave.
class Logger {
 public:
  explicit Logger(LogLevel level, LogWriter* writer = nullptr) : level_(level), writer_(writer) {}
  void info(std::string_view message) const;
  void debug(std::string_view message) const;
  void error(std::string_view message) const;
  LogLevel level() const noexcept { return level_; }
  // Waits (a few seconds at most) until the queued lines are written.
  void flush() const noexcept;

 private:
  void write_line(std::string_view level, std::string_view message) const;
  LogLevel level_;
  LogWriter* writer_;
};

// The connection limits (global and per client address). admit() either gives a ticket
// that releases the slot when destroyed, or an empty ticket with the refusal reason.
// Thread-safe. Process-local, except that prefork workers count addresses in slots all
// workers share (a worker holds its share of the total: max / workers).
class ConnectionGate {
 public:
  class Ticket {
   public:
    Ticket() = default;
    Ticket(Ticket&& other) noexcept;
    Ticket& operator=(Ticket&& other) noexcept;
    Ticket(const Ticket&) = delete;
    Ticket& operator=(const Ticket&) = delete;
    ~Ticket();
    explicit operator bool() const noexcept { return gate_ != nullptr; }

   private:
    friend class ConnectionGate;
    Ticket(ConnectionGate* gate, std::string key) : gate_(gate), key_(std::move(key)) {}
    ConnectionGate* gate_ = nullptr;
    std::string key_;
  };

  ConnectionGate(std::size_t max_total, std::size_t max_per_address);
  // A prefork worker's gate: the per-address limit is counted in `shared`, where this
  // process's one connection at a time holds `slot`. `shared` must outlive the gate.
  ConnectionGate(std::size_t max_total, std::size_t max_per_address, SharedAddressSlots& shared,
                 std::size_t slot);
  // An empty ticket when over a limit; `reason` then says which ("connection limit 1024
  // reached" / "per-address limit 4 reached for 127.0.0.1").
  // `refusal` (when given) says which, as the counter of metrics.hpp.
  Ticket admit(const Address& peer, std::string* reason = nullptr, Counter* refusal = nullptr);
  // Connections admitted and open now.
  std::size_t active() const noexcept { return active_.load(std::memory_order_relaxed); }

 private:
  void release(const std::string& key) noexcept;
  std::size_t max_total_;
  std::size_t max_per_address_;
  SharedAddressSlots* shared_ = nullptr;
  std::size_t slot_ = 0;
  std::atomic<std::size_t> active_{0};
  std::mutex mutex_;
  std::unordered_map<std::string, std::size_t> per_address_;
};

// The stop request: an eventfd that becomes readable once stop is requested, so blocking
// runners can poll it beside their sockets and the reactor can add it to epoll.
// request() is async-signal-safe. stop_fd() stays readable once requested.
class StopSignal {
 public:
  StopSignal();
  StopSignal(const StopSignal&) = delete;
  StopSignal& operator=(const StopSignal&) = delete;
  void request() noexcept;
  bool requested() const noexcept { return requested_.load(std::memory_order_acquire); }
  int fd() const noexcept { return fd_.get(); }

 private:
  FileDescriptor fd_;
  std::atomic<bool> requested_{false};
};

// What a runner gets. The listener is bound and listening, in non-blocking mode.
struct Runtime {
  Service& service;
  const ServerOptions& options;
  Socket& listener;
  Address local;  // the listener's address
  Logger& log;
  ConnectionGate& gate;
  StopSignal& stop;
  WorkerPool& workers;   // for Output::run_off_loop; shared by every connection
  OutputBudget& output;  // the bounds on output waiting for slow peers
  // Where its workers count (Server::metrics()); null: counted nowhere (a test's runtime).
  MetricsRegistry* metrics = nullptr;
};

// A new shard of rt's registry labelled `worker`, or null when rt has none.
inline MetricShard* new_shard(Runtime& rt, std::string worker) {
  return rt.metrics != nullptr ? &rt.metrics->add(std::move(worker)) : nullptr;
}

// Makes `shard` the calling thread's (thread_shard()) until destroyed.
class ThreadShardScope {
 public:
  explicit ThreadShardScope(MetricShard* shard) noexcept { set_thread_shard(shard); }
  ~ThreadShardScope() { set_thread_shard(nullptr); }
  ThreadShardScope(const ThreadShardScope&) = delete;
  ThreadShardScope& operator=(const ThreadShardScope&) = delete;
};

// At a stop, a connection whose client has sent nothing yet is closed as idle, unless it
// is new: one accepted less than this before the stop (or taken from the backlog by it) is
// given until this long after its accept, within the drain deadline, for its first bytes,
// and is then answered and closed like any other. Its client connected as the stop came,
// with its request on the way (a restart's old copy accepted it in its last instant):
// closing it would leave that request unanswered.
inline constexpr std::chrono::milliseconds kFirstBytesGrace{1000};

// The seven runners. Each returns once it has stopped accepting and drained (or the
// drain deadline, options.drain_timeout after stop was requested, has passed).
void run_serial(Runtime& rt);
void run_thread(Runtime& rt);
void run_fork(Runtime& rt);
void run_prefork(Runtime& rt);
void run_pool(Runtime& rt);
// The kernel interface an event loop waits on.
enum class LoopKind { epoll, uring };
void run_reactor(Runtime& rt, LoopKind kind);
void run_hybrid(Runtime& rt, LoopKind kind);

}  // namespace sockit::server::detail
