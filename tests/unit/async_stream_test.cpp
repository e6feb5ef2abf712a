// AsyncStream and CoroutineService, sans-I/O: a coroutine handler driven through its
// Session by hand with FakeRuntime (timers fired, off-loop work run, connects refused by
// the test), so every suspension and resumption is exact.
#include "sockit/server/async_stream.hpp"

#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <memory>
#include <new>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "sockit/async/task.hpp"
#include "sockit/async/task_scope.hpp"
#include "sockit/error.hpp"
#include "sockit/server/coroutine_service.hpp"
#include "support/fake_runtime.hpp"

// Every allocation of this program is counted, like bench/alloc does, so the echo test can
// see that a line costs none.
namespace {
std::atomic<unsigned long long> allocations{0};

void* counted(std::size_t size) {
  allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
}  // namespace

void* operator new(std::size_t size) {
  return counted(size);
}
void* operator new[](std::size_t size) {
  return counted(size);
}
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete[](void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
  std::free(p);
}
void operator delete[](void* p, std::size_t) noexcept {
  std::free(p);
}

namespace sockit::server {
namespace {

using namespace std::chrono_literals;

class FakeOutput final : public test::FakeRuntime {
 public:
  void write(std::string_view bytes) override {
    if (!closed_) written += bytes;
  }
  void close() override { closed_ = true; }
  bool closing() const noexcept override { return closed_; }
  std::shared_ptr<Peer> peer() override { return nullptr; }
  // Holds outbound sessions for the test to drive, instead of refusing them.
  void connect(OutboundRequest request, std::unique_ptr<Session> session) override {
    if (!hold_connects) return FakeRuntime::connect(std::move(request), std::move(session));
    connects.push_back(std::move(request));
    held.push_back(std::move(session));
  }

  std::string take() { return std::exchange(written, {}); }

  std::string written;
  bool hold_connects = false;
  std::vector<std::unique_ptr<Session>> held;

 private:
  bool closed_ = false;
};

using Handler = CoroutineService::Handler;

// One connection of a CoroutineService whose handler is `handler`.
struct Connection {
  explicit Connection(Handler handler, SessionLimits limits = {})
      : session(make_coroutine_session(std::make_shared<const Handler>(std::move(handler)),
                                       ConnectionInfo{Address::loopback_ipv4(40000), {}, limits})) {
    session->on_open(out);
  }
  ~Connection() { close(); }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  void send(std::string_view bytes) { session->on_data(bytes, out); }
  void eof() { session->on_eof(out); }
  void close() {
    if (session && !closed) {
      closed = true;
      session->on_close();
    }
  }
  // Fires the one pending timer.
  void fire() {
    ASSERT_EQ(out.timers.size(), 1U);
    EXPECT_TRUE(out.fire(out.timers.front().id, *session));
  }

  FakeOutput out;
  std::unique_ptr<Session> session;
  bool closed = false;
};

// Counts its own destruction, to see a frame unwound.
struct Tracker {
  explicit Tracker(int& destroyed) noexcept : count(&destroyed) {}
  Tracker(const Tracker&) = delete;
  Tracker& operator=(const Tracker&) = delete;
  ~Tracker() { ++*count; }
  int* count;
};

Task<void> echo(AsyncStream& client) {
  std::string line;
  std::string reply;
  while (co_await client.read_line(line)) {
    reply.assign("Echo: ").append(line).push_back('\n');
    co_await client.write_all(reply);
  }
}

// ---------------------------------------------------------------- lines

TEST(AsyncStream, ReadsLinesSplitAcrossPiecesAndSeveralInOnePiece) {
  Connection c(echo);
  c.send("hel");
  c.send("lo\r");
  EXPECT_EQ(c.out.take(), "");
  c.send("\nsecond\nthird\r\nfou");
  EXPECT_EQ(c.out.take(), "Echo: hello\nEcho: second\nEcho: third\n");
  c.send("rth\n");
  EXPECT_EQ(c.out.take(), "Echo: fourth\n");
  EXPECT_FALSE(c.out.closing());
}

TEST(AsyncStream, DeliversALastLineWithoutNewlineThenEndsAtEof) {
  std::vector<std::optional<std::string>> seen;
  Connection c([&](AsyncStream& s) -> Task<void> {
    for (;;) {
      auto line = co_await s.read_line();
      seen.push_back(line);
      if (!line) break;
    }
  });
  c.send("one\ntwo");
  c.eof();
  ASSERT_EQ(seen.size(), 3U);
  EXPECT_EQ(seen[0], "one");
  EXPECT_EQ(seen[1], "two");
  EXPECT_EQ(seen[2], std::nullopt);
  EXPECT_TRUE(c.out.closing());  // the handler returned: the connection closes
}

TEST(AsyncStream, ALineOverTheLimitIsAnsweredAndClosesTheConnection) {
  Connection c(echo, SessionLimits{10, 0});
  c.send("0123456789\n");
  EXPECT_EQ(c.out.take(), "Echo: 0123456789\n");
  c.send("0123456789A");
  EXPECT_EQ(c.out.take(), "");  // could still be "...\r\n"
  c.send("B");
  EXPECT_EQ(c.out.take(), "Error: line too long (max 10 bytes)\n");
  EXPECT_TRUE(c.out.closing());
}

TEST(AsyncStream, AnOverLongLineThrowsLineTooLongToTheHandler) {
  std::error_code caught;
  Connection c([&](AsyncStream& s) -> Task<void> {
    try {
      (void)co_await s.read_line(4);
    } catch (const Error& e) {
      caught = e.code();
    }
  });
  c.send("12345\n");
  EXPECT_EQ(caught, errc::line_too_long);
}

TEST(AsyncStream, LinesOverTheRateAreAnsweredAndSkipped) {
  Connection c(echo, SessionLimits{0, 1});
  c.send("a\nb\n");
  EXPECT_EQ(c.out.take(), "Echo: a\nRate limit exceeded\n");
}

// ---------------------------------------------------------------- bytes

TEST(AsyncStream, ReadSomeTakesWhatIsBufferedAndZeroAtEof) {
  std::vector<std::string> seen;
  Connection c([&](AsyncStream& s) -> Task<void> {
    std::array<char, 3> buffer{};
    for (;;) {
      std::size_t n = co_await s.read_some(buffer);
      seen.emplace_back(buffer.data(), n);
      if (n == 0) break;
    }
  });
  c.send("hello");
  EXPECT_EQ(seen, (std::vector<std::string>{"hel", "lo"}));
  c.eof();
  EXPECT_EQ(seen.back(), "");
}

TEST(AsyncStream, ReadExactWaitsForEveryByteAndFailsWhenTheInputEndsFirst) {
  std::vector<std::string> seen;
  std::error_code failure;
  Connection c([&](AsyncStream& s) -> Task<void> {
    std::array<char, 4> four{};
    co_await s.read_exact(four);
    seen.emplace_back(four.data(), four.size());
    std::array<char, 3> three{};
    co_await s.read_exact(three);
    seen.emplace_back(three.data(), three.size());
    try {
      co_await s.read_exact(four);
    } catch (const Error& e) {
      failure = e.code();
    }
  });
  c.send("ab");
  EXPECT_TRUE(seen.empty());
  c.send("cdefg");
  EXPECT_EQ(seen, (std::vector<std::string>{"abcd", "efg"}));
  c.send("xy");
  c.eof();
  EXPECT_EQ(failure, errc::connection_closed);
}

TEST(AsyncStream, StopsReadingPastTheInputBoundAndResumesOnceConsumed) {
  int lines = 0;
  Connection c([&](AsyncStream& s) -> Task<void> {
    std::string line;
    co_await s.sleep_for(1s);  // does not read meanwhile
    while (co_await s.read_line(line))
      ++lines;
  });
  const std::string piece(1023, 'x');
  for (int i = 0; i < 70; ++i)
    c.send(piece + "\n");  // 70 KiB, above the 64 KiB bound
  EXPECT_FALSE(c.out.reading);
  c.fire();
  EXPECT_EQ(lines, 70);
  EXPECT_TRUE(c.out.reading);
}

// ---------------------------------------------------------------- writes

TEST(AsyncStream, WriteAllSuspendsWhileQueuedIsHighAndResumesOnDrain) {
  std::vector<std::string> steps;
  Connection c([&](AsyncStream& s) -> Task<void> {
    std::string line;
    while (co_await s.read_line(line)) {
      co_await s.write_all(line);
      steps.push_back("wrote " + line);
    }
  });
  c.out.queued_bytes = 65 * 1024;  // above the 64 KiB high-water mark
  c.send("big\n");
  EXPECT_EQ(c.out.take(), "big");
  EXPECT_TRUE(steps.empty());  // waiting for the drain
  c.out.queued_bytes = 0;
  c.session->on_drain(c.out);
  EXPECT_EQ(steps, std::vector<std::string>{"wrote big"});
}

// ---------------------------------------------------------------- timers

TEST(AsyncStream, SleepForResumesWhenItsTimerFires) {
  bool woke = false;
  Connection c([&](AsyncStream& s) -> Task<void> {
    co_await s.sleep_for(5s);
    woke = true;
  });
  ASSERT_EQ(c.out.timers.size(), 1U);
  EXPECT_EQ(c.out.timers.front().after, 5000ms);
  EXPECT_FALSE(woke);
  c.fire();
  EXPECT_TRUE(woke);
}

TEST(AsyncStream, ReadLineThrowsTimedOutWhenItsDeadlinePasses) {
  std::vector<std::string> seen;
  std::error_code failure;
  Connection c([&](AsyncStream& s) -> Task<void> {
    std::string line;
    if (co_await s.read_line(line, 0, 2s)) seen.push_back(line);
    try {
      co_await s.read_line(line, 0, 2s);
    } catch (const Error& e) {
      failure = e.code();
    }
  });
  ASSERT_EQ(c.out.timers.size(), 1U);
  EXPECT_LE(c.out.timers.front().after, 2000ms);
  c.send("in time\n");
  EXPECT_EQ(seen, std::vector<std::string>{"in time"});
  ASSERT_EQ(c.out.timers.size(), 1U);  // the first deadline was cancelled, a second started
  c.send("half a li");
  c.fire();
  EXPECT_EQ(failure, errc::timed_out);
}

// ---------------------------------------------------------------- off-loop work

TEST(AsyncStream, RunOffLoopReturnsWhatTheWorkReturnedOrThrew) {
  int result = 0;
  std::string failure;
  Connection c([&](AsyncStream& s) -> Task<void> {
    result = co_await s.run_off_loop([] { return 6 * 7; });
    try {
      co_await s.run_off_loop([] { throw std::runtime_error("work failed"); });
    } catch (const std::runtime_error& e) {
      failure = e.what();
    }
  });
  ASSERT_EQ(c.out.off_loop.size(), 1U);
  EXPECT_EQ(result, 0);
  c.out.run_off_loop_work();
  EXPECT_EQ(result, 42);
  EXPECT_EQ(failure, "work failed");
}

TEST(AsyncStream, RunOffLoopTakesWorkThatOwnsWhatItNeeds) {
  std::string result;
  Connection c([&](AsyncStream& s) -> Task<void> {
    std::string line;
    (void)co_await s.read_line(line);
    // Named first: see the g++ 12 note in async_stream.hpp.
    auto work = [owned = std::move(line), ticket = std::make_unique<int>(7)] {
      return owned + " #" + std::to_string(*ticket);
    };
    result = co_await s.run_off_loop(std::move(work));
  });
  c.send("a line long enough to live on the heap, not in the string itself\n");
  c.out.run_off_loop_work();
  EXPECT_EQ(result, "a line long enough to live on the heap, not in the string itself #7");
}

TEST(AsyncStream, RunOffLoopThrowsBusyWhenThePoolIsFull) {
  std::error_code failure;
  bool ran = false;
  Connection c([&](AsyncStream& s) -> Task<void> {
    (void)co_await s.read_line();
    try {
      co_await s.run_off_loop([&] { ran = true; });
    } catch (const Error& e) {
      failure = e.code();
    }
  });
  c.out.off_loop_full = true;
  c.send("go\n");
  EXPECT_EQ(failure, std::errc::resource_unavailable_try_again);
  EXPECT_TRUE(c.out.off_loop.empty());
  EXPECT_FALSE(ran);
}

// ---------------------------------------------------------------- outbound connections

TEST(AsyncStream, AFailedConnectIsRethrownWithItsCode) {
  std::error_code failure;
  std::string what;
  Connection c([&](AsyncStream& s) -> Task<void> {
    // A variable, not a braced temporary in the co_await: see AsyncStream::connect.
    OutboundRequest request{"127.0.0.1", "9", 1s};
    try {
      auto upstream = co_await s.connect(request);
    } catch (const Error& e) {
      failure = e.code();
      what = e.what();
    }
  });
  ASSERT_EQ(c.out.connects.size(), 1U);
  EXPECT_EQ(failure, std::errc::connection_refused);
  EXPECT_NE(what.find("127.0.0.1:9"), std::string::npos) << what;
}

TEST(AsyncStream, AConnectedOutboundStreamReadsAndWrites) {
  std::vector<std::string> seen;
  Handler relay = [&](AsyncStream& s) -> Task<void> {
    OutboundRequest request{"upstream", "7", 1s};
    auto upstream = co_await s.connect(request);
    co_await upstream->write_all("ping\n");
    std::string line;
    while (co_await upstream->read_line(line))
      seen.push_back(line);
    seen.emplace_back("upstream ended");
  };
  FakeOutput out;
  out.hold_connects = true;
  auto session = make_coroutine_session(std::make_shared<const Handler>(relay),
                                        ConnectionInfo{Address::loopback_ipv4(40000), {}, {}});
  session->on_open(out);
  ASSERT_EQ(out.held.size(), 1U);
  FakeOutput upstream_out;
  Session& upstream = *out.held.front();
  upstream.on_open(upstream_out);
  EXPECT_EQ(upstream_out.take(), "ping\n");
  upstream.on_data("pong\n", upstream_out);
  upstream.on_eof(upstream_out);
  EXPECT_EQ(seen, (std::vector<std::string>{"pong", "upstream ended"}));
  // The handler returned: its outbound stream closed its connection, then its own.
  EXPECT_TRUE(upstream_out.closing());
  EXPECT_TRUE(out.closing());
  upstream.on_close();
  session->on_close();
}

// ---------------------------------------------------------------- closing

TEST(AsyncStream, ClosingCancelsThePendingAwaitAndEveryLaterOne) {
  int destroyed = 0;
  std::vector<std::error_code> failures;
  Connection c([&](AsyncStream& s) -> Task<void> {
    Tracker local(destroyed);
    try {
      (void)co_await s.read_line();
    } catch (const Error& e) {
      failures.push_back(e.code());
    }
    try {
      co_await s.sleep_for(1s);
    } catch (const Error& e) {
      failures.push_back(e.code());
    }
    co_await s.write_all("never");
  });
  c.close();
  ASSERT_EQ(failures.size(), 2U);
  EXPECT_EQ(failures[0], std::errc::operation_canceled);
  EXPECT_EQ(failures[1], std::errc::operation_canceled);
  EXPECT_EQ(destroyed, 1);
  EXPECT_EQ(c.out.take(), "");
}

TEST(AsyncStream, ASessionDestroyedWhileItsHandlerWaitsFreesEveryFrame) {
  int destroyed = 0;
  {
    Connection c([&](AsyncStream& s) -> Task<void> {
      Tracker local(destroyed);
      TaskScope scope;
      scope.spawn([](AsyncStream& stream, int& count) -> Task<void> {
        Tracker inner(count);
        co_await stream.sleep_for(1s);
      }(s, destroyed));
      (void)co_await s.read_line();
    });
    c.closed = true;  // destroyed without on_close: only the frames' destructors run
  }
  EXPECT_EQ(destroyed, 2);
}

TEST(AsyncStream, AnExceptionFromTheHandlerLeavesThroughTheCallbackThatDroveIt) {
  Connection c([&](AsyncStream& s) -> Task<void> {
    (void)co_await s.read_line();
    throw std::runtime_error("handler failed");
  });
  EXPECT_THROW(c.send("x\n"), std::runtime_error);
}

TEST(AsyncStream, AHandlerFailingAfterOffLoopWorkClosesItsConnection) {
  Connection c([&](AsyncStream& s) -> Task<void> {
    co_await s.run_off_loop([] {});
    throw std::runtime_error("failed after the work");
  });
  EXPECT_FALSE(c.out.closing());
  // No callback of the session runs the continuation: the failure is logged, not thrown.
  c.out.run_off_loop_work();
  EXPECT_TRUE(c.out.closing());
}

TEST(AsyncStream, CloseEndsTheConnectionOnceFlushed) {
  Connection c([&](AsyncStream& s) -> Task<void> {
    co_await s.write_all("bye\n");
    s.close();
    co_await s.sleep_for(1s);  // still open until on_close: the timer is set
  });
  EXPECT_EQ(c.out.take(), "bye\n");
  EXPECT_TRUE(c.out.closing());
  EXPECT_EQ(c.out.timers.size(), 1U);
}

// The seed's `task.async` inside a connection: a reader and a ticker side by side in a
// scope, both cancelled when the connection closes.
TEST(AsyncStream, ChildrenOfAScopeShareTheStreamAndAreAllCancelledOnClose) {
  std::vector<std::string> seen;
  std::error_code joined;
  Connection c([&](AsyncStream& s) -> Task<void> {
    TaskScope scope;
    scope.spawn([](AsyncStream& stream, std::vector<std::string>& out) -> Task<void> {
      std::string line;
      while (co_await stream.read_line(line))
        out.push_back("line " + line);
    }(s, seen));
    scope.spawn([](AsyncStream& stream, std::vector<std::string>& out) -> Task<void> {
      for (;;) {
        co_await stream.sleep_for(1s);
        out.emplace_back("tick");
        co_await stream.write_all("tick\n");
      }
    }(s, seen));
    try {
      co_await scope.join();
    } catch (const Error& e) {
      joined = e.code();
    }
  });
  c.send("a\n");
  c.fire();
  c.send("b\n");
  EXPECT_EQ(seen, (std::vector<std::string>{"line a", "tick", "line b"}));
  EXPECT_EQ(c.out.take(), "tick\n");
  c.close();
  EXPECT_EQ(joined, std::errc::operation_canceled);
}

// ---------------------------------------------------------------- allocations

TEST(AsyncStream, AnEchoLoopAllocatesNothingPerLine) {
  Connection c(echo);
  const std::string line = "a line of an ordinary length, echoed back\n";
  for (int i = 0; i < 100; ++i)
    c.send(line);  // warm-up: buffers reach their size
  c.out.written.clear();
  unsigned long long before = allocations.load();
  for (int i = 0; i < 10'000; ++i) {
    c.send(line);
    c.out.written.clear();
  }
  unsigned long long during = allocations.load() - before;
  EXPECT_EQ(during, 0U);
  c.send(line);
  EXPECT_EQ(c.out.take(), "Echo: " + line);
}

}  // namespace
}  // namespace sockit::server
