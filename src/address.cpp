// The Address value type: construction from literals and sockaddrs, predicates, printing,
// comparison and hashing.
#include "sockit/address.hpp"

#include <arpa/inet.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/un.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstring>
#include <memory>
#include <ostream>
#include <utility>

#include "concat.hpp"
#include "sockit/error.hpp"

namespace sockit {

using detail::concat;

namespace {

constexpr socklen_t kSunPathOffset = offsetof(sockaddr_un, sun_path);
constexpr std::size_t kSunPathCapacity = sizeof(sockaddr_un::sun_path);

const sockaddr_in& as_v4(const sockaddr_storage& s) {
  return *reinterpret_cast<const sockaddr_in*>(&s);
}
const sockaddr_in6& as_v6(const sockaddr_storage& s) {
  return *reinterpret_cast<const sockaddr_in6*>(&s);
}
const sockaddr_un& as_un(const sockaddr_storage& s) {
  return *reinterpret_cast<const sockaddr_un*>(&s);
}

std::uint32_t v4_host_order(const sockaddr_storage& s) {
  return ntohl(as_v4(s).sin_addr.s_addr);
}

const std::uint8_t* v6_bytes(const sockaddr_storage& s) {
  return as_v6(s).sin6_addr.s6_addr;
}

bool all_zero(const std::uint8_t* bytes, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) {
    if (bytes[i] != 0) return false;
  }
  return true;
}

std::string scope_text(std::uint32_t scope_id) {
  std::array<char, IF_NAMESIZE> name{};
  if (::if_indextoname(scope_id, name.data()) != nullptr) return name.data();
  return std::to_string(scope_id);
}

// The kind of Unix address, used to compare and hash by meaning rather than by the
// exact bytes a caller or the kernel happened to pass (with or without a trailing NUL).
enum class UnixKind { unnamed, path, abstract };

// What two addresses are compared on, in order: family, then (Unix) unnamed < path <
// abstract, then the address bytes, then port, then the IPv6 scope and flow label.
struct Key {
  int family = AF_UNSPEC;
  UnixKind unix_kind = UnixKind::unnamed;
  std::string_view bytes;
  std::uint32_t port = 0;
  std::uint32_t scope = 0;
  std::uint32_t flow = 0;
};

std::strong_ordering compare_bytes(std::string_view a, std::string_view b) {
  const int c = a.compare(b);
  if (c < 0) return std::strong_ordering::less;
  if (c > 0) return std::strong_ordering::greater;
  return std::strong_ordering::equal;
}

// The Unix name without the bytes that do not change its meaning (the trailing NUL of a
// path, anything after it). Points into the address; no allocation.
std::string_view unix_name(const Address& a) {
  const socklen_t size = a.size();
  if (size <= kSunPathOffset) return {};
  const char* sun_path = reinterpret_cast<const sockaddr_un*>(a.data())->sun_path;
  const std::size_t length = std::min<std::size_t>(size - kSunPathOffset, kSunPathCapacity);
  if (sun_path[0] == '\0') return {sun_path + 1, length - 1};
  return {sun_path, ::strnlen(sun_path, length)};
}

std::optional<Address> parse_numeric(std::string_view text, std::uint16_t port) {
  if (text.empty() || text.size() > INET6_ADDRSTRLEN + IF_NAMESIZE) return std::nullopt;
  const std::string literal(text);
  if (literal.find('\0') != std::string::npos) return std::nullopt;

  sockaddr_in v4{};
  if (::inet_pton(AF_INET, literal.c_str(), &v4.sin_addr) == 1) {
    v4.sin_family = AF_INET;
    v4.sin_port = htons(port);
    return Address(reinterpret_cast<const sockaddr*>(&v4), sizeof v4);
  }
  sockaddr_in6 v6{};
  if (::inet_pton(AF_INET6, literal.c_str(), &v6.sin6_addr) == 1) {
    v6.sin6_family = AF_INET6;
    v6.sin6_port = htons(port);
    return Address(reinterpret_cast<const sockaddr*>(&v6), sizeof v6);
  }
  // A scope id ("fe80::1%lo", "fe80::1%2"): inet_pton does not take it; getaddrinfo with
  // AI_NUMERICHOST does, and never touches DNS.
  if (literal.find('%') == std::string::npos) return std::nullopt;
  addrinfo hints{};
  hints.ai_family = AF_INET6;
  hints.ai_flags = AI_NUMERICHOST;
  addrinfo* list = nullptr;
  if (::getaddrinfo(literal.c_str(), nullptr, &hints, &list) != 0 || list == nullptr) {
    return std::nullopt;
  }
  std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> guard(list, &::freeaddrinfo);
  Address result(list->ai_addr, list->ai_addrlen);
  return result.with_port(port);
}

}  // namespace

// ---------------------------------------------------------------------------------------
// Address

Address::Address() noexcept : storage_{}, size_(0) {
  storage_.ss_family = AF_UNSPEC;
}

Address::Address(const sockaddr* sa, socklen_t size) : storage_{}, size_(0) {
  storage_.ss_family = AF_UNSPEC;
  if (size > capacity()) {
    throw_error(
        errc::invalid_argument, "address", "",
        concat({"sockaddr of ", std::to_string(size), " bytes is larger than sockaddr_storage"}));
  }
  if (sa != nullptr && size > 0) {
    std::memcpy(&storage_, sa, size);
    size_ = size;
  }
}

Address Address::parse(std::string_view ip, std::uint16_t port) {
  if (auto address = try_parse(ip, port)) return *address;
  throw_error(errc::invalid_argument, "parse address", ip, "not a numeric IPv4 or IPv6 address");
}

std::optional<Address> Address::try_parse(std::string_view ip, std::uint16_t port) noexcept {
  try {
    return parse_numeric(ip, port);
  } catch (...) {
    return std::nullopt;
  }
}

Address Address::unix_path(std::string_view path) {
  if (path.empty()) {
    throw_error(errc::invalid_argument, "unix address", path, "empty path");
  }
  if (path.find('\0') != std::string_view::npos) {
    throw_error(errc::invalid_argument, "unix address", path, "path contains a NUL byte");
  }
  // Room for the terminating NUL keeps the path printable and portable.
  if (path.size() >= kSunPathCapacity) {
    throw_error(errc::invalid_argument, "unix address", path,
                concat({"path longer than ", std::to_string(kSunPathCapacity - 1), " bytes"}));
  }
  sockaddr_un un{};
  un.sun_family = AF_UNIX;
  std::memcpy(un.sun_path, path.data(), path.size());
  return Address(reinterpret_cast<const sockaddr*>(&un),
                 static_cast<socklen_t>(kSunPathOffset + path.size() + 1));
}

Address Address::unix_abstract(std::string_view name) {
  if (name.size() >= kSunPathCapacity) {
    throw_error(
        errc::invalid_argument, "unix address", concat({"@", name}),
        concat({"abstract name longer than ", std::to_string(kSunPathCapacity - 1), " bytes"}));
  }
  sockaddr_un un{};
  un.sun_family = AF_UNIX;
  un.sun_path[0] = '\0';
  std::memcpy(un.sun_path + 1, name.data(), name.size());
  return Address(reinterpret_cast<const sockaddr*>(&un),
                 static_cast<socklen_t>(kSunPathOffset + 1 + name.size()));
}

Address Address::any_ipv4(std::uint16_t port) {
  return parse("0.0.0.0", port);
}
Address Address::any_ipv6(std::uint16_t port) {
  return parse("::", port);
}
Address Address::loopback_ipv4(std::uint16_t port) {
  return parse("127.0.0.1", port);
}
Address Address::loopback_ipv6(std::uint16_t port) {
  return parse("::1", port);
}

int Address::family() const noexcept {
  return size_ == 0 ? AF_UNSPEC : storage_.ss_family;
}

bool Address::is_ipv4() const noexcept {
  return family() == AF_INET && size_ >= sizeof(sockaddr_in);
}
bool Address::is_ipv6() const noexcept {
  return family() == AF_INET6 && size_ >= sizeof(sockaddr_in6);
}
bool Address::is_unix() const noexcept {
  return family() == AF_UNIX;
}
bool Address::is_abstract() const noexcept {
  return is_unix() && size_ > kSunPathOffset && as_un(storage_).sun_path[0] == '\0';
}

std::uint16_t Address::port() const noexcept {
  if (is_ipv4()) return ntohs(as_v4(storage_).sin_port);
  if (is_ipv6()) return ntohs(as_v6(storage_).sin6_port);
  return 0;
}

Address Address::with_port(std::uint16_t port) const {
  Address copy = *this;
  if (is_ipv4()) {
    reinterpret_cast<sockaddr_in*>(&copy.storage_)->sin_port = htons(port);
  } else if (is_ipv6()) {
    reinterpret_cast<sockaddr_in6*>(&copy.storage_)->sin6_port = htons(port);
  }
  return copy;
}

std::string Address::ip() const {
  std::array<char, INET6_ADDRSTRLEN> text{};
  if (is_ipv4()) {
    ::inet_ntop(AF_INET, &as_v4(storage_).sin_addr, text.data(), text.size());
    return text.data();
  }
  if (is_ipv6()) {
    const auto& v6 = as_v6(storage_);
    ::inet_ntop(AF_INET6, &v6.sin6_addr, text.data(), text.size());
    std::string result = text.data();
    if (v6.sin6_scope_id != 0) result += concat({"%", scope_text(v6.sin6_scope_id)});
    return result;
  }
  return {};
}

std::string Address::path() const {
  if (!is_unix()) return {};
  return std::string(unix_name(*this));
}

bool Address::is_loopback() const noexcept {
  if (is_ipv4()) return (v4_host_order(storage_) >> 24) == 127;
  if (is_ipv6()) {
    const auto* b = v6_bytes(storage_);
    return all_zero(b, 15) && b[15] == 1;
  }
  return false;
}

bool Address::is_private() const noexcept {
  if (!is_ipv4()) return false;
  const std::uint32_t a = v4_host_order(storage_);
  return (a & 0xFF000000U) == 0x0A000000U      // 10.0.0.0/8
         || (a & 0xFFF00000U) == 0xAC100000U   // 172.16.0.0/12
         || (a & 0xFFFF0000U) == 0xC0A80000U;  // 192.168.0.0/16
}

bool Address::is_unique_local() const noexcept {
  return is_ipv6() && (v6_bytes(storage_)[0] & 0xFE) == 0xFC;
}

bool Address::is_multicast() const noexcept {
  if (is_ipv4()) return (v4_host_order(storage_) >> 28) == 0xE;
  if (is_ipv6()) return v6_bytes(storage_)[0] == 0xFF;
  return false;
}

bool Address::is_link_local() const noexcept {
  if (is_ipv4()) return (v4_host_order(storage_) & 0xFFFF0000U) == 0xA9FE0000U;
  if (is_ipv6()) {
    const auto* b = v6_bytes(storage_);
    return b[0] == 0xFE && (b[1] & 0xC0) == 0x80;
  }
  return false;
}

bool Address::is_any() const noexcept {
  if (is_ipv4()) return v4_host_order(storage_) == 0;
  if (is_ipv6()) return all_zero(v6_bytes(storage_), 16);
  return false;
}

bool Address::is_v4_mapped() const noexcept {
  if (!is_ipv6()) return false;
  const auto* b = v6_bytes(storage_);
  return all_zero(b, 10) && b[10] == 0xFF && b[11] == 0xFF;
}

bool Address::is_v4_compat() const noexcept {
  if (!is_ipv6()) return false;
  const auto* b = v6_bytes(storage_);
  if (!all_zero(b, 12)) return false;
  // :: and ::1 are the unspecified and loopback addresses, not embedded IPv4 ones.
  return !(all_zero(b + 12, 3) && b[15] <= 1);
}

Address Address::unmap_v4() const {
  if (!is_v4_mapped()) return *this;
  sockaddr_in v4{};
  v4.sin_family = AF_INET;
  v4.sin_port = as_v6(storage_).sin6_port;
  std::memcpy(&v4.sin_addr, v6_bytes(storage_) + 12, 4);
  return Address(reinterpret_cast<const sockaddr*>(&v4), sizeof v4);
}

std::string Address::to_string() const {
  switch (family()) {
    case AF_UNSPEC:
      return "(unspecified)";
    case AF_INET:
      if (is_ipv4()) return concat({ip(), ":", std::to_string(port())});
      break;
    case AF_INET6:
      if (is_ipv6()) return concat({"[", ip(), "]:", std::to_string(port())});
      break;
    case AF_UNIX:
      if (size_ <= kSunPathOffset) return "(unnamed unix)";
      return is_abstract() ? concat({"@", path()}) : path();
    default:
      break;
  }
  return concat({"(family ", std::to_string(family()), ")"});
}

const sockaddr* Address::data() const noexcept {
  return reinterpret_cast<const sockaddr*>(&storage_);
}
sockaddr* Address::data() noexcept {
  return reinterpret_cast<sockaddr*>(&storage_);
}

void Address::resize(socklen_t size) {
  if (size > capacity()) {
    throw_error(errc::invalid_argument, "address", "",
                concat({"size ", std::to_string(size), " is larger than sockaddr_storage"}));
  }
  size_ = size;
}

namespace {

Key key_of(const Address& a) {
  Key key;
  key.family = a.family();
  if (a.is_ipv4()) {
    const auto* v4 = reinterpret_cast<const sockaddr_in*>(a.data());
    key.bytes = {reinterpret_cast<const char*>(&v4->sin_addr), 4};
    key.port = a.port();
  } else if (a.is_ipv6()) {
    const auto* v6 = reinterpret_cast<const sockaddr_in6*>(a.data());
    key.bytes = {reinterpret_cast<const char*>(v6->sin6_addr.s6_addr), 16};
    key.port = a.port();
    key.scope = v6->sin6_scope_id;
    key.flow = v6->sin6_flowinfo;
  } else if (a.is_unix()) {
    key.unix_kind = a.size() <= kSunPathOffset ? UnixKind::unnamed
                    : a.is_abstract()          ? UnixKind::abstract
                                               : UnixKind::path;
    key.bytes = unix_name(a);
  } else if (a.family() != AF_UNSPEC) {
    key.bytes = {reinterpret_cast<const char*>(a.data()), a.size()};
  }
  return key;
}

}  // namespace

std::strong_ordering operator<=>(const Address& a, const Address& b) noexcept {
  const Key ka = key_of(a);
  const Key kb = key_of(b);
  if (auto c = ka.family <=> kb.family; c != 0) return c;
  if (auto c = ka.unix_kind <=> kb.unix_kind; c != 0) return c;
  if (auto c = compare_bytes(ka.bytes, kb.bytes); c != 0) return c;
  if (auto c = ka.port <=> kb.port; c != 0) return c;
  if (auto c = ka.scope <=> kb.scope; c != 0) return c;
  return ka.flow <=> kb.flow;
}

bool operator==(const Address& a, const Address& b) noexcept {
  return (a <=> b) == 0;
}

std::ostream& operator<<(std::ostream& os, const Address& address) {
  return os << address.to_string();
}

}  // namespace sockit

std::size_t std::hash<sockit::Address>::operator()(const sockit::Address& a) const noexcept {
  // FNV-1a over the same fields operator== compares, so equal addresses hash alike.
  std::size_t h = 1469598103934665603ULL;
  auto mix = [&h](const void* data, std::size_t n) {
    const auto* p = static_cast<const unsigned char*>(data);
    for (std::size_t i = 0; i < n; ++i) {
      h ^= p[i];
      h *= 1099511628211ULL;
    }
  };
  const int family = a.family();
  mix(&family, sizeof family);
  if (a.is_ip()) {
    const std::uint16_t port = a.port();
    mix(&port, sizeof port);
    if (a.is_ipv4()) {
      mix(&reinterpret_cast<const sockaddr_in*>(a.data())->sin_addr, 4);
    } else {
      const auto* v6 = reinterpret_cast<const sockaddr_in6*>(a.data());
      mix(v6->sin6_addr.s6_addr, 16);
      mix(&v6->sin6_scope_id, sizeof v6->sin6_scope_id);
      mix(&v6->sin6_flowinfo, sizeof v6->sin6_flowinfo);
    }
  } else if (a.is_unix()) {
    const bool abstract = a.is_abstract();
    mix(&abstract, sizeof abstract);
    const std::string_view name = sockit::unix_name(a);
    mix(name.data(), name.size());
  } else if (family != AF_UNSPEC) {
    mix(a.data(), a.size());
  }
  return h;
}
