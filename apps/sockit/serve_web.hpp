// `sockit serve chat --web PORT`: the chat room's second door, a page and its WebSocket
// (sockit/http/chat_web.hpp) served on PORT by a reactor on a thread of its own, beside the
// TCP door's server, whatever its architecture: the room spans both through Peer handles.
#pragma once

#include <CLI/CLI.hpp>
#include <memory>
#include <string>
#include <vector>

#include "serve_tls.hpp"
#include "sockit/server/chat_service.hpp"
#include "sockit/server/server.hpp"

namespace sockit::cli {

struct WebServeOptions {
  int port = -1;                     // --web; -1: no web door
  std::vector<std::string> origins;  // --allow-origin
  bool enabled() const { return port >= 0; }
};

// Adds --web and --allow-origin to `sockit serve`.
void add_web_serve_options(CLI::App& serve, WebServeOptions& web);

// Throws CliError (usage) when --web or --allow-origin does not apply to `service`.
void check_web_options(const WebServeOptions& web, const std::string& service);

// Why a SIGUSR2 restart is refused while the web door is open (ServerOptions::restart_refused).
inline constexpr const char* kWebRestartRefused =
    "--web serves a second listener, which a restart would not hand over (stop and start the "
    "server instead)";

// The web door, bound at construction (it prints "web page on http://HOST:PORT/" to stderr)
// and served from start() until it is destroyed, which stops it and waits for its drain.
class ChatWebDoor {
 public:
  // `main` is the TCP door's options: the web door listens on its host and keeps its limits,
  // log level and drain; TLS (wss://) when `tls` is on. Throws what Server and wrap_tls throw.
  ChatWebDoor(std::shared_ptr<server::ChatService> chat, const WebServeOptions& web,
              const server::ServerOptions& main, const TlsServeOptions& tls);
  ChatWebDoor(const ChatWebDoor&) = delete;
  ChatWebDoor& operator=(const ChatWebDoor&) = delete;

  // Serves from a thread of its own; if the web door fails, the error is logged and `main`
  // is stopped, so the process does not serve one door silently.
  void start(server::Server& main);

 private:
  std::unique_ptr<server::Server> server_;
};

}  // namespace sockit::cli
