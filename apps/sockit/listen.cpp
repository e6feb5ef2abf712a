// sockit listen: netcat -l. Waits for one connection, relays stdin/stdout with it and exits
// when it closes; --keep-open serves one connection after another. Prints "listening on
// HOST:PORT" to stderr once ready, with the real port, so `sockit listen 0` is scriptable.
//   sockit listen 9000 > received.bin
#include <fmt/core.h>

#include <cstdio>
#include <memory>
#include <string>

#include "cli_support.hpp"
#include "commands.hpp"
#include "relay.hpp"
#include "sockit/error.hpp"
#include "sockit/stream.hpp"
#include "sockit/tcp.hpp"
#include "sockit/udp.hpp"
#include "sockit/unix.hpp"

namespace sockit::cli {
namespace {

struct ListenArgs {
  std::string port;
  std::string host = "127.0.0.1";
  bool udp = false;
  bool keep_open = false;
  std::string unix_path;
  double wait = 0;
  bool verbose = false;
};

void announce(const std::string& where) {
  fmt::print(stderr, "listening on {}\n", where);
  std::fflush(stderr);
}

// Relays one accepted connection; with --keep-open a failed connection is reported and
// the next one is served, since one client's reset should not stop the listener.
template <class Accepted>
void serve_connection(Accepted& accepted, const ListenArgs& args) {
  if (args.verbose) fmt::print(stderr, "connection from {}\n", accepted.peer.to_string());
  SocketTransport transport(accepted.socket);
  if (!args.keep_open) {
    relay_stream(transport);
    return;
  }
  try {
    relay_stream(transport);
  } catch (const Error& e) {
    fmt::print(stderr, "sockit: {}\n", e.what());
  }
}

void listen_udp(const ListenArgs& args, std::uint16_t port) {
  UdpSocket socket = UdpSocket::bound(args.host, port);
  announce(socket.local_address().to_string());
  // Like nc -u -l: the first sender becomes the peer that stdin is sent to.
  std::string first(relay_buffer_size, '\0');
  Datagram datagram = socket.recv_from(std::span<char>(first.data(), first.size()));
  if (args.verbose) fmt::print(stderr, "datagrams from {}\n", datagram.from.to_string());
  write_fd(1, std::string_view(first.data(), datagram.stored(first.size())));
  socket.connect(datagram.from);
  relay_datagrams(socket, seconds(args.wait));
}

void run_listen(const ListenArgs& args) {
  if (!args.unix_path.empty()) {
    if (args.udp) usage_error("listen: --unix and --udp exclude each other");
    if (!args.port.empty()) usage_error("listen: --unix takes no PORT");
    UnixServer server(args.unix_path);
    announce(server.path());
    do {
      UnixAccepted accepted = server.accept();
      serve_connection(accepted, args);
    } while (args.keep_open);
    return;
  }
  if (args.port.empty()) usage_error("listen: PORT is required (0 lets the kernel pick)");
  std::uint16_t port = parse_port(args.port, /*allow_zero=*/true, "listen");
  if (args.udp) {
    if (args.keep_open) usage_error("listen: --keep-open applies to TCP and Unix sockets");
    listen_udp(args, port);
    return;
  }
  TcpServer server(args.host, port);
  announce(server.address().to_string());
  do {
    TcpAccepted accepted = server.accept();
    serve_connection(accepted, args);
  } while (args.keep_open);
}

}  // namespace

void register_listen(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<ListenArgs>();
  CLI::App* cmd = app.add_subcommand(
      "listen", "Wait for a connection on PORT and relay stdin/stdout (netcat -l)");
  cmd->add_option("port", args->port, "Port to listen on; 0 lets the kernel pick");
  cmd->add_option("--host", args->host, "Address to listen on (0.0.0.0 or :: exposes it)")
      ->capture_default_str();
  cmd->add_flag("--udp,-u", args->udp, "Use UDP; the first sender becomes the peer");
  cmd->add_flag("--keep-open,-k", args->keep_open,
                "After a connection closes, wait for the next one");
  cmd->add_option("--unix,-U", args->unix_path, "Listen on this Unix socket path instead");
  cmd->add_option("--wait", args->wait,
                  "UDP: after stdin ends, exit once no datagram came for this many seconds "
                  "(0: never)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->add_flag("--verbose,-v", args->verbose, "Say on stderr who connected");
  cmd->footer(
      "\nPrints \"listening on HOST:PORT\" to stderr when ready (the real port with 0).\n"
      "\nExample:\n"
      "  sockit listen 9000 > received.txt      # then: sockit connect 127.0.0.1 9000 < file\n"
      "  sockit listen --keep-open 0 < greeting.txt\n");
  cmd->callback([args, &exit_code] {
    run_listen(*args);
    exit_code = exit_ok;
  });
}

static const CommandRegistration listen_registration{21, register_listen};

}  // namespace sockit::cli
