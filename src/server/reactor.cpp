// The `reactor` architecture: one thread, one epoll set, every connection non-blocking; and
// `uring`, the same loop on io_uring. The book's "Evented" pattern; all of the work is in
// EventLoop (event_loop.hpp).
#include "event_loop.hpp"
#include "runtime.hpp"

namespace sockit::server::detail {

void run_reactor(Runtime& rt, LoopKind kind) {
  prepare_listener(rt.listener, rt.local);
  LoopSettings settings;
  settings.use_uring = kind == LoopKind::uring;
  settings.keeps_links = true;
  EventLoop loop(rt, rt.listener, ListenerUse::exclusive, settings);
  loop.run();
}

}  // namespace sockit::server::detail
