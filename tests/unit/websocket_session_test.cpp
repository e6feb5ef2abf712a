// WebSocketSession driven by hand: messages to the application, pong for ping, the close
// handshake both ways, violations closed with their code, EOF reported as 1006, and reading
// paused while output piles up.
#include "sockit/websocket/websocket_session.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "support/fake_runtime.hpp"

namespace sockit::websocket {
namespace {

class FakeOutput final : public test::FakeRuntime {
 public:
  void write(std::string_view bytes) override {
    if (!closed_ && !write_closed) written_ += bytes;
  }
  void close() override { closed_ = true; }
  bool closing() const noexcept override { return closed_; }
  std::shared_ptr<server::Peer> peer() override { return nullptr; }
  std::string take() { return std::exchange(written_, {}); }

 private:
  std::string written_;
  bool closed_ = false;
};

// Echoes text, counts binary, remembers how it ended.
class Probe final : public WebSocketSession {
 public:
  using WebSocketSession::WebSocketSession;
  std::vector<std::string> binaries;
  std::vector<std::pair<CloseCode, std::string>> closes;

 private:
  void on_text(std::string_view message, server::Output& out) override { send_text(message, out); }
  void on_binary(std::string_view message, server::Output& /*out*/) override {
    binaries.emplace_back(message);
  }
  void on_closed(CloseCode code, std::string_view reason) override {
    closes.emplace_back(code, std::string(reason));
  }
};

// A frame as a client sends it (masked).
std::string client_frame(Opcode opcode, std::string_view payload, bool fin = true) {
  std::string out;
  FrameWriter::client([](std::span<std::uint8_t> bytes) {
    for (auto& b : bytes)
      b = 0x5a;
  }).append(out, opcode, payload, fin);
  return out;
}

std::string server_frame(Opcode opcode, std::string_view payload) {
  std::string out;
  FrameWriter::server().append(out, opcode, payload);
  return out;
}

TEST(WebSocketSession, TextIsEchoedAndFragmentsAssembled) {
  Probe s;
  FakeOutput out;
  s.on_data(client_frame(Opcode::text, "hello"), out);
  EXPECT_EQ(out.take(), server_frame(Opcode::text, "hello"));
  const std::string parts = client_frame(Opcode::binary, "ab", false) +
                            client_frame(Opcode::ping, "p") +
                            client_frame(Opcode::continuation, "cd");
  // One byte at a time: any split works.
  for (char c : parts)
    s.on_data(std::string_view(&c, 1), out);
  EXPECT_EQ(s.binaries, std::vector<std::string>{"abcd"});
  EXPECT_EQ(out.take(), server_frame(Opcode::pong, "p"));
  EXPECT_FALSE(out.closing());
}

TEST(WebSocketSession, PeersCloseIsEchoedThenTheConnectionCloses) {
  Probe s;
  FakeOutput out;
  s.on_data(client_frame(Opcode::close, close_payload(static_cast<CloseCode>(4001), "bye")), out);
  EXPECT_EQ(out.take(), server_frame(Opcode::close, close_payload(static_cast<CloseCode>(4001))));
  EXPECT_TRUE(out.closing());
  s.on_close();
  ASSERT_EQ(s.closes.size(), 1U);
  EXPECT_EQ(s.closes[0].first, static_cast<CloseCode>(4001));
  EXPECT_EQ(s.closes[0].second, "bye");
}

TEST(WebSocketSession, CloseWithoutCodeIsAnswered1000) {
  Probe s;
  FakeOutput out;
  s.on_data(client_frame(Opcode::close, {}), out);
  EXPECT_EQ(out.take(), server_frame(Opcode::close, close_payload(CloseCode::normal)));
  EXPECT_TRUE(out.closing());
}

TEST(WebSocketSession, ViolationIsClosedWithItsCodeAndTheConnectionEndsAfterTimeout) {
  Probe s;
  FakeOutput out;
  s.on_data(server_frame(Opcode::text, "unmasked"), out);
  const std::string written = out.take();
  ASSERT_GE(written.size(), 4U);
  EXPECT_EQ(static_cast<unsigned char>(written[0]), 0x88);
  EXPECT_EQ(static_cast<unsigned char>(written[2]) << 8 | static_cast<unsigned char>(written[3]),
            1002);
  EXPECT_TRUE(out.write_closed);
  EXPECT_FALSE(out.closing());
  // What the peer sends after that is dropped.
  s.on_data(client_frame(Opcode::text, "more"), out);
  EXPECT_TRUE(out.take().empty());
  ASSERT_EQ(out.timers.size(), 1U);
  EXPECT_EQ(out.timers[0].after, WebSocketSession::close_timeout);
  EXPECT_TRUE(out.fire(out.timers[0].id, s));
  EXPECT_TRUE(out.closing());
  ASSERT_EQ(s.closes.size(), 1U);
  EXPECT_EQ(s.closes[0].first, CloseCode::protocol_error);
}

TEST(WebSocketSession, ASilentPeerIsPingedThenClosedIfItStaysSilent) {
  MessageLimits limits;
  limits.idle_ping = std::chrono::seconds(30);
  Probe s(limits);
  FakeOutput out;
  s.on_open(out);
  ASSERT_EQ(out.timers.size(), 1U);
  EXPECT_EQ(out.timers[0].after, std::chrono::seconds(30));
  // Silent for the interval: a ping.
  ASSERT_TRUE(out.fire(out.timers[0].id, s));
  EXPECT_EQ(out.take(), server_frame(Opcode::ping, ""));
  // Silent again: closed with 1011, and the connection ends after the close timeout.
  ASSERT_EQ(out.timers.size(), 1U);
  ASSERT_TRUE(out.fire(out.timers[0].id, s));
  const std::string written = out.take();
  ASSERT_GE(written.size(), 4U);
  EXPECT_EQ(static_cast<unsigned char>(written[0]), 0x88);
  EXPECT_EQ(static_cast<unsigned char>(written[2]) << 8 | static_cast<unsigned char>(written[3]),
            1011);
  EXPECT_TRUE(out.write_closed);
  ASSERT_EQ(s.closes.size(), 1U);
  EXPECT_EQ(s.closes[0].second, "no answer to ping");
}

TEST(WebSocketSession, APeerThatAnswersOrTalksIsNeverClosedForSilence) {
  Probe s;  // the default: every 30 s
  FakeOutput out;
  s.on_open(out);
  for (int round = 0; round < 5; ++round) {
    // Silent for an interval: pinged. It answers, so the next interval passes quietly.
    ASSERT_EQ(out.timers.size(), 1U);
    ASSERT_TRUE(out.fire(out.timers[0].id, s));
    EXPECT_EQ(out.take(), server_frame(Opcode::ping, "")) << round;
    s.on_data(client_frame(Opcode::pong, ""), out);
    ASSERT_EQ(out.timers.size(), 1U);
    ASSERT_TRUE(out.fire(out.timers[0].id, s));
    EXPECT_EQ(out.take(), "") << round;
  }
  // A peer that sends messages is not pinged at all.
  ASSERT_EQ(out.timers.size(), 1U);
  s.on_data(client_frame(Opcode::text, "busy"), out);
  EXPECT_EQ(out.take(), server_frame(Opcode::text, "busy"));
  ASSERT_TRUE(out.fire(out.timers[0].id, s));
  EXPECT_EQ(out.take(), "");
  EXPECT_FALSE(out.closing());
  EXPECT_FALSE(out.write_closed);
  EXPECT_TRUE(s.closes.empty());
}

TEST(WebSocketSession, NoPingWhenTheIntervalIsZero) {
  MessageLimits limits;
  limits.idle_ping = std::chrono::milliseconds(0);
  Probe s(limits);
  FakeOutput out;
  s.on_open(out);
  EXPECT_TRUE(out.timers.empty());
}

// Starts a timer of its own at start and sends a message each time it fires.
class Ticker final : public WebSocketSession {
 public:
  using WebSocketSession::WebSocketSession;
  std::vector<server::TimerId> fired;
  server::TimerId mine = 0;

 private:
  void on_start(server::Output& out) override { mine = out.start_timer(std::chrono::seconds(1)); }
  void on_app_timer(server::TimerId id, server::Output& out) override {
    fired.push_back(id);
    send_text("tick", out);
    mine = out.start_timer(std::chrono::seconds(1));
  }
};

TEST(WebSocketSession, TheApplicationsOwnTimersReachItAndTheSessionsDoNot) {
  Ticker s;  // the idle ping every 30 s: a timer of the session's own
  FakeOutput out;
  s.on_open(out);
  ASSERT_EQ(out.timers.size(), 2U);
  const server::TimerId ping = out.timers[0].id;
  ASSERT_EQ(out.timers[1].id, s.mine);
  for (int round = 0; round < 3; ++round) {
    const server::TimerId tick = s.mine;
    ASSERT_TRUE(out.fire(tick, s));
    EXPECT_EQ(out.take(), server_frame(Opcode::text, "tick")) << round;
    ASSERT_EQ(s.fired.size(), static_cast<std::size_t>(round) + 1);
    EXPECT_EQ(s.fired.back(), tick);
  }
  // The ping timer is the session's: it pings and is not passed on.
  ASSERT_TRUE(out.fire(ping, s));
  EXPECT_EQ(out.take(), server_frame(Opcode::ping, ""));
  EXPECT_EQ(s.fired.size(), 3U);
}

std::uint16_t close_code(const std::string& written) {
  if (written.size() < 4 || static_cast<unsigned char>(written[0]) != 0x88) return 0;
  return static_cast<std::uint16_t>(static_cast<unsigned char>(written[2]) << 8 |
                                    static_cast<unsigned char>(written[3]));
}

MessageLimits message_timeout_only(std::chrono::milliseconds timeout) {
  MessageLimits limits;
  limits.idle_ping = std::chrono::milliseconds(0);
  limits.message_timeout = timeout;
  return limits;
}

TEST(WebSocketSession, AFrameDribbledInPiecesMustFinishWithinTheMessageTimeout) {
  Probe s(message_timeout_only(std::chrono::seconds(10)));
  FakeOutput out;
  s.on_open(out);
  ASSERT_TRUE(out.timers.empty());
  const std::string frame = client_frame(Opcode::text, "slow");
  // Its first bytes start the clock; later bytes of the same frame do not restart it.
  s.on_data(frame.substr(0, 3), out);
  ASSERT_EQ(out.timers.size(), 1U);
  EXPECT_EQ(out.timers[0].after, std::chrono::seconds(10));
  const server::TimerId started = out.timers[0].id;
  s.on_data(frame.substr(3, 1), out);
  ASSERT_EQ(out.timers.size(), 1U);
  EXPECT_EQ(out.timers[0].id, started);
  ASSERT_TRUE(out.fire(started, s));
  EXPECT_EQ(close_code(out.take()), 1008);
  EXPECT_TRUE(out.write_closed);
  ASSERT_EQ(s.closes.size(), 1U);
  EXPECT_EQ(s.closes[0].first, CloseCode::policy_violation);
}

TEST(WebSocketSession, AFragmentedMessageIsTimedFromItsFirstFragmentToItsLast) {
  Probe s(message_timeout_only(std::chrono::seconds(10)));
  FakeOutput out;
  s.on_open(out);
  // Whole messages, however many, leave no clock running.
  s.on_data(client_frame(Opcode::text, "a") + client_frame(Opcode::text, "b"), out);
  EXPECT_TRUE(out.timers.empty());
  out.take();
  // A first fragment starts it; a ping between fragments does not stop it; the last
  // fragment does.
  s.on_data(client_frame(Opcode::text, "he", false), out);
  ASSERT_EQ(out.timers.size(), 1U);
  s.on_data(client_frame(Opcode::ping, "p"), out);
  ASSERT_EQ(out.timers.size(), 1U);
  s.on_data(client_frame(Opcode::continuation, "llo"), out);
  EXPECT_TRUE(out.timers.empty());
  EXPECT_EQ(out.take(), server_frame(Opcode::pong, "p") + server_frame(Opcode::text, "hello"));
  // A message completed and the next one begun in the same read: timed from the new one.
  s.on_data(client_frame(Opcode::text, "x") + client_frame(Opcode::text, "yz").substr(0, 2), out);
  ASSERT_EQ(out.timers.size(), 1U);
  EXPECT_FALSE(out.closing());
  EXPECT_FALSE(out.write_closed);
}

TEST(WebSocketSession, NoMessageTimeoutWhenItIsZero) {
  Probe s(message_timeout_only(std::chrono::milliseconds(0)));
  FakeOutput out;
  s.on_open(out);
  s.on_data(client_frame(Opcode::text, "slow").substr(0, 3), out);
  EXPECT_TRUE(out.timers.empty());
}

TEST(WebSocketSession, InvalidUtf8IsClosedWith1007AndOversizeWith1009) {
  {
    Probe s;
    FakeOutput out;
    s.on_data(client_frame(Opcode::text, "\xc3\x28"), out);
    const std::string written = out.take();
    ASSERT_GE(written.size(), 4U);
    EXPECT_EQ(static_cast<unsigned char>(written[2]) << 8 | static_cast<unsigned char>(written[3]),
              1007);
  }
  {
    MessageLimits limits;
    limits.max_message = 10;
    Probe s(limits);
    FakeOutput out;
    s.on_data(client_frame(Opcode::binary, std::string(11, 'x')), out);
    const std::string written = out.take();
    ASSERT_GE(written.size(), 4U);
    EXPECT_EQ(static_cast<unsigned char>(written[2]) << 8 | static_cast<unsigned char>(written[3]),
              1009);
    EXPECT_TRUE(s.binaries.empty());
  }
}

TEST(WebSocketSession, EofWithoutCloseFrameIsReported1006) {
  Probe s;
  FakeOutput out;
  s.on_eof(out);
  EXPECT_TRUE(out.closing());
  s.on_close();
  ASSERT_EQ(s.closes.size(), 1U);
  EXPECT_EQ(s.closes[0].first, CloseCode::abnormal);
}

TEST(WebSocketSession, ReadingPausesAboveTheHighWaterMarkUntilDrained) {
  Probe s;
  FakeOutput out;
  out.queued_bytes = WebSocketSession::high_water;
  s.on_data(client_frame(Opcode::text, "a"), out);
  EXPECT_TRUE(out.reading);  // at the mark, not above it
  out.queued_bytes = WebSocketSession::high_water + 1;
  s.on_data(client_frame(Opcode::text, "b"), out);
  EXPECT_FALSE(out.reading);
  out.queued_bytes = 0;
  s.on_drain(out);
  EXPECT_TRUE(out.reading);
}

}  // namespace
}  // namespace sockit::websocket
