// fork: a child process per connection (the book's "Process per connection"). The parent
// only accepts; children are reaped as the accept loop goes, so none is left a zombie. The
// stop reaches children as a SIGTERM; the parent waits for them within the drain deadline,
// then kills the rest. Each child has a stop signal of its own, so a signal sent to one
// connection process ends that connection only.
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <unordered_map>
#include <vector>

#include "accept_loop.hpp"
#include "blocking_connection.hpp"
#include "child_processes.hpp"
#include "fork_gate.hpp"
#include "runtime.hpp"
#include "signals.hpp"

namespace sockit::server::detail {
namespace {

// The child: serves the one connection with a stop signal of its own, so that a signal
// sent to this process ends this connection only.
[[noreturn]] void connection_process_main(Runtime& rt, Admitted& admitted, pid_t parent,
                                          MetricShard* counts) {
  set_thread_shard(counts);
  try {
    StopSignal stop;
    enter_child_process(stop, rt.stop, parent);
    rt.listener.close();
    Runtime child{rt.service, rt.options, rt.listener, rt.local,  rt.log,
                  rt.gate,    stop,       rt.workers,  rt.output, rt.metrics};
    serve_connection(child, admitted.socket, admitted.peer, admitted.accepted);
    admitted.socket.close();
  } catch (const std::exception& e) {
    rt.log.error("connection process: " + std::string(e.what()));
    ::_exit(1);
  }
  // No exit handlers, no destructors of the parent's objects: this process only served
  // one connection.
  ::_exit(0);
}

}  // namespace

void run_fork(Runtime& rt) {
  std::vector<pid_t> children;
  // Each child's connection slot, released when it is reaped.
  std::unordered_map<pid_t, ConnectionGate::Ticket> tickets;
  auto on_exit = [&](pid_t pid, int status) {
    tickets.erase(pid);
    if (!(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
      rt.log.error("connection process " + std::to_string(pid) + " ended with " +
                   describe_wait_status(status));
    }
  };
  auto reap = [&] { reap_children(children, on_exit); };

  const pid_t parent = ::getpid();
  // The parent counts what it accepts and refuses; the children, what they serve, in a
  // shard mapped shared before the first fork.
  const ThreadShardScope counting(new_shard(rt, "accept"));
  MetricShard* children_count =
      rt.metrics != nullptr ? &rt.metrics->shared(0, "connections", true) : nullptr;
  AcceptLoop acceptor(rt);
  while (auto admitted = acceptor.next(reap, std::chrono::milliseconds(100))) {
    pid_t pid = 0;
    {
      StopSignalsBlocked blocked;
      pid = ForkGate::fork_when_clear();
      if (pid == 0) connection_process_main(rt, *admitted, parent, children_count);
    }
    if (pid < 0) {
      turn_away(rt, admitted->socket, admitted->peer, rt.service.full_message(),
                std::string("fork: ") + std::strerror(errno));
      continue;
    }
    admitted->socket.close();
    children.push_back(pid);
    tickets.emplace(pid, std::move(admitted->ticket));
  }

  if (!children.empty()) {
    rt.log.info("draining " + std::to_string(children.size()) + " connection process(es)");
  }
  stop_children(children, std::chrono::steady_clock::now() + rt.options.drain_timeout, rt.log,
                on_exit);
}

}  // namespace sockit::server::detail
