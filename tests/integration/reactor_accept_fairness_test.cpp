// The reactor's acceptor against a backlog while a thousand connections are busy: clients
// waiting to be accepted must not wait one full pass over every busy connection per batch.
// Asserted on the order of the loop's callbacks, never on time.
// sockit-test-labels: threaded
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "../../src/server/event_loop.hpp"
#include "../../src/server/runtime.hpp"
#include "sockit/options.hpp"
#include "sockit/socket.hpp"

namespace sockit::server::detail {
namespace {

using namespace std::chrono_literals;

// Connections kept readable at once: several times what one wait reports (256 events), so
// one pass over them takes several iterations of the loop.
constexpr std::size_t kBusy = 1200;
// Clients left in the listener's backlog: several accept batches (64 each).
constexpr std::size_t kWaiting = 200;
// Bytes each busy client sends, read 8 at a time: it stays readable for 128 passes.
constexpr std::size_t kBusyBytes = 1024;

// Records, on the loop's thread, which connection each read served and when (as a count
// of reads so far) each connection opened. A connection whose first byte is 'G' holds the
// loop in its on_data until released, so the test can set up what the loop sees next.
class RecordingService final : public Service {
 public:
  std::string_view name() const override { return "recording"; }
  std::uint16_t default_port() const override { return 0; }
  std::unique_ptr<Session> open(const ConnectionInfo&) override {
    return std::make_unique<RecordingSession>(*this, next_id_++);
  }

  // Loop thread only while it runs; read by the test after it has returned.
  std::vector<std::uint32_t> reads;    // connection ids, one per on_data
  std::vector<std::size_t> opened_at;  // by id: reads.size() when it opened
  std::atomic<std::size_t> opened{0};
  std::atomic<bool> holding{false};
  std::atomic<bool> release{false};

 private:
  class RecordingSession final : public Session {
   public:
    RecordingSession(RecordingService& service, std::uint32_t id) : service_(service), id_(id) {}
    void on_open(Output&) override {
      service_.opened_at.push_back(service_.reads.size());
      service_.opened.fetch_add(1);
    }
    void on_data(std::string_view bytes, Output&) override {
      if (bytes.front() == 'G') {
        service_.holding = true;
        const auto until = std::chrono::steady_clock::now() + 60s;
        while (!service_.release && std::chrono::steady_clock::now() < until)
          std::this_thread::sleep_for(1ms);
        return;
      }
      service_.reads.push_back(id_);
    }

   private:
    RecordingService& service_;
    std::uint32_t id_;
  };

  std::uint32_t next_id_ = 0;
};

// Waits (bounded) until `done` holds; true when it did.
template <class Predicate>
bool wait_for(Predicate done, std::chrono::seconds timeout = 60s) {
  const auto until = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= until) return false;
    std::this_thread::sleep_for(2ms);
  }
  return true;
}

TEST(ReactorAcceptFairness, BacklogIsTakenInBeforeAnyBusyConnectionIsReadTwice) {
  // Both ends of every connection live in this process.
  const rlim_t needed = 2 * (kBusy + kWaiting + 1) + 128;
  rlimit limit{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &limit), 0);
  if (limit.rlim_max < needed) {
    GTEST_SKIP() << "needs " << needed << " descriptors; the hard limit is " << limit.rlim_max;
  }
  if (limit.rlim_cur < needed) {
    limit.rlim_cur = needed;
    ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &limit), 0);
  }

  RecordingService service;
  service.reads.reserve(kBusy * kBusyBytes / 8 + 1024);
  service.opened_at.reserve(kBusy + kWaiting + 1);
  ServerOptions options;
  options.architecture = Architecture::reactor;
  options.log_level = LogLevel::quiet;
  options.handle_signals = false;
  options.max_connections = 2 * (kBusy + kWaiting + 1);
  options.drain_timeout = 100ms;
  Logger log(LogLevel::quiet);
  ConnectionGate gate(options.max_connections, options.max_connections_per_ip);
  StopSignal stop;
  WorkerPool workers{1, 0};
  Socket listener(AF_INET, SOCK_STREAM);
  listener.set(option::ReuseAddress{true});
  listener.bind(Address::loopback_ipv4(0));
  listener.listen();
  listener.set_nonblocking(true);
  const Address address = listener.local_address();
  OutputBudget output{options.max_output_per_connection, options.max_output};
  Runtime runtime{service, options, listener, address, log, gate, stop, workers, output};
  LoopSettings settings;
  settings.read_buffer = 8;
  EventLoop loop(runtime, listener, ListenerUse::exclusive, settings);
  std::thread thread([&loop] { loop.run(); });
  struct Joiner {
    StopSignal& stop;
    std::thread& thread;
    RecordingService& service;
    ~Joiner() {
      service.release = true;
      stop.request();
      if (thread.joinable()) thread.join();
    }
  } joiner{stop, thread, service};

  std::vector<Socket> busy;
  for (std::size_t i = 0; i < kBusy; ++i) {
    busy.emplace_back(AF_INET, SOCK_STREAM);
    busy.back().connect(address, 10s);
  }
  ASSERT_TRUE(wait_for([&] { return service.opened == kBusy; }));
  // Hold the loop, then make every busy connection readable and fill the backlog behind
  // them: when released, the loop finds the listener last among 1,200 ready descriptors.
  Socket holder(AF_INET, SOCK_STREAM);
  holder.connect(address, 10s);
  ASSERT_TRUE(wait_for([&] { return service.opened == kBusy + 1; }));
  holder.send(std::string_view("G"));
  ASSERT_TRUE(wait_for([&] { return service.holding.load(); }));
  const std::string bytes(kBusyBytes, 'x');
  for (Socket& client : busy) {
    std::string_view rest = bytes;
    while (!rest.empty())
      rest.remove_prefix(client.send(rest));
  }
  std::vector<Socket> waiting;
  for (std::size_t i = 0; i < kWaiting; ++i) {
    waiting.emplace_back(AF_INET, SOCK_STREAM);
    waiting.back().connect(address, 10s);  // the kernel completes it into the backlog
  }
  service.release = true;
  ASSERT_TRUE(wait_for([&] { return service.opened == kBusy + 1 + kWaiting; }));
  stop.request();
  thread.join();

  // Between the first and the last of the waiting clients' openings, how often was each
  // busy connection read? Once per pass over the ready connections: a backlog that gets one
  // batch per pass takes several passes (every busy connection read several times).
  const auto first =
      std::min_element(service.opened_at.begin() + kBusy + 1, service.opened_at.end());
  const auto last =
      std::max_element(service.opened_at.begin() + kBusy + 1, service.opened_at.end());
  ASSERT_LE(*last, service.reads.size());
  std::vector<unsigned> reads_of(kBusy, 0);
  for (std::size_t i = *first; i < *last; ++i) {
    const std::uint32_t id = service.reads[i];
    if (id < kBusy) ++reads_of[id];
  }
  const unsigned most = *std::max_element(reads_of.begin(), reads_of.end());
  EXPECT_LE(most, 1U) << "the backlog of " << kWaiting << " took " << (*last - *first)
                      << " reads of busy connections to accept";
  // The busy connections were served meanwhile: accepting did not starve them.
  EXPECT_GT(*last - *first, 0U);
}

}  // namespace
}  // namespace sockit::server::detail
