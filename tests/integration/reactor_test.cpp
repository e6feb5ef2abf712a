// The reactor and hybrid architectures, in-process: back-pressure against a client that
// never reads, Peer delivery across reactors, the idle timeout, many idle connections,
// connection limits, running out of descriptors, half-close and the drain on stop.
// sockit-test-labels: threaded
#include <gtest/gtest.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <fstream>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "../../src/server/event_loop.hpp"
#include "../../src/server/runtime.hpp"
#include "sockit/error.hpp"
#include "sockit/poll.hpp"
#include "sockit/server/services.hpp"
#include "sockit/socket.hpp"
#include "support/descriptor_table.hpp"

namespace sockit::server::detail {
namespace {

using namespace std::chrono_literals;

// A reactor (or all hybrid reactors) serving `service` on 127.0.0.1:0 in a thread.
class Harness {
 public:
  Harness(std::shared_ptr<Service> service, ServerOptions options, LoopSettings settings = {})
      : service_(std::move(service)),
        options_(std::move(options)),
        log_(LogLevel::quiet),
        gate_(options_.max_connections, options_.max_connections_per_ip),
        listener_(AF_INET, SOCK_STREAM) {
    listener_.set(option::ReuseAddress{true});
    const bool hybrid = options_.architecture == Architecture::hybrid ||
                        options_.architecture == Architecture::uring_hybrid;
    const LoopKind kind = options_.architecture == Architecture::uring ||
                                  options_.architecture == Architecture::uring_hybrid
                              ? LoopKind::uring
                              : LoopKind::epoll;
    settings.use_uring = kind == LoopKind::uring;
    if (hybrid) listener_.set(option::ReusePort{true});
    listener_.bind(Address::loopback_ipv4(0));
    listener_.listen();
    listener_.set_nonblocking(true);
    local_ = listener_.local_address();
    runtime_ = std::make_unique<Runtime>(
        Runtime{*service_, options_, listener_, local_, log_, gate_, stop_, workers_, output_});
    if (hybrid) {
      thread_ = std::thread([this, kind] {
        run_hybrid(*runtime_, kind);
        finished_ = true;
      });
    } else {
      loop_ = std::make_unique<EventLoop>(*runtime_, listener_, ListenerUse::exclusive, settings);
      thread_ = std::thread([this] {
        loop_->run();
        finished_ = true;
      });
    }
  }
  ~Harness() { stop_and_join(); }

  const Address& address() const { return local_; }
  LoopStats stats() const { return loop_->stats(); }
  void request_stop() { stop_.request(); }
  // Waits (bounded) for the runner to return; true when it did.
  bool wait_finished(std::chrono::milliseconds timeout) {
    const auto until = std::chrono::steady_clock::now() + timeout;
    while (!finished_ && std::chrono::steady_clock::now() < until)
      std::this_thread::sleep_for(5ms);
    return finished_;
  }
  void stop_and_join() {
    stop_.request();
    if (thread_.joinable()) thread_.join();
  }

 private:
  std::shared_ptr<Service> service_;
  ServerOptions options_;
  Logger log_;
  ConnectionGate gate_;
  StopSignal stop_;
  WorkerPool workers_{2, 0};
  OutputBudget output_{options_.max_output_per_connection, options_.max_output};
  Socket listener_;
  Address local_;
  std::unique_ptr<Runtime> runtime_;
  std::unique_ptr<EventLoop> loop_;
  std::atomic<bool> finished_{false};
  std::thread thread_;
};

ServerOptions reactor_options(Architecture architecture) {
  ServerOptions options;
  options.architecture = architecture;
  options.log_level = LogLevel::quiet;
  options.handle_signals = false;
  return options;
}

Socket connect_to(const Address& address) {
  Socket socket(address.family(), SOCK_STREAM);
  socket.connect(address, 10s);
  return socket;
}

void send_all(Socket& socket, std::string_view bytes) {
  while (!bytes.empty())
    bytes.remove_prefix(socket.send(bytes));
}

// Reads until `count` bytes arrived, EOF, or the timeout.
std::string read_bytes(Socket& socket, std::size_t count, std::chrono::milliseconds timeout = 20s) {
  std::string got;
  const Deadline deadline(timeout);
  char buffer[4096];
  while (got.size() < count && wait_readable(socket, deadline)) {
    std::size_t n = socket.recv({buffer, std::min(sizeof buffer, count - got.size())});
    if (n == 0) break;
    got.append(buffer, n);
  }
  return got;
}

// Reads everything until EOF; nullopt when the timeout passes first.
std::optional<std::string> read_to_eof(Socket& socket, std::chrono::milliseconds timeout = 20s) {
  std::string got;
  const Deadline deadline(timeout);
  char buffer[4096];
  while (wait_readable(socket, deadline)) {
    std::size_t n = 0;
    try {
      n = socket.recv(buffer);
    } catch (const Error&) {
      return got;  // a reset also ends the stream
    }
    if (n == 0) return got;
    got.append(buffer, n);
  }
  return std::nullopt;
}

// Waits (bounded) until `done` holds; true when it did.
template <class Condition>
bool eventually(Condition done, std::chrono::milliseconds timeout = 20s) {
  const auto until = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= until) return false;
    std::this_thread::sleep_for(2ms);
  }
  return true;
}

// Waits until the peer's kernel has acknowledged every byte `socket` sent: they are in
// the server's receive buffer (or read already).
bool acknowledged(const Socket& socket, std::chrono::milliseconds timeout = 20s) {
  return eventually(
      [&] {
        int unacknowledged = -1;
        return ::ioctl(socket.fd(), SIOCOUTQ, &unacknowledged) == 0 && unacknowledged == 0;
      },
      timeout);
}

std::string echo_round_trip(const Address& address, const std::string& line) {
  Socket client = connect_to(address);
  send_all(client, line);
  return read_bytes(client, line.size());
}

std::size_t resident_bytes() {
  std::ifstream status("/proc/self/status");
  std::string key;
  while (status >> key) {
    if (key == "VmRSS:") {
      std::size_t kib = 0;
      status >> kib;
      return kib * 1024;
    }
  }
  return 0;
}

// Each test runs on both backends of the loop: epoll and io_uring.
class Reactor : public ::testing::TestWithParam<Architecture> {};
class Hybrid : public ::testing::TestWithParam<Architecture> {};

std::string loop_name(const ::testing::TestParamInfo<Architecture>& info) {
  std::string name(to_string(info.param));
  std::replace(name.begin(), name.end(), '-', '_');
  return name;
}

INSTANTIATE_TEST_SUITE_P(Loops, Reactor,
                         ::testing::Values(Architecture::reactor, Architecture::uring), loop_name);
INSTANTIATE_TEST_SUITE_P(Loops, Hybrid,
                         ::testing::Values(Architecture::hybrid, Architecture::uring_hybrid),
                         loop_name);

TEST_P(Reactor, EchoesLinesInAnySplit) {
  Harness server(std::make_shared<EchoService>(), reactor_options(GetParam()));
  Socket client = connect_to(server.address());
  send_all(client, "one\ntw");
  EXPECT_EQ(read_bytes(client, 4), "one\n");
  send_all(client, "o\nthree\n");
  EXPECT_EQ(read_bytes(client, 10), "two\nthree\n");
}

TEST_P(Reactor, HalfCloseAnswersThenCloses) {
  Harness server(std::make_shared<EchoService>(), reactor_options(GetParam()));
  Socket client = connect_to(server.address());
  send_all(client, "abc\nlast");
  client.close_write();
  EXPECT_EQ(read_to_eof(client), std::optional<std::string>("abc\nlast\n"));
}

TEST_P(Reactor, ClientThatNeverReadsIsBoundedAndOthersAreServed) {
  LoopSettings settings;  // high water 1 MiB
  Harness server(std::make_shared<EchoService>(), reactor_options(GetParam()), settings);
  const std::size_t rss_before = resident_bytes();

  Socket hog = connect_to(server.address());
  const std::string lines = [] {
    std::string line(1023, 'x');
    line += '\n';
    std::string chunk;
    for (int i = 0; i < 64; ++i)
      chunk += line;
    return chunk;  // 64 KiB of 1 KiB lines
  }();
  // Without back-pressure the server would take (and echo into memory) all of this. Sent
  // until the server says it paused reading (what it reports is checked below).
  const std::size_t attempt = 256 * 1024 * 1024;
  std::size_t sent = 0;
  const auto give_up = std::chrono::steady_clock::now() + 60s;
  // The stream stays a sequence of whole 1 KiB lines across partial writes.
  while (sent < attempt && server.stats().read_pauses == 0 &&
         std::chrono::steady_clock::now() < give_up) {
    IoResult r = hog.write_nonblock(std::string_view(lines).substr(sent % lines.size()));
    if (r.ok()) {
      sent += r.bytes;
    } else {
      wait_writable(hog, 100ms);
    }
  }
  EXPECT_LT(sent, attempt) << "the server kept reading from a client that never reads";

  const LoopStats stats = server.stats();
  EXPECT_GE(stats.read_pauses, 1U) << "no back-pressure within 60 s";
  EXPECT_LE(stats.peak_queued_bytes, settings.high_water + 2 * settings.read_buffer);
  const std::size_t rss_after = resident_bytes();
  EXPECT_LT(rss_after, rss_before + 64 * 1024 * 1024)
      << "resident memory grew from " << rss_before << " to " << rss_after;

  // The stalled client costs the others nothing.
  EXPECT_EQ(echo_round_trip(server.address(), "still here\n"), "still here\n");

  // Once the hog reads, every whole line it sent comes back: reading resumed.
  const std::size_t whole_lines = sent - sent % 1024;
  EXPECT_EQ(read_bytes(hog, whole_lines, 60s).size(), whole_lines);
}

TEST_P(Reactor, IdleConnectionIsClosedActiveOneIsNot) {
  ServerOptions options = reactor_options(GetParam());
  options.idle_timeout = 1000ms;
  Harness server(std::make_shared<EchoService>(), options);

  Socket idle = connect_to(server.address());
  Socket active = connect_to(server.address());
  const auto start = std::chrono::steady_clock::now();
  // The active client talks every 200 ms for 2.5 s: it must outlive the idle one.
  while (std::chrono::steady_clock::now() - start < 2500ms) {
    send_all(active, "ping\n");
    ASSERT_EQ(read_bytes(active, 5), "ping\n");
    std::this_thread::sleep_for(200ms);
  }
  auto rest = read_to_eof(idle, 10s);
  ASSERT_TRUE(rest.has_value()) << "idle connection still open";
  EXPECT_EQ(*rest, "");
  EXPECT_EQ(echo_round_trip(server.address(), "x\n"), "x\n");
  send_all(active, "still\n");
  EXPECT_EQ(read_bytes(active, 6), "still\n");
}

TEST_P(Reactor, TwoHundredIdleConnectionsAndOneServed) {
  Harness server(std::make_shared<EchoService>(), reactor_options(GetParam()));
  std::vector<Socket> idle;
  for (int i = 0; i < 200; ++i)
    idle.push_back(connect_to(server.address()));
  EXPECT_EQ(echo_round_trip(server.address(), "served\n"), "served\n");
  for (int i = 0; i < 200 && server.stats().accepted < 201; ++i)
    std::this_thread::sleep_for(10ms);
  EXPECT_GE(server.stats().accepted, 201U);
  // Idle connections hold no output buffers (on io_uring, once the loop has reaped the
  // completion of the send whose bytes the client already read).
  for (int i = 0; i < 200 && server.stats().queued_bytes > 0; ++i)
    std::this_thread::sleep_for(10ms);
  EXPECT_EQ(server.stats().queued_bytes, 0U);
}

TEST_P(Reactor, OverTheLimitClientIsToldAndClosed) {
  ServerOptions options = reactor_options(GetParam());
  options.max_connections = 2;
  Harness server(std::make_shared<EchoService>(), options);
  Socket a = connect_to(server.address());
  Socket b = connect_to(server.address());
  send_all(a, "a\n");
  send_all(b, "b\n");
  ASSERT_EQ(read_bytes(a, 2), "a\n");
  ASSERT_EQ(read_bytes(b, 2), "b\n");
  Socket c = connect_to(server.address());
  EXPECT_EQ(read_to_eof(c), std::optional<std::string>("Server full, try again later\n"));
}

TEST_P(Reactor, StopAnswersWhatArrivedThenCloses) {
  ServerOptions options = reactor_options(GetParam());
  options.drain_timeout = 2000ms;
  Harness server(std::make_shared<EchoService>(), options);
  std::vector<Socket> clients;
  for (int i = 0; i < 10; ++i)
    clients.push_back(connect_to(server.address()));
  // Every client has been accepted (its first echo came back) before the requests go out.
  for (auto& client : clients) {
    send_all(client, "hi\n");
    ASSERT_EQ(read_bytes(client, 3), "hi\n");
  }
  for (int i = 0; i < 10; ++i)
    send_all(clients[i], "request " + std::to_string(i) + "\n");
  // The requests have arrived (the server's kernel acknowledged them) before the stop.
  for (const auto& client : clients)
    ASSERT_TRUE(acknowledged(client));
  server.request_stop();
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(read_to_eof(clients[i]),
              std::optional<std::string>("request " + std::to_string(i) + "\n"));
  }
  EXPECT_TRUE(server.wait_finished(10s));
  // The listener is closed at once: new clients are refused.
  std::error_code ec;
  Socket late(AF_INET, SOCK_STREAM);
  late.connect(server.address(), 5s, ec);
  EXPECT_TRUE(ec);
}

// Writes `size` bytes to each client as it connects.
class FloodService final : public Service {
 public:
  explicit FloodService(std::size_t size) : size_(size) {}
  std::string_view name() const override { return "flood"; }
  std::uint16_t default_port() const override { return 0; }
  std::unique_ptr<Session> open(const ConnectionInfo&) override {
    return std::make_unique<FloodSession>(std::string(size_, 'f'));
  }

 private:
  class FloodSession final : public Session {
   public:
    explicit FloodSession(std::string bytes) : bytes_(std::move(bytes)) {}
    void on_open(Output& out) override { out.write(bytes_); }
    void on_data(std::string_view, Output&) override {}

   private:
    std::string bytes_;
  };
  std::size_t size_;
};

// The most a TCP socket's send buffer may grow to on this machine (tcp_wmem's maximum).
std::size_t largest_send_buffer() {
  std::ifstream file("/proc/sys/net/ipv4/tcp_wmem");
  std::size_t low = 0, initial = 0, largest = 0;
  file >> low >> initial >> largest;
  return std::max<std::size_t>(largest, std::size_t{4} << 20);
}

TEST_P(Reactor, StopGivesUpOnClientsThatNeverReadAtTheDeadline) {
  ServerOptions options = reactor_options(GetParam());
  options.drain_timeout = 1000ms;
  // More than the kernel can take on the way (the server's send buffer at its largest and
  // the hog's small receive buffer), so output waits in the server's queue however slowly
  // either side runs: a pause in reading is no proof of that on a loaded machine.
  const std::size_t flood = 2 * largest_send_buffer() + (std::size_t{4} << 20);
  options.max_output_per_connection = 2 * flood;
  options.max_output = 4 * flood;
  Harness server(std::make_shared<FloodService>(flood), options);
  Socket hog(AF_INET, SOCK_STREAM);
  hog.set(option::ReceiveBuffer{16 * 1024});
  hog.connect(server.address(), 10s);
  const auto give_up = std::chrono::steady_clock::now() + 20s;
  while (server.stats().queued_bytes == 0 && std::chrono::steady_clock::now() < give_up)
    std::this_thread::sleep_for(5ms);
  ASSERT_GT(server.stats().queued_bytes, 0U) << "the server never queued the flood";
  const auto start = std::chrono::steady_clock::now();
  server.request_stop();
  EXPECT_TRUE(server.wait_finished(20s));
  EXPECT_GE(std::chrono::steady_clock::now() - start, 900ms) << "should have waited to drain";
}

TEST_P(Reactor, OutOfDescriptorsPausesAcceptingThenRecovers) {
  const sockit::test::LoweredDescriptorLimit limit(4096);
  Harness server(std::make_shared<EchoService>(), reactor_options(GetParam()));
  // The loop runs (an io_uring loop has made its ring) and the connection that showed it has
  // closed before the table fills.
  EXPECT_EQ(echo_round_trip(server.address(), "ready\n"), "ready\n");
  for (int i = 0; i < 500 && server.stats().connections > 0; ++i)
    std::this_thread::sleep_for(10ms);
  ASSERT_EQ(server.stats().connections, 0U);
  // The client socket exists before the table fills, so only the server's accept fails.
  Socket client(AF_INET, SOCK_STREAM);
  sockit::test::FullDescriptorTable table;
  ASSERT_EQ(table.fill_error(), EMFILE);
  const auto filled = std::chrono::steady_clock::now();
  client.connect(server.address(), 10s);  // the kernel completes the handshake
  send_all(client, "after\n");
  // The listener rests, then tries again (a second pause) while the table is still full.
  const bool retried = eventually([&] { return server.stats().accept_pauses >= 2; });
  const std::size_t pauses = server.stats().accept_pauses;
  const auto waited = std::chrono::steady_clock::now() - filled;
  table.release();
  EXPECT_TRUE(retried) << "accept paused " << pauses << " time(s) in 20 s";
  // Rests of about 100 ms: far more pauses than the time allows is a busy retry.
  EXPECT_LE(pauses, 3 + static_cast<std::size_t>(waited / 50ms))
      << "retrying accept far more often than every 100 ms";
  EXPECT_EQ(read_bytes(client, 6), "after\n");
}

// A test-only service with shared state: every line is sent to every connection so far,
// through Peers, recording which thread each session was opened on.
class BroadcastService final : public Service {
 public:
  std::string_view name() const override { return "broadcast"; }
  std::uint16_t default_port() const override { return 0; }
  bool needs_shared_state() const override { return true; }
  std::unique_ptr<Session> open(const ConnectionInfo&) override {
    return std::make_unique<BroadcastSession>(*this);
  }

  std::size_t members() {
    std::lock_guard lock(mutex_);
    return peers_.size();
  }
  std::size_t threads() {
    std::lock_guard lock(mutex_);
    return threads_.size();
  }
  // Sessions whose connection has closed.
  std::size_t closed() const { return closed_.load(); }

 private:
  class BroadcastSession final : public Session {
   public:
    explicit BroadcastSession(BroadcastService& room) : room_(room) {}
    void on_open(Output& out) override { room_.join(out.peer()); }
    void on_data(std::string_view bytes, Output&) override { room_.broadcast(bytes); }
    void on_close() override { ++room_.closed_; }

   private:
    BroadcastService& room_;
  };

  void join(std::shared_ptr<Peer> peer) {
    std::lock_guard lock(mutex_);
    // Peers stay listed after their connection goes: sending to them must be a no-op.
    peers_.push_back(std::move(peer));
    threads_.insert(std::this_thread::get_id());
  }
  void broadcast(std::string_view bytes) {
    std::lock_guard lock(mutex_);
    for (auto& peer : peers_)
      peer->send(std::string(bytes));
  }

  std::mutex mutex_;
  std::vector<std::shared_ptr<Peer>> peers_;
  std::set<std::thread::id> threads_;
  std::atomic<std::size_t> closed_{0};
};

TEST_P(Hybrid, PeerSendsReachConnectionsOnOtherReactors) {
  auto room = std::make_shared<BroadcastService>();
  ServerOptions options = reactor_options(GetParam());
  options.workers = 2;
  Harness server(room, options);

  std::vector<Socket> clients;
  // SO_REUSEPORT spreads connections by hash: keep connecting until both reactors have some.
  for (int i = 0; i < 64 && (clients.size() < 8 || room->threads() < 2); ++i) {
    clients.push_back(connect_to(server.address()));
    for (int wait = 0; wait < 500 && room->members() < clients.size(); ++wait) {
      std::this_thread::sleep_for(2ms);
    }
  }
  ASSERT_EQ(room->members(), clients.size());
  ASSERT_GE(room->threads(), 2U) << "every connection landed on one reactor";

  send_all(clients.front(), "hello all\n");
  for (auto& client : clients)
    EXPECT_EQ(read_bytes(client, 10), "hello all\n");

  // One client leaves; sending to its Peer is now a no-op and the rest still hear.
  clients.front().close();
  ASSERT_TRUE(eventually([&] { return room->closed() == 1; })) << "the server never saw it go";
  send_all(clients.back(), "still on\n");
  for (std::size_t i = 1; i < clients.size(); ++i) {
    EXPECT_EQ(read_bytes(clients[i], 9), "still on\n");
  }
}

TEST_P(Hybrid, EchoOnEveryReactorAndStopWakesThemAll) {
  ServerOptions options = reactor_options(GetParam());
  options.workers = 3;
  Harness server(std::make_shared<EchoService>(), options);
  std::vector<Socket> clients;
  for (int i = 0; i < 30; ++i)
    clients.push_back(connect_to(server.address()));
  for (int i = 0; i < 30; ++i) {
    // Appended, not `"n" + std::to_string(i)`: g++ 12 -O3 misreads that as an overflow.
    const std::string line = std::string("n").append(std::to_string(i)).append("\n");
    send_all(clients[i], line);
    EXPECT_EQ(read_bytes(clients[i], line.size()), line);
  }
  server.request_stop();
  EXPECT_TRUE(server.wait_finished(10s));
  for (auto& client : clients)
    EXPECT_TRUE(read_to_eof(client, 10s).has_value());
}

}  // namespace
}  // namespace sockit::server::detail
