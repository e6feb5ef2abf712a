// The runtime on the event loops (reactor and hybrid), in-process: timers, off-loop work,
// flow control (set_reading, on_drain), writing to another connection of the same loop and
// outbound connections (success, refusal, several addresses, deadline).
// sockit-test-labels: threaded
#include <gtest/gtest.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "../../src/server/event_loop.hpp"
#include "../../src/server/runtime.hpp"
#include "sockit/error.hpp"
#include "sockit/poll.hpp"
#include "sockit/socket.hpp"

namespace sockit::server::detail {
namespace {

using namespace std::chrono_literals;

// A session made of the callbacks a test sets; the rest do nothing.
struct Hooks final : Session {
  std::function<void(Output&)> open;
  std::function<void(std::string_view, Output&)> data;
  std::function<void(TimerId, Output&)> timer;
  std::function<void(Output&)> drain;
  std::function<void(const std::error_code&, std::string_view)> failed;
  std::function<void()> closed;

  void on_open(Output& out) override {
    if (open) open(out);
  }
  void on_data(std::string_view bytes, Output& out) override {
    if (data) data(bytes, out);
  }
  void on_timer(TimerId id, Output& out) override {
    if (timer) timer(id, out);
  }
  void on_drain(Output& out) override {
    if (drain) drain(out);
  }
  void on_connect_failed(const std::error_code& error, std::string_view reason) override {
    if (failed) failed(error, reason);
  }
  void on_close() override {
    if (closed) closed();
  }
};

class HookService final : public Service {
 public:
  explicit HookService(std::function<std::unique_ptr<Hooks>()> make) : make_(std::move(make)) {}
  std::string_view name() const override { return "hooks"; }
  std::uint16_t default_port() const override { return 0; }
  bool needs_concurrency() const override { return true; }
  std::unique_ptr<Session> open(const ConnectionInfo&) override { return make_(); }

 private:
  std::function<std::unique_ptr<Hooks>()> make_;
};

// What sessions saw, from any thread, waited for by the test.
class Events {
 public:
  void add(std::string event) {
    {
      std::lock_guard lock(mutex_);
      events_.push_back(std::move(event));
    }
    changed_.notify_all();
  }
  bool wait_for(const std::string& event, std::chrono::milliseconds timeout = 10s) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] { return count_locked(event) > 0; });
  }
  std::size_t count(const std::string& event) {
    std::lock_guard lock(mutex_);
    return count_locked(event);
  }
  std::vector<std::string> all() {
    std::lock_guard lock(mutex_);
    return events_;
  }

 private:
  std::size_t count_locked(const std::string& event) const {
    std::size_t n = 0;
    for (const auto& e : events_)
      n += e == event ? 1 : 0;
    return n;
  }
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<std::string> events_;
};

// A reactor, or two hybrid reactors, serving on 127.0.0.1:0 in a thread, with a worker
// pool the test sizes.
class Harness {
 public:
  Harness(Architecture architecture, std::function<std::unique_ptr<Hooks>()> make,
          unsigned pool_threads = 2, std::size_t pool_capacity = 0,
          std::size_t max_connections = 1024)
      : service_(std::move(make)),
        options_(make_options(architecture, max_connections)),
        log_(LogLevel::quiet),
        gate_(options_.max_connections, options_.max_connections_per_ip),
        workers_(pool_threads, pool_capacity),
        listener_(AF_INET, SOCK_STREAM) {
    listener_.set(option::ReuseAddress{true});
    if (architecture == Architecture::hybrid || architecture == Architecture::uring_hybrid) {
      listener_.set(option::ReusePort{true});
    }
    listener_.bind(Address::loopback_ipv4(0));
    listener_.listen();
    listener_.set_nonblocking(true);
    local_ = listener_.local_address();
    runtime_ = std::make_unique<Runtime>(
        Runtime{service_, options_, listener_, local_, log_, gate_, stop_, workers_, output_});
    thread_ = std::thread([this, architecture] {
      const LoopKind kind =
          architecture == Architecture::uring || architecture == Architecture::uring_hybrid
              ? LoopKind::uring
              : LoopKind::epoll;
      if (architecture == Architecture::hybrid || architecture == Architecture::uring_hybrid) {
        run_hybrid(*runtime_, kind);
      } else {
        run_reactor(*runtime_, kind);
      }
    });
  }
  ~Harness() {
    stop_.request();
    if (thread_.joinable()) thread_.join();
  }
  const Address& address() const { return local_; }

 private:
  static ServerOptions make_options(Architecture architecture, std::size_t max_connections) {
    ServerOptions options;
    options.max_connections = max_connections;
    options.architecture = architecture;
    options.log_level = LogLevel::quiet;
    options.handle_signals = false;
    options.workers = 2;
    options.drain_timeout = 2000ms;
    return options;
  }

  HookService service_;
  ServerOptions options_;
  Logger log_;
  ConnectionGate gate_;
  StopSignal stop_;
  WorkerPool workers_;
  OutputBudget output_{options_.max_output_per_connection, options_.max_output};
  Socket listener_;
  Address local_;
  std::unique_ptr<Runtime> runtime_;
  std::thread thread_;
};

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
  std::vector<char> buffer(64 * 1024);
  while (got.size() < count && wait_readable(socket, deadline)) {
    std::size_t n = 0;
    try {
      n = socket.recv({buffer.data(), std::min(buffer.size(), count - got.size())});
    } catch (const Error&) {
      break;
    }
    if (n == 0) break;
    got.append(buffer.data(), n);
  }
  return got;
}

// True when the peer closed (EOF or reset) within the timeout, whatever came before.
bool closes_within(Socket& socket, std::chrono::milliseconds timeout) {
  const Deadline deadline(timeout);
  char buffer[4096];
  while (wait_readable(socket, deadline)) {
    try {
      if (socket.recv(buffer) == 0) return true;
    } catch (const Error&) {
      return true;
    }
  }
  return false;
}

// A port on 127.0.0.1 where nothing listens (bound, never listening: refused, and not
// taken by anyone else while the returned socket lives).
Socket closed_port(std::uint16_t& port) {
  Socket reserved(AF_INET, SOCK_STREAM);
  reserved.bind(Address::loopback_ipv4(0));
  port = reserved.local_address().port();
  return reserved;
}

class LoopRuntime : public ::testing::TestWithParam<Architecture> {};

INSTANTIATE_TEST_SUITE_P(Loops, LoopRuntime,
                         ::testing::Values(Architecture::reactor, Architecture::hybrid,
                                           Architecture::uring, Architecture::uring_hybrid),
                         [](const auto& test) {
                           std::string name(to_string(test.param));
                           std::replace(name.begin(), name.end(), '-', '_');
                           return name;
                         });

TEST_P(LoopRuntime, TimersFireInDeadlineOrder) {
  Harness server(GetParam(), [] {
    auto s = std::make_unique<Hooks>();
    auto names = std::make_shared<std::map<TimerId, std::string>>();
    s->open = [names](Output& out) {
      (*names)[out.start_timer(60ms)] = "c";
      (*names)[out.start_timer(20ms)] = "a";
      (*names)[out.start_timer(40ms)] = "b";
      (*names)[out.start_timer(40ms)] = "b2";  // equal deadlines: in start order
    };
    s->timer = [names](TimerId id, Output& out) { out.write((*names)[id] + "\n"); };
    return s;
  });
  Socket client = connect_to(server.address());
  EXPECT_EQ(read_bytes(client, 9), "a\nb\nb2\nc\n");
}

TEST_P(LoopRuntime, CancelInsideAnotherTimersCallbackPreventsIt) {
  Harness server(GetParam(), [] {
    auto s = std::make_unique<Hooks>();
    auto ids = std::make_shared<std::map<std::string, TimerId>>();
    s->open = [ids](Output& out) {
      (*ids)["first"] = out.start_timer(10ms);
      (*ids)["victim"] = out.start_timer(50ms);
      (*ids)["last"] = out.start_timer(150ms);
    };
    s->timer = [ids](TimerId id, Output& out) {
      if (id == (*ids)["first"]) {
        const bool cancelled = out.cancel_timer((*ids)["victim"]);
        const bool again = out.cancel_timer((*ids)["victim"]);
        const bool itself = out.cancel_timer(id);  // already fired
        out.write(std::string("first ") + (cancelled ? "1" : "0") + (again ? "1" : "0") +
                  (itself ? "1" : "0") + "\n");
      } else if (id == (*ids)["victim"]) {
        out.write("victim\n");
      } else {
        out.write("last\n");
      }
    };
    return s;
  });
  Socket client = connect_to(server.address());
  EXPECT_EQ(read_bytes(client, 15), "first 100\nlast\n");
}

TEST_P(LoopRuntime, TenThousandTimersOnOneConnectionAllFire) {
  constexpr int kTimers = 10'000;
  Harness server(GetParam(), [] {
    auto s = std::make_unique<Hooks>();
    struct State {
      std::map<TimerId, int> due;  // id -> its delay
      int fired = 0;
    };
    auto state = std::make_shared<State>();
    s->open = [state](Output& out) {
      for (int i = 0; i < kTimers; ++i) {
        const int delay = (i * 7919) % 100;
        state->due[out.start_timer(std::chrono::milliseconds(delay))] = delay;
      }
    };
    s->timer = [state](TimerId id, Output& out) {
      auto it = state->due.find(id);
      if (it == state->due.end()) {
        out.write("unknown id\n");
        return;
      }
      state->due.erase(it);
      if (++state->fired == kTimers) out.write("all fired\n");
    };
    return s;
  });
  Socket client = connect_to(server.address());
  EXPECT_EQ(read_bytes(client, 10), "all fired\n");
}

TEST_P(LoopRuntime, ClosedConnectionNeverHearsItsPendingTimers) {
  auto events = std::make_shared<Events>();
  Harness server(GetParam(), [events] {
    auto s = std::make_unique<Hooks>();
    s->open = [](Output& out) {
      for (int i = 0; i < 100; ++i)
        out.start_timer(std::chrono::milliseconds(100 + i));
      out.write("armed\n");
    };
    s->timer = [events](TimerId, Output&) { events->add("timer"); };
    s->closed = [events] { events->add("closed"); };
    return s;
  });
  {
    Socket client = connect_to(server.address());
    ASSERT_EQ(read_bytes(client, 6), "armed\n");
  }  // closed with every timer pending
  ASSERT_TRUE(events->wait_for("closed"));
  // The next connections may take the same slot: they must not hear the old timers either.
  Socket next = connect_to(server.address());
  ASSERT_EQ(read_bytes(next, 6), "armed\n");
  next.close();
  ASSERT_TRUE(events->wait_for("closed"));
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(events->count("timer"), 0U);
}

TEST_P(LoopRuntime, OffLoopContinuationRunsOnTheLoopWithTheResult) {
  Harness server(GetParam(), [] {
    auto s = std::make_unique<Hooks>();
    s->data = [](std::string_view, Output& out) {
      const auto loop_thread = std::this_thread::get_id();
      const bool queued = out.run_off_loop([loop_thread]() -> Continuation {
        const bool off_loop = std::this_thread::get_id() != loop_thread;
        int result = 6 * 7;
        return [=](Output& back) {
          const bool home = std::this_thread::get_id() == loop_thread;
          back.write("result " + std::to_string(result) + (off_loop ? " off" : " ON") +
                     (home ? " home\n" : " AWAY\n"));
        };
      });
      if (!queued) out.write("busy\n");
    };
    return s;
  });
  Socket client = connect_to(server.address());
  send_all(client, "go\n");
  EXPECT_EQ(read_bytes(client, 19), "result 42 off home\n");
}

TEST_P(LoopRuntime, OffLoopExceptionEndsTheConnection) {
  Harness server(GetParam(), [] {
    auto s = std::make_unique<Hooks>();
    s->data = [](std::string_view, Output& out) {
      out.run_off_loop([]() -> Continuation { throw std::runtime_error("work failed"); });
    };
    return s;
  });
  Socket client = connect_to(server.address());
  send_all(client, "go\n");
  EXPECT_TRUE(closes_within(client, 10s));
}

TEST_P(LoopRuntime, ContinuationOfAClosedConnectionIsDroppedUnrun) {
  auto events = std::make_shared<Events>();
  auto release = std::make_shared<std::promise<void>>();
  std::shared_future<void> released = release->get_future().share();
  // What the continuation holds: it must be destroyed, never run.
  struct Token {
    std::shared_ptr<Events> events;
    ~Token() { events->add("token gone"); }
  };
  Harness server(GetParam(), [events, released] {
    auto s = std::make_unique<Hooks>();
    s->data = [events, released](std::string_view, Output& out) {
      out.run_off_loop([events, released]() -> Continuation {
        released.wait();
        auto token = std::make_shared<Token>(Token{events});
        return [events, token](Output&) { events->add("continuation ran"); };
      });
      out.write("started\n");
    };
    s->closed = [events] { events->add("closed"); };
    return s;
  });
  {
    Socket client = connect_to(server.address());
    send_all(client, "go\n");
    ASSERT_EQ(read_bytes(client, 8), "started\n");
  }
  ASSERT_TRUE(events->wait_for("closed"));
  release->set_value();
  EXPECT_TRUE(events->wait_for("token gone"));
  EXPECT_EQ(events->count("continuation ran"), 0U);
}

TEST_P(LoopRuntime, FullPoolQueueRefusesOffLoopWork) {
  auto release = std::make_shared<std::promise<void>>();
  std::shared_future<void> released = release->get_future().share();
  auto started = std::make_shared<std::promise<void>>();
  auto started_once = std::make_shared<std::once_flag>();
  {
    // One thread, room for one waiting job.
    Harness server(
        GetParam(),
        [released, started, started_once] {
          auto s = std::make_unique<Hooks>();
          s->data = [released, started, started_once](std::string_view bytes, Output& out) {
            const std::string name(bytes.substr(0, bytes.find('\n')));
            const bool queued =
                out.run_off_loop([released, started, started_once, name]() -> Continuation {
                  std::call_once(*started_once, [&] { started->set_value(); });
                  released.wait();
                  return [name](Output& back) { back.write("done " + name + "\n"); };
                });
            out.write((queued ? "queued " : "busy ") + name + "\n");
          };
          return s;
        },
        1, 1);
    Socket client = connect_to(server.address());
    send_all(client, "one\n");
    ASSERT_EQ(read_bytes(client, 11), "queued one\n");
    // The worker has taken the first job: the second waits in the queue, the third has no room.
    ASSERT_EQ(started->get_future().wait_for(10s), std::future_status::ready);
    send_all(client, "two\n");
    ASSERT_EQ(read_bytes(client, 11), "queued two\n");
    send_all(client, "three\n");
    EXPECT_EQ(read_bytes(client, 11), "busy three\n");
    release->set_value();
    EXPECT_EQ(read_bytes(client, 18), "done one\ndone two\n");
  }
}

TEST_P(LoopRuntime, SetReadingFalseStopsOnDataTrueResumes) {
  Harness server(GetParam(), [] {
    auto s = std::make_unique<Hooks>();
    s->data = [](std::string_view bytes, Output& out) {
      if (bytes == "pause\n") {
        out.set_reading(false);
        out.start_timer(800ms);
        out.write("paused\n");
        return;
      }
      out.write("got " + std::string(bytes));
    };
    s->timer = [](TimerId, Output& out) {
      out.write("resumed\n");
      out.set_reading(true);
    };
    return s;
  });
  Socket client = connect_to(server.address());
  send_all(client, "pause\n");
  ASSERT_EQ(read_bytes(client, 7), "paused\n");
  send_all(client, "more\n");
  // Nothing is read while reading is off.
  EXPECT_EQ(read_bytes(client, 1, 300ms), "");
  EXPECT_EQ(read_bytes(client, 17), "resumed\ngot more\n");
}

TEST_P(LoopRuntime, DrainFollowsALargeWriteToASlowReader) {
  constexpr std::size_t kSize = 8 * 1024 * 1024;
  auto events = std::make_shared<Events>();
  Harness server(GetParam(), [events] {
    auto s = std::make_unique<Hooks>();
    s->open = [events](Output& out) {
      out.write(std::string(kSize, 'x'));
      events->add(out.queued() > 0 ? "backed up" : "all sent");
    };
    s->drain = [events](Output& out) {
      events->add("drained " + std::to_string(out.queued()));
      out.write("!");
    };
    return s;
  });
  // A small receive buffer, so the kernel cannot take the whole write at once.
  Socket client(AF_INET, SOCK_STREAM);
  client.set(option::ReceiveBuffer{4096});
  client.connect(server.address(), 10s);
  ASSERT_TRUE(events->wait_for("backed up"));
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(events->count("drained 0"), 0U);
  const std::string got = read_bytes(client, kSize + 1, 30s);
  EXPECT_EQ(got.size(), kSize + 1);
  EXPECT_EQ(got.back(), '!');
  EXPECT_TRUE(events->wait_for("drained 0"));
}

// A proxy: the client's connection opens an outbound connection to a listener of the
// test's, and each session writes what it reads to the other's Output.
struct Link {
  Output* client = nullptr;
  Output* upstream = nullptr;
  std::thread::id client_thread;
  std::thread::id upstream_thread;
};

std::unique_ptr<Hooks> proxy_session(const std::string& host, std::uint16_t port,
                                     const std::shared_ptr<Events>& events,
                                     std::chrono::milliseconds timeout = 5s) {
  auto s = std::make_unique<Hooks>();
  auto link = std::make_shared<Link>();
  s->open = [link, events, host, port, timeout](Output& out) {
    link->client = &out;
    link->client_thread = std::this_thread::get_id();
    auto up = std::make_unique<Hooks>();
    up->open = [link, events](Output& upstream) {
      link->upstream = &upstream;
      link->upstream_thread = std::this_thread::get_id();
      events->add(link->upstream_thread == link->client_thread ? "connected on the loop"
                                                               : "connected ELSEWHERE");
    };
    up->data = [link](std::string_view bytes, Output&) {
      if (link->client != nullptr) link->client->write(bytes);
    };
    up->failed = [link, events](const std::error_code& error, std::string_view reason) {
      events->add("failed " + error.message());
      if (error == std::errc::connection_refused) events->add("refused");
      if (error == std::errc::timed_out) events->add("timed out");
      if (link->client != nullptr) link->client->write("failed: " + std::string(reason) + "\n");
    };
    up->closed = [link, events] {
      link->upstream = nullptr;
      events->add("upstream closed");
      // Closes the other connection from this one's callback.
      if (link->client != nullptr) link->client->close();
    };
    out.connect({host, std::to_string(port), timeout}, std::move(up));
    events->add("connect returned");
  };
  s->data = [link](std::string_view bytes, Output& out) {
    if (link->upstream != nullptr) {
      link->upstream->write(bytes);
    } else {
      out.write("no upstream\n");
    }
  };
  s->closed = [link] { link->client = nullptr; };
  return s;
}

TEST_P(LoopRuntime, OutboundConnectionCarriesBytesBothWays) {
  auto events = std::make_shared<Events>();
  Socket upstream_listener(AF_INET, SOCK_STREAM);
  upstream_listener.bind(Address::loopback_ipv4(0));
  upstream_listener.listen();
  const std::uint16_t port = upstream_listener.local_address().port();
  Harness server(GetParam(), [events, port] { return proxy_session("127.0.0.1", port, events); });

  Socket client = connect_to(server.address());
  Accepted upstream = upstream_listener.accept(Deadline(10s));
  ASSERT_TRUE(events->wait_for("connected on the loop"));
  send_all(client, "ping\n");
  EXPECT_EQ(read_bytes(upstream.socket, 5), "ping\n");
  // More than a socket buffer, so the proxy's writes to the client back up and are settled
  // from the upstream's callbacks.
  const std::string big(4 * 1024 * 1024, 'p');
  std::thread writer([&] { send_all(upstream.socket, big + "pong\n"); });
  const std::string got = read_bytes(client, big.size() + 5, 30s);
  writer.join();
  EXPECT_EQ(got.size(), big.size() + 5);
  EXPECT_EQ(got.substr(got.size() - 5), "pong\n");
  // The opener closes: its outbound connection closes with it.
  client.close();
  EXPECT_TRUE(events->wait_for("upstream closed"));
  EXPECT_TRUE(closes_within(upstream.socket, 10s));
}

TEST_P(LoopRuntime, OutboundConnectionToAClosedPortIsRefused) {
  auto events = std::make_shared<Events>();
  std::uint16_t port = 0;
  Socket reserved = closed_port(port);
  Harness server(GetParam(), [events, port] { return proxy_session("127.0.0.1", port, events); });
  Socket client = connect_to(server.address());
  ASSERT_TRUE(events->wait_for("upstream closed"));
  const auto seen = events->all();
  // Reported from the loop after connect() returned, then on_close.
  ASSERT_EQ(seen.size(), 4U);
  EXPECT_EQ(seen[0], "connect returned");
  EXPECT_EQ(seen[2], "refused");
  EXPECT_EQ(seen[3], "upstream closed");
  // Written to the client's Output from the outbound session's callback.
  // One address was tried: the reason is its error alone, as on the blocking architectures.
  const std::string expected = "failed: Connection refused";
  EXPECT_EQ(read_bytes(client, expected.size()), expected);
}

// An empty host resolves (on the worker pool) to ::1 and then 127.0.0.1; only 127.0.0.1
// listens, so the first address fails and the second is used.
TEST_P(LoopRuntime, OutboundConnectionTriesEachResolvedAddress) {
  std::error_code ec;
  const auto resolved = resolve("", "80", ResolveOptions{}, ec);
  if (ec || resolved.size() < 2 || resolved.front().address.family() != AF_INET6) {
    GTEST_SKIP() << "the empty host does not resolve to ::1 first here";
  }
  auto events = std::make_shared<Events>();
  Socket upstream_listener(AF_INET, SOCK_STREAM);
  upstream_listener.bind(Address::loopback_ipv4(0));
  upstream_listener.listen();
  const std::uint16_t port = upstream_listener.local_address().port();
  // Keep [::1]:port from being anyone's listener, where IPv6 is up.
  Socket v6_reserved;
  try {
    Socket s(AF_INET6, SOCK_STREAM);
    s.bind(Address::loopback_ipv6(port));
    v6_reserved = std::move(s);
  } catch (const Error&) {
  }
  Harness server(GetParam(), [events, port] { return proxy_session("", port, events); });
  Socket client = connect_to(server.address());
  Accepted upstream = upstream_listener.accept(Deadline(10s));
  ASSERT_TRUE(events->wait_for("connected on the loop"));
  send_all(client, "hi\n");
  EXPECT_EQ(read_bytes(upstream.socket, 3), "hi\n");
}

TEST_P(LoopRuntime, OutboundConnectionByNameResolvesOffLoop) {
  auto events = std::make_shared<Events>();
  Socket upstream_listener(AF_INET, SOCK_STREAM);
  upstream_listener.bind(Address::loopback_ipv4(0));
  upstream_listener.listen();
  const std::uint16_t port = upstream_listener.local_address().port();
  Harness server(GetParam(), [events, port] { return proxy_session("localhost", port, events); });
  Socket client = connect_to(server.address());
  std::error_code ec;
  std::optional<Accepted> upstream;
  // "localhost" may resolve to ::1 too; where IPv6 listens elsewhere that would fail and be
  // reported: either way the test ends.
  const Deadline deadline(10s);
  while (!upstream && !events->count("upstream closed") && !deadline.expired()) {
    if (wait_readable(upstream_listener, Deadline(50ms))) upstream = upstream_listener.accept();
  }
  ASSERT_TRUE(upstream.has_value());
  ASSERT_TRUE(events->wait_for("connected on the loop"));
  send_all(client, "by name\n");
  EXPECT_EQ(read_bytes(upstream->socket, 8), "by name\n");
}

TEST_P(LoopRuntime, OutboundConnectionPastItsDeadlineTimesOut) {
  auto events = std::make_shared<Events>();
  // A listener that never accepts, its backlog 0 filled: further SYNs are dropped, so a
  // connect neither succeeds nor fails until its deadline.
  Socket full(AF_INET, SOCK_STREAM);
  full.bind(Address::loopback_ipv4(0));
  ::listen(full.fd(), 0);
  const Address full_address = full.local_address();
  std::vector<Socket> fillers;
  for (int i = 0; i < 4; ++i) {
    Socket filler(AF_INET, SOCK_STREAM);
    try {
      filler.connect_nonblock(full_address);
    } catch (const Error&) {
    }
    fillers.push_back(std::move(filler));
  }
  std::this_thread::sleep_for(50ms);
  const auto port = full_address.port();
  Harness server(GetParam(),
                 [events, port] { return proxy_session("127.0.0.1", port, events, 300ms); });
  const auto start = std::chrono::steady_clock::now();
  Socket client = connect_to(server.address());
  ASSERT_TRUE(events->wait_for("upstream closed"));
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(events->count("timed out"), 1U);
  EXPECT_GE(took, 250ms);
  EXPECT_LT(took, 5s);
}

TEST_P(LoopRuntime, UpstreamClosingClosesTheClientThroughItsOutput) {
  auto events = std::make_shared<Events>();
  Socket upstream_listener(AF_INET, SOCK_STREAM);
  upstream_listener.bind(Address::loopback_ipv4(0));
  upstream_listener.listen();
  const std::uint16_t port = upstream_listener.local_address().port();
  Harness server(GetParam(), [events, port] { return proxy_session("127.0.0.1", port, events); });
  Socket client = connect_to(server.address());
  Accepted upstream = upstream_listener.accept(Deadline(10s));
  ASSERT_TRUE(events->wait_for("connected on the loop"));
  send_all(upstream.socket, "last words\n");
  EXPECT_EQ(read_bytes(client, 11), "last words\n");
  upstream.socket.close();
  EXPECT_TRUE(events->wait_for("upstream closed"));
  EXPECT_TRUE(closes_within(client, 10s));
}

// Outbound connections are bounded per loop by max_connections: past it, connect() is
// refused, reported from the loop like any other failure.
TEST_P(LoopRuntime, OutboundConnectionsPastTheLimitAreRefused) {
  auto events = std::make_shared<Events>();
  Socket upstream_listener(AF_INET, SOCK_STREAM);
  upstream_listener.bind(Address::loopback_ipv4(0));
  upstream_listener.listen();
  const std::string port = std::to_string(upstream_listener.local_address().port());
  Harness server(
      GetParam(),
      [events, port] {
        auto s = std::make_unique<Hooks>();
        s->open = [events, port](Output& out) {
          for (int i = 0; i < 2; ++i) {
            auto up = std::make_unique<Hooks>();
            up->open = [events](Output&) { events->add("connected"); };
            up->failed = [events](const std::error_code& error, std::string_view) {
              events->add(error == std::errc::resource_unavailable_try_again ? "over the limit"
                                                                             : "failed");
            };
            up->closed = [events] { events->add("upstream closed"); };
            out.connect({"127.0.0.1", port, 5s}, std::move(up));
          }
          events->add("connect returned");
        };
        return s;
      },
      2, 0, 1);
  Socket client = connect_to(server.address());
  ASSERT_TRUE(events->wait_for("connected"));
  ASSERT_TRUE(events->wait_for("upstream closed"));
  const auto seen = events->all();
  EXPECT_EQ(seen.front(), "connect returned");
  EXPECT_EQ(events->count("over the limit"), 1U);
  EXPECT_EQ(events->count("failed"), 0U);
}

TEST_P(LoopRuntime, StopClosesOutboundConnectionsToo) {
  auto events = std::make_shared<Events>();
  Socket upstream_listener(AF_INET, SOCK_STREAM);
  upstream_listener.bind(Address::loopback_ipv4(0));
  upstream_listener.listen();
  const std::uint16_t port = upstream_listener.local_address().port();
  Socket client;
  Accepted upstream;
  {
    Harness server(GetParam(), [events, port] { return proxy_session("127.0.0.1", port, events); });
    client = connect_to(server.address());
    upstream = upstream_listener.accept(Deadline(10s));
    ASSERT_TRUE(events->wait_for("connected on the loop"));
  }  // stops and drains
  EXPECT_EQ(events->count("upstream closed"), 1U);
  EXPECT_TRUE(closes_within(upstream.socket, 10s));
}

}  // namespace
}  // namespace sockit::server::detail
