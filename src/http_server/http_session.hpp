// One HTTP/1.1 connection: parses requests off the byte stream, answers each in order
// (routes first, then the static files), streams large bodies as the peer takes them, and
// keeps the connection's deadlines (the head of a request, a kept-alive idle connection).
// An accepted WebSocket upgrade hands the connection to another session, which then gets
// every callback.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "sockit/file_descriptor.hpp"
#include "sockit/http/http_service.hpp"
#include "sockit/http/request_parser.hpp"
#include "sockit/server/session.hpp"
#include "sockit/server/token_bucket.hpp"

namespace sockit::http::detail {

class HttpSession : public server::Session {
 public:
  HttpSession(const HttpService& service, const server::ConnectionInfo& connection);

  void on_open(server::Output& out) override;
  void on_data(std::string_view bytes, server::Output& out) override;
  void on_eof(server::Output& out) override;
  void on_timer(server::TimerId id, server::Output& out) override;
  void on_drain(server::Output& out) override;
  void on_close() override;

 private:
  using Clock = std::chrono::steady_clock;

  // Parses and answers what `input` holds until a response must wait for the peer, the
  // connection ends, or more bytes are needed; keeps what it could not use in held_.
  void process(std::string_view input, server::Output& out);
  // The request head is complete: decides whether its body is kept and says 100 Continue.
  void on_head(server::Output& out);
  // The whole request is in: answers it.
  void respond(server::Output& out);
  // The request is an upgrade to a WebSocket route: refuses it (an answer, then close) or
  // writes the 101 and makes upgraded_ (http_upgrade.cpp).
  void upgrade(server::Output& out);
  // Answers from the routes or the files.
  void answer(const TargetPath& path, server::Output& out);
  void send(Response response, server::Output& out);
  void send_file(StaticAnswer answer, server::Output& out);
  // Sends a complete answer and ends the exchange.
  void send_whole(int status, const std::vector<std::pair<std::string, std::string>>& fields,
                  std::string_view body, server::Output& out);
  // Sends an error answer and closes the connection (the request cannot be trusted).
  void fail(int status, std::string_view detail, server::Output& out);
  // Writes the next pieces of a file or stream body while the peer keeps up.
  void pump(server::Output& out);
  // The response is fully written: logs it and moves on to the next request (or closes).
  void finish(server::Output& out);
  void arm_timer(server::Output& out, Clock::time_point now);
  bool keep_alive() const noexcept;

  const HttpService& service_;
  server::ConnectionInfo connection_;
  RequestParser parser_;
  server::TokenBucket bucket_;

  std::string held_;  // bytes received while a response was under way
  std::string body_;  // the current request's body, for a route
  bool keep_body_ = false;
  bool busy_ = false;  // a response is being written; later requests wait
  bool close_after_ = false;
  bool peer_eof_ = false;
  bool head_only_ = false;  // answering HEAD
  bool reading_paused_ = false;
  std::size_t requests_ = 0;
  // The current request's decoded path (none: a target that does not decode), and the
  // route that takes it, or the methods routed for that path when none matches.
  std::optional<TargetPath> path_;
  const Handler* route_ = nullptr;
  std::string allowed_;
  // The WebSocket route the current request asks to be upgraded to, and once accepted the
  // session the connection belongs to.
  const HttpService::WebSocketRoute* websocket_ = nullptr;
  std::unique_ptr<server::Session> upgraded_;

  // The body being written, when it was too large for one write.
  FileDescriptor file_;
  std::uint64_t file_offset_ = 0;
  std::uint64_t file_left_ = 0;
  std::function<std::string()> stream_;
  bool chunked_ = false;
  std::string chunk_;  // read buffer for file pieces

  int status_ = 0;               // of the response under way, for the log
  std::uint64_t body_sent_ = 0;  // its body bytes

  server::TimerId timer_ = 0;
  Clock::time_point timer_due_{};
  Clock::time_point head_started_{};  // first byte of a head still incomplete
  Clock::time_point idle_since_{};    // last response finished (or the connection opened)
  bool head_timing_ = false;
};

}  // namespace sockit::http::detail
