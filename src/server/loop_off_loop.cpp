// Off-loop work for an event loop's connection: the job on the server's worker pool, and
// its continuation brought home through the loop's mailbox (see loop_connection.hpp).
#include <exception>
#include <memory>
#include <utility>

#include "loop_connection.hpp"

namespace sockit::server::detail {

// The job holds the mailbox, never the loop or the connection: it may finish after the
// connection has closed (the continuation is then dropped by slot and generation) or after
// the loop has returned (the mailbox then drops it at once).
bool LoopConnection::run_off_loop(OffLoopWork work) {
  WorkerPool::Job job = [box = loop.mailbox, home = slot, current = generation,
                         work = std::move(work)]() mutable {
    Continuation then;
    try {
      then = work();
    } catch (...) {
      then = [failure = std::current_exception()](Output&) { std::rethrow_exception(failure); };
    }
    // What the work holds is released here, on the worker, not on the loop.
    work = nullptr;
    box->deliver(Delivery{home, current, std::move(then), false});
  };
  return loop.rt.workers.try_submit(job);
}

void LoopConnection::on_delivery(Delivery& delivery) {
  if (!delivery.run) return;
  const std::uint32_t current = generation;
  if (delivery.internal) {
    delivery.run(*this);
  } else {
    // A connection that has closed its side, or failed, takes no more work.
    if (state != State::open && state != State::closing) return;
    call("off-loop work", [&] { delivery.run(*this); });
  }
  if (is(current)) settle();
}

}  // namespace sockit::server::detail
