// Option names for messages: "setsockopt SO_REUSEPORT: Protocol not available" reads
// better than a pair of numbers.
#include "sockit/options.hpp"

#include <cstdio>

namespace sockit::option {
namespace {

std::string_view socket_level_name(int name) noexcept {
  switch (name) {
    case SO_REUSEADDR:
      return "SO_REUSEADDR";
    case SO_REUSEPORT:
      return "SO_REUSEPORT";
    case SO_KEEPALIVE:
      return "SO_KEEPALIVE";
    case SO_BROADCAST:
      return "SO_BROADCAST";
    case SO_OOBINLINE:
      return "SO_OOBINLINE";
    case SO_ACCEPTCONN:
      return "SO_ACCEPTCONN";
    case SO_RCVBUF:
      return "SO_RCVBUF";
    case SO_SNDBUF:
      return "SO_SNDBUF";
    case SO_RCVBUFFORCE:
      return "SO_RCVBUFFORCE";
    case SO_SNDBUFFORCE:
      return "SO_SNDBUFFORCE";
    case SO_RCVLOWAT:
      return "SO_RCVLOWAT";
    case SO_SNDLOWAT:
      return "SO_SNDLOWAT";
    case SO_TYPE:
      return "SO_TYPE";
    case SO_DOMAIN:
      return "SO_DOMAIN";
    case SO_PROTOCOL:
      return "SO_PROTOCOL";
    case SO_RCVTIMEO:
      return "SO_RCVTIMEO";
    case SO_SNDTIMEO:
      return "SO_SNDTIMEO";
    case SO_LINGER:
      return "SO_LINGER";
    case SO_ERROR:
      return "SO_ERROR";
    case SO_DONTROUTE:
      return "SO_DONTROUTE";
    case SO_PRIORITY:
      return "SO_PRIORITY";
    case SO_PEERCRED:
      return "SO_PEERCRED";
    case SO_PASSCRED:
      return "SO_PASSCRED";
    case SO_BINDTODEVICE:
      return "SO_BINDTODEVICE";
    case SO_MARK:
      return "SO_MARK";
    case SO_TIMESTAMP:
      return "SO_TIMESTAMP";
    default:
      return {};
  }
}

std::string_view tcp_level_name(int name) noexcept {
  switch (name) {
    case TCP_NODELAY:
      return "TCP_NODELAY";
    case TCP_KEEPIDLE:
      return "TCP_KEEPIDLE";
    case TCP_KEEPINTVL:
      return "TCP_KEEPINTVL";
    case TCP_KEEPCNT:
      return "TCP_KEEPCNT";
    case TCP_MAXSEG:
      return "TCP_MAXSEG";
    case TCP_CORK:
      return "TCP_CORK";
    case TCP_QUICKACK:
      return "TCP_QUICKACK";
    case TCP_DEFER_ACCEPT:
      return "TCP_DEFER_ACCEPT";
    case TCP_INFO:
      return "TCP_INFO";
    case TCP_CONGESTION:
      return "TCP_CONGESTION";
    case TCP_USER_TIMEOUT:
      return "TCP_USER_TIMEOUT";
    case TCP_FASTOPEN:
      return "TCP_FASTOPEN";
    case TCP_NOTSENT_LOWAT:
      return "TCP_NOTSENT_LOWAT";
    default:
      return {};
  }
}

std::string_view ip_level_name(int name) noexcept {
  switch (name) {
    case IP_TOS:
      return "IP_TOS";
    case IP_TTL:
      return "IP_TTL";
    case IP_MULTICAST_IF:
      return "IP_MULTICAST_IF";
    case IP_MULTICAST_TTL:
      return "IP_MULTICAST_TTL";
    case IP_MULTICAST_LOOP:
      return "IP_MULTICAST_LOOP";
    case IP_ADD_MEMBERSHIP:
      return "IP_ADD_MEMBERSHIP";
    case IP_DROP_MEMBERSHIP:
      return "IP_DROP_MEMBERSHIP";
    case IP_PKTINFO:
      return "IP_PKTINFO";
    case IP_RECVERR:
      return "IP_RECVERR";
    case IP_FREEBIND:
      return "IP_FREEBIND";
    case IP_TRANSPARENT:
      return "IP_TRANSPARENT";
    default:
      return {};
  }
}

std::string_view ipv6_level_name(int name) noexcept {
  switch (name) {
    case IPV6_V6ONLY:
      return "IPV6_V6ONLY";
    case IPV6_UNICAST_HOPS:
      return "IPV6_UNICAST_HOPS";
    case IPV6_MULTICAST_IF:
      return "IPV6_MULTICAST_IF";
    case IPV6_MULTICAST_HOPS:
      return "IPV6_MULTICAST_HOPS";
    case IPV6_MULTICAST_LOOP:
      return "IPV6_MULTICAST_LOOP";
    case IPV6_JOIN_GROUP:
      return "IPV6_JOIN_GROUP";
    case IPV6_LEAVE_GROUP:
      return "IPV6_LEAVE_GROUP";
    case IPV6_RECVPKTINFO:
      return "IPV6_RECVPKTINFO";
    case IPV6_TCLASS:
      return "IPV6_TCLASS";
    default:
      return {};
  }
}

}  // namespace

std::string_view name_of(int level, int name) noexcept {
  std::string_view known;
  switch (level) {
    case SOL_SOCKET:
      known = socket_level_name(name);
      break;
    case IPPROTO_TCP:
      known = tcp_level_name(name);
      break;
    case IPPROTO_IP:
      known = ip_level_name(name);
      break;
    case IPPROTO_IPV6:
      known = ipv6_level_name(name);
      break;
    default:
      break;
  }
  if (!known.empty()) return known;
  // Unknown pairs are rare (error paths only); a per-thread buffer keeps this noexcept
  // and allocation-free. The view stays valid until the next unknown name on this thread.
  thread_local char buffer[48];
  int n = std::snprintf(buffer, sizeof buffer, "option %d/%d", level, name);
  return {buffer, n > 0 ? static_cast<std::size_t>(n) : 0};
}

}  // namespace sockit::option
