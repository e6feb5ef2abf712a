// Test support: the runtime half of an Output (timers, off-loop work, flow control,
// outbound connections) driven by hand, for sans-I/O tests of sessions. A test fake derives
// from it and adds write/close/closing/peer; the test fires timers and runs off-loop work
// itself, so order and timing are exact.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "sockit/server/session.hpp"

namespace sockit::test {

class FakeRuntime : public server::Output {
 public:
  struct Timer {
    server::TimerId id;
    std::chrono::milliseconds after;
  };

  void close_write() override { write_closed = true; }
  std::size_t queued() const noexcept override { return queued_bytes; }
  void set_reading(bool on) override { reading = on; }
  server::TimerId start_timer(std::chrono::milliseconds after) override {
    timers.push_back({++last_timer, after});
    return last_timer;
  }
  bool cancel_timer(server::TimerId id) noexcept override {
    auto it =
        std::find_if(timers.begin(), timers.end(), [&](const Timer& t) { return t.id == id; });
    if (it == timers.end()) return false;
    timers.erase(it);
    return true;
  }
  bool run_off_loop(server::OffLoopWork work) override {
    if (off_loop_full) return false;
    off_loop.push_back(std::move(work));
    return true;
  }
  // Refuses at once, as a closed port would.
  void connect(server::OutboundRequest request, std::unique_ptr<server::Session> session) override {
    connects.push_back(std::move(request));
    session->on_connect_failed(std::make_error_code(std::errc::connection_refused),
                               "connection refused");
    session->on_close();
  }

  // Fires the pending timer `id` (as the loop would), if it is still pending.
  bool fire(server::TimerId id, server::Session& session) {
    if (!cancel_timer(id)) return false;
    session.on_timer(id, *this);
    return true;
  }
  // Runs the queued off-loop work here, then each continuation with this Output.
  void run_off_loop_work() {
    while (!off_loop.empty()) {
      server::OffLoopWork work = std::move(off_loop.front());
      off_loop.pop_front();
      server::Continuation then = work();
      if (then) then(*this);
    }
  }

  std::vector<Timer> timers;  // pending, in the order started
  server::TimerId last_timer = 0;
  std::deque<server::OffLoopWork> off_loop;
  bool off_loop_full = false;
  bool reading = true;
  bool write_closed = false;  // close_write was called
  std::size_t queued_bytes = 0;
  std::vector<server::OutboundRequest> connects;

 protected:
  ~FakeRuntime() = default;
};

// A FakeRuntime that keeps what is written until it is closed.
class RecordingOutput final : public FakeRuntime {
 public:
  void write(std::string_view bytes) override {
    if (!closed_) written += bytes;
  }
  void close() override { closed_ = true; }
  bool closing() const noexcept override { return closed_; }
  std::shared_ptr<server::Peer> peer() override { return nullptr; }

  std::string written;

 private:
  bool closed_ = false;
};

}  // namespace sockit::test
