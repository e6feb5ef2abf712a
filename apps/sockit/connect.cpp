// sockit connect: netcat as a client. stdin goes to the socket, the socket to stdout; when
// stdin ends the write side is shut down (the peer sees EOF and may still answer), and the
// command exits 0 when the peer closes. A ws:// or wss:// URL speaks WebSocket instead
// (connect_websocket.hpp).
//   printf 'GET / HTTP/1.0\r\n\r\n' | sockit connect example.com 80
#include <fmt/core.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "cli_support.hpp"
#include "commands.hpp"
#include "connect_websocket.hpp"
#include "relay.hpp"
#include "sockit/connect.hpp"
#include "sockit/stream.hpp"
#include "sockit/tcp.hpp"
#include "sockit/tls/tls_transport.hpp"
#include "sockit/udp.hpp"
#include "sockit/unix.hpp"
#include "tls_client_options.hpp"

namespace sockit::cli {
namespace {

struct ConnectArgs {
  std::string host;
  std::string port;
  bool udp = false;
  std::string unix_path;
  double timeout = 0;  // seconds; 0: the kernel's own
  int retries = 0;
  double retry_delay = 1;
  double wait = 2;
  bool verbose = false;
  TlsClientArgs tls;   // --tls, --ca, --insecure
  std::string origin;  // ws:// and wss:// only
};

TcpSocket connect_tcp(const ConnectArgs& args, std::uint16_t port) {
  ConnectOptions options;
  if (args.timeout > 0) options.timeout = seconds(args.timeout);
  if (args.retries == 0) return TcpSocket::connect(args.host, port, options);

  RetryPolicy policy;
  policy.max_attempts = args.retries + 1;
  policy.initial_delay = seconds(args.retry_delay);
  if (options.timeout) policy.attempt_timeout = *options.timeout;
  policy.on_failure = [](const ConnectAttempt& attempt) {
    if (attempt.retry_in) {
      fmt::print(stderr, "sockit: attempt {} failed: {}; retrying in {} ms\n", attempt.attempt,
                 attempt.message, attempt.retry_in->count());
    }
  };
  return robust_connect(args.host, port, policy, options);
}

void run_connect(const ConnectArgs& args) {
  if (is_websocket_url(args.host)) {
    if (!args.port.empty()) usage_error("connect: a ws:// or wss:// URL takes no PORT");
    if (args.udp || !args.unix_path.empty() || args.retries > 0) {
      usage_error("connect: --udp, --unix and --retries do not apply to a WebSocket URL");
    }
    if (args.tls.tls) usage_error("connect: use wss:// for WebSocket over TLS, not --tls");
    connect_websocket({args.host, args.timeout, args.origin, args.verbose, args.tls});
    return;
  }
  if (!args.origin.empty()) usage_error("connect: --origin applies to ws:// and wss:// URLs");
  if (!args.unix_path.empty()) {
    if (args.tls.tls) usage_error("connect: --tls works over TCP only");
    if (args.udp) usage_error("connect: --unix and --udp exclude each other");
    if (!args.host.empty()) usage_error("connect: --unix takes no HOST or PORT");
    Deadline deadline;
    if (args.timeout > 0) deadline = Deadline(seconds(args.timeout));
    UnixSocket socket = UnixSocket::connect(args.unix_path, deadline);
    if (args.verbose) fmt::print(stderr, "connected to {}\n", args.unix_path);
    SocketTransport transport(socket);
    relay_stream(transport);
    return;
  }
  if (args.host.empty() || args.port.empty()) usage_error("connect: HOST and PORT are required");
  std::uint16_t port = parse_port(args.port, false, "connect");

  if (args.udp) {
    if (args.tls.tls) usage_error("connect: --tls works over TCP only");
    if (args.retries > 0) usage_error("connect: --retries applies to TCP only");
    UdpSocket socket = UdpSocket::connected(args.host, port);
    if (args.verbose) fmt::print(stderr, "sending to {}\n", socket.remote_address().to_string());
    relay_datagrams(socket, seconds(args.wait));
    return;
  }
  std::optional<TlsContext> tls;
  if (args.tls.tls || !args.tls.ca_file.empty() || args.tls.insecure) {
    tls = client_tls_context(args.tls, args.tls.tls, "connect");
  }
  TcpSocket socket = connect_tcp(args, port);
  if (args.verbose) fmt::print(stderr, "connected to {}\n", socket.remote_address().to_string());
  if (tls) {
    TlsTransport transport(socket, *tls, args.host);
    // A silent server must not hang the handshake forever, --timeout or not.
    transport.handshake(
        Deadline(args.timeout > 0 ? seconds(args.timeout) : std::chrono::seconds(30)));
    if (args.verbose) fmt::print(stderr, "tls: {} {}\n", transport.protocol(), transport.cipher());
    relay_stream(transport);
    return;
  }
  SocketTransport transport(socket);
  relay_stream(transport);
}

}  // namespace

void register_connect(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<ConnectArgs>();
  CLI::App* cmd = app.add_subcommand(
      "connect", "Connect to HOST PORT and relay stdin/stdout (netcat as a client)");
  cmd->add_option("host", args->host,
                  "Host name or address, or a ws:// or wss:// URL (WebSocket: a line of stdin "
                  "per text message)");
  cmd->add_option("port", args->port, "Port (1-65535)");
  cmd->add_flag("--udp,-u", args->udp, "Use UDP: each stdin read is one datagram");
  cmd->add_option("--unix,-U", args->unix_path, "Connect to this Unix socket path instead");
  cmd->add_option("--timeout,-w", args->timeout, "Connect timeout in seconds (0: the system's)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--retries", args->retries,
                  "Retry a failed connect this many times with exponential backoff "
                  "(refusals and unknown names fail at once)")
      ->check(CLI::Range(0, 100));
  cmd->add_option("--retry-delay", args->retry_delay, "First pause between retries, seconds")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->add_option("--wait", args->wait,
                  "UDP: after stdin ends, exit once no datagram came for this many seconds "
                  "(0: never)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->add_flag("--verbose,-v", args->verbose, "Say on stderr where it connected");
  add_tls_client_options(*cmd, args->tls, true);
  cmd->add_option("--origin", args->origin,
                  "WebSocket: send this Origin field, as a browser on that site would");
  cmd->footer(
      "\nWhen stdin ends, the write side is shut down (the peer sees EOF and can still\n"
      "answer); the command exits 0 once the peer closes.\n"
      "\nExample:\n"
      "  printf 'hello\\n' | sockit connect 127.0.0.1 7777\n"
      "  printf 'hello\\n' | sockit connect localhost 7777 --tls --ca localhost.crt\n"
      "  echo TIME | sockit connect --udp 127.0.0.1 3000\n"
      "  sockit connect --unix /run/app.sock < request.txt\n"
      "  sockit connect ws://127.0.0.1:8080/echo          # WebSocket: lines in, messages out\n"
      "  sockit connect wss://localhost:8443/chat --ca localhost.crt\n"
      "\nWith a WebSocket URL, each line of stdin is sent as one text message and each\n"
      "message received is printed on a line of its own; pings are answered. When stdin\n"
      "ends the client closes (1000) and exits 0 once the server answers; a server that\n"
      "closes with another code, or without a close frame, exits 1 with the reason.\n");
  cmd->callback([args, &exit_code] {
    run_connect(*args);
    exit_code = exit_ok;
  });
}

static const CommandRegistration connect_registration{20, register_connect};

}  // namespace sockit::cli
