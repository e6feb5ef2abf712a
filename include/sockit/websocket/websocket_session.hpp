// The server's side of one WebSocket connection as a server::Session: messages in, frames
// out, and the protocol's own duties done here (pong for a ping, the close handshake, a
// protocol violation closed with its code, reading paused while output piles up). An
// application derives from it and answers messages:
//   class Echo : public WebSocketSession {
//     using WebSocketSession::WebSocketSession;
//     void on_text(std::string_view m, server::Output& out) override { send_text(m, out); }
//   };
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>

#include "sockit/server/session.hpp"
#include "sockit/websocket/close_frame.hpp"
#include "sockit/websocket/frame_codec.hpp"
#include "sockit/websocket/message_assembler.hpp"

namespace sockit::websocket {

class WebSocketSession : public server::Session {
 public:
  explicit WebSocketSession(MessageLimits limits = {});

  // Starts the idle ping (limits.idle_ping), then calls on_start.
  void on_open(server::Output& out) final;
  void on_data(std::string_view bytes, server::Output& out) final;
  void on_eof(server::Output& out) final;
  void on_timer(server::TimerId id, server::Output& out) final;
  void on_drain(server::Output& out) final;
  void on_close() final;

  // Queued output above which the peer's input is no longer read, until it drains.
  static constexpr std::size_t high_water = 256 * 1024;
  // How long the peer has to close its side once ours has sent a close frame.
  static constexpr std::chrono::milliseconds close_timeout{5'000};

 protected:
  // The connection is the application's: send a greeting, join a room.
  virtual void on_start(server::Output& out) { (void)out; }
  // A complete message (valid UTF-8 for text); the view lasts until the call returns.
  virtual void on_text(std::string_view message, server::Output& out) {
    (void)message;
    (void)out;
  }
  virtual void on_binary(std::string_view message, server::Output& out) {
    (void)message;
    (void)out;
  }
  // A timer the application started with out.start_timer has fired (the session's own
  // timers, for pings and the close handshake, are not passed on).
  virtual void on_app_timer(server::TimerId id, server::Output& out) {
    (void)id;
    (void)out;
  }
  // The connection ended: the code of the close frame received or sent (1006 when it ended
  // without one). Called once.
  virtual void on_closed(CloseCode code, std::string_view reason) {
    (void)code;
    (void)reason;
  }

  // Sends one message; dropped once the close handshake has begun.
  void send_text(std::string_view message, server::Output& out);
  void send_binary(std::string_view message, server::Output& out);
  // Starts the close handshake: sends a close frame (`reason` cut to 123 bytes) and ends
  // our side; the connection closes when the peer does, or after close_timeout.
  void close(server::Output& out, CloseCode code = CloseCode::normal, std::string_view reason = {});
  bool closing() const noexcept { return close_sent_; }

 private:
  void send(Opcode opcode, std::string_view payload, server::Output& out);
  void report(CloseCode code, std::string_view reason);
  void throttle(server::Output& out);
  // Starts the message clock when a frame or message is left unfinished, stops it when
  // none is (limits.message_timeout).
  void time_message(server::Output& out);

  MessageAssembler assembler_;
  FrameWriter writer_ = FrameWriter::server();
  std::string frame_;  // one frame being built, reused
  bool close_sent_ = false;
  bool reported_ = false;
  bool reading_paused_ = false;
  server::TimerId close_timer_ = 0;
  // The idle ping: its timer, whether anything came since it was started, and whether a
  // ping of ours is waiting for its answer.
  std::chrono::milliseconds idle_ping_;
  server::TimerId ping_timer_ = 0;
  bool heard_ = false;
  bool ping_sent_ = false;
  // The frame or fragmented message now arriving must be complete by this timer.
  std::chrono::milliseconds message_timeout_;
  server::TimerId message_timer_ = 0;
};

}  // namespace sockit::websocket
