// UDP sockets: datagrams are received with MSG_TRUNC so the kernel tells their real size and a
// datagram larger than the buffer is reported instead of silently cut.
#include "sockit/udp.hpp"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "datagram_loop.hpp"
#include "sockit/error.hpp"
#include "sockit/poll.hpp"
#include "sockit/unix.hpp"

namespace sockit {
namespace {

ResolveOptions datagram_resolution(int family, bool passive) {
  ResolveOptions options;
  options.family = family;
  options.socktype = SOCK_DGRAM;
  options.passive = passive;
  return options;
}

// Local address for messages about receiving, without throwing while building one.
std::string local_or_empty(const Socket& socket) {
  try {
    return socket.local_address().to_string();
  } catch (const Error&) {
    return {};
  }
}

// One recvfrom with MSG_TRUNC, waiting for readability whatever the descriptor's mode.
Datagram receive(const Socket& socket, std::span<char> buffer, Deadline deadline,
                 const char* operation) {
  for (;;) {
    Address from;
    socklen_t size = Address::capacity();
    ssize_t n = ::recvfrom(socket.fd(), buffer.data(), buffer.size(), MSG_TRUNC | MSG_DONTWAIT,
                           from.data(), &size);
    if (n >= 0) {
      from.resize(size);
      auto real = static_cast<std::size_t>(n);
      return {real, from, real > buffer.size()};
    }
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) {
      throw_errno(operation, local_or_empty(socket), errno);
    }
    if (!wait_readable(socket, deadline)) {
      throw_error(errc::timed_out, operation, local_or_empty(socket));
    }
  }
}

DatagramMessage receive_string(const Socket& socket, std::size_t max_size, Deadline deadline,
                               const char* operation) {
  std::string data(max_size, '\0');
  Datagram datagram = receive(socket, data, deadline, operation);
  if (datagram.truncated) {
    throw_error(errc::datagram_truncated, operation, datagram.from.to_string(),
                "datagram truncated (" + std::to_string(datagram.size) + " bytes, buffer " +
                    std::to_string(max_size) + ")");
  }
  data.resize(datagram.size);
  return {std::move(data), datagram.from};
}

}  // namespace

UdpSocket::UdpSocket(int family) : Socket(family, SOCK_DGRAM) {}

UdpSocket UdpSocket::bound(std::string_view host, std::uint16_t port) {
  if (host.empty()) {
    UdpSocket socket(AF_INET);
    socket.Socket::bind(Address::any_ipv4(port));
    return socket;
  }
  std::optional<Error> last_error;
  for (const auto& result : resolve(host, port, datagram_resolution(AF_UNSPEC, true))) {
    try {
      UdpSocket socket(result.address.family());
      socket.Socket::bind(result.address);
      return socket;
    } catch (const Error& error) {
      last_error = error;
    }
  }
  throw *last_error;
}

UdpSocket UdpSocket::connected(std::string_view host, std::uint16_t port) {
  std::optional<Error> last_error;
  for (const auto& result : resolve(host, port, datagram_resolution(AF_UNSPEC, false))) {
    try {
      UdpSocket socket(result.address.family());
      socket.Socket::connect(result.address);
      return socket;
    } catch (const Error& error) {
      last_error = error;
    }
  }
  throw *last_error;
}

void UdpSocket::bind(std::string_view host, std::uint16_t port) {
  const int own = family();
  if (host.empty()) {
    Socket::bind(own == AF_INET6 ? Address::any_ipv6(port) : Address::any_ipv4(port));
    return;
  }
  Socket::bind(resolve(host, port, datagram_resolution(own, true)).front().address);
}

void UdpSocket::connect(std::string_view host, std::uint16_t port) {
  Socket::connect(resolve(host, port, datagram_resolution(family(), false)).front().address);
}

std::size_t UdpSocket::send_to(std::string_view data, const Address& to) {
  for (;;) {
    ssize_t n = ::sendto(fd(), data.data(), data.size(), MSG_NOSIGNAL, to.data(), to.size());
    if (n >= 0) return static_cast<std::size_t>(n);
    if (errno == EINTR) continue;
    if ((errno == EAGAIN || errno == EWOULDBLOCK) && wait_writable(*this)) continue;
    throw_errno("sendto", to.to_string(), errno);
  }
}

std::size_t UdpSocket::send_to(std::string_view data, std::string_view host, std::uint16_t port) {
  return send_to(data, resolve(host, port, datagram_resolution(family(), false)).front().address);
}

Datagram UdpSocket::recv_from(std::span<char> buffer, Deadline deadline) {
  return receive(*this, buffer, deadline, "recvfrom");
}

DatagramMessage UdpSocket::recv_from(std::size_t max_size, Deadline deadline) {
  return receive_string(*this, max_size, deadline, "recvfrom");
}

std::optional<Datagram> UdpSocket::recv_from_nonblock(std::span<char> buffer) {
  for (;;) {
    Address from;
    socklen_t size = Address::capacity();
    ssize_t n = ::recvfrom(fd(), buffer.data(), buffer.size(), MSG_TRUNC | MSG_DONTWAIT,
                           from.data(), &size);
    if (n >= 0) {
      from.resize(size);
      auto real = static_cast<std::size_t>(n);
      return Datagram{real, from, real > buffer.size()};
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return std::nullopt;
    throw_errno("recvfrom", local_or_empty(*this), errno);
  }
}

std::string UdpSocket::recv(std::size_t max_size, Deadline deadline) {
  return receive_string(*this, max_size, deadline, "recv").data;
}

void UdpSocket::set_broadcast(bool on) {
  set(option::Broadcast{on});
}

namespace detail {

void serve_datagrams(UdpSocket& socket, int stop_fd, Deadline until, std::span<char> buffer,
                     const std::function<void(const Datagram&)>& on_datagram,
                     const std::function<void(const Error&)>& on_receive_error) {
  for (;;) {
    if (until.expired()) return;
    pollfd fds[2] = {{socket.fd(), POLLIN, 0}, {stop_fd, POLLIN, 0}};
    const int ready = ::poll(fds, 2, until.poll_timeout_ms());
    if (ready < 0) {
      if (errno == EINTR) continue;
      throw_errno("poll", {}, errno);
    }
    if ((fds[1].revents & POLLIN) != 0) return;
    if (ready == 0) continue;
    for (int batch = 0; batch < 256; ++batch) {
      std::optional<Datagram> datagram;
      try {
        datagram = socket.recv_from_nonblock(buffer);
      } catch (const Error& e) {
        if (!on_receive_error) throw;
        on_receive_error(e);
        continue;
      }
      if (!datagram) break;
      on_datagram(*datagram);
    }
  }
}

}  // namespace detail

void serve_udp(UdpSocket& socket, const UdpHandler& handler, std::stop_token stop, Deadline until) {
  // The stop request reaches the loop as a readable eventfd, so poll(2) wakes at once.
  FileDescriptor wake(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!wake) throw_errno("eventfd", {}, errno);
  std::stop_callback on_stop(stop, [fd = wake.get()]() noexcept {
    const std::uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(fd, &one, sizeof one);
  });
  std::vector<char> buffer(UdpSocket::max_datagram + 1);
  detail::serve_datagrams(socket, wake.get(), until, buffer, [&](const Datagram& datagram) {
    if (datagram.truncated) return;  // no IP datagram exceeds the buffer
    const UdpReply reply(socket, datagram.from);
    handler(std::string_view(buffer.data(), datagram.size), datagram.from, reply);
  });
}

void serve_udp(UdpSocket& socket, const UdpHandler& handler, Deadline until) {
  serve_udp(socket, handler, std::stop_token{}, until);
}

}  // namespace sockit
