// Addresses and name resolution: the Address value type (IPv4, IPv6, Unix path, abstract
// Unix), getaddrinfo returning *all* results, reverse lookup, service names and the
// machine's interfaces. Ruby: Addrinfo, Socket.getaddrinfo, Socket.ip_address_list,
// Socket.getifaddrs.
#pragma once

#include <sys/socket.h>

#include <compare>
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace sockit {

// A socket address by value. Copyable, comparable, hashable; printable as
// "127.0.0.1:7777", "[::1]:7777", "/run/app.sock" or "@abstract-name".
class Address {
 public:
  // An empty address (family AF_UNSPEC); prints as "(unspecified)".
  Address() noexcept;
  // From a kernel-filled sockaddr (accept, getsockname, recvfrom...). Throws Error
  // (invalid_argument) when `size` is larger than sockaddr_storage.
  Address(const sockaddr* sa, socklen_t size);

  // A numeric IPv4 or IPv6 literal ("127.0.0.1", "::1", "fe80::1%lo") and a port; no DNS.
  // Throws Error("parse address", text, invalid_argument) when it is not a literal.
  static Address parse(std::string_view ip, std::uint16_t port = 0);
  static std::optional<Address> try_parse(std::string_view ip, std::uint16_t port = 0) noexcept;
  // A Unix socket path; throws Error(invalid_argument) when longer than sun_path allows.
  static Address unix_path(std::string_view path);
  // A Linux abstract Unix socket name (no file; printed with a leading '@').
  static Address unix_abstract(std::string_view name);

  static Address any_ipv4(std::uint16_t port = 0);       // 0.0.0.0
  static Address any_ipv6(std::uint16_t port = 0);       // ::
  static Address loopback_ipv4(std::uint16_t port = 0);  // 127.0.0.1
  static Address loopback_ipv6(std::uint16_t port = 0);  // ::1

  int family() const noexcept;  // AF_INET, AF_INET6, AF_UNIX or AF_UNSPEC
  bool is_ipv4() const noexcept;
  bool is_ipv6() const noexcept;
  bool is_ip() const noexcept { return is_ipv4() || is_ipv6(); }
  bool is_unix() const noexcept;      // path or abstract
  bool is_abstract() const noexcept;  // abstract Unix name
  bool is_unspecified_family() const noexcept { return family() == AF_UNSPEC; }

  std::uint16_t port() const noexcept;          // 0 for non-IP addresses
  Address with_port(std::uint16_t port) const;  // non-IP addresses come back unchanged
  std::string ip() const;    // "127.0.0.1", "::1", "fe80::1%eth0"; empty for non-IP
  std::string path() const;  // Unix path, or abstract name without '@'; empty for IP

  // IP predicates (Ruby's Addrinfo#ipv4_loopback? etc. folded across both families).
  bool is_loopback() const noexcept;      // 127/8, ::1
  bool is_private() const noexcept;       // 10/8, 172.16/12, 192.168/16 (IPv4 only)
  bool is_unique_local() const noexcept;  // fc00::/7
  bool is_multicast() const noexcept;     // 224/4, ff00::/8
  bool is_link_local() const noexcept;    // 169.254/16, fe80::/10
  bool is_any() const noexcept;           // 0.0.0.0, ::
  bool is_v4_mapped() const noexcept;     // ::ffff:a.b.c.d
  bool is_v4_compat() const noexcept;     // ::a.b.c.d (deprecated form, excluding :: and ::1)
  // The IPv4 address inside a v4-mapped IPv6 address, or *this unchanged.
  Address unmap_v4() const;

  // "127.0.0.1:7777", "[::1]:7777", "/tmp/x.sock", "@name", "(unspecified)".
  std::string to_string() const;

  // Raw access for system calls.
  const sockaddr* data() const noexcept;
  sockaddr* data() noexcept;
  socklen_t size() const noexcept { return size_; }
  static constexpr socklen_t capacity() noexcept { return sizeof(sockaddr_storage); }
  // After a call filled data() with `size` bytes (accept, recvfrom...).
  void resize(socklen_t size);

  friend bool operator==(const Address& a, const Address& b) noexcept;
  friend std::strong_ordering operator<=>(const Address& a, const Address& b) noexcept;

 private:
  sockaddr_storage storage_;
  socklen_t size_;
};

std::ostream& operator<<(std::ostream& os, const Address& address);

// What getaddrinfo gives back for one result: Ruby's Addrinfo.
struct ResolvedAddress {
  Address address;
  int family = AF_UNSPEC;      // AF_INET / AF_INET6
  int socktype = 0;            // SOCK_STREAM / SOCK_DGRAM
  int protocol = 0;            // IPPROTO_TCP / IPPROTO_UDP
  std::string canonical_name;  // only on the first result, when asked for
};

struct ResolveOptions {
  int family = AF_UNSPEC;       // AF_INET, AF_INET6 or AF_UNSPEC for both
  int socktype = SOCK_STREAM;   // SOCK_STREAM, SOCK_DGRAM, or 0 for every type
  bool passive = false;         // AI_PASSIVE: empty host means the wildcard address
  bool numeric_host = false;    // AI_NUMERICHOST: never touch DNS
  bool canonical_name = false;  // AI_CANONNAME
};

// Resolves host and service ("80", "http") into every address getaddrinfo returns, in its
// order. An empty host means loopback (or the wildcard with passive). Throws
// Error("resolve", target, ...) e.g. "resolve nosuch.invalid: Name or service not known".
// The target is the host alone when the service is a number or empty, and
// "host:service" ("[::1]:http" for an IPv6 literal) when it is a name, since the name may
// be the cause. A numeric service above 65535 fails with errc::invalid_argument
// ("resolve HOST: port 70000 out of range (0-65535)") instead of being truncated.
// getaddrinfo's EAI_* codes use resolve_category(); EAI_SYSTEM becomes the errno it reports.
std::vector<ResolvedAddress> resolve(std::string_view host, std::string_view service,
                                     const ResolveOptions& options = {});
std::vector<ResolvedAddress> resolve(std::string_view host, std::uint16_t port,
                                     const ResolveOptions& options = {});
// Non-throwing form: empty result and `ec` set on failure.
std::vector<ResolvedAddress> resolve(std::string_view host, std::string_view service,
                                     const ResolveOptions& options, std::error_code& ec);

// Reverse lookup (getnameinfo with NI_NAMEREQD). Throws Error("reverse lookup", ip, ...).
std::string reverse_lookup(const Address& address);

// "http" -> 80; a numeric string is returned as its number. Throws Error("service", name,
// not_found) for an unknown name. protocol is "tcp" or "udp".
std::uint16_t service_port(std::string_view name, std::string_view protocol = "tcp");
// 80 -> "http"; the number as text when there is no name.
std::string service_name(std::uint16_t port, std::string_view protocol = "tcp");

// One address of one network interface (getifaddrs). Ruby: Socket.getifaddrs.
struct Interface {
  std::string name;    // "lo", "eth0"
  unsigned index = 0;  // if_nametoindex
  unsigned flags = 0;  // IFF_UP, IFF_LOOPBACK, IFF_MULTICAST...
  Address address;
  std::optional<Address> netmask;
  std::optional<Address> broadcast;    // IFF_BROADCAST interfaces
  std::optional<Address> destination;  // IFF_POINTOPOINT interfaces

  bool is_up() const noexcept;
  bool is_loopback() const noexcept;
  // Human flags, e.g. "UP,BROADCAST,RUNNING,MULTICAST".
  std::string flags_string() const;
};

// Every IPv4/IPv6 address of every interface, in getifaddrs order.
std::vector<Interface> interfaces();
// Just the addresses (Ruby: Socket.ip_address_list).
std::vector<Address> ip_address_list();

}  // namespace sockit

template <>
struct std::hash<sockit::Address> {
  std::size_t operator()(const sockit::Address& a) const noexcept;
};
