// prefork: N worker processes, each running a serial accept loop on the shared listener
// (the book's "Preforking"). The master only supervises: a worker that dies is logged with
// its PID and exit status and replaced; on SIGINT/SIGTERM the master stops every worker
// (SIGTERM), waits within the drain deadline, then kills. Each worker has a stop signal of
// its own, so a signal sent to one worker ends that worker, and the master replaces it.
// The per-address limit is counted across workers in slots mapped before the first fork,
// one per worker; the master empties a dead worker's slot before replacing it.
#include <poll.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <optional>
#include <vector>

#include "accept_loop.hpp"
#include "child_processes.hpp"
#include "fork_gate.hpp"
#include "runtime.hpp"
#include "shared_address_slots.hpp"
#include "signals.hpp"

namespace sockit::server::detail {
namespace {

[[noreturn]] void worker_main(Runtime& rt, unsigned workers, pid_t parent,
                              SharedAddressSlots* addresses, std::size_t slot) {
  // Counts in its slot's shard, mapped shared before the first fork (as the slot's label
  // is known to the parent, which reads them).
  if (rt.metrics != nullptr && slot < workers) {
    set_thread_shard(&rt.metrics->shared(slot, std::to_string(slot)));
  }
  try {
    // The worker's own: a signal sent to this worker ends this worker only.
    StopSignal stop;
    enter_child_process(stop, rt.stop, parent);
    // Limits are per process: each worker holds its share of the global maximum.
    std::size_t share = rt.options.max_connections == 0
                            ? 0
                            : std::max<std::size_t>(1, rt.options.max_connections / workers);
    std::optional<ConnectionGate> gate;
    if (addresses != nullptr) {
      gate.emplace(share, rt.options.max_connections_per_ip, *addresses, slot);
    } else {
      gate.emplace(share, rt.options.max_connections_per_ip);
    }
    // The output budget is the parent's, copied by fork: each worker counts its own.
    Runtime worker{rt.service, rt.options, rt.listener, rt.local,  rt.log,
                   *gate,      stop,       rt.workers,  rt.output, rt.metrics};
    run_serial(worker);
  } catch (const std::exception& e) {
    rt.log.error("worker: " + std::string(e.what()));
    ::_exit(1);
  }
  ::_exit(0);
}

}  // namespace

void run_prefork(Runtime& rt) {
  using Clock = std::chrono::steady_clock;
  unsigned workers = default_workers(rt.options);
  std::vector<pid_t> pids;
  unsigned missing = 0;
  Clock::time_point respawn_at{};

  // Which worker holds each per-address slot (0: none).
  std::optional<SharedAddressSlots> addresses;
  if (rt.options.max_connections_per_ip != 0) addresses.emplace(workers);
  std::vector<pid_t> slot_owner(workers, 0);

  const pid_t parent = ::getpid();
  if (rt.metrics != nullptr) {
    for (unsigned i = 0; i < workers; ++i)
      rt.metrics->shared(i, std::to_string(i));
  }
  auto spawn = [&]() -> bool {
    // A slot whose worker is gone unseen (reaped elsewhere) is free too.
    for (std::size_t i = 0; i < slot_owner.size(); ++i) {
      if (slot_owner[i] != 0 && std::find(pids.begin(), pids.end(), slot_owner[i]) == pids.end()) {
        slot_owner[i] = 0;
        if (addresses) addresses->release(i);
      }
    }
    const auto free_slot = static_cast<std::size_t>(
        std::find(slot_owner.begin(), slot_owner.end(), 0) - slot_owner.begin());
    StopSignalsBlocked blocked;
    pid_t pid = ForkGate::fork_when_clear();
    if (pid < 0) {
      rt.log.error(std::string("fork worker: ") + std::strerror(errno));
      return false;
    }
    if (pid == 0) worker_main(rt, workers, parent, addresses ? &*addresses : nullptr, free_slot);
    rt.log.debug("worker " + std::to_string(pid) + " started");
    pids.push_back(pid);
    if (free_slot < slot_owner.size()) slot_owner[free_slot] = pid;
    return true;
  };

  for (unsigned i = 0; i < workers; ++i) {
    if (!spawn()) ++missing;
  }
  rt.log.info("prefork: " + std::to_string(pids.size()) + " workers");

  auto on_exit = [&](pid_t pid, int status) {
    // A worker killed while serving leaves its address counted: its slot is emptied here.
    auto owner = std::find(slot_owner.begin(), slot_owner.end(), pid);
    if (owner != slot_owner.end()) {
      *owner = 0;
      if (addresses) addresses->release(static_cast<std::size_t>(owner - slot_owner.begin()));
    }
    if (stop_requested(rt.stop)) return;
    rt.log.error("worker " + std::to_string(pid) + " exited with status " +
                 describe_wait_status(status) + "; respawning");
    ++missing;
  };

  while (!stop_requested(rt.stop)) {
    pollfd p{rt.stop.fd(), POLLIN, 0};
    ::poll(&p, 1, 100);
    if (stop_requested(rt.stop)) break;
    reap_children(pids, on_exit);
    if (missing > 0 && !stop_requested(rt.stop) && Clock::now() >= respawn_at) {
      while (missing > 0 && spawn())
        --missing;
      // A worker that cannot start, or dies as soon as it starts, is retried calmly
      // rather than in a tight fork loop.
      respawn_at = Clock::now() +
                   (missing > 0 ? std::chrono::milliseconds(1000) : std::chrono::milliseconds(200));
    }
  }

  rt.listener.close();
  rt.log.info("stopping " + std::to_string(pids.size()) + " worker(s)");
  stop_children(pids, Clock::now() + rt.options.drain_timeout, rt.log, {});
}

}  // namespace sockit::server::detail
