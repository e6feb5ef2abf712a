// UDP sockets (Ruby: UDPSocket, Socket.udp_server_loop). Receiving always asks the kernel
// for the datagram's real size (MSG_TRUNC), so a datagram larger than the buffer is
// reported, never silently cut.
#pragma once

#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <stop_token>
#include <string>
#include <string_view>
#include <utility>

#include "sockit/address.hpp"
#include "sockit/deadline.hpp"
#include "sockit/socket.hpp"

namespace sockit {

// One received datagram, its bytes in the caller's buffer.
struct Datagram {
  std::size_t size = 0;    // the datagram's real size, even when larger than the buffer
  Address from;            // the sender
  bool truncated = false;  // size > buffer: only the buffer's worth was kept
  std::size_t stored(std::size_t buffer_size) const noexcept {
    return size < buffer_size ? size : buffer_size;
  }
};

// A received datagram with its bytes.
struct DatagramMessage {
  std::string data;
  Address from;
};

class UdpSocket : public Socket {
 public:
  // The largest payload a UDP datagram can carry (over IPv4; IPv6 jumbograms aside).
  static constexpr std::size_t max_datagram = 65'507;

  UdpSocket() noexcept = default;
  // An unbound datagram socket of the family (AF_INET or AF_INET6).
  explicit UdpSocket(int family);
  explicit UdpSocket(Socket&& socket) noexcept : Socket(std::move(socket)) {}

  // A socket bound to host:port (port 0: the kernel picks; local_address() tells), its
  // family that of the first address host resolves to. host "" binds 0.0.0.0.
  [[nodiscard]] static UdpSocket bound(std::string_view host, std::uint16_t port);
  // A socket connected to host:port (first resolved address), ready for send/recv.
  [[nodiscard]] static UdpSocket connected(std::string_view host, std::uint16_t port);

  using Socket::bind;
  // Resolves host in this socket's family, binds the first result.
  void bind(std::string_view host, std::uint16_t port);
  using Socket::connect;
  // Sets the default destination (and filters incoming datagrams to that peer).
  void connect(std::string_view host, std::uint16_t port);

  // One datagram to `to`. Throws Error("sendto", to, ...), e.g. EMSGSIZE.
  std::size_t send_to(std::string_view data, const Address& to);
  std::size_t send_to(std::string_view data, std::string_view host, std::uint16_t port);

  // Waits for one datagram (Error timed_out when the deadline passes first). A datagram
  // larger than `buffer` is reported with truncated = true and its real size.
  Datagram recv_from(std::span<char> buffer, Deadline deadline = {});
  // Throws Error(errc::datagram_truncated) for a datagram over max_size, e.g.
  // "recvfrom 127.0.0.1:5000: datagram truncated (9000 bytes, buffer 512)".
  DatagramMessage recv_from(std::size_t max_size = max_datagram, Deadline deadline = {});
  // nullopt when no datagram is waiting.
  std::optional<Datagram> recv_from_nonblock(std::span<char> buffer);

  // Connected sockets: Socket::send sends one datagram; this receives one, as a string,
  // throwing errc::datagram_truncated like recv_from.
  using Socket::recv;
  std::string recv(std::size_t max_size, Deadline deadline = {});

  // SO_BROADCAST: allow sending to broadcast addresses.
  void set_broadcast(bool on = true);
};

// Answers the sender of the datagram being handled.
class UdpReply {
 public:
  UdpReply(UdpSocket& socket, const Address& to) noexcept : socket_(&socket), to_(&to) {}
  void operator()(std::string_view data) const { socket_->send_to(data, *to_); }
  const Address& to() const noexcept { return *to_; }

 private:
  UdpSocket* socket_;
  const Address* to_;
};

using UdpHandler =
    std::function<void(std::string_view data, const Address& from, const UdpReply& reply)>;

// Ruby's Socket.udp_server_loop for one socket: calls handler for every datagram until
// `stop` is requested (noticed at once) or `until` passes. Datagrams are received
// whole (up to max_datagram). Errors from the handler propagate.
void serve_udp(UdpSocket& socket, const UdpHandler& handler, std::stop_token stop,
               Deadline until = {});
void serve_udp(UdpSocket& socket, const UdpHandler& handler, Deadline until);

}  // namespace sockit
