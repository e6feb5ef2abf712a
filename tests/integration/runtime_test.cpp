// The connection runtime through the public Server API, on every architecture listed below:
// timers, off-loop work, flow control and outbound connections, driven by a line protocol
// whose answers the client reads (under fork and prefork the session runs in a child
// process, so everything is asserted through the socket, not through memory).
// sockit-test-labels: threaded
#include <gtest/gtest.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "sockit/error.hpp"
#include "sockit/poll.hpp"
#include "sockit/server/server.hpp"
#include "sockit/server/session.hpp"
#include "sockit/tcp.hpp"

namespace sockit::test {
namespace {

using namespace std::chrono_literals;
using server::Output;
using server::Session;
using server::TimerId;

// Splits what arrives into lines, for the driver and for its outbound relay.
class Lines {
 public:
  template <class F>
  void feed(std::string_view bytes, F&& on_line) {
    buffer_.append(bytes);
    for (std::size_t nl; (nl = buffer_.find('\n')) != std::string::npos;) {
      std::string line = buffer_.substr(0, nl);
      buffer_.erase(0, nl + 1);
      on_line(line);
    }
  }

 private:
  std::string buffer_;
};

std::vector<std::string> words(const std::string& line) {
  std::vector<std::string> out;
  std::size_t at = 0;
  while (at < line.size()) {
    std::size_t space = line.find(' ', at);
    if (space == std::string::npos) space = line.size();
    if (space > at) out.push_back(line.substr(at, space - at));
    at = space + 1;
  }
  return out;
}

class Driver;

// The session of an outbound connection a driver opened: greets the remote end, relays its
// lines to the driver's client, and says what became of it.
class Relay final : public Session {
 public:
  Relay(Driver& driver, Output& opener) : driver_(driver), opener_(opener) {}
  void on_open(Output& out) override;
  void on_data(std::string_view bytes, Output& out) override {
    (void)out;
    lines_.feed(bytes, [this](const std::string& line) { opener_.write("relay: " + line + "\n"); });
  }
  void on_connect_failed(const std::error_code& error, std::string_view reason) override {
    (void)error;
    opener_.write("failed: " + std::string(reason) + "\n");
  }
  void on_close() override;

 private:
  Driver& driver_;
  Output& opener_;
  Lines lines_;
};

// The test protocol, one command per line:
//   PING -> pong                      TIMER ms text -> text, after ms
//   CANCEL -> (not) cancelled         KILLER ms -> after ms cancels every other timer
//   WORK ms -> done, after ms of off-loop work, or busy
//   STARTED -> started n: how many of this connection's WORK jobs a worker has begun
//   WORKTHROW -> the work throws: the connection ends
//   PAUSE ms -> paused; reading stops for ms      FLOOD n -> n bytes, then drained
//   CONNECT port timeout_ms -> connected / failed: reason     SEND text -> to the outbound
class Driver final : public Session {
 public:
  void on_data(std::string_view bytes, Output& out) override {
    lines_.feed(bytes, [&](const std::string& line) { command(words(line), out); });
  }

  void on_timer(TimerId id, Output& out) override {
    if (id == pause_timer_) {
      out.set_reading(true);
      return;
    }
    auto it = texts_.find(id);
    if (it == texts_.end()) {
      out.write("unknown timer\n");
      return;
    }
    std::string text = std::move(it->second);
    texts_.erase(it);
    if (text != "*killer*") {
      out.write(text + "\n");
      return;
    }
    int killed = 0;
    for (auto& [other, _] : texts_)
      killed += out.cancel_timer(other) ? 1 : 0;
    texts_.clear();
    bool self = out.cancel_timer(id);
    out.write("killed " + std::to_string(killed) + " self " + std::to_string(self) + "\n");
  }

  void on_drain(Output& out) override {
    if (std::exchange(flooding_, false)) out.write("drained\n");
  }

  Output* outbound = nullptr;  // the open outbound connection, if any

 private:
  void command(const std::vector<std::string>& w, Output& out) {
    if (w.empty()) return;
    const std::string& name = w[0];
    if (name == "PING") {
      out.write("pong\n");
    } else if (name == "TIMER" && w.size() == 3) {
      last_ = out.start_timer(std::chrono::milliseconds(std::stoi(w[1])));
      texts_[last_] = w[2];
    } else if (name == "KILLER" && w.size() == 2) {
      texts_[out.start_timer(std::chrono::milliseconds(std::stoi(w[1])))] = "*killer*";
    } else if (name == "CANCEL") {
      bool cancelled = out.cancel_timer(last_);
      texts_.erase(last_);
      out.write(cancelled ? "cancelled\n" : "not cancelled\n");
    } else if (name == "WORK" && w.size() == 2) {
      auto ms = std::chrono::milliseconds(std::stoi(w[1]));
      bool queued = out.run_off_loop([ms, started = started_] {
        started->fetch_add(1);
        std::this_thread::sleep_for(ms);
        return [](Output& o) { o.write("done\n"); };
      });
      if (!queued) out.write("busy\n");
    } else if (name == "STARTED") {
      out.write("started " + std::to_string(started_->load()) + "\n");
    } else if (name == "WORKTHROW") {
      bool queued = out.run_off_loop(
          []() -> server::Continuation { throw std::runtime_error("work failed on purpose"); });
      if (!queued) out.write("busy\n");
    } else if (name == "PAUSE" && w.size() == 2) {
      out.set_reading(false);
      pause_timer_ = out.start_timer(std::chrono::milliseconds(std::stoi(w[1])));
      out.write("paused\n");
    } else if (name == "FLOOD" && w.size() == 2) {
      out.write(std::string(std::stoul(w[1]), 'x'));
      out.write("\n");
      flooding_ = true;
    } else if (name == "CONNECT" && w.size() == 3) {
      server::OutboundRequest request;
      request.host = "127.0.0.1";
      request.port = w[1];
      request.timeout = std::chrono::milliseconds(std::stoi(w[2]));
      out.connect(std::move(request), std::make_unique<Relay>(*this, out));
    } else if (name == "SEND" && w.size() == 2) {
      if (outbound != nullptr) {
        outbound->write(w[1] + "\n");
      } else {
        out.write("no outbound\n");
      }
    } else {
      out.write("what?\n");
    }
  }

  Lines lines_;
  std::map<TimerId, std::string> texts_;
  TimerId last_ = 0;
  TimerId pause_timer_ = 0;
  bool flooding_ = false;
  // Shared with the jobs, which run on a worker thread of the same process.
  std::shared_ptr<std::atomic<int>> started_ = std::make_shared<std::atomic<int>>(0);
};

void Relay::on_open(Output& out) {
  driver_.outbound = &out;
  out.write("hello\n");
  opener_.write("connected\n");
}

void Relay::on_close() {
  driver_.outbound = nullptr;
  opener_.write("outbound closed\n");
}

class DriverService final : public server::Service {
 public:
  std::string_view name() const override { return "driver"; }
  std::uint16_t default_port() const override { return 0; }
  std::unique_ptr<Session> open(const server::ConnectionInfo&) override {
    return std::make_unique<Driver>();
  }
};

// A server of DriverService on its own thread.
class RunningServer {
 public:
  RunningServer(server::Architecture arch, unsigned off_loop_threads, std::size_t off_loop_queue)
      : server_(std::make_shared<DriverService>(),
                options(arch, off_loop_threads, off_loop_queue)) {
    thread_ = std::thread([this] { server_.run(); });
  }
  ~RunningServer() { stop(); }
  void stop() {
    server_.stop();
    if (thread_.joinable()) thread_.join();
  }
  RunningServer(const RunningServer&) = delete;
  RunningServer& operator=(const RunningServer&) = delete;

  std::uint16_t port() const { return server_.local_address().port(); }

 private:
  static server::ServerOptions options(server::Architecture arch, unsigned threads,
                                       std::size_t queue) {
    server::ServerOptions o;
    o.architecture = arch;
    o.port = 0;
    o.workers = 2;
    o.off_loop_threads = threads;
    o.off_loop_queue = queue;
    o.drain_timeout = 2s;
    o.log_level = server::LogLevel::quiet;
    o.handle_signals = false;
    return o;
  }

  server::Server server_;
  std::thread thread_;
};

// Every test is bounded: no read waits longer than this (generous: ASan on a loaded
// two-core machine once took over 3 s for an exchange that takes 40 ms alone).
constexpr auto patience = 10s;

class Runtime : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    // Forking a process whose other threads ThreadSanitizer watches is not supported by it.
    const bool forks = GetParam() == "fork" || GetParam() == "prefork";
    if (forks && std::string_view(SOCKIT_SANITIZE).find("thread") != std::string_view::npos) {
      GTEST_SKIP() << GetParam() << " forks; not run under ThreadSanitizer";
    }
    arch_ = server::parse_architecture(GetParam());
    ASSERT_TRUE(arch_.has_value()) << GetParam();
  }

  std::unique_ptr<RunningServer> start(unsigned off_loop_threads = 2,
                                       std::size_t off_loop_queue = 8) {
    return std::make_unique<RunningServer>(*arch_, off_loop_threads, off_loop_queue);
  }

  std::optional<server::Architecture> arch_;
};

// A client of the driver: every wait is bounded by `patience`.
class Reader {
 public:
  explicit Reader(std::uint16_t port)
      : socket_(TcpSocket::connect(Address::loopback_ipv4(port), patience)) {}

  Socket& socket() { return socket_; }
  void send(std::string_view bytes) {
    while (!bytes.empty())
      bytes.remove_prefix(socket_.send(bytes));
  }
  // Reads until `needle` has come (or EOF, or the timeout); returns everything read so far.
  std::string until(std::string_view needle, std::chrono::milliseconds timeout = patience) {
    Deadline deadline(timeout);
    std::size_t from = 0;
    while (buffer_.find(needle, from) == std::string::npos && !eof_) {
      from = buffer_.size() < needle.size() ? 0 : buffer_.size() - needle.size();
      if (!read_some(deadline)) break;
    }
    return buffer_;
  }
  // Reads one line and takes it out of what was read.
  std::string take_line() {
    lines(1);
    const std::size_t end = buffer_.find('\n');
    if (end == std::string::npos) return std::exchange(buffer_, {});
    std::string line = buffer_.substr(0, end + 1);
    buffer_.erase(0, end + 1);
    return line;
  }
  // Reads until `count` lines in all have come.
  std::string lines(std::size_t count) {
    Deadline deadline(patience);
    while (static_cast<std::size_t>(std::count(buffer_.begin(), buffer_.end(), '\n')) < count &&
           read_some(deadline)) {
    }
    return buffer_;
  }
  std::string to_eof() {
    Deadline deadline(patience);
    while (read_some(deadline)) {
    }
    return buffer_;
  }
  // True when nothing more arrives within `wait`.
  bool quiet(std::chrono::milliseconds wait) { return !wait_readable(socket_, wait); }
  bool eof() const { return eof_; }
  const std::string& received() const { return buffer_; }
  // Ends the connection for every process holding the socket: a server that forks from
  // this test process holds a copy of it, so closing this one alone would not do.
  void hang_up() { socket_.shutdown(); }

 private:
  bool read_some(const Deadline& deadline) {
    if (eof_ || !wait_readable(socket_, deadline)) return false;
    char chunk[65536];
    try {
      std::size_t n = socket_.recv(std::span<char>(chunk, sizeof chunk));
      if (n == 0) {
        eof_ = true;
        return false;
      }
      buffer_.append(chunk, n);
      return true;
    } catch (const Error&) {
      eof_ = true;
      return false;
    }
  }

  TcpSocket socket_;
  std::string buffer_;
  bool eof_ = false;
};

TEST_P(Runtime, TimersFireInDueOrder) {
  auto server = start();
  Reader client(server->port());
  client.send("TIMER 300 c\nTIMER 50 a\nTIMER 150 b\nPING\n");
  EXPECT_EQ(client.lines(4), "pong\na\nb\nc\n");
}

TEST_P(Runtime, CancelledTimerNeverFires) {
  auto server = start();
  Reader client(server->port());
  client.send("TIMER 100 gone\nCANCEL\nCANCEL\nTIMER 250 kept\n");
  EXPECT_EQ(client.lines(3), "cancelled\nnot cancelled\nkept\n");
  EXPECT_TRUE(client.quiet(200ms));
}

TEST_P(Runtime, TimerMayCancelOthersAndItselfFromOnTimer) {
  auto server = start();
  Reader client(server->port());
  client.send("TIMER 300 late\nTIMER 400 later\nKILLER 50\n");
  EXPECT_EQ(client.until("\n"), "killed 2 self 0\n");
  client.send("TIMER 50 end\n");
  EXPECT_EQ(client.lines(2), "killed 2 self 0\nend\n");
  EXPECT_TRUE(client.quiet(450ms));
}

TEST_P(Runtime, OffLoopResultArrivesWhileTheConnectionStaysResponsive) {
  auto server = start();
  Reader client(server->port());
  client.send("WORK 1500\nPING\n");
  // The connection answers while the work runs elsewhere: the pong comes before the work's
  // result, which takes 1.5 s (an order, not a time limit, so a loaded machine cannot fail
  // it unless it stalls the server for that long).
  EXPECT_EQ(client.lines(2), "pong\ndone\n");
}

TEST_P(Runtime, ConnectionClosedBeforeTheWorkFinishesDropsTheContinuation) {
  auto server = start();
  {
    Reader client(server->port());
    client.send("WORK 200\n");
    client.send("PING\n");
    EXPECT_EQ(client.until("pong\n"), "pong\n");
  }                                    // closed while the work is running
  std::this_thread::sleep_for(400ms);  // the work finishes and posts to a connection gone
  Reader again(server->port());
  again.send("PING\n");
  EXPECT_EQ(again.until("\n"), "pong\n");
}

TEST_P(Runtime, ExceptionFromOffLoopWorkEndsTheConnection) {
  auto server = start();
  Reader client(server->port());
  client.send("WORKTHROW\n");
  EXPECT_EQ(client.to_eof(), "");
  EXPECT_TRUE(client.eof());
  Reader again(server->port());
  again.send("PING\n");
  EXPECT_EQ(again.until("\n"), "pong\n");
}

TEST_P(Runtime, FullWorkerPoolSaysBusy) {
  auto server = start(1, 1);  // one job running, one waiting
  Reader client(server->port());
  client.send("WORK 1000\n");
  // Once the one thread has taken the first job, the queue's one place is free again (the
  // job runs long enough for the polls to see it running, however slow the machine).
  for (int polls = 0;; ++polls) {
    ASSERT_LT(polls, 1000) << "the first job never started";
    client.send("STARTED\n");
    if (client.take_line() == "started 1\n") break;
    std::this_thread::sleep_for(5ms);
  }
  client.send("WORK 10\nWORK 10\n");
  EXPECT_EQ(client.lines(3), "busy\ndone\ndone\n");
}

TEST_P(Runtime, PausedReadingResumesAndDrainFollowsAWaitingFlush) {
  auto server = start();
  Reader client(server->port());
  client.send("PAUSE 300\n");
  EXPECT_EQ(client.until("\n"), "paused\n");
  auto sent = Clock::now();
  client.send("PING\n");
  EXPECT_EQ(client.lines(2), "paused\npong\n");
  EXPECT_GE(Clock::now() - sent, 150ms) << "read while reading was off";

  // More than the kernel buffers hold: the flush must wait for the client, then on_drain.
  constexpr std::size_t flood = 16 * 1024 * 1024;
  client.send("FLOOD " + std::to_string(flood) + "\n");
  std::this_thread::sleep_for(100ms);
  std::string got = client.until("drained\n", 10s);
  ASSERT_GE(got.size(), flood);
  EXPECT_EQ(got.substr(got.size() - 8), "drained\n");
}

// A loopback listener the outbound connections of a test go to.
struct Remote {
  TcpServer listener{"127.0.0.1", 0};
  std::string port() const { return std::to_string(listener.port()); }
};

TEST_P(Runtime, OutboundConnectionRelaysBothWays) {
  auto server = start();
  Remote remote;
  Reader client(server->port());
  client.send("CONNECT " + remote.port() + " 2000\n");
  TcpAccepted accepted = remote.listener.accept(patience);
  EXPECT_EQ(client.until("\n"), "connected\n");

  char buffer[64];
  ASSERT_TRUE(wait_readable(accepted.socket, patience));
  std::size_t n = accepted.socket.recv(std::span<char>(buffer, sizeof buffer));
  EXPECT_EQ(std::string_view(buffer, n), "hello\n");

  accepted.socket.send(std::string_view("world\n"));
  EXPECT_EQ(client.lines(2), "connected\nrelay: world\n");

  client.send("SEND abc\n");
  ASSERT_TRUE(wait_readable(accepted.socket, patience));
  n = accepted.socket.recv(std::span<char>(buffer, sizeof buffer));
  EXPECT_EQ(std::string_view(buffer, n), "abc\n");

  // The remote end closes: the opener hears of it and goes on.
  accepted.socket.close();
  EXPECT_EQ(client.lines(3), "connected\nrelay: world\noutbound closed\n");
  client.send("PING\n");
  EXPECT_EQ(client.lines(4), "connected\nrelay: world\noutbound closed\npong\n");
}

TEST_P(Runtime, OutboundConnectionRefused) {
  std::string port;
  {
    Remote closed;
    port = closed.port();
  }  // nothing listens there now
  auto server = start();
  Reader client(server->port());
  client.send("CONNECT " + port + " 2000\nPING\n");
  std::string got = client.lines(3);
  EXPECT_NE(got.find("failed: Connection refused\n"), std::string::npos) << got;
  EXPECT_NE(got.find("outbound closed\n"), std::string::npos) << got;
  EXPECT_NE(got.find("pong\n"), std::string::npos) << got;
}

TEST_P(Runtime, OutboundConnectionGivesUpAtItsDeadline) {
  auto server = start();
  // A backlog of 0 holds one finished handshake; with it taken, further SYNs go unanswered.
  ListenOptions one_waiting;
  one_waiting.backlog = 0;
  TcpServer full("127.0.0.1", 0, one_waiting);
  std::vector<Socket> fillers;
  for (int i = 0; i < 4; ++i) {
    Socket s(AF_INET, SOCK_STREAM);
    (void)s.connect_nonblock(Address::loopback_ipv4(full.port()));
    fillers.push_back(std::move(s));
  }
  std::this_thread::sleep_for(50ms);

  Reader client(server->port());
  auto started = Clock::now();
  client.send("CONNECT " + std::to_string(full.port()) + " 400\n");
  // Meanwhile the connection answers: its pong comes before the connect times out.
  client.send("PING\n");
  std::string got = client.lines(3);
  auto took = Clock::now() - started;
  EXPECT_EQ(got, "pong\nfailed: Connection timed out\noutbound closed\n");
  EXPECT_GE(took, 350ms);
  // The 400 ms timeout ended it, not the kernel's own (minutes of SYN retries): a bound
  // far above 400 ms, so that a loaded machine cannot fail it.
  EXPECT_LT(took, 8s);
}

TEST_P(Runtime, OutboundConnectionClosesWithItsOpener) {
  auto server = start();
  Remote remote;
  std::optional<Reader> client(std::in_place, server->port());
  client->send("CONNECT " + remote.port() + " 2000\n");
  TcpAccepted accepted = remote.listener.accept(patience);
  EXPECT_EQ(client->until("\n"), "connected\n");
  client->hang_up();  // the opener goes

  Deadline deadline(patience);
  std::string seen;
  char buffer[64];
  bool eof = false;
  while (!eof && wait_readable(accepted.socket, deadline)) {
    std::size_t n = accepted.socket.recv(std::span<char>(buffer, sizeof buffer));
    if (n == 0) eof = true;
    seen.append(buffer, n);
  }
  EXPECT_TRUE(eof) << "the outbound connection outlived its opener";
  EXPECT_EQ(seen, "hello\n");
}

TEST_P(Runtime, StopEndsConnectionsWithTimersWorkAndOutboundConnectionsOpen) {
  auto server = start();
  Remote remote;
  Reader client(server->port());
  client.send("CONNECT " + remote.port() + " 2000\n");
  TcpAccepted accepted = remote.listener.accept(patience);
  EXPECT_EQ(client.until("connected\n"), "connected\n");
  client.send("TIMER 60000 never\nWORK 300\nPING\n");
  EXPECT_EQ(client.until("pong\n"), "connected\npong\n");

  auto stopping = Clock::now();
  server->stop();  // drain_timeout is 2 s
  EXPECT_LT(Clock::now() - stopping, 2500ms);
  client.to_eof();
  EXPECT_TRUE(client.eof());
  EXPECT_EQ(client.received().find("never"), std::string::npos) << client.received();
  ASSERT_TRUE(wait_readable(accepted.socket, patience));
  char buffer[64];
  std::string seen;
  while (wait_readable(accepted.socket, 1s)) {
    std::size_t n = accepted.socket.recv(std::span<char>(buffer, sizeof buffer));
    if (n == 0) break;
    seen.append(buffer, n);
  }
  EXPECT_EQ(seen, "hello\n");
}

const std::vector<std::string> runtime_architectures{
    "serial", "thread", "fork", "prefork", "pool", "reactor", "hybrid", "uring", "uring-hybrid"};

INSTANTIATE_TEST_SUITE_P(Architectures, Runtime, ::testing::ValuesIn(runtime_architectures),
                         [](const auto& param_info) {
                           std::string name = param_info.param;
                           std::replace(name.begin(), name.end(), '-', '_');
                           return name;
                         });

}  // namespace
}  // namespace sockit::test
