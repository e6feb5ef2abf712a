// One HTTP/1.1 connection (see http_session.hpp).
#include "http_session.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <exception>
#include <optional>
#include <string>
#include <utility>

#include "access_log.hpp"
#include "response_head.hpp"
#include "sockit/server/server.hpp"
#include "sockit/websocket/handshake.hpp"

namespace sockit::http::detail {
namespace {

using server::Output;

// A file body goes out in pieces of this size, and no more is written while this much
// waits for the peer: a slow reader holds a quarter of a MiB, not the file.
constexpr std::size_t kPiece = 64 * 1024;
constexpr std::size_t kHighWater = 256 * 1024;
// The most one sendfile(2) is asked for, well below what the kernel takes in one call.
constexpr std::size_t kSendfileMax = 1 << 30;
// Pipelined bytes kept while a response is being written, before reading pauses.
constexpr std::size_t kMaxHeld = 64 * 1024;

// The path part of an absolute-form target ("http://host/x?y" -> "/x?y"), as a proxy
// would send it; origin-form targets come back unchanged.
std::string_view origin_form(std::string_view target) {
  const auto scheme_end = target.find("://");
  if (target.empty() || target.front() == '/' || scheme_end == std::string_view::npos) {
    return target;
  }
  const auto path = target.find('/', scheme_end + 3);
  return path == std::string_view::npos ? std::string_view("/") : target.substr(path);
}

RequestLimits limits_for(const HttpOptions& options, const server::SessionLimits& session) {
  RequestLimits limits = options.limits;
  if (session.max_line != 0) limits.max_request_line = session.max_line;
  return limits;
}

}  // namespace

HttpSession::HttpSession(const HttpService& service, const server::ConnectionInfo& connection)
    : service_(service),
      connection_(connection),
      parser_(limits_for(service.options(), connection.limits)),
      bucket_(connection.limits.rate_per_second) {}

void HttpSession::on_open(Output& out) {
  idle_since_ = Clock::now();
  arm_timer(out, idle_since_);
}

void HttpSession::on_data(std::string_view bytes, Output& out) {
  if (upgraded_) {
    upgraded_->on_data(bytes, out);
    return;
  }
  if (busy_) {
    held_.append(bytes);
    if (held_.size() > kMaxHeld && !reading_paused_) {
      out.set_reading(false);
      reading_paused_ = true;
    }
    return;
  }
  process(bytes, out);
}

void HttpSession::process(std::string_view input, Output& out) {
  std::string_view in = input;
  if (!held_.empty()) {
    held_.append(input);
    in = held_;
  }
  std::size_t used = 0;
  try {
    while (!busy_ && !out.closing() && !upgraded_) {
      const auto r = parser_.parse(in.substr(used));
      used += r.consumed;
      if (r.event == RequestEvent::need_more) break;
      if (r.event == RequestEvent::head) {
        on_head(out);
      } else if (r.event == RequestEvent::body) {
        if (keep_body_) body_.append(r.body);
      } else {
        respond(out);
      }
    }
  } catch (const RequestError& e) {
    fail(e.status(), e.detail(), out);
    return;
  }
  if (out.closing()) {
    held_.clear();
    return;
  }
  if (upgraded_) {
    // What came after the upgrade request is the WebSocket session's first input.
    std::string rest(in.substr(used));
    held_.clear();
    if (!rest.empty()) upgraded_->on_data(rest, out);
    return;
  }
  // What a response under way kept from being parsed waits for it.
  std::string rest(in.substr(used));
  held_ = std::move(rest);
  if (busy_) return;
  if (peer_eof_) {
    out.close();
    return;
  }
  if (parser_.head_started() && !head_timing_) {
    head_timing_ = true;
    head_started_ = Clock::now();
    if (timer_due_ > head_started_ + service_.options().header_timeout) {
      arm_timer(out, head_started_);
    }
  }
}

void HttpSession::on_head(Output& out) {
  head_timing_ = false;
  ++requests_;
  out.tally(server::Counter::messages_in);
  const RequestHead& head = parser_.head();
  head_only_ = head.method == "HEAD";
  path_.reset();
  route_ = nullptr;
  allowed_.clear();
  const std::string_view target = origin_form(head.target);
  if (target != "*") path_ = decode_target(target);
  if (path_) {
    route_ = service_.find_route(head.method, path_->path, &allowed_);
    if (route_ == nullptr && head_only_) route_ = service_.find_route("GET", path_->path, nullptr);
  }
  websocket_ = nullptr;
  if (path_ && head.method == "GET" && websocket::is_upgrade_request(head)) {
    websocket_ = service_.find_websocket(path_->path);
  }
  const bool has_body = parser_.chunked() || parser_.content_length().value_or(0) > 0;
  if (websocket_ != nullptr && has_body) {
    fail(400, "a WebSocket upgrade request with a body", out);
    return;
  }
  keep_body_ = route_ != nullptr && websocket_ == nullptr;
  if (has_body && head.expects_continue()) out.write("HTTP/1.1 100 Continue\r\n\r\n");
}

void HttpSession::respond(Output& out) {
  const RequestHead& head = parser_.head();
  close_after_ = !head.keep_alive() || requests_ >= service_.options().max_requests_per_connection;
  if (!bucket_.try_take()) {
    static const std::vector<std::pair<std::string, std::string>> retry = {
        {"Retry-After", "1"}, {"Content-Type", "text/html; charset=utf-8"}};
    send_whole(429, retry, error_page(429, "more requests per second than this server takes"), out);
    return;
  }
  if (!path_) {
    if (head.target == "*" && head.method == "OPTIONS") {
      static const std::vector<std::pair<std::string, std::string>> allow = {
          {"Allow", "GET, HEAD, OPTIONS"}};
      send_whole(204, allow, {}, out);
      return;
    }
    fail(400, "bad request target " + head.target, out);
    return;
  }
  if (websocket_ != nullptr) {
    upgrade(out);
    return;
  }
  if (route_ != nullptr) {
    Response response;
    try {
      response = (*route_)(Request{head, *path_, body_, connection_});
    } catch (const std::exception& e) {
      server::log_info("http: handler for " + head.request_line() + " failed: " + e.what());
      response = Response::error(500);
    }
    send(std::move(response), out);
    return;
  }
  if (!allowed_.empty()) {
    Response response = Response::error(405);
    response.header("Allow", allowed_);
    send(std::move(response), out);
    return;
  }
  if (const StaticFiles* files = service_.files()) {
    send_file(files->answer(head, *path_), out);
    return;
  }
  send(Response::error(404), out);
}

void HttpSession::send(Response response, Output& out) {
  if (!response.stream) {
    send_whole(response.status, response.headers, response.body, out);
    return;
  }
  const bool http10 = parser_.head().version_minor == 0;
  if (http10) close_after_ = true;
  HeadSpec spec;
  spec.status = response.status;
  spec.fields = &response.headers;
  spec.framing = http10 ? Framing::close : Framing::chunked;
  spec.keep_alive = keep_alive();
  spec.server_name = service_.options().server_name;
  std::string head;
  append_head(head, spec);
  out.write(head);
  status_ = response.status;
  if (head_only_) {
    finish(out);
    return;
  }
  stream_ = std::move(response.stream);
  chunked_ = !http10;
  busy_ = true;
  pump(out);
}

void HttpSession::send_file(StaticAnswer answer, Output& out) {
  if (!answer.file) {
    send_whole(answer.status, answer.headers, answer.body, out);
    return;
  }
  HeadSpec spec;
  spec.status = answer.status;
  spec.fields = &answer.headers;
  spec.length = answer.length;
  spec.keep_alive = keep_alive();
  spec.http10_client = parser_.head().version_minor == 0;
  spec.server_name = service_.options().server_name;
  std::string bytes;
  append_head(bytes, spec);
  status_ = answer.status;
  if (head_only_ || answer.length == 0) {
    out.write(bytes);
    finish(out);
    return;
  }
  // A small body goes out with its head in one write: one system call, and no small
  // second segment for Nagle's algorithm to hold behind the head until the peer's
  // delayed ACK (40 ms a request on the blocking architectures).
  if (answer.length <= kPiece) {
    const std::size_t head_size = bytes.size();
    bytes.resize(head_size + static_cast<std::size_t>(answer.length));
    std::size_t got = 0;
    while (got < answer.length) {
      const ssize_t n = ::pread(answer.file.get(), bytes.data() + head_size + got,
                                static_cast<std::size_t>(answer.length) - got,
                                static_cast<off_t>(answer.offset + got));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      got += static_cast<std::size_t>(n);
    }
    if (got == answer.length) {
      out.write(bytes);
      body_sent_ = got;
      finish(out);
      return;
    }
    bytes.resize(head_size);  // it shrank under us: the stream below finds out and closes
  }
  file_ = std::move(answer.file);
  file_offset_ = answer.offset;
  file_left_ = answer.length;
  busy_ = true;
  out.write(bytes);
  pump(out);
}

void HttpSession::send_whole(int status,
                             const std::vector<std::pair<std::string, std::string>>& fields,
                             std::string_view body, Output& out) {
  HeadSpec spec;
  spec.status = status;
  spec.fields = &fields;
  spec.length = body.size();
  spec.keep_alive = keep_alive();
  spec.http10_client = parser_.head_complete() && parser_.head().version_minor == 0;
  spec.server_name = service_.options().server_name;
  std::string bytes;
  bytes.reserve(256 + body.size());
  append_head(bytes, spec);
  if (!head_only_) {
    bytes.append(body);
    body_sent_ = body.size();
  }
  out.write(bytes);
  status_ = status;
  finish(out);
}

void HttpSession::fail(int status, std::string_view detail, Output& out) {
  close_after_ = true;
  head_only_ = false;
  std::vector<std::pair<std::string, std::string>> fields = {
      {"Content-Type", "text/html; charset=utf-8"}};
  const std::string page = error_page(status, detail);
  if (service_.options().log_errors) {
    server::log_info("http: " + connection_.peer.to_string() + ": " + std::to_string(status) + " " +
                     std::string(detail));
  }
  busy_ = false;
  file_.reset();
  stream_ = nullptr;
  send_whole(status, fields, page, out);
  held_.clear();
}

void HttpSession::pump(Output& out) {
  while (busy_ && !out.closing() && out.queued() < kHighWater) {
    if (file_) {
      if (file_left_ == 0) {
        file_.reset();
        finish(out);
        return;
      }
      // The kernel moves the bytes itself where the connection can (plain TCP on epoll),
      // as far as the socket takes them; the rest follows from on_drain.
      const auto ask = static_cast<std::size_t>(std::min<std::uint64_t>(kSendfileMax, file_left_));
      if (const std::optional<std::size_t> took = out.send_file(file_.get(), file_offset_, ask)) {
        file_offset_ += *took;
        file_left_ -= *took;
        body_sent_ += *took;
        if (*took < ask) return;
        continue;
      }
      chunk_.resize(static_cast<std::size_t>(std::min<std::uint64_t>(kPiece, file_left_)));
      const ssize_t n =
          ::pread(file_.get(), chunk_.data(), chunk_.size(), static_cast<off_t>(file_offset_));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        // The file shrank or failed under us: the length already promised cannot be kept,
        // and closing is the only honest end.
        server::log_info("http: " + parser_.head().request_line() + ": file ended early (" +
                         (n < 0 ? std::string(std::strerror(errno)) : "truncated") + ")");
        busy_ = false;
        file_.reset();
        out.close();
        return;
      }
      out.write(std::string_view(chunk_.data(), static_cast<std::size_t>(n)));
      file_offset_ += static_cast<std::uint64_t>(n);
      file_left_ -= static_cast<std::uint64_t>(n);
      body_sent_ += static_cast<std::uint64_t>(n);
    } else if (stream_) {
      std::string piece;
      try {
        piece = stream_();
      } catch (const std::exception& e) {
        server::log_info("http: body of " + parser_.head().request_line() + " failed: " + e.what());
        busy_ = false;
        stream_ = nullptr;
        out.close();
        return;
      }
      if (piece.empty()) {
        if (chunked_) out.write("0\r\n\r\n");
        stream_ = nullptr;
        finish(out);
        return;
      }
      body_sent_ += piece.size();
      if (chunked_) {
        char size[24];
        const int len = std::snprintf(size, sizeof size, "%zx\r\n", piece.size());
        piece.insert(0, size, static_cast<std::size_t>(len));
        piece += "\r\n";
      }
      out.write(piece);
    } else {
      finish(out);
      return;
    }
  }
}

void HttpSession::finish(Output& out) {
  if (AccessLog* log = service_.access_log()) {
    log->record(connection_.peer, parser_.head_complete() ? &parser_.head() : nullptr, status_,
                body_sent_);
  }
  status_ = 0;
  body_sent_ = 0;
  busy_ = false;
  file_.reset();
  stream_ = nullptr;
  parser_.reset();
  body_.clear();
  keep_body_ = false;
  route_ = nullptr;
  head_only_ = false;
  idle_since_ = Clock::now();
  if (close_after_) {
    out.close();
    return;
  }
  if (reading_paused_) {
    reading_paused_ = false;
    out.set_reading(true);
  }
}

bool HttpSession::keep_alive() const noexcept {
  return !close_after_;
}

void HttpSession::on_drain(Output& out) {
  if (upgraded_) {
    upgraded_->on_drain(out);
    return;
  }
  if (!busy_) return;
  pump(out);
  // The response just ended: requests that came in behind it are next.
  if (!busy_ && !out.closing()) process({}, out);
}

void HttpSession::on_eof(Output& out) {
  if (upgraded_) {
    upgraded_->on_eof(out);
    return;
  }
  peer_eof_ = true;
  if (!busy_) out.close();
}

void HttpSession::arm_timer(Output& out, Clock::time_point now) {
  if (timer_ != 0) out.cancel_timer(timer_);
  const auto& options = service_.options();
  Clock::time_point due = now + options.keep_alive_timeout;
  if (head_timing_) {
    due = head_started_ + options.header_timeout;
  } else if (!busy_ && !parser_.head_complete()) {
    due = idle_since_ + options.keep_alive_timeout;
  }
  timer_due_ = std::max(due, now);
  timer_ = out.start_timer(std::chrono::ceil<std::chrono::milliseconds>(timer_due_ - now));
}

// One timer per connection, moved lazily: it fires at the nearest deadline it knew of and
// re-arms for whatever deadline holds now, so a request costs no timer operation.
void HttpSession::on_timer(server::TimerId id, Output& out) {
  if (upgraded_) {
    upgraded_->on_timer(id, out);
    return;
  }
  if (id != timer_) return;
  timer_ = 0;
  const auto now = Clock::now();
  const auto& options = service_.options();
  if (head_timing_ && now >= head_started_ + options.header_timeout) {
    char limit[32];
    std::snprintf(limit, sizeof limit, "%.3g s",
                  std::chrono::duration<double>(options.header_timeout).count());
    fail(408, std::string("the request head did not arrive within ") + limit, out);
    return;
  }
  if (!busy_ && !head_timing_ && !parser_.head_complete() &&
      now >= idle_since_ + options.keep_alive_timeout) {
    out.close();
    return;
  }
  arm_timer(out, now);
}

void HttpSession::on_close() {
  if (upgraded_) upgraded_->on_close();
  file_.reset();
  stream_ = nullptr;
  if (AccessLog* log = service_.access_log()) {
    // A response cut short by the peer still happened; a forked child flushes now, since it
    // exits without running destructors.
    if (status_ != 0) {
      log->record(connection_.peer, parser_.head_complete() ? &parser_.head() : nullptr, status_,
                  body_sent_);
    }
    if (log->in_child()) log->flush();
  }
}

}  // namespace sockit::http::detail
