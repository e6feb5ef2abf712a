// TCP clients and servers: the address race of TcpSocket::connect (simplified RFC 8305), listeners
// with SO_REUSEADDR and dual-stack wildcards, tcp_server_sockets.
#include "sockit/tcp.hpp"

#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <string>
#include <utility>

#include "sockit/error.hpp"

namespace sockit {
namespace {

// "localhost:7777", "[::1]:7777": the target of messages about the whole connect.
std::string host_port(std::string_view host, std::string_view service) {
  std::string text;
  if (host.find(':') != std::string_view::npos) {
    text.append("[").append(host).append("]");
  } else {
    text.append(host);
  }
  return text.append(":").append(service);
}

bool has_errno(const Error& error, int err) noexcept {
  return error.code() == errno_code(err);
}

// RFC 8305 section 4: alternate the families, starting with the one getaddrinfo put first.
std::vector<Address> interleave_families(const std::vector<ResolvedAddress>& results) {
  std::vector<Address> first;
  std::vector<Address> second;
  for (const auto& result : results) {
    const Address& address = result.address;
    if (std::find(first.begin(), first.end(), address) != first.end() ||
        std::find(second.begin(), second.end(), address) != second.end()) {
      continue;  // /etc/hosts often lists a name twice
    }
    (address.family() == results.front().address.family() ? first : second).push_back(address);
  }
  std::vector<Address> order;
  order.reserve(first.size() + second.size());
  for (std::size_t i = 0; i < std::max(first.size(), second.size()); ++i) {
    if (i < first.size()) order.push_back(first[i]);
    if (i < second.size()) order.push_back(second[i]);
  }
  return order;
}

struct Attempt {
  Socket socket;
  Address address;
};

// Milliseconds from now until `when`, rounded up and clamped at zero, for poll(2).
int ms_until(Clock::time_point when) {
  auto left = std::chrono::ceil<std::chrono::milliseconds>(when - Clock::now()).count();
  return left < 0 ? 0 : static_cast<int>(std::min<long long>(left, 2'000'000'000));
}

TcpSocket race(std::span<const Address> addresses, const std::string& target,
               const ConnectOptions& options) {
  const Deadline deadline = options.timeout ? Deadline(*options.timeout) : Deadline::never();
  std::vector<Attempt> pending;
  std::vector<pollfd> polled;
  std::optional<Error> last_error;
  std::size_t next = 0;
  auto next_start = Clock::now();

  for (;;) {
    if (deadline.expired()) break;
    // Start the next attempt when nothing is pending or the current ones are slow.
    while (next < addresses.size() && (pending.empty() || Clock::now() >= next_start)) {
      const Address& address = addresses[next++];
      try {
        Socket socket(address.family(), SOCK_STREAM);
        if (socket.connect_nonblock(address) == ConnectStatus::connected) {
          socket.set_nonblocking(false);
          return TcpSocket(std::move(socket));
        }
        pending.push_back({std::move(socket), address});
        next_start = Clock::now() + options.attempt_delay;
        break;
      } catch (const Error& error) {
        last_error = error;  // e.g. no IPv6 on this machine: go on with the next address
      }
    }
    if (pending.empty()) break;  // every address has failed

    int timeout = deadline.poll_timeout_ms();
    if (next < addresses.size()) {
      int until_next = ms_until(next_start);
      timeout = timeout < 0 ? until_next : std::min(timeout, until_next);
    }
    polled.clear();
    for (const auto& attempt : pending)
      polled.push_back({attempt.socket.fd(), POLLOUT, 0});
    int ready = ::poll(polled.data(), polled.size(), timeout);
    if (ready < 0) {
      if (errno == EINTR) continue;
      throw_errno("poll", target, errno);
    }
    // Backwards, so erasing a failed attempt keeps the indexes of those still to check.
    for (std::size_t i = polled.size(); i-- > 0;) {
      if (polled[i].revents == 0) continue;
      std::error_code ec = pending[i].socket.finish_connect();
      if (!ec) {
        Socket winner = std::move(pending[i].socket);
        winner.set_nonblocking(false);
        return TcpSocket(std::move(winner));  // the losers close with `pending`
      }
      last_error = Error(ec, "connect", pending[i].address.to_string());
      pending.erase(pending.begin() + static_cast<std::ptrdiff_t>(i));
      next_start = Clock::now();  // a failure frees the turn of the next address at once
    }
  }

  if (deadline.expired() || !last_error) throw Error(errno_code(ETIMEDOUT), "connect", target);
  throw *last_error;
}

ResolveOptions stream_resolution(int family, bool passive) {
  ResolveOptions options;
  options.family = family;
  options.socktype = SOCK_STREAM;
  options.passive = passive;
  return options;
}

Socket open_listener(const Address& address, const ListenOptions& options,
                     std::optional<bool> v6only) {
  Socket socket(address.family(), SOCK_STREAM);
  if (options.reuse_address) socket.set(option::ReuseAddress{true});
  if (options.reuse_port) socket.set(option::ReusePort{true});
  if (address.is_ipv6() && v6only) socket.set(option::V6Only{*v6only});
  socket.bind(address);
  socket.listen(options.backlog);
  return socket;
}

// The errors that mean "this machine cannot have such an address", not "it is taken".
bool is_unavailable_family(const Error& error) noexcept {
  return has_errno(error, EAFNOSUPPORT) || has_errno(error, EADDRNOTAVAIL) ||
         has_errno(error, EPROTONOSUPPORT);
}

}  // namespace

TcpSocket TcpSocket::connect(std::string_view host, std::uint16_t port,
                             const ConnectOptions& options) {
  auto results = resolve(host, port, stream_resolution(options.family, false));
  return race(interleave_families(results), host_port(host, std::to_string(port)), options);
}

TcpSocket TcpSocket::connect(std::string_view host, std::string_view service,
                             const ConnectOptions& options) {
  ResolveOptions resolution = stream_resolution(options.family, false);
  auto results = resolve(host, service, resolution);
  return race(interleave_families(results), host_port(host, service), options);
}

TcpSocket TcpSocket::connect(std::span<const Address> addresses, const ConnectOptions& options) {
  if (addresses.empty()) {
    throw_error(errc::invalid_argument, "connect", "", "no address to connect to");
  }
  std::string target = addresses.front().to_string();
  if (addresses.size() > 1) target += " (+" + std::to_string(addresses.size() - 1) + " more)";
  return race(addresses, target, options);
}

TcpSocket TcpSocket::connect(const Address& address, Deadline deadline) {
  Socket socket(address.family(), SOCK_STREAM);
  socket.connect(address, deadline);
  return TcpSocket(std::move(socket));
}

void TcpSocket::set_no_delay(bool on) {
  set(option::NoDelay{on});
}

void TcpSocket::set_keepalive(const KeepAliveSettings& settings) {
  enable_keepalive(*this, settings);
}

TcpServer::TcpServer(std::string_view host, std::uint16_t port, const ListenOptions& options) {
  Socket& self = *this;
  if (host.empty() || host == "::") {
    try {
      self = open_listener(Address::any_ipv6(port), options, options.v6only.value_or(false));
      return;
    } catch (const Error& error) {
      if (!is_unavailable_family(error)) throw;
    }
    self = open_listener(Address::any_ipv4(port), options, std::nullopt);
    return;
  }
  std::optional<Error> last_error;
  for (const auto& result : resolve(host, port, stream_resolution(AF_UNSPEC, true))) {
    try {
      self = open_listener(result.address, options, options.v6only);
      return;
    } catch (const Error& error) {
      last_error = error;
    }
  }
  throw *last_error;  // resolve() throws rather than return nothing
}

TcpServer::TcpServer(const Address& address, const ListenOptions& options)
    : Socket(open_listener(address, options, options.v6only)) {}

std::uint16_t TcpServer::port() const {
  return local_address().port();
}

Address TcpServer::address() const {
  return local_address();
}

TcpAccepted TcpServer::accept(Deadline deadline) {
  Accepted accepted = Socket::accept(deadline);
  return {TcpSocket(std::move(accepted.socket)), accepted.peer};
}

std::optional<TcpAccepted> TcpServer::accept_nonblock() {
  auto accepted = Socket::accept_nonblock();
  if (!accepted) return std::nullopt;
  return TcpAccepted{TcpSocket(std::move(accepted->socket)), accepted->peer};
}

std::vector<TcpServer> tcp_server_sockets(std::string_view host, std::uint16_t port,
                                          const ListenOptions& options) {
  auto results = resolve(host, port, stream_resolution(AF_UNSPEC, true));
  std::vector<Address> addresses;
  for (const auto& result : results) {
    if (std::find(addresses.begin(), addresses.end(), result.address) == addresses.end()) {
      addresses.push_back(result.address);
    }
  }
  // Each family gets its own socket, so IPv6 ones must not also claim the IPv4 port.
  const bool v6only = options.v6only.value_or(true);

  // With port 0 the port the first socket got may be taken in another family: start over.
  constexpr int kRounds = 5;
  std::optional<Error> last_error;
  for (int round = 0; round < kRounds; ++round) {
    std::vector<TcpServer> servers;
    std::uint16_t chosen = port;
    bool start_over = false;
    for (const auto& address : addresses) {
      try {
        servers.emplace_back(open_listener(address.with_port(chosen), options, v6only));
        if (chosen == 0) chosen = servers.back().port();
      } catch (const Error& error) {
        last_error = error;
        if (is_unavailable_family(error)) continue;
        if (port == 0 && !servers.empty() && has_errno(error, EADDRINUSE)) {
          start_over = true;
          break;
        }
        throw;
      }
    }
    if (!start_over) {
      if (servers.empty()) throw *last_error;
      return servers;
    }
  }
  throw *last_error;
}

}  // namespace sockit
