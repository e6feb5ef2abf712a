// The pool's queue, in process: while the one worker is busy, clients wait in the bounded
// queue, clients beyond it are told that the server is full, and the worker serves the
// queue in order once it frees up, also while the server stops.
// sockit-test-labels: threaded
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <thread>

#include "serve_fixture.hpp"
#include "sockit/server/server.hpp"
#include "sockit/server/services.hpp"

namespace sockit::test {
namespace {

using namespace std::chrono_literals;
using sockit::server::Architecture;
using sockit::server::EchoService;
using sockit::server::LogLevel;
using sockit::server::Server;
using sockit::server::ServerOptions;

// A pool of one worker and a queue of two, running on its own thread.
class OneWorkerPool {
 public:
  OneWorkerPool() : server_(std::make_shared<EchoService>(), options()) {
    thread_ = std::thread([this] { server_.run(); });
  }
  ~OneWorkerPool() { stop(); }

  std::uint16_t port() const { return server_.local_address().port(); }
  void stop() {
    server_.stop();
    if (thread_.joinable()) thread_.join();
  }

 private:
  static ServerOptions options() {
    ServerOptions o;
    o.architecture = Architecture::pool;
    o.workers = 1;
    o.queue_size = 2;
    o.log_level = LogLevel::quiet;
    o.handle_signals = false;
    return o;
  }

  Server server_;
  std::thread thread_;
};

// Whether the client has anything to read (or EOF) within `wait`.
bool answered(Client& client, std::chrono::milliseconds wait) {
  return sockit::wait_readable(client.socket(), wait);
}

TEST(Pool, QueuesWhileTheWorkerIsBusyTellsTheRestAndServesTheQueueInOrder) {
  OneWorkerPool pool;
  Client a(pool.port());
  a.send("a\n");
  ASSERT_EQ(a.read_until("\n"), "a\n");  // the one worker now holds a

  Client b(pool.port());
  b.send("b\n");
  Client c(pool.port());
  c.send("c\n");
  EXPECT_FALSE(answered(b, 300ms)) << "b was served while the only worker is busy";
  EXPECT_FALSE(answered(c, 0ms));

  Client d(pool.port());  // the queue holds b and c: d is told
  EXPECT_EQ(d.read_to_eof(), "Server full, try again later\n");

  a.shutdown_write();
  EXPECT_EQ(a.read_to_eof(), "a\n");
  EXPECT_EQ(b.read_until("\n"), "b\n");  // the freed worker takes b from the queue
  EXPECT_FALSE(answered(c, 200ms));
  b.shutdown_write();
  EXPECT_EQ(b.read_to_eof(), "b\n");
  EXPECT_EQ(c.read_until("\n"), "c\n");

  // With the queue empty again, new clients are served at once.
  c.shutdown_write();
  EXPECT_EQ(c.read_to_eof(), "c\n");
  for (int i = 0; i < 20; ++i) {
    Client e(pool.port());
    e.send("e\n");
    e.shutdown_write();
    EXPECT_EQ(e.read_to_eof(), "e\n") << "client " << i;
  }
}

TEST(Pool, QueuedClientsAreAnsweredWhenTheServerStops) {
  OneWorkerPool pool;
  Client idle(pool.port());
  idle.send("x\n");
  ASSERT_EQ(idle.read_until("\n"), "x\n");  // the worker holds an idle connection
  Client queued(pool.port());
  queued.send("queued\n");
  EXPECT_FALSE(answered(queued, 200ms));

  pool.stop();  // the idle connection is closed at once, the queued one still answered
  EXPECT_EQ(idle.read_to_eof(), "x\n");
  EXPECT_EQ(queued.read_to_eof(), "queued\n");
}

}  // namespace
}  // namespace sockit::test
