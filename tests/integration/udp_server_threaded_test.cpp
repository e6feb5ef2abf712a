// The UDP server in process: under a flood it keeps answering another client and stop()
// returns run() promptly; by default it bounds what one address gets back, answers no
// service port and no empty datagram.
// sockit-test-labels: threaded
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>

#include "sockit/error.hpp"
#include "sockit/server/udp_services.hpp"
#include "sockit/udp.hpp"

namespace sockit::test {
namespace {

using namespace std::chrono_literals;
using sockit::server::LogLevel;
using sockit::server::UdpEchoService;
using sockit::server::UdpServer;
using sockit::server::UdpServerOptions;
using sockit::server::UdpTimeService;

UdpServerOptions quiet_options() {
  UdpServerOptions o;
  o.log_level = LogLevel::quiet;
  o.handle_signals = false;
  return o;
}

// Sends bursts of datagrams to `to` until told to stop; counts the answers it drains.
class Flooder {
 public:
  explicit Flooder(const Address& to) : socket_(UdpSocket::bound("127.0.0.1", 0)), to_(to) {
    thread_ = std::thread([this] { run(); });
  }
  ~Flooder() { stop(); }
  void stop() {
    done_ = true;
    if (thread_.joinable()) thread_.join();
  }
  long sent() const { return sent_; }
  long answered() const { return answered_; }

 private:
  void run() {
    char buffer[256];
    const std::string payload(64, 'f');
    while (!done_) {
      for (int i = 0; i < 64; ++i) {
        try {
          socket_.send_to(payload, to_);
          ++sent_;
        } catch (const Error&) {
          // ECONNREFUSED once the server is gone: the flood goes on regardless.
        }
      }
      try {
        while (socket_.recv_from_nonblock(buffer))
          ++answered_;
      } catch (const Error&) {
      }
      std::this_thread::sleep_for(200us);
    }
  }

  UdpSocket socket_;
  Address to_;
  std::thread thread_;
  std::atomic<bool> done_{false};
  std::atomic<long> sent_{0};
  std::atomic<long> answered_{0};
};

TEST(UdpServerFlood, KeepsAnsweringOthersAndStopsPromptlyMidFlood) {
  UdpServerOptions options = quiet_options();
  // The flood comes from the address the other client uses too (loopback): no limit per
  // address here, or the other client would share the flooder's.
  options.rate_per_second = 0;
  UdpServer server(std::make_shared<UdpEchoService>(), options);
  const Address address = server.local_address();
  std::thread runner([&] { server.run(); });

  Flooder flooder(address);
  // The flood is under way: the server has answered some of it.
  const auto until = std::chrono::steady_clock::now() + 20s;
  while (flooder.answered() < 100 && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(1ms);
  ASSERT_GE(flooder.answered(), 100) << flooder.sent() << " sent; the flood was never answered";

  // Another client is still answered (a datagram may be dropped: a few tries).
  UdpSocket client = UdpSocket::bound("127.0.0.1", 0);
  bool answered = false;
  for (int attempt = 0; attempt < 20 && !answered; ++attempt) {
    client.send_to("hello", address);
    try {
      auto reply = client.recv_from(64, Deadline(200ms));
      EXPECT_EQ(reply.data, "Received: hello");
      answered = true;
    } catch (const Error&) {
    }
  }
  EXPECT_TRUE(answered) << "no answer in 20 tries while another client floods";

  const auto asked = std::chrono::steady_clock::now();
  server.stop();
  runner.join();
  EXPECT_LT(std::chrono::steady_clock::now() - asked, 2s) << "run() kept going after stop()";
  flooder.stop();
}

// Runs a server on its own thread; stops and joins it at the end of the scope.
class RunningServer {
 public:
  RunningServer(std::shared_ptr<sockit::server::UdpService> service, UdpServerOptions options)
      : server_(std::move(service), std::move(options)), thread_([this] { server_.run(); }) {}
  ~RunningServer() {
    server_.stop();
    thread_.join();
  }
  Address address() const { return server_.local_address(); }

 private:
  UdpServer server_;
  std::thread thread_;
};

// Reads answers until none comes for `quiet`.
long count_answers(UdpSocket& socket, std::chrono::milliseconds quiet) {
  long answers = 0;
  for (;;) {
    try {
      (void)socket.recv_from(256, Deadline(quiet));
      ++answers;
    } catch (const Error&) {
      return answers;
    }
  }
}

TEST(UdpServerReflection, DefaultRateLimitBoundsTheAnswersToOneAddress) {
  RunningServer server(std::make_shared<UdpEchoService>(), quiet_options());
  UdpSocket client = UdpSocket::bound("127.0.0.1", 0);
  constexpr long sent = 100;
  for (long i = 0; i < sent; ++i)
    client.send_to("ping", server.address());
  long answers = count_answers(client, 1s);
  EXPECT_GE(answers, 1);
  EXPECT_LT(answers, sent / 2) << "a forged source would get this many datagrams back";
}

TEST(UdpServerReflection, DatagramFromAServicePortGetsNoAnswer) {
  // Ports of UDP services that answer whatever reaches them (echo, chargen, DNS, NTP):
  // binding one needs root (tests run as root in CI).
  std::optional<UdpSocket> service_port;
  for (std::uint16_t port : {7, 19, 53, 123}) {
    try {
      service_port.emplace(UdpSocket::bound("127.0.0.1", port));
      break;
    } catch (const Error&) {
    }
  }
  if (!service_port) GTEST_SKIP() << "cannot bind a privileged port here (not root?)";
  RunningServer server(std::make_shared<UdpEchoService>(), quiet_options());
  service_port->send_to("from a service", server.address());
  // The server handles datagrams in the order they come: once this one is answered, the
  // first has been seen.
  UdpSocket client = UdpSocket::bound("127.0.0.1", 0);
  client.send_to("from a client", server.address());
  EXPECT_EQ(client.recv_from(256, Deadline(20s)).data, "Received: from a client");
  char buffer[256];
  EXPECT_FALSE(service_port->recv_from_nonblock(buffer).has_value());
}

TEST(UdpServerReflection, EmptyDatagramGetsNoAnswer) {
  RunningServer server(std::make_shared<UdpTimeService>(), quiet_options());
  UdpSocket client = UdpSocket::bound("127.0.0.1", 0);
  client.send_to("", server.address());
  client.send_to("TIMESTAMP", server.address());
  // The first answer is the second datagram's.
  std::string first = client.recv_from(256, Deadline(20s)).data;
  EXPECT_NE(first.find_first_of("0123456789"), std::string::npos) << first;
  EXPECT_EQ(first.find_first_not_of("0123456789"), std::string::npos) << first;
}

}  // namespace
}  // namespace sockit::test
