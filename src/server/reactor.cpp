// The `reactor` architecture: one thread, one epoll set, every connection non-blocking.
// The book's "Evented" pattern; all of the work is in EventLoop (event_loop.hpp).
#include "event_loop.hpp"
#include "runtime.hpp"

namespace sockit::server::detail {

void run_reactor(Runtime& rt) {
  prepare_listener(rt.listener, rt.local);
  EventLoop loop(rt, rt.listener, ListenerUse::exclusive);
  loop.run();
}

}  // namespace sockit::server::detail
