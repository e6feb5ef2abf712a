// Internal to the server layer: where the server's log lines go. A bounded buffer that a
// thread of its own writes to the descriptor, so a slow or stalled stderr never stalls the
// thread that logs (a reactor serving every connection): a line that does not fit is
// dropped and counted, and "N log lines dropped" follows once there is room again, and at
// the end. In a forked child, which has no writer thread, lines are written directly: the
// PID tells, before any lock is touched, for the child may have copied one held. The thread
// allocates only under a fork-gate hold (fork_gate.hpp), so no fork catches it doing so, and
// the constructor returns once it runs, so no fork catches it starting. The thread takes no
// asynchronous signal (quiet_thread.hpp): it outlives the server's signal handlers.
#pragma once

#include <sys/types.h>
#include <unistd.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>
#include <thread>

namespace sockit::server::detail {

class LogWriter {
 public:
  static constexpr std::size_t default_capacity = 256 * 1024;

  // Writes to `fd` (not owned), holding at most `capacity` bytes that wait for it.
  explicit LogWriter(int fd = STDERR_FILENO, std::size_t capacity = default_capacity);
  // Writes what is queued, waiting for the descriptor at most flush_at_exit.
  ~LogWriter();
  LogWriter(const LogWriter&) = delete;
  LogWriter& operator=(const LogWriter&) = delete;

  static constexpr std::chrono::seconds flush_at_exit{5};

  // Queues one whole line (ending in '\n'); never waits for the descriptor. Thread-safe.
  void write(std::string_view line) noexcept;
  // Waits until everything queued so far is written, at most `timeout`; false if not.
  bool flush(std::chrono::milliseconds timeout) noexcept;
  // Lines dropped so far because the buffer was full.
  std::uint64_t dropped() const noexcept;

 private:
  struct State;
  std::shared_ptr<State> state_;
  std::unique_ptr<std::thread> thread_;
  pid_t owner_;  // the process the thread runs in
};

}  // namespace sockit::server::detail
