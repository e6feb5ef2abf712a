// The UDP server under a flood, in process: it keeps answering another client while one
// floods it, and stop() in the middle of the flood returns run() promptly.
// sockit-test-labels: threaded
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>

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
  UdpServer server(std::make_shared<UdpEchoService>(), quiet_options());
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

}  // namespace
}  // namespace sockit::test
