// The server's buffered log output (see log_writer.hpp).
#include "log_writer.hpp"

#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <mutex>
#include <string>
#include <utility>

#include "../quiet_thread.hpp"
#include "fork_gate.hpp"

namespace sockit::server::detail {
namespace {

// Writes all of `text`; gives up when the descriptor fails (stderr gone: nothing better).
void write_all(int fd, std::string_view text) noexcept {
  while (!text.empty()) {
    const ssize_t n = ::write(fd, text.data(), text.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return;
    }
    text.remove_prefix(static_cast<std::size_t>(n));
  }
}

std::string dropped_line(std::uint64_t count) {
  std::string line = "sockit[";
  line += std::to_string(::getpid());
  line += "] ERROR ";
  line += std::to_string(count);
  line += count == 1 ? " log line dropped" : " log lines dropped";
  line += " (stderr too slow)\n";
  return line;
}

}  // namespace

// Shared with the writer thread, which a destructor that cannot wait for a stalled
// descriptor leaves behind.
struct LogWriter::State {
  State(int f, std::size_t c) : fd(f), capacity(c) {}

  // The writer thread: takes the whole buffer, writes it unlocked, and reports drops once
  // the write made room. In a server that forks (fork, prefork) a child must never inherit
  // a lock this thread held (the allocator's: the sanitizers' have no fork handlers), so
  // all it does but sleep and write(2) is done under a fork-gate hold (fork_gate.hpp): a
  // slow stderr never holds a fork back. The hold is always taken before the mutex, never
  // with it held: threads that log under a hold of their own (the restart watcher) wait
  // for the mutex, and a fork for them.
  void run() {
    for (;;) {
      {
        std::unique_lock lock(mutex);
        wake.wait(lock, [&] { return !queued.empty() || stopping; });
      }
      ForkGate::Hold hold;
      std::unique_lock lock(mutex);
      if (queued.empty()) {
        if (stopping) return;  // all written
        continue;
      }
      std::string batch = std::exchange(queued, {});
      writing = true;
      lock.unlock();
      hold.release();
      write_all(fd, batch);
      hold.acquire();
      batch = std::string();  // freed under the hold
      lock.lock();
      writing = false;
      report_drops_locked();
      if (queued.empty()) written.notify_all();
    }
  }

  void report_drops_locked() {
    if (unreported == 0) return;
    std::string line = dropped_line(unreported);
    if (queued.size() + line.size() > capacity && !queued.empty()) return;  // next time
    queued += line;
    unreported = 0;
  }

  const int fd;
  const std::size_t capacity;
  std::mutex mutex;
  std::condition_variable wake;     // the writer: lines queued, or stopping
  std::condition_variable written;  // flushers: the buffer was emptied
  std::string queued;
  std::atomic<bool> running{false};  // the thread has started
  bool writing = false;
  bool stopping = false;
  std::uint64_t dropped = 0;
  std::uint64_t unreported = 0;
};

LogWriter::LogWriter(int fd, std::size_t capacity)
    : state_(std::make_shared<State>(fd, capacity)), owner_(::getpid()) {
  // Returns once the thread runs: a fork made right after (prefork's first workers) must
  // not catch it starting, in the allocator.
  thread_ = std::make_unique<std::thread>(sockit::detail::quiet_thread([state = state_] {
    state->running.store(true);
    state->running.notify_one();
    state->run();
  }));
  state_->running.wait(false);
}

LogWriter::~LogWriter() {
  if (::getpid() != owner_) {
    // A forked child: the thread and its lock are the parent's. Nothing of them is
    // touched; the object is left to the child's exit.
    [[maybe_unused]] std::thread* parents = thread_.release();
    return;
  }
  const bool drained = flush(flush_at_exit);
  {
    std::lock_guard lock(state_->mutex);
    if (drained) state_->report_drops_locked();  // counted at the very end: said now
    state_->stopping = true;
  }
  state_->wake.notify_all();
  if (drained && flush(flush_at_exit)) {
    thread_->join();
  } else {
    // Stuck in write(2) on a descriptor nobody reads: it keeps the state alive, and the
    // process's exit ends it.
    thread_->detach();
  }
}

void LogWriter::write(std::string_view line) noexcept {
  if (::getpid() != owner_) {
    write_all(state_->fd, line);  // a forked child has no writer thread
    return;
  }
  try {
    std::lock_guard lock(state_->mutex);
    if (state_->queued.size() + line.size() > state_->capacity) {
      ++state_->dropped;
      ++state_->unreported;
      return;
    }
    state_->queued.append(line);
  } catch (...) {
    return;  // out of memory: the line is lost, the caller goes on
  }
  state_->wake.notify_one();
}

bool LogWriter::flush(std::chrono::milliseconds timeout) noexcept {
  if (::getpid() != owner_) return true;  // written as they came
  std::unique_lock lock(state_->mutex);
  // Done once the buffer is empty and no write is under way.
  return state_->written.wait_for(lock, timeout,
                                  [&] { return state_->queued.empty() && !state_->writing; });
}

std::uint64_t LogWriter::dropped() const noexcept {
  if (::getpid() != owner_) return 0;
  std::lock_guard lock(state_->mutex);
  return state_->dropped;
}

}  // namespace sockit::server::detail
