// `sockit serve chat --web PORT` (see serve_web.hpp).
#include "serve_web.hpp"

#include <fmt/core.h>

#include <exception>
#include <memory>
#include <string>
#include <utility>

#include "cli_support.hpp"
#include "sockit/http/chat_web.hpp"
#include "sockit/http/http_service.hpp"

namespace sockit::cli {

void add_web_serve_options(CLI::App& serve, WebServeOptions& web) {
  serve
      .add_option("--web", web.port,
                  "chat: also serve a chat page on this TCP port (0: the kernel picks; same "
                  "--host), whose visitors join the same room over a WebSocket at /chat "
                  "(thread, pool and event-loop architectures; SIGUSR2 restarts are refused)")
      ->check(CLI::Range(0, 65535));
  serve.add_option("--allow-origin", web.origins,
                   "chat --web: an origin the page may be loaded from (https://chat.example.com; "
                   "repeatable) [the page's own origin only]");
}

void check_web_options(const WebServeOptions& web, const std::string& service) {
  if (!web.enabled()) {
    if (!web.origins.empty()) usage_error("serve: --allow-origin applies to --web only");
    return;
  }
  if (service != "chat") {
    usage_error(fmt::format(
        "serve: --web is the chat service's (its page joins the chat room), not {}'s", service));
  }
}

ChatWebDoor::ChatWebDoor(std::shared_ptr<server::ChatService> chat, const WebServeOptions& web,
                         const server::ServerOptions& main, const TlsServeOptions& tls) {
  http::HttpOptions http_options;
  http_options.log_errors = main.log_level != server::LogLevel::quiet;
  auto page = std::make_shared<http::HttpService>(std::move(http_options));
  http::ChatWebOptions chat_options;
  chat_options.allowed_origins = web.origins;
  if (main.limits.max_line != 0) chat_options.limits.max_message = main.limits.max_line;
  http::add_chat_web(*page, std::move(chat), std::move(chat_options));

  server::ServerOptions options = main;
  options.architecture = server::Architecture::reactor;
  options.port = static_cast<std::uint16_t>(web.port);
  options.unix_path.clear();
  options.workers = 0;
  options.handle_signals = false;  // the TCP door's server handles them for the process
  options.announce = false;
  options.restart_refused.clear();
  server_ = std::make_unique<server::Server>(wrap_tls(page, tls, main.log_level), options);
  // Said even when quiet, as the listening line is: scripts read the port from it.
  fmt::print(stderr, "web page on {}://{}/\n", tls.enabled() ? "https" : "http",
             server_->local_address().to_string());
}

void ChatWebDoor::start(server::Server& main) {
  server_->start([&main](const std::exception& e) {
    fmt::print(stderr, "sockit: serve: web page: {}\n", e.what());
    main.stop();
  });
}

}  // namespace sockit::cli
