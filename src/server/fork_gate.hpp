// Internal: forks that never catch another thread of the server holding a lock.
//
// A child made by fork() has one thread, and inherits every lock the others held at that
// instant, held for ever: the allocator's (the sanitizers' allocators have no fork
// handlers), the C++ runtime's. The server's helper threads (the restart watcher) take a
// Hold around whatever they do that may take such a lock, and the architectures that fork
// (fork, prefork) fork through fork_when_clear(), which waits until no Hold is taken and
// keeps new ones out until the fork is made. Holds are short (building a few strings, a
// log line); waiting threads sleep on a futex.
//
// What it cannot do: under g++ 12's AddressSanitizer a child can still hang in the
// allocator when another thread of the parent is *running* at the fork, even one that never
// allocates (a thread spinning on sched_yield: about 1 child in 600 stuck; with that thread
// asleep instead, or without ASan, none in 1,200). The server's helper threads sleep in
// poll or on a futex between their short pieces of work, which is the case that stays safe.
#pragma once

#include <sys/types.h>

namespace sockit::server::detail {

class ForkGate {
 public:
  // Taken by a helper thread around work that may take a lock; a fork waits for it.
  class Hold {
   public:
    Hold() { acquire(); }
    ~Hold() {
      if (held_) release();
    }
    Hold(const Hold&) = delete;
    Hold& operator=(const Hold&) = delete;
    // Lets forks through meanwhile (around a wait, or a fork of the holder's own).
    void release() noexcept;
    void acquire() noexcept;

   private:
    bool held_ = false;
  };

  // fork(2) once no Hold is taken; in the parent, and in the child, the gate opens again.
  static pid_t fork_when_clear() noexcept;
};

}  // namespace sockit::server::detail
