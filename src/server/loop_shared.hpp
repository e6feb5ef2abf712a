// What an event loop's parts share: its settings and counters, and the resources its
// connections use (the backend, the read buffer, the output staging, the slot table, the
// timer lists and heap, the clock). Owned by the loop; its connections and acceptor hold a
// reference.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "epoll_backend.hpp"
#include "idle_list.hpp"
#include "io_buffer.hpp"
#include "mailbox.hpp"
#include "output_staging.hpp"
#include "runtime.hpp"
#include "slot_table.hpp"
#include "sockit/deadline.hpp"
#include "timer_heap.hpp"
#include "uring_backend.hpp"

namespace sockit::server::detail {

// The per-message path (readiness -> recv -> session -> send) is compiled into the loop's
// run function itself, Socket's inline read_nonblock/write_nonblock included. After a system
// call the CPU's return-address predictor holds the kernel's own calls, so every function
// the result is returned through costs a mispredicted return: with these inlined, only the
// libc wrappers of recv and send are returned from, as in a hand-written loop.
#define SOCKIT_HOT [[gnu::always_inline]] inline

// Tuning knobs; the defaults are what `sockit serve` uses.
struct LoopSettings {
  // Back-pressure: past high_water bytes of unsent output a connection is no longer read
  // from, until its queue drains below low_water. Its memory stays bounded by roughly
  // high_water plus the answer to one read.
  std::size_t high_water = 1024 * 1024;
  std::size_t low_water = 256 * 1024;
  // Output that others push through Peer cannot be paused at the source: a connection past
  // the server's output bounds (Runtime::output) is closed as too slow.
  // One shared read buffer per loop; large reads keep syscalls per byte low.
  std::size_t read_buffer = 64 * 1024;
  // Which kernel interface the loop waits on: epoll (readiness) or io_uring (completions).
  bool use_uring = false;
  // When accept fails for lack of descriptors, the listener rests this long.
  std::chrono::milliseconds accept_pause{100};
  // After a server-side close with unread input, how long to wait for the peer's EOF.
  std::chrono::milliseconds linger{2000};
  // This loop keeps the service's links (Service::links): one loop of a server does.
  bool keeps_links = false;
  // Which of the server's loops this is: its worker label in the metrics.
  unsigned index = 0;
};

// Counters a test or a benchmark can read from another thread.
struct LoopStats {
  std::size_t connections = 0;        // open now
  std::size_t accepted = 0;           // since start
  std::size_t queued_bytes = 0;       // output waiting in per-connection queues now
  std::size_t peak_queued_bytes = 0;  // largest single-connection queue seen
  std::size_t read_pauses = 0;        // times back-pressure stopped reading a connection
  std::size_t accept_pauses = 0;      // times the listener rested for lack of descriptors
};

// LoopStats as the loop thread keeps them.
struct LoopCounters {
  std::atomic<std::size_t> connections{0};
  std::atomic<std::size_t> accepted{0};
  std::atomic<std::size_t> queued{0};
  std::atomic<std::size_t> peak_queued{0};
  std::atomic<std::size_t> read_pauses{0};
  std::atomic<std::size_t> accept_pauses{0};

  LoopStats snapshot() const noexcept;
  static void add(std::atomic<std::size_t>& counter, std::size_t n = 1) noexcept {
    counter.fetch_add(n, std::memory_order_relaxed);
  }
};

// The tokens the loop registers its own descriptors under; a connection's token is its slot
// and generation, whose slot number is never this large.
inline constexpr std::uint64_t kListenerToken = ~std::uint64_t{0};
inline constexpr std::uint64_t kStopToken = kListenerToken - 1;
inline constexpr std::uint64_t kWakeToken = kListenerToken - 2;

// io_uring: writes this large, with nothing queued, are sent at once rather than queued.
inline constexpr std::size_t kDirectSendBytes = 16 * 1024;
// io_uring queues a turn's writes even when the socket has room, so a session that stopped
// writing at a high-water mark may see its queue go in one send without ever backing up. A
// send this large counts as backed up: its session hears on_drain (see Session::on_drain).
inline constexpr std::size_t kDrainMarkBytes = 16 * 1024;

// Reads per connection at a stop, or of input discarded while lingering: enough to take in
// what already arrived.
inline constexpr int kMaxDrainReads = 16;

// The loop's read buffer starts on a page. The kernel copies every message into it (and
// echoes send from it) with `rep movsb`, which is slower when the destination is not
// cache-line aligned, as operator new's 16-byte alignment leaves it.
inline constexpr std::align_val_t kPageAlignment{4096};
struct PageAlignedDelete {
  void operator()(char* p) const noexcept { ::operator delete[](p, kPageAlignment); }
};

// The backend the loop is compiled with: replacing it is this one line.
using LoopBackend = EpollBackend;

class LoopConnection;
using LoopTimers = TimerHeap<LoopConnection, Clock>;

// An outbound connection refused before it had a slot: reported from the loop, after the
// callback that asked for it.
struct RefusedDial {
  std::unique_ptr<Session> session;
  std::string target;  // HOST:PORT
  std::error_code error;
  std::string reason;
};

struct LoopShared {
  LoopShared(Runtime& runtime, LoopSettings loop_settings)
      : rt(runtime),
        settings(loop_settings),
        read_buffer(new (kPageAlignment) char[loop_settings.read_buffer]),
        // On io_uring every answer passes through a queue, most of them small: a queue
        // starts small there, and at 10,000 connections answering at once costs little.
        pool(32, 64 * 1024, loop_settings.use_uring ? 512 : kOutputBufferCapacity),
        mailbox(Mailbox::open()),
        idle_timeout(runtime.options.idle_timeout),
        tick(std::clamp(idle_timeout / 16, std::chrono::milliseconds{1},
                        std::chrono::milliseconds{1000})),
        metrics(runtime.metrics != nullptr
                    ? &runtime.metrics->add(std::to_string(loop_settings.index))
                    : &unread_metrics) {}

  bool info_enabled() const noexcept { return rt.log.level() != LogLevel::quiet; }
  // Output queued, or taken by the kernel: counted for the stats and the server's bounds.
  void queued_more(std::size_t n) noexcept {
    LoopCounters::add(counters.queued, n);
    rt.output.add(n);
  }
  void queued_less(std::size_t n) noexcept {
    counters.queued.fetch_sub(n, std::memory_order_relaxed);
    rt.output.remove(n);
  }

  Runtime& rt;
  const LoopSettings settings;
  LoopBackend backend;
  // The io_uring backend, when the loop runs on it (made on the loop's thread, which alone
  // may submit to it); null on epoll.
  std::unique_ptr<UringBackend> uring;
  std::unique_ptr<char[], PageAlignedDelete> read_buffer;
  OutputStaging staging;             // writes of the callback now running
  LoopConnection* corked = nullptr;  // whose callback that is
  BufferPool pool;                   // output queues, recycled
  SlotTable<LoopConnection> slots;
  std::size_t live = 0;  // connections open
  std::shared_ptr<Mailbox> mailbox;
  IdleList<LoopConnection> idle;       // open connections, oldest activity first
  IdleList<LoopConnection> lingering;  // closed on our side, waiting for the peer's EOF
  Clock::time_point now = Clock::now();
  std::chrono::milliseconds idle_timeout;
  // Idle-list precision: activity moves a connection at most once a tick.
  std::chrono::milliseconds tick;
  bool draining = false;
  // Draining: new connections whose first bytes have not come yet, with their generation
  // (see LoopConnection::awaits_first_bytes).
  std::vector<std::pair<LoopConnection*, std::uint32_t>> awaiting_first_bytes;
  LoopTimers timers;  // what sessions started, and outbound connections' deadlines
  // Connections another's callback changed, with their generation: settled once per
  // iteration (see LoopConnection::settle_later).
  std::vector<std::pair<LoopConnection*, std::uint32_t>> settle_later;
  std::size_t outbound = 0;  // outbound connections open or connecting
  std::vector<RefusedDial> refused;
  LoopCounters counters;
  // Where the loop counts for the server's metrics (sockit/server/metrics.hpp): its shard,
  // or, for a runtime without a registry, one nobody reads.
  MetricShard unread_metrics;
  MetricShard* metrics;
};

}  // namespace sockit::server::detail
