// The chat room's web door (`sockit serve chat --web PORT`): a small page at "/" (HTML, CSS
// and JavaScript compiled into the library, nothing fetched from elsewhere) that asks for a
// nickname and joins the room over a WebSocket at "/chat". Members who came in by TCP and by
// the page are in one room and see each other's lines, joins and leaves.
//   auto chat = std::make_shared<sockit::server::ChatService>();
//   auto web = std::make_shared<sockit::http::HttpService>(sockit::http::HttpOptions{});
//   sockit::http::add_chat_web(*web, chat);
//
// Over "/chat" the protocol is the TCP one with a text message for each line, without its
// "\n": the first message is the nickname, answered "Welcome to the chat, NICK" or with the
// refusal ("Nickname taken: ..."; after max_nick_attempts refusals the server closes with
// 1008); each later message is said to the room. A message holding several lines (split at
// "\n", a "\r" before it dropped) is said line by line, as a TCP client's would be. Binary
// messages are refused (1003). Lines from TCP members that are not valid UTF-8 reach the
// page with U+FFFD for each byte that does not fit.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "sockit/http/http_service.hpp"
#include "sockit/server/chat_service.hpp"
#include "sockit/websocket/message_assembler.hpp"

namespace sockit::http {

struct ChatWebOptions {
  // Origins the page may be loaded from (as browsers send them: "https://chat.example.com").
  // Empty: only the page's own origin, the host and port the browser reached this server by.
  std::vector<std::string> allowed_origins;
  websocket::MessageLimits limits{64 * 1024};
};

// The chat page at "/" and its WebSocket at "/chat", on `http`, joining `chat`'s room.
void add_chat_web(HttpService& http, std::shared_ptr<server::ChatService> chat,
                  ChatWebOptions options = {});

// The page itself: one HTML document with its style and script inline.
std::string_view chat_page() noexcept;

}  // namespace sockit::http
