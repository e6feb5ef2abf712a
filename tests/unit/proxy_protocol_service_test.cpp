// ProxyProtocolService, sans-I/O: the inner session opens only after a whole header from a
// trusted peer, sees the client's address and only the bytes after the header; garbage,
// untrusted peers and late headers close with a log line; per-client limits count the
// address in the header.
#include "sockit/server/proxy_protocol_service.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "sockit/proxy_protocol.hpp"
#include "sockit/server/blocking_service.hpp"
#include "support/fake_runtime.hpp"

namespace sockit::server {
namespace {

using namespace std::chrono_literals;

using FakeOutput = test::RecordingOutput;

// What the inner sessions saw.
struct Record {
  std::vector<ConnectionInfo> opened;
  std::string data;
  int timers = 0;
  int closes = 0;
};

class RecordingService final : public Service {
 public:
  explicit RecordingService(Record& record) : record_(record) {}
  std::string_view name() const override { return "recording"; }
  std::uint16_t default_port() const override { return 0; }
  std::string_view full_message() const override { return "full\n"; }
  std::unique_ptr<Session> open(const ConnectionInfo& connection) override {
    record_.opened.push_back(connection);
    return std::make_unique<RecordingSession>(record_);
  }

 private:
  class RecordingSession final : public Session {
   public:
    explicit RecordingSession(Record& record) : record_(record) {}
    void on_open(Output& out) override { out.write("hello\n"); }
    void on_data(std::string_view bytes, Output&) override { record_.data += bytes; }
    void on_timer(TimerId, Output&) override { ++record_.timers; }
    void on_close() override { ++record_.closes; }

   private:
    Record& record_;
  };
  Record& record_;
};

const Address kBalancer = Address::parse("127.0.0.1", 40000);
const Address kListener = Address::parse("127.0.0.1", 7000);
const Address kClient = Address::parse("203.0.113.7", 5555);
const Address kFrontend = Address::parse("198.51.100.1", 443);

struct Fixture {
  explicit Fixture(ProxyProtocolOptions options = {}) {
    service = std::make_shared<ProxyProtocolService>(
        std::make_shared<RecordingService>(record), std::move(options),
        [this](std::string_view line) { log.emplace_back(line); });
  }
  std::unique_ptr<Session> open(const Address& peer = kBalancer) {
    auto session = service->open(ConnectionInfo{peer, kListener, {}});
    return session;
  }
  Record record;
  std::vector<std::string> log;
  std::shared_ptr<ProxyProtocolService> service;
};

TEST(ProxyProtocolService, TheInnerSessionSeesTheClientAndOnlyWhatFollowsTheHeader) {
  Fixture f;
  FakeOutput out;
  auto session = f.open();
  session->on_open(out);
  EXPECT_TRUE(f.record.opened.empty());
  session->on_data(proxy_header_v1(kClient, kFrontend) + "first line\n", out);
  ASSERT_EQ(f.record.opened.size(), 1U);
  EXPECT_EQ(f.record.opened[0].peer, kClient);
  EXPECT_EQ(f.record.opened[0].local, kFrontend);
  EXPECT_EQ(out.written, "hello\n");
  EXPECT_EQ(f.record.data, "first line\n");
  session->on_data("second\n", out);
  EXPECT_EQ(f.record.data, "first line\nsecond\n");
  EXPECT_TRUE(out.timers.empty()) << "the header deadline is cancelled once it arrived";
  ASSERT_EQ(f.log.size(), 1U);
  EXPECT_EQ(f.log[0], "proxied connection from 203.0.113.7:5555 via 127.0.0.1:40000");
  session->on_close();
  EXPECT_EQ(f.record.closes, 1);
}

TEST(ProxyProtocolService, AHeaderThatDribblesInOpensOnce) {
  Fixture f;
  FakeOutput out;
  auto session = f.open();
  session->on_open(out);
  const std::string bytes = proxy_header_v2(kClient, kFrontend) + "x";
  for (const char c : bytes)
    session->on_data(std::string_view(&c, 1), out);
  ASSERT_EQ(f.record.opened.size(), 1U);
  EXPECT_EQ(f.record.opened[0].peer, kClient);
  EXPECT_EQ(f.record.data, "x");
  EXPECT_FALSE(out.closing());
}

TEST(ProxyProtocolService, GarbageAndUntrustedPeersAreClosedWithALogLine) {
  {
    Fixture f;
    FakeOutput out;
    auto session = f.open();
    session->on_open(out);
    session->on_data("GET / HTTP/1.1\r\n", out);
    EXPECT_TRUE(out.closing());
    EXPECT_TRUE(f.record.opened.empty());
    ASSERT_EQ(f.log.size(), 1U);
    EXPECT_EQ(f.log[0], "closing 127.0.0.1:40000: not a PROXY protocol header");
    session->on_data("more", out);  // after the close: ignored
    EXPECT_TRUE(f.record.opened.empty());
  }
  {
    Fixture f;
    FakeOutput out;
    auto session = f.open(Address::parse("192.0.2.9", 1234));
    session->on_open(out);
    EXPECT_TRUE(out.closing());
    session->on_data(proxy_header_v1(kClient, kFrontend), out);
    EXPECT_TRUE(f.record.opened.empty()) << "an untrusted peer's header is never believed";
    ASSERT_EQ(f.log.size(), 1U);
    EXPECT_NE(f.log[0].find("not a trusted proxy"), std::string::npos) << f.log[0];
  }
}

TEST(ProxyProtocolService, TrustedRangesComeFromTheOptions) {
  ProxyProtocolOptions options;
  options.trusted = AddressRange::parse_list("192.0.2.0/24");
  Fixture f(options);
  FakeOutput out;
  auto session = f.open(Address::parse("192.0.2.9", 1234));
  session->on_open(out);
  session->on_data(proxy_header_v1(kClient, kFrontend), out);
  EXPECT_EQ(f.record.opened.size(), 1U);
  FakeOutput local_out;
  auto local = f.open(kBalancer);
  local->on_open(local_out);
  EXPECT_TRUE(local_out.closing()) << "loopback is trusted only by default";
}

TEST(ProxyProtocolService, ALateHeaderIsClosedAtTheDeadline) {
  ProxyProtocolOptions options;
  options.timeout = 250ms;
  Fixture f(options);
  FakeOutput out;
  auto session = f.open();
  session->on_open(out);
  ASSERT_EQ(out.timers.size(), 1U);
  EXPECT_EQ(out.timers[0].after, 250ms);
  session->on_data("PROXY TCP4 203.0", out);
  EXPECT_FALSE(out.closing());
  ASSERT_TRUE(out.fire(out.timers[0].id, *session));
  EXPECT_TRUE(out.closing());
  ASSERT_EQ(f.log.size(), 1U);
  EXPECT_EQ(f.log[0], "closing 127.0.0.1:40000: no PROXY header within 250 ms");
  EXPECT_TRUE(f.record.opened.empty());
}

TEST(ProxyProtocolService, TheInnerSessionsOwnTimersReachIt) {
  Fixture f;
  FakeOutput out;
  auto session = f.open();
  session->on_open(out);
  session->on_data(proxy_header_v1(kClient, kFrontend), out);
  const TimerId id = out.start_timer(1s);  // as the inner session would
  ASSERT_TRUE(out.fire(id, *session));
  EXPECT_EQ(f.record.timers, 1);
}

TEST(ProxyProtocolService, LocalAndUnknownKeepTheConnectionsOwnAddresses) {
  for (const std::string& header : {proxy_header_v2_local(), std::string("PROXY UNKNOWN\r\n")}) {
    Fixture f;
    FakeOutput out;
    auto session = f.open();
    session->on_open(out);
    session->on_data(header, out);
    ASSERT_EQ(f.record.opened.size(), 1U);
    EXPECT_EQ(f.record.opened[0].peer, kBalancer);
    EXPECT_EQ(f.record.opened[0].local, kListener);
  }
}

TEST(ProxyProtocolService, EofInTheMiddleOfTheHeaderCloses) {
  Fixture f;
  FakeOutput out;
  auto session = f.open();
  session->on_open(out);
  session->on_data("PROXY ", out);
  session->on_eof(out);
  EXPECT_TRUE(out.closing());
  ASSERT_EQ(f.log.size(), 1U);
  EXPECT_NE(f.log[0].find("in the middle of its PROXY header"), std::string::npos);
}

TEST(ProxyProtocolService, PerClientLimitCountsTheAddressInTheHeader) {
  ProxyProtocolOptions options;
  options.max_connections_per_ip = 1;
  Fixture f(options);
  FakeOutput first_out;
  auto first = f.open();
  first->on_open(first_out);
  first->on_data(proxy_header_v1(kClient, kFrontend), first_out);
  ASSERT_EQ(f.record.opened.size(), 1U);
  // Another client through the same balancer is not counted with the first.
  FakeOutput other_out;
  auto other = f.open();
  other->on_open(other_out);
  other->on_data(proxy_header_v1(Address::parse("203.0.113.8", 1), kFrontend), other_out);
  EXPECT_EQ(f.record.opened.size(), 2U);
  // The same client again is over its limit: the service's full message, then a close.
  FakeOutput second_out;
  auto second = f.open();
  second->on_open(second_out);
  second->on_data(proxy_header_v1(kClient.with_port(6000), kFrontend), second_out);
  EXPECT_EQ(f.record.opened.size(), 2U);
  EXPECT_EQ(second_out.written, "full\n");
  EXPECT_TRUE(second_out.closing());
  EXPECT_NE(f.log.back().find("per-address limit 1 reached for 203.0.113.7"), std::string::npos)
      << f.log.back();
  // Once the first connection is gone, the client may connect again.
  first->on_close();
  first.reset();
  FakeOutput third_out;
  auto third = f.open();
  third->on_open(third_out);
  third->on_data(proxy_header_v1(kClient, kFrontend), third_out);
  EXPECT_EQ(f.record.opened.size(), 3U);
}

TEST(ProxyProtocolService, RefusesServicesThatReadTheirSocketThemselves) {
  auto blocking = std::make_shared<BlockingService>("raw", 0, [](Socket&) {});
  EXPECT_THROW(ProxyProtocolService(blocking, {}), std::invalid_argument);
  EXPECT_THROW(ProxyProtocolService(nullptr, {}), std::invalid_argument);
}

}  // namespace
}  // namespace sockit::server
