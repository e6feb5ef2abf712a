// sockit connect ws://...: the handshake, then one poll(2) loop relaying stdin lines as text
// messages and messages to stdout, answering pings, and ending with the close handshake.
#include "connect_websocket.hpp"

#include <fmt/core.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cli_support.hpp"
#include "relay.hpp"
#include "sockit/connect.hpp"
#include "sockit/http/response_parser.hpp"
#include "sockit/http/url.hpp"
#include "sockit/stream.hpp"
#include "sockit/tcp.hpp"
#include "sockit/tls/tls_transport.hpp"
#include "sockit/websocket/handshake.hpp"
#include "sockit/websocket/message_assembler.hpp"

namespace sockit::cli {
namespace {

using namespace std::chrono_literals;
using websocket::CloseCode;
using websocket::MessageEvent;
using websocket::Opcode;

// Output queued for the server above which stdin is not read until it drains.
constexpr std::size_t kHighWater = 1024 * 1024;
// How long the server has to answer our close frame.
constexpr auto kCloseWait = 5s;

std::string lower_prefix(std::string_view text, std::size_t n) {
  std::string prefix(text.substr(0, std::min(n, text.size())));
  std::transform(prefix.begin(), prefix.end(), prefix.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return prefix;
}

// The URL with its ws/wss scheme read as http/https, which it is for the handshake.
http::Url parse_websocket_url(std::string_view text) {
  const bool secure = lower_prefix(text, 6) == "wss://";
  const std::string http_form =
      (secure ? "https://" : "http://") + std::string(text.substr(secure ? 6 : 5));
  try {
    return http::parse_url(http_form);
  } catch (const std::exception& e) {
    usage_error(std::string("connect: ") + e.what());
  }
}

void write_all(Transport& transport, std::string_view bytes, Deadline deadline) {
  while (!bytes.empty()) {
    const IoResult r = transport.write_some(bytes);
    if (r.ok()) {
      bytes.remove_prefix(r.bytes);
    } else if (!transport.wait(Direction::write, deadline)) {
      failure("connect: " + transport.peer_name() + ": handshake timed out");
    }
  }
}

// Sends the upgrade request and reads the 101. Bytes after the head are the server's first
// frames: returned.
std::string handshake(Transport& transport, const http::Url& url, const std::string& origin,
                      Deadline deadline) {
  const websocket::ClientHandshake hs(url.authority(), url.target, websocket::system_random(),
                                      origin);
  write_all(transport, hs.request(), deadline);
  http::ResponseParser parser;
  std::vector<char> buffer(relay_buffer_size);
  std::string_view pending;
  for (;;) {
    const http::ParseResult r = parser.parse(pending);
    pending.remove_prefix(r.consumed);
    if (r.event == http::ParseEvent::head) break;
    const IoResult got = transport.read_some(buffer);
    if (got.eof()) failure("connect: " + transport.peer_name() + " closed during the handshake");
    if (got.would_block()) {
      if (!transport.wait(Direction::read, deadline)) {
        failure("connect: " + transport.peer_name() + ": no handshake answer in time");
      }
      continue;
    }
    pending = std::string_view(buffer.data(), got.bytes);
  }
  const http::ResponseHead& head = parser.head();
  if (head.status != 101) {
    failure(fmt::format("connect: {} refused the WebSocket upgrade: {} {}", url.authority(),
                        head.status, head.reason));
  }
  hs.verify(head);
  return std::string(pending);
}

class Client {
 public:
  Client(Transport& transport, bool verbose)
      : transport_(transport),
        verbose_(verbose),
        writer_(websocket::FrameWriter::client(websocket::system_random())),
        messages_(websocket::Role::client) {}

  void run(std::string_view first_bytes) {
    receive(first_bytes);
    std::vector<char> in(relay_buffer_size);
    std::vector<char> down(relay_buffer_size);
    while (!(close_received_ && close_sent_ && out_.empty())) {
      const bool read_stdin = stdin_open_ && !close_sent_ && out_.size() < kHighWater;
      pollfd fds[2] = {
          {transport_.fd(), static_cast<short>(POLLIN | (out_.empty() ? 0 : POLLOUT)), 0},
          {0, POLLIN, 0}};
      int timeout = -1;
      if (close_sent_) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            close_deadline_ - std::chrono::steady_clock::now());
        if (left <= 0ms) failure("connect: the server did not answer our close within 5 s");
        timeout = static_cast<int>(left.count());
      }
      if (::poll(fds, read_stdin ? 2 : 1, timeout) < 0 && errno != EINTR) {
        failure(std::string("poll: ") + std::strerror(errno));
      }
      if ((fds[0].revents & (POLLIN | POLLHUP | POLLERR)) != 0) read_server(down);
      if (read_stdin && (fds[1].revents & (POLLIN | POLLHUP | POLLERR)) != 0) read_stdin_once(in);
      flush();
    }
  }

 private:
  // Reads what the server sent (a TLS transport may hold more than the socket shows).
  void read_server(std::vector<char>& down) {
    for (;;) {
      const IoResult r = transport_.read_some(down);
      if (r.would_block()) return;
      if (r.eof()) {
        if (close_received_) return;
        failure("connect: " + transport_.peer_name() + " closed without a close frame (1006)");
      }
      receive(std::string_view(down.data(), r.bytes));
    }
  }

  void receive(std::string_view bytes) {
    while (!close_received_) {
      websocket::MessageResult r;
      try {
        r = messages_.parse(bytes);
      } catch (const websocket::ProtocolError& e) {
        // The server broke the protocol: say so to it and to the user.
        close(e.close_code(), e.what());
        flush();
        failure("connect: " + transport_.peer_name() + ": " + e.what());
      }
      bytes.remove_prefix(r.consumed);
      switch (r.event) {
        case MessageEvent::need_more:
          return;
        case MessageEvent::text:
          write_fd(1, std::string(r.payload) + "\n");
          break;
        case MessageEvent::binary:
          write_fd(1, r.payload);
          break;
        case MessageEvent::ping:
          writer_.append(out_, Opcode::pong, r.payload);
          break;
        case MessageEvent::pong:
          break;
        case MessageEvent::close:
          on_close(r.close);
          return;
      }
    }
  }

  void on_close(const websocket::CloseFrame& frame) {
    close_received_ = true;
    code_ = frame.code;
    reason_ = std::string(frame.reason);
    // Answer with the same code (RFC 6455 section 5.5.1), unless ours went first.
    if (!close_sent_) {
      close(frame.code == CloseCode::no_status ? CloseCode::normal : frame.code, {});
    }
    if (verbose_) {
      fmt::print(stderr, "sockit: the server closed: {}{}{}\n", static_cast<int>(code_),
                 reason_.empty() ? "" : " ", reason_);
    }
  }

  void close(CloseCode code, std::string_view reason) {
    if (close_sent_) return;
    writer_.append(out_, Opcode::close,
                   websocket::close_payload(
                       code, reason.substr(0, std::min<std::size_t>(reason.size(), 123))));
    close_sent_ = true;
    close_deadline_ = std::chrono::steady_clock::now() + kCloseWait;
  }

  void read_stdin_once(std::vector<char>& in) {
    ssize_t n = 0;
    do {
      n = ::read(0, in.data(), in.size());
    } while (n < 0 && errno == EINTR);
    if (n <= 0) {
      stdin_open_ = false;
      if (!line_.empty()) send_text(std::exchange(line_, {}));
      close(CloseCode::normal, {});
      return;
    }
    line_.append(in.data(), static_cast<std::size_t>(n));
    std::size_t start = 0;
    for (std::size_t end; (end = line_.find('\n', start)) != std::string::npos; start = end + 1) {
      std::string_view line(line_.data() + start, end - start);
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      send_text(line);
    }
    line_.erase(0, start);
  }

  void send_text(std::string_view line) { writer_.append(out_, Opcode::text, line); }

  void flush() {
    while (!out_.empty()) {
      const IoResult r = transport_.write_some(out_);
      if (!r.ok()) return;
      out_.erase(0, r.bytes);
    }
  }

 public:
  bool closed_normally() const noexcept {
    return code_ == CloseCode::normal || code_ == CloseCode::going_away ||
           code_ == CloseCode::no_status;
  }
  CloseCode code() const noexcept { return code_; }
  const std::string& reason() const noexcept { return reason_; }

 private:
  Transport& transport_;
  bool verbose_;
  websocket::FrameWriter writer_;
  websocket::MessageAssembler messages_;
  std::string out_;
  std::string line_;
  bool stdin_open_ = true;
  bool close_sent_ = false;
  bool close_received_ = false;
  std::chrono::steady_clock::time_point close_deadline_;
  CloseCode code_ = CloseCode::abnormal;
  std::string reason_;
};

}  // namespace

bool is_websocket_url(std::string_view text) noexcept {
  const std::string prefix = lower_prefix(text, 6);
  return prefix.starts_with("ws://") || prefix == "wss://";
}

void connect_websocket(const WebSocketConnectArgs& args) {
  const http::Url url = parse_websocket_url(args.url);
  const bool secure = url.is_https();
  std::optional<TlsContext> tls;
  if (secure || !args.tls.ca_file.empty() || args.tls.insecure) {
    tls = client_tls_context(args.tls, secure, "connect");
  }
  ConnectOptions options;
  if (args.timeout > 0) options.timeout = seconds(args.timeout);
  TcpSocket socket = TcpSocket::connect(url.host, url.port, options);
  if (args.verbose) fmt::print(stderr, "connected to {}\n", socket.remote_address().to_string());
  const Deadline deadline(args.timeout > 0 ? seconds(args.timeout) : std::chrono::seconds(30));
  std::unique_ptr<Transport> transport;
  if (tls) {
    auto secured = std::make_unique<TlsTransport>(socket, *tls, url.host);
    secured->handshake(deadline);
    if (args.verbose) fmt::print(stderr, "tls: {} {}\n", secured->protocol(), secured->cipher());
    transport = std::move(secured);
  } else {
    transport = std::make_unique<SocketTransport>(socket);
  }
  const std::string first = handshake(*transport, url, args.origin, deadline);
  if (args.verbose) fmt::print(stderr, "websocket: {} upgraded\n", url.target);
  Client client(*transport, args.verbose);
  client.run(first);
  if (!client.closed_normally()) {
    failure(fmt::format("connect: the server closed with {}{}{}", static_cast<int>(client.code()),
                        client.reason().empty() ? "" : ": ", client.reason()));
  }
}

}  // namespace sockit::cli
