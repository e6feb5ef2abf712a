// The server's side of one WebSocket connection (see sockit/websocket/websocket_session.hpp).
#include "sockit/websocket/websocket_session.hpp"

#include <cstdint>

#include "sockit/websocket/protocol_error.hpp"
#include "sockit/websocket/utf8.hpp"

namespace sockit::websocket {
namespace {

// A close frame's reason holds 123 bytes; a longer one is cut at a character boundary.
std::string_view fit_reason(std::string_view reason) {
  constexpr std::size_t kMax = 123;
  if (reason.size() > kMax) {
    std::size_t end = kMax;
    while (end > 0 && (static_cast<std::uint8_t>(reason[end]) & 0xc0) == 0x80)
      --end;
    reason = reason.substr(0, end);
  }
  return is_valid_utf8(reason) ? reason : std::string_view();
}

}  // namespace

WebSocketSession::WebSocketSession(MessageLimits limits)
    : assembler_(Role::server, limits),
      idle_ping_(limits.idle_ping),
      message_timeout_(limits.message_timeout) {}

void WebSocketSession::on_open(server::Output& out) {
  if (idle_ping_.count() > 0) ping_timer_ = out.start_timer(idle_ping_);
  on_start(out);
}

void WebSocketSession::on_data(std::string_view bytes, server::Output& out) {
  heard_ = true;  // any byte, a pong or not, shows the peer is there
  // After our close frame, what the peer still sends is read and dropped until its EOF.
  if (close_sent_ || assembler_.closed()) return;
  try {
    while (!close_sent_ && !out.closing()) {
      const MessageResult r = assembler_.parse(bytes);
      bytes.remove_prefix(r.consumed);
      switch (r.event) {
        case MessageEvent::need_more:
          time_message(out);
          throttle(out);
          return;
        case MessageEvent::text:
          time_message(out);
          out.tally(server::Counter::messages_in);
          on_text(r.payload, out);
          break;
        case MessageEvent::binary:
          time_message(out);
          out.tally(server::Counter::messages_in);
          on_binary(r.payload, out);
          break;
        case MessageEvent::ping:
          send(Opcode::pong, r.payload, out);
          break;
        case MessageEvent::pong:
          break;
        case MessageEvent::close: {
          // Answer with the same code (1000 when the peer gave none), then end the TCP
          // connection: the server is the side that closes it (RFC 6455 section 7.1.1).
          const CloseCode code =
              r.close.code == CloseCode::no_status ? CloseCode::normal : r.close.code;
          report(r.close.code, r.close.reason);
          frame_.clear();
          writer_.append(frame_, Opcode::close, close_payload(code));
          out.write(frame_);
          close_sent_ = true;
          out.close();
          return;
        }
      }
    }
  } catch (const ProtocolError& e) {
    close(out, e.close_code(), e.detail());
  }
}

void WebSocketSession::throttle(server::Output& out) {
  if (!reading_paused_ && out.queued() > high_water) {
    reading_paused_ = true;
    out.set_reading(false);
  }
}

void WebSocketSession::on_drain(server::Output& out) {
  if (reading_paused_) {
    reading_paused_ = false;
    out.set_reading(true);
  }
}

void WebSocketSession::on_eof(server::Output& out) {
  report(CloseCode::abnormal, {});
  out.close();
}

void WebSocketSession::time_message(server::Output& out) {
  if (message_timeout_.count() == 0) return;
  const bool unfinished = !assembler_.between_messages();
  if (unfinished && message_timer_ == 0) {
    message_timer_ = out.start_timer(message_timeout_);
  } else if (!unfinished && message_timer_ != 0) {
    out.cancel_timer(message_timer_);
    message_timer_ = 0;
  }
}

void WebSocketSession::on_timer(server::TimerId id, server::Output& out) {
  if (id == close_timer_) {
    close_timer_ = 0;
    out.close();
    return;
  }
  if (id == message_timer_) {
    message_timer_ = 0;
    close(out, CloseCode::policy_violation, "message not finished in time");
    return;
  }
  if (id != ping_timer_) {
    on_app_timer(id, out);
    return;
  }
  ping_timer_ = 0;
  if (close_sent_ || out.closing()) return;
  if (heard_) {
    ping_sent_ = false;
  } else if (ping_sent_) {
    close(out, CloseCode::internal_error, "no answer to ping");
    return;
  } else {
    send(Opcode::ping, {}, out);
    ping_sent_ = true;
  }
  heard_ = false;
  ping_timer_ = out.start_timer(idle_ping_);
}

void WebSocketSession::on_close() {
  report(CloseCode::abnormal, {});
}

void WebSocketSession::send_text(std::string_view message, server::Output& out) {
  send(Opcode::text, message, out);
}

void WebSocketSession::send_binary(std::string_view message, server::Output& out) {
  send(Opcode::binary, message, out);
}

void WebSocketSession::send(Opcode opcode, std::string_view payload, server::Output& out) {
  if (close_sent_ || out.closing()) return;
  frame_.clear();
  writer_.append(frame_, opcode, payload);
  out.write(frame_);
}

void WebSocketSession::close(server::Output& out, CloseCode code, std::string_view reason) {
  if (close_sent_ || out.closing()) return;
  const std::string_view fitted = fit_reason(reason);
  report(code, fitted);
  frame_.clear();
  writer_.append(frame_, Opcode::close, close_payload(code, fitted));
  out.write(frame_);
  close_sent_ = true;
  // Our FIN follows the close frame; reading goes on, so the peer's unread bytes do not
  // turn our close into a reset that could destroy the close frame in flight.
  if (reading_paused_) {
    reading_paused_ = false;
    out.set_reading(true);
  }
  out.close_write();
  if (message_timer_ != 0) {
    out.cancel_timer(message_timer_);
    message_timer_ = 0;
  }
  close_timer_ = out.start_timer(close_timeout);
}

void WebSocketSession::report(CloseCode code, std::string_view reason) {
  if (reported_) return;
  reported_ = true;
  on_closed(code, reason);
}

}  // namespace sockit::websocket
