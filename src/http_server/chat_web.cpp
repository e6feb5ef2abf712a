// The chat room's web door (see sockit/http/chat_web.hpp): each WebSocket is one member of
// the room, and the room reaches it through a Peer that frames every line it sends.
#include "sockit/http/chat_web.hpp"

#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

#include "inline_page.hpp"
#include "sockit/websocket/frame_codec.hpp"
#include "sockit/websocket/utf8.hpp"
#include "sockit/websocket/websocket_session.hpp"

namespace sockit::http {
namespace {

// `text` with every byte that is not part of well-formed UTF-8 replaced by U+FFFD: a text
// frame must be UTF-8, and a TCP member may write Latin-1.
std::string as_utf8(std::string_view text) {
  if (websocket::is_valid_utf8(text)) return std::string(text);
  std::string clean;
  clean.reserve(text.size() + 8);
  while (!text.empty()) {
    const auto lead = static_cast<unsigned char>(text.front());
    std::size_t length = 1;
    if (lead >= 0xf0) {
      length = 4;
    } else if (lead >= 0xe0) {
      length = 3;
    } else if (lead >= 0xc0) {
      length = 2;
    }
    if (length <= text.size() && websocket::is_valid_utf8(text.substr(0, length))) {
      clean.append(text.substr(0, length));
      text.remove_prefix(length);
    } else {
      clean += "\xef\xbf\xbd";
      text.remove_prefix(1);
    }
  }
  return clean;
}

// One text frame holding `line` without its "\n".
std::string text_frame(std::string_view line) {
  if (!line.empty() && line.back() == '\n') line.remove_suffix(1);
  std::string frame;
  websocket::FrameWriter::server().append(frame, websocket::Opcode::text, as_utf8(line));
  return frame;
}

// How the room reaches a page: each line it sends becomes one text frame. Thread-safe as the
// connection's own Peer is.
class FramingPeer final : public server::Peer {
 public:
  explicit FramingPeer(std::shared_ptr<server::Peer> connection)
      : connection_(std::move(connection)) {}
  void send(std::string bytes) override { connection_->send(text_frame(bytes)); }
  void close() override { connection_->close(); }

 private:
  std::shared_ptr<server::Peer> connection_;
};

class ChatWebSocket final : public websocket::WebSocketSession {
 public:
  ChatWebSocket(const websocket::MessageLimits& limits,
                std::unique_ptr<server::ChatService::Member> member)
      : WebSocketSession(limits), member_(std::move(member)) {}

 private:
  // The page's side of the room, for one message's handling.
  class Connection final : public server::ChatConnection {
   public:
    Connection(ChatWebSocket& session, server::Output& out) : session_(session), out_(out) {}
    void reply(std::string_view line) override {
      if (!line.empty() && line.back() == '\n') line.remove_suffix(1);
      session_.send_text(line, out_);
    }
    void hang_up() override {
      session_.close(out_, websocket::CloseCode::policy_violation, "too many nickname attempts");
    }
    std::shared_ptr<server::Peer> peer() override {
      if (!session_.peer_) session_.peer_ = std::make_shared<FramingPeer>(out_.peer());
      return session_.peer_;
    }

   private:
    ChatWebSocket& session_;
    server::Output& out_;
  };

  void on_text(std::string_view message, server::Output& out) override {
    Connection connection(*this, out);
    for (;;) {
      const std::size_t end = message.find('\n');
      std::string_view line = message.substr(0, end);
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      member_->on_line(line, connection);
      if (end == std::string_view::npos || closing()) return;
      message.remove_prefix(end + 1);
    }
  }

  void on_binary(std::string_view message, server::Output& out) override {
    (void)message;
    close(out, websocket::CloseCode::unsupported_data, "the chat takes text messages only");
  }

  // Also when the page's close frame arrives: the member leaves before the answer goes out,
  // so the room sends it nothing after that.
  void on_closed(websocket::CloseCode code, std::string_view reason) override {
    (void)code;
    (void)reason;
    member_->leave();
  }

  std::unique_ptr<server::ChatService::Member> member_;
  std::shared_ptr<FramingPeer> peer_;
};

}  // namespace

void add_chat_web(HttpService& http, std::shared_ptr<server::ChatService> chat,
                  ChatWebOptions options) {
  if (!chat) throw std::invalid_argument("add_chat_web: no chat service given");
  http.route("GET", "/", [](const Request&) { return detail::inline_page(chat_page()); });
  websocket::ServerHandshakeOptions handshake;
  handshake.allowed_origins = std::move(options.allowed_origins);
  handshake.same_origin = true;
  http.websocket(
      "/chat",
      [chat = std::move(chat)](const Request&, const websocket::MessageLimits& limits) {
        return std::make_unique<ChatWebSocket>(limits, chat->member());
      },
      std::move(handshake), options.limits);
}

}  // namespace sockit::http
