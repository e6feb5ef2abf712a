// Starts the library's threads with every asynchronous signal blocked (SIGINT, SIGTERM,
// SIGHUP, SIGUSR2, SIGCHLD, real-time signals...). The kernel hands a signal sent to the
// process to any thread that does not block it, so a thread of the library's would
// otherwise run the handlers of the program or of the server, possibly after they are gone
// (a log writer outlives the server's handlers). The signals stay with the threads that
// called into the library. The mask is set before the thread is created and restored after,
// so the thread starts with it: there is no moment it could take one. Synchronous signals
// (SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGSYS) stay unblocked: the kernel raises them
// in the thread that faults. Internal to the sockit libraries.
#pragma once

#include <pthread.h>
#include <signal.h>

#include <thread>
#include <utility>

namespace sockit::detail {

// Blocks every asynchronous signal in the calling thread for its lifetime.
class AsyncSignalsBlocked {
 public:
  AsyncSignalsBlocked() noexcept {
    sigset_t all;
    sigfillset(&all);
    for (const int sig : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGSYS})
      sigdelset(&all, sig);
    ::pthread_sigmask(SIG_BLOCK, &all, &old_);
  }
  ~AsyncSignalsBlocked() { ::pthread_sigmask(SIG_SETMASK, &old_, nullptr); }
  AsyncSignalsBlocked(const AsyncSignalsBlocked&) = delete;
  AsyncSignalsBlocked& operator=(const AsyncSignalsBlocked&) = delete;

 private:
  sigset_t old_{};
};

// A std::thread (or std::jthread) running `f(args...)` that takes no asynchronous signal.
// Throws what the thread's constructor throws; the caller's mask is restored either way.
template <class Thread = std::thread, class F, class... Args>
Thread quiet_thread(F&& f, Args&&... args) {
  const AsyncSignalsBlocked blocked;
  return Thread(std::forward<F>(f), std::forward<Args>(args)...);
}

}  // namespace sockit::detail
