// The server policies that do not need a socket: the connection gate, the token bucket,
// LineSession's framing and limits, echo's streaming, the registry and daytime's time format.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "../../src/server/runtime.hpp"
#include "sockit/server/line_session.hpp"
#include "sockit/server/server.hpp"
#include "sockit/server/services.hpp"
#include "sockit/server/token_bucket.hpp"
#include "support/fake_runtime.hpp"

namespace {

using namespace std::chrono_literals;
using sockit::Address;
using sockit::server::ConnectionInfo;
using sockit::server::Output;
using sockit::server::Peer;
using sockit::server::SessionLimits;
using sockit::server::TokenBucket;
using sockit::server::detail::ConnectionGate;
using sockit::server::detail::SharedAddressSlots;

class RecordingOutput final : public sockit::test::FakeRuntime {
 public:
  void write(std::string_view bytes) override {
    if (!closed) text += bytes;
  }
  void close() override { closed = true; }
  bool closing() const noexcept override { return closed; }
  std::shared_ptr<Peer> peer() override { return nullptr; }

  std::string text;
  bool closed = false;
};

ConnectionInfo info(SessionLimits limits = {}) {
  return {Address::loopback_ipv4(40000), Address::loopback_ipv4(7777), limits};
}

TEST(ConnectionGate, RefusesOverTheGlobalLimitAndFreesSlotsWhenTicketsDie) {
  ConnectionGate gate(2, 0);
  auto a = gate.admit(Address::loopback_ipv4(1));
  auto b = gate.admit(Address::parse("10.0.0.1", 2));
  ASSERT_TRUE(a);
  ASSERT_TRUE(b);
  std::string reason;
  EXPECT_FALSE(gate.admit(Address::parse("10.0.0.2", 3), &reason));
  EXPECT_EQ(reason, "connection limit 2 reached");
  a = {};
  // Exactly one slot came free: one more admission fits, a second does not.
  auto c = gate.admit(Address::parse("10.0.0.2", 3));
  EXPECT_TRUE(c);
  EXPECT_FALSE(gate.admit(Address::parse("10.0.0.3", 4)));
}

TEST(ConnectionGate, PerAddressLimitCountsPortsOfOneAddressTogether) {
  ConnectionGate gate(0, 2);
  auto a = gate.admit(Address::parse("10.0.0.1", 1000));
  auto b = gate.admit(Address::parse("10.0.0.1", 1001));
  ASSERT_TRUE(a && b);
  std::string reason;
  EXPECT_FALSE(gate.admit(Address::parse("10.0.0.1", 1002), &reason));
  EXPECT_EQ(reason, "per-address limit 2 reached for 10.0.0.1");
  EXPECT_TRUE(gate.admit(Address::parse("10.0.0.2", 1000)));
  // A v4-mapped IPv6 peer is the same client as its IPv4 form.
  EXPECT_FALSE(gate.admit(Address::parse("::ffff:10.0.0.1", 1003)));
  // A moved ticket still holds its slot, and frees it once.
  auto moved = std::move(a);
  EXPECT_FALSE(gate.admit(Address::parse("10.0.0.1", 1003)));
  moved = {};
  EXPECT_TRUE(gate.admit(Address::parse("10.0.0.1", 1004)));
}

// Prefork's workers: one gate per process, one slot each in the shared table, so the
// per-address count spans the gates (here in one process; the table is MAP_SHARED).
TEST(ConnectionGate, GatesSharingAddressSlotsCountAnAddressAcrossThem) {
  SharedAddressSlots slots(3);
  ConnectionGate first(0, 2, slots, 0);
  ConnectionGate second(0, 2, slots, 1);
  ConnectionGate third(0, 2, slots, 2);
  auto a = first.admit(Address::parse("10.0.0.1", 1000));
  auto b = second.admit(Address::parse("::ffff:10.0.0.1", 1001));
  ASSERT_TRUE(a && b);
  std::string reason;
  EXPECT_FALSE(third.admit(Address::parse("10.0.0.1", 1002), &reason));
  EXPECT_EQ(reason, "per-address limit 2 reached for 10.0.0.1");
  a = {};
  auto c = third.admit(Address::parse("10.0.0.1", 1003));
  EXPECT_TRUE(c);
  // A worker holds one connection at a time: its slot is taken until the ticket dies.
  EXPECT_FALSE(third.admit(Address::parse("10.0.0.2", 1000)));
  EXPECT_TRUE(first.admit(Address::parse("10.0.0.2", 1000)));
  // The master empties the slot of a worker it reaped.
  slots.release(1);
  EXPECT_TRUE(second.admit(Address::parse("10.0.0.1", 1004)));
}

TEST(ConnectionGate, IsSafeFromManyThreads) {
  ConnectionGate gate(1000, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&gate] {
      for (int i = 0; i < 500; ++i) {
        auto ticket = gate.admit(Address::loopback_ipv4(static_cast<std::uint16_t>(i)));
        EXPECT_TRUE(ticket);
      }
    });
  }
  for (auto& t : threads)
    t.join();
  // Every ticket came back: the whole limit is free again, and not one slot more.
  std::vector<ConnectionGate::Ticket> held;
  for (int i = 0; i < 1000; ++i) {
    held.push_back(gate.admit(Address::loopback_ipv4(static_cast<std::uint16_t>(i))));
    ASSERT_TRUE(held.back()) << i;
  }
  EXPECT_FALSE(gate.admit(Address::loopback_ipv4(1000)));
}

TEST(TokenBucket, AllowsTheBurstThenRefillsAtTheRate) {
  auto t0 = TokenBucket::Clock::now();
  TokenBucket bucket(10, 0, t0);  // 10/s, burst 10
  for (int i = 0; i < 10; ++i)
    EXPECT_TRUE(bucket.try_take(t0)) << i;
  EXPECT_FALSE(bucket.try_take(t0));
  EXPECT_FALSE(bucket.try_take(t0 + 50ms));  // half a token
  EXPECT_TRUE(bucket.try_take(t0 + 100ms));
  EXPECT_FALSE(bucket.try_take(t0 + 100ms));
  // Refill never exceeds the burst.
  auto later = t0 + 10s;
  for (int i = 0; i < 10; ++i)
    EXPECT_TRUE(bucket.try_take(later));
  EXPECT_FALSE(bucket.try_take(later));
}

TEST(TokenBucket, ZeroRateMeansNoLimit) {
  TokenBucket bucket(0);
  EXPECT_FALSE(bucket.enabled());
  for (int i = 0; i < 10000; ++i)
    ASSERT_TRUE(bucket.try_take());
}

// Answers each line with "<line>|", so the tests see exactly what LineSession delivered.
class BracketSession final : public sockit::server::LineSession {
 public:
  using LineSession::LineSession;

 protected:
  void on_line(std::string_view line, Output& out) override {
    out.write(line);
    out.write("|");
  }
};

TEST(LineSession, DeliversWholeLinesWhateverTheSplit) {
  BracketSession session(SessionLimits{});
  RecordingOutput out;
  session.on_data("hel", out);
  EXPECT_EQ(out.text, "");
  session.on_data("lo\nwor", out);
  EXPECT_EQ(out.text, "hello|");
  session.on_data("ld\r\nthree\nfour\n\n", out);
  EXPECT_EQ(out.text, "hello|world|three|four||");
  EXPECT_FALSE(out.closed);
}

TEST(LineSession, DeliversAnUnterminatedLastLineAtEofThenCloses) {
  BracketSession session(SessionLimits{});
  RecordingOutput out;
  session.on_data("a\nlast\r", out);
  session.on_eof(out);
  EXPECT_EQ(out.text, "a|last|");
  EXPECT_TRUE(out.closed);
}

TEST(LineSession, LineOverTheLimitGetsTheErrorAndCloses) {
  SessionLimits limits;
  limits.max_line = 8;
  BracketSession session(limits);
  RecordingOutput out;
  session.on_data("12345678\n", out);  // exactly the limit: fine
  EXPECT_EQ(out.text, "12345678|");
  session.on_data("1234", out);
  session.on_data("56789", out);  // over it before any newline
  EXPECT_EQ(out.text, "12345678|Error: line too long (max 8 bytes)\n");
  EXPECT_TRUE(out.closed);
  session.on_data("more\n", out);
  EXPECT_EQ(out.text, "12345678|Error: line too long (max 8 bytes)\n");
}

TEST(LineSession, RateLimitAnswersAndKeepsTheConnection) {
  SessionLimits limits;
  limits.rate_per_second = 2;  // burst of 2
  BracketSession session(limits);
  RecordingOutput out;
  session.on_data("a\nb\nc\nd\n", out);
  EXPECT_EQ(out.text, "a|b|Rate limit exceeded\nRate limit exceeded\n");
  EXPECT_FALSE(out.closed);
}

// One deadline per line, from its first byte: bytes that continue the line do not restart
// it, a finished line cancels it, and when it fires the client is told and the connection
// closes.
TEST(LineSession, LineTimeoutRunsFromTheLinesFirstByte) {
  SessionLimits limits;
  limits.line_timeout = 500ms;
  BracketSession session(limits);
  RecordingOutput out;
  session.on_data("a\n", out);
  EXPECT_TRUE(out.timers.empty()) << "a finished line needs no deadline";
  session.on_data("b", out);
  ASSERT_EQ(out.timers.size(), 1u);
  EXPECT_EQ(out.timers[0].after, 500ms);
  const auto first = out.timers[0].id;
  session.on_data("c", out);
  ASSERT_EQ(out.timers.size(), 1u);
  EXPECT_EQ(out.timers[0].id, first) << "a byte of the same line restarted its deadline";
  session.on_data("d\ne", out);  // one line finished, the next begun: a deadline of its own
  ASSERT_EQ(out.timers.size(), 1u);
  EXPECT_NE(out.timers[0].id, first);
  EXPECT_EQ(out.text, "a|bcd|");
  ASSERT_TRUE(out.fire(out.timers[0].id, session));
  EXPECT_EQ(out.text, "a|bcd|Error: line not finished within 500 ms\n");
  EXPECT_TRUE(out.closed);
}

TEST(LineSession, ZeroLineTimeoutStartsNoTimer) {
  SessionLimits limits;
  limits.line_timeout = 0ms;
  BracketSession session(limits);
  RecordingOutput out;
  session.on_data("never finished", out);
  EXPECT_TRUE(out.timers.empty());
}

// Echo: what it receives goes back unchanged, as it arrives.
std::string echo_of(const std::vector<std::string>& reads, SessionLimits limits = {},
                    bool eof = false, bool* closed = nullptr) {
  sockit::server::EchoService echo;
  auto session = echo.open(info(limits));
  RecordingOutput out;
  for (const auto& bytes : reads)
    session->on_data(bytes, out);
  if (eof) session->on_eof(out);
  if (closed != nullptr) *closed = out.closed;
  return out.text;
}

SessionLimits max_line(std::size_t bytes) {
  SessionLimits limits;
  limits.max_line = bytes;
  return limits;
}

TEST(Echo, StreamsBytesUnchangedAsTheyArrive) {
  sockit::server::EchoService echo;
  auto session = echo.open(info());
  RecordingOutput out;
  session->on_data("hel", out);
  EXPECT_EQ(out.text, "hel");
  session->on_data("lo\r\nwor", out);
  EXPECT_EQ(out.text, "hello\r\nwor");
  session->on_data("ld\n\nthree\n", out);
  EXPECT_EQ(out.text, "hello\r\nworld\n\nthree\n");
  EXPECT_FALSE(out.closed);
  // No line limit unless one is given: echo holds nothing, whatever the line's length.
  const std::string long_line(1 << 20, 'x');
  EXPECT_EQ(echo_of({long_line, long_line, "\n"}), long_line + long_line + "\n");
}

TEST(Echo, FinishesAnUnterminatedLastLineAtEofThenCloses) {
  for (const SessionLimits& limits : {SessionLimits{}, max_line(100)}) {
    bool closed = false;
    EXPECT_EQ(echo_of({"a\nlast"}, limits, true, &closed), "a\nlast\n");
    EXPECT_TRUE(closed);
    EXPECT_EQ(echo_of({"a\n"}, limits, true, &closed), "a\n");
    EXPECT_TRUE(closed);
    EXPECT_EQ(echo_of({"a\nb\r"}, limits, true, &closed), "a\nb\r\n");
  }
}

TEST(Echo, WithALineLimitStillEchoesUnchangedWhateverTheSplit) {
  // Lines of exactly the limit, with "\n" or "\r\n"; a "\r" inside a line counts.
  const std::string input = "12345678\r\nab\r\r\n12345678\n\n";
  for (std::size_t cut = 0; cut < input.size(); ++cut) {
    bool closed = true;
    EXPECT_EQ(echo_of({input.substr(0, cut), input.substr(cut)}, max_line(8), false, &closed),
              input)
        << cut;
    EXPECT_FALSE(closed) << cut;
  }
}

TEST(Echo, LineOverTheLimitIsEchoedUpToItThenRefusedWhateverTheSplit) {
  const std::string refused = "\nError: line too long (max 8 bytes)\n";
  for (const std::string input : {"ok\n123456789\nmore\n", "ok\n12345678\rx\n"}) {
    for (std::size_t cut = 0; cut < input.size(); ++cut) {
      bool closed = false;
      EXPECT_EQ(echo_of({input.substr(0, cut), input.substr(cut)}, max_line(8), false, &closed),
                "ok\n12345678" + refused)
          << input << " cut at " << cut;
      EXPECT_TRUE(closed);
    }
  }
}

TEST(Echo, RateLimitSwallowsTheLineAndKeepsTheConnection) {
  SessionLimits limits;
  limits.rate_per_second = 2;  // burst of 2
  bool closed = true;
  EXPECT_EQ(echo_of({"a\nb\nc\nd", "dd\n"}, limits, false, &closed),
            "a\nb\nRate limit exceeded\nRate limit exceeded\n");
  EXPECT_FALSE(closed);
}

TEST(Echo, LineTimeoutEchoesThenCutsALineNotFinishedInTime) {
  SessionLimits limits;
  limits.line_timeout = 500ms;
  sockit::server::EchoService echo;
  auto session = echo.open(info(limits));
  RecordingOutput out;
  session->on_data("whole\n", out);
  EXPECT_TRUE(out.timers.empty());
  session->on_data("dri", out);
  session->on_data("p", out);
  ASSERT_EQ(out.timers.size(), 1u) << "one deadline for the whole line";
  ASSERT_TRUE(out.fire(out.timers[0].id, *session));
  EXPECT_EQ(out.text, "whole\ndrip\nError: line not finished within 500 ms\n");
  EXPECT_TRUE(out.closed);
}

TEST(Services, RegistryFindsEachServiceByName) {
  std::vector<std::string> expected{"echo", "daytime", "hello"};
  auto names = sockit::server::service_names();
  ASSERT_GE(names.size(), expected.size());
  // The first services keep their order (--help lists them so); others may follow.
  EXPECT_TRUE(std::equal(expected.begin(), expected.end(), names.begin()));
  for (const auto& name : names) {
    EXPECT_EQ(std::count(names.begin(), names.end(), name), 1) << name << " registered twice";
    auto service = sockit::server::find_service(name);
    ASSERT_TRUE(service) << name;
    EXPECT_EQ(service->name(), name);
  }
  for (const auto& name : expected) {
    auto service = sockit::server::find_service(name);
    ASSERT_TRUE(service) << name;
    EXPECT_EQ(service->name(), name);
  }
  EXPECT_EQ(sockit::server::find_service("echo")->default_port(), 7777);
  EXPECT_EQ(sockit::server::find_service("daytime")->default_port(), 20000);
  EXPECT_EQ(sockit::server::find_service("hello")->default_port(), 7777);
  EXPECT_EQ(sockit::server::find_service("nosuch"), nullptr);
}

TEST(Services, HelloWritesItsLineAndCloses) {
  sockit::server::HelloService hello;
  auto session = hello.open(info());
  RecordingOutput out;
  session->on_open(out);
  EXPECT_EQ(out.text, "Hello, world!\n");
  EXPECT_TRUE(out.closed);
}

TEST(Services, DaytimeUsesRubyTimeToSFormat) {
  sockit::server::DaytimeService daytime;
  auto session = daytime.open(info());
  RecordingOutput out;
  session->on_open(out);
  EXPECT_TRUE(out.closed);
  static const std::regex ruby(R"(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} [+-]\d{4}\n)");
  EXPECT_TRUE(std::regex_match(out.text, ruby)) << out.text;
}

TEST(Services, RubyTimeStringOfAKnownInstantInUtc) {
  // 2026-11-25 23:36:57 UTC; TZ pinned so the offset is known.
  const char* tz = getenv("TZ");
  std::string saved = tz != nullptr ? tz : "";
  setenv("TZ", "UTC", 1);
  tzset();
  auto when = std::chrono::system_clock::from_time_t(1795649817);
  EXPECT_EQ(sockit::server::ruby_time_string(when), "2026-11-25 23:36:57 +0000");
  setenv("TZ", "Asia/Kolkata", 1);
  tzset();
  EXPECT_EQ(sockit::server::ruby_time_string(when), "2026-11-26 05:06:57 +0530");
  if (saved.empty()) {
    unsetenv("TZ");
  } else {
    setenv("TZ", saved.c_str(), 1);
  }
  tzset();
}

TEST(Architectures, NamesRoundTripAndEachHasADescription) {
  using sockit::server::Architecture;
  for (auto arch :
       {Architecture::serial, Architecture::thread, Architecture::fork, Architecture::prefork,
        Architecture::pool, Architecture::reactor, Architecture::hybrid}) {
    auto name = sockit::server::to_string(arch);
    EXPECT_EQ(sockit::server::parse_architecture(name), arch);
    EXPECT_FALSE(sockit::server::describe(arch).empty());
  }
  EXPECT_FALSE(sockit::server::parse_architecture("nosuch"));
  EXPECT_FALSE(sockit::server::shares_memory(Architecture::fork));
  EXPECT_FALSE(sockit::server::shares_memory(Architecture::prefork));
  EXPECT_TRUE(sockit::server::shares_memory(Architecture::hybrid));
}

}  // namespace
