// What every example needs besides the seed's own code: the command line (an optional port
// or path, positional or as --port/--path, defaulting to the seed's value), the
// "listening on HOST:PORT" line on stderr that tests wait for, and Ruby's Thread.new per
// client with each thread owned, so nothing outlives main.
#pragma once

#include <signal.h>

#include <atomic>
#include <cerrno>
#include <charconv>
#include <csignal>
#include <cstdint>
#include <exception>
#include <iostream>
#include <list>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <stop_token>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "sockit/address.hpp"
#include "sockit/error.hpp"

namespace example {

// "--name value" pairs and positional arguments, in order.
class Args {
 public:
  Args(int argc, char** argv) {
    for (int i = 1; i < argc; ++i) {
      std::string_view arg = argv[i];
      if (arg.starts_with("--") && arg.size() > 2) {
        if (i + 1 >= argc) throw std::invalid_argument(std::string(arg) + " needs a value");
        flags_.emplace_back(std::string(arg.substr(2)), argv[++i]);
      } else {
        positional_.emplace_back(arg);
      }
    }
  }

  std::optional<std::string> flag(std::string_view name) const {
    for (const auto& [key, value] : flags_) {
      if (key == name) return value;
    }
    return std::nullopt;
  }
  const std::vector<std::string>& positional() const noexcept { return positional_; }

  // --name, else the positional argument at `index`, else the fallback.
  std::string get(std::string_view name, std::size_t index, std::string fallback) const {
    if (auto value = flag(name)) return *value;
    if (index < positional_.size()) return positional_[index];
    return fallback;
  }
  // --port, else the positional argument at `index`, else the seed's port.
  std::uint16_t port(std::size_t index, std::uint16_t fallback) const {
    return parse_port(get("port", index, std::to_string(fallback)));
  }

  static std::uint16_t parse_port(std::string_view text) {
    unsigned value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc{} || end != text.data() + text.size() || value > 65535) {
      throw std::invalid_argument("not a port number: " + std::string(text));
    }
    return static_cast<std::uint16_t>(value);
  }

 private:
  std::vector<std::pair<std::string, std::string>> flags_;
  std::vector<std::string> positional_;
};

// The seeds print to stdout; this line goes to stderr so it never mixes with theirs.
inline void announce_listening(const sockit::Address& address) {
  std::cerr << "listening on " << address.to_string() << std::endl;
}

// Lines printed from several client threads stay whole.
inline void say(const std::string& line) {
  static std::mutex mutex;
  std::lock_guard lock(mutex);
  std::cout << line << std::endl;
}

// One thread per client (Ruby: Thread.new / Thread.start). Finished threads are joined
// when the next one starts; the rest when the list is destroyed, after a stop request.
class ClientThreads {
 public:
  // `work` is called as work(std::stop_token). An exception ends that client only.
  template <class Work>
  void start(Work work) {
    entries_.remove_if([](const Entry& e) { return e.done.load(); });
    Entry& entry = entries_.emplace_back();
    entry.thread =
        std::jthread([&done = entry.done, work = std::move(work)](std::stop_token stop) mutable {
          try {
            work(stop);
          } catch (const std::exception& e) {
            std::cerr << "client thread: " << e.what() << std::endl;
          }
          done.store(true);
        });
  }

  // Threads still running.
  std::size_t running() const {
    std::size_t n = 0;
    for (const auto& e : entries_)
      n += e.done.load() ? 0 : 1;
    return n;
  }

  // Asks every thread to stop and waits for them.
  void stop_and_join() {
    for (auto& e : entries_)
      e.thread.request_stop();
    entries_.clear();
  }

 private:
  struct Entry {
    std::atomic<bool> done{false};
    std::jthread thread;
  };
  std::list<Entry> entries_;
};

// SIGINT and SIGTERM only record which signal came (Ruby: Signal.trap setting a flag), so
// the main loop can stop and let destructors run: close sockets, remove socket files.
// Installed without SA_RESTART, so a blocked poll returns at once.
class StopSignals {
 public:
  StopSignals() {
    for (int signal : {SIGINT, SIGTERM}) {
      struct sigaction action {};
      action.sa_handler = record;
      sigemptyset(&action.sa_mask);
      if (::sigaction(signal, &action, nullptr) != 0) {
        sockit::throw_errno("sigaction", "", errno);
      }
    }
  }
  // 0 until a signal came, then SIGINT or SIGTERM.
  int received() const noexcept { return received_; }
  // "INT" / "TERM", as Ruby names them.
  const char* name() const noexcept { return received_ == SIGINT ? "INT" : "TERM"; }

 private:
  static void record(int signal) { received_ = signal; }
  static inline volatile std::sig_atomic_t received_ = 0;
};

// main's catch-all: the error (already naming operation and address) and exit status 1.
inline int report(std::string_view program, const std::exception& e) {
  std::cerr << program << ": " << e.what() << std::endl;
  return 1;
}

}  // namespace example
