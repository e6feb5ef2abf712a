// Typed socket options (Ruby: Socket::Option, setsockopt/getsockopt). Each option is a small
// value type that knows its level, name and native representation, so
//   sock.set(option::ReuseAddress{true});
//   auto idle = sock.get<option::KeepIdle>().value;   // std::chrono::seconds
// never passes a wrongly sized buffer to the kernel.
#pragma once

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <chrono>
#include <optional>
#include <string_view>
#include <system_error>

namespace sockit::option {

// An on/off option stored by the kernel as an int.
template <int Level, int Name>
struct Boolean {
  static constexpr int level = Level;
  static constexpr int name = Name;
  using native_type = int;
  bool value = false;
  native_type to_native() const noexcept { return value ? 1 : 0; }
  static Boolean from_native(native_type v) noexcept { return {v != 0}; }
};

// An integer option (buffer sizes, counts).
template <int Level, int Name>
struct Integer {
  static constexpr int level = Level;
  static constexpr int name = Name;
  using native_type = int;
  int value = 0;
  native_type to_native() const noexcept { return value; }
  static Integer from_native(native_type v) noexcept { return {v}; }
};

// An option in whole seconds stored as an int (TCP keep-alive timings).
template <int Level, int Name>
struct Seconds {
  static constexpr int level = Level;
  static constexpr int name = Name;
  using native_type = int;
  std::chrono::seconds value{0};
  native_type to_native() const noexcept { return static_cast<int>(value.count()); }
  static Seconds from_native(native_type v) noexcept { return {std::chrono::seconds{v}}; }
};

// SO_RCVTIMEO / SO_SNDTIMEO: a timeval; zero means "no timeout".
template <int Level, int Name>
struct Timeout {
  static constexpr int level = Level;
  static constexpr int name = Name;
  using native_type = timeval;
  std::chrono::microseconds value{0};
  native_type to_native() const noexcept {
    return timeval{static_cast<time_t>(value.count() / 1'000'000),
                   static_cast<suseconds_t>(value.count() % 1'000'000)};
  }
  static Timeout from_native(const native_type& v) noexcept {
    return {std::chrono::seconds{v.tv_sec} + std::chrono::microseconds{v.tv_usec}};
  }
};

using ReuseAddress = Boolean<SOL_SOCKET, SO_REUSEADDR>;
using ReusePort = Boolean<SOL_SOCKET, SO_REUSEPORT>;
using KeepAlive = Boolean<SOL_SOCKET, SO_KEEPALIVE>;
using Broadcast = Boolean<SOL_SOCKET, SO_BROADCAST>;
using OobInline = Boolean<SOL_SOCKET, SO_OOBINLINE>;
using AcceptConnections = Boolean<SOL_SOCKET, SO_ACCEPTCONN>;  // read-only
using ReceiveBuffer = Integer<SOL_SOCKET, SO_RCVBUF>;
using SendBuffer = Integer<SOL_SOCKET, SO_SNDBUF>;
using SocketType = Integer<SOL_SOCKET, SO_TYPE>;  // read-only: SOCK_STREAM, SOCK_DGRAM...
using ReceiveTimeout = Timeout<SOL_SOCKET, SO_RCVTIMEO>;
using SendTimeout = Timeout<SOL_SOCKET, SO_SNDTIMEO>;
using NoDelay = Boolean<IPPROTO_TCP, TCP_NODELAY>;
using KeepIdle = Seconds<IPPROTO_TCP, TCP_KEEPIDLE>;
using KeepInterval = Seconds<IPPROTO_TCP, TCP_KEEPINTVL>;
using KeepCount = Integer<IPPROTO_TCP, TCP_KEEPCNT>;
using V6Only = Boolean<IPPROTO_IPV6, IPV6_V6ONLY>;

// SO_LINGER: nullopt = off (close returns at once, data sent in the background);
// a duration = close blocks up to that long; zero = close resets the connection.
struct Linger {
  static constexpr int level = SOL_SOCKET;
  static constexpr int name = SO_LINGER;
  using native_type = linger;
  std::optional<std::chrono::seconds> value;
  native_type to_native() const noexcept {
    return linger{value ? 1 : 0, value ? static_cast<int>(value->count()) : 0};
  }
  static Linger from_native(const native_type& v) noexcept {
    if (v.l_onoff == 0) return {};
    return {std::chrono::seconds{v.l_linger}};
  }
};

// SO_ERROR (read-only, and reading clears it): the pending error, e.g. of a
// non-blocking connect.
struct PendingError {
  static constexpr int level = SOL_SOCKET;
  static constexpr int name = SO_ERROR;
  using native_type = int;
  std::error_code value;
  native_type to_native() const noexcept { return value.value(); }
  static PendingError from_native(native_type v) noexcept {
    return {std::error_code{v, std::system_category()}};
  }
};

// "SO_REUSEADDR", "TCP_NODELAY"...; "option <level>/<name>" for ones it does not know.
std::string_view name_of(int level, int name) noexcept;

}  // namespace sockit::option
