// TCP clients and servers (Ruby: TCPSocket, TCPServer, Socket.tcp, Socket.tcp_server_sockets).
// TcpSocket::connect tries every resolved address, IPv6 and IPv4 interleaved, racing them in
// the simplified "Happy Eyeballs" way of RFC 8305; TcpServer binds with SO_REUSEADDR, picks a
// free port for port 0 and listens dual-stack on "" / "::" when the machine has IPv6.
#pragma once

#include <sys/socket.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <utility>
#include <vector>

#include "sockit/address.hpp"
#include "sockit/deadline.hpp"
#include "sockit/socket.hpp"

namespace sockit {

struct ConnectOptions {
  // Bound on the whole connect, resolution excluded; nullopt waits as long as the kernel
  // does. When it passes: Error "connect HOST:PORT: Connection timed out" (ETIMEDOUT).
  std::optional<std::chrono::milliseconds> timeout;
  // How long an attempt may stay pending before the next address is tried alongside it.
  std::chrono::milliseconds attempt_delay{250};
  // AF_INET or AF_INET6 to use one family only; AF_UNSPEC tries both.
  int family = AF_UNSPEC;
};

// A connected TCP stream. A Socket, so it goes wherever a Socket& is taken.
class TcpSocket : public Socket {
 public:
  TcpSocket() noexcept = default;
  // Takes over a connected (or accepted) stream socket.
  explicit TcpSocket(Socket&& socket) noexcept : Socket(std::move(socket)) {}

  // Resolves host and tries every address; the first connection made wins and the other
  // attempts are closed. The socket returned is in blocking mode. Throws the resolution
  // error ("resolve nosuch.invalid: Name or service not known") or the last connect error
  // ("connect 127.0.0.1:7777: Connection refused").
  [[nodiscard]] static TcpSocket connect(std::string_view host, std::uint16_t port,
                                         const ConnectOptions& options = {});
  // The same with a service name or number ("http", "8080").
  [[nodiscard]] static TcpSocket connect(std::string_view host, std::string_view service,
                                         const ConnectOptions& options = {});
  // Races already-resolved addresses, in the order given, the same way.
  [[nodiscard]] static TcpSocket connect(std::span<const Address> addresses,
                                         const ConnectOptions& options = {});
  // One address, no resolution. Throws Error("connect", address, ...).
  [[nodiscard]] static TcpSocket connect(const Address& address, Deadline deadline = {});

  // TCP_NODELAY: send small writes at once instead of coalescing them (Nagle).
  void set_no_delay(bool on = true);
  // SO_KEEPALIVE with the given timings (see sockit::enable_keepalive).
  void set_keepalive(const KeepAliveSettings& settings = {});
};

// What TcpServer::accept gives.
struct TcpAccepted {
  TcpSocket socket;
  Address peer;
};

struct ListenOptions {
  int backlog = SOMAXCONN;
  bool reuse_address = true;  // SO_REUSEADDR: rebind at once after a restart
  bool reuse_port = false;    // SO_REUSEPORT: several listeners share the port (hybrid servers)
  // IPV6_V6ONLY for IPv6 listeners: nullopt lets TcpServer decide (off for the dual-stack
  // wildcard, on in tcp_server_sockets so each family gets its own socket).
  std::optional<bool> v6only;
};

// A listening TCP socket.
class TcpServer : public Socket {
 public:
  TcpServer() noexcept = default;
  // host "" or "::": dual-stack wildcard (IPv4 clients appear as ::ffff:a.b.c.d) when IPv6
  // is available, else 0.0.0.0. Any other host is resolved and the first address that
  // binds is used. port 0 lets the kernel pick; port() tells which.
  // Throws e.g. "bind 0.0.0.0:7777: Address already in use".
  TcpServer(std::string_view host, std::uint16_t port, const ListenOptions& options = {});
  explicit TcpServer(const Address& address, const ListenOptions& options = {});
  // Takes over a socket that is already listening.
  explicit TcpServer(Socket&& listening) noexcept : Socket(std::move(listening)) {}

  std::uint16_t port() const;  // the bound port (the real one after port 0)
  Address address() const;     // the bound address

  // Blocks until a client connects; Error timed_out when the deadline passes first.
  TcpAccepted accept(Deadline deadline = {});
  // nullopt when nobody is waiting (see Socket::accept_nonblock).
  std::optional<TcpAccepted> accept_nonblock();
};

// One listening socket per address host resolves to (Ruby: Socket.tcp_server_sockets):
// host "" gives 0.0.0.0 and :: (IPv6 with IPV6_V6ONLY on). With port 0 the first socket
// picks a port and the others bind the same one. Addresses the machine cannot bind (no
// IPv6) are skipped as long as one socket is made; otherwise the last error is thrown.
std::vector<TcpServer> tcp_server_sockets(std::string_view host, std::uint16_t port,
                                          const ListenOptions& options = {});

}  // namespace sockit
