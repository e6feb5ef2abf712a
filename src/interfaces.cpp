// The machine's network interfaces and their addresses (getifaddrs).
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>

#include <array>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "sockit/address.hpp"
#include "sockit/error.hpp"

namespace sockit {

namespace {

// getifaddrs gives netmasks whose family field is not always filled in; the interface's
// own family says how many bytes are meaningful.
std::optional<Address> ip_sockaddr(const sockaddr* sa, int family) {
  if (sa == nullptr) return std::nullopt;
  if (family == AF_INET) {
    sockaddr_in v4{};
    std::memcpy(&v4, sa, sizeof v4);
    v4.sin_family = AF_INET;
    return Address(reinterpret_cast<const sockaddr*>(&v4), sizeof v4);
  }
  sockaddr_in6 v6{};
  std::memcpy(&v6, sa, sizeof v6);
  v6.sin6_family = AF_INET6;
  return Address(reinterpret_cast<const sockaddr*>(&v6), sizeof v6);
}

struct FlagName {
  unsigned bit;
  const char* name;
};

// In the order `ip link` and ifconfig print them. The last three come from <linux/if.h>,
// which clashes with <net/if.h>, so their values are spelled out.
constexpr std::array<FlagName, 19> kFlagNames{{
    {IFF_UP, "UP"},
    {IFF_BROADCAST, "BROADCAST"},
    {IFF_DEBUG, "DEBUG"},
    {IFF_LOOPBACK, "LOOPBACK"},
    {IFF_POINTOPOINT, "POINTOPOINT"},
    {IFF_NOTRAILERS, "NOTRAILERS"},
    {IFF_RUNNING, "RUNNING"},
    {IFF_NOARP, "NOARP"},
    {IFF_PROMISC, "PROMISC"},
    {IFF_ALLMULTI, "ALLMULTI"},
    {IFF_MASTER, "MASTER"},
    {IFF_SLAVE, "SLAVE"},
    {IFF_MULTICAST, "MULTICAST"},
    {IFF_PORTSEL, "PORTSEL"},
    {IFF_AUTOMEDIA, "AUTOMEDIA"},
    {IFF_DYNAMIC, "DYNAMIC"},
    {1U << 16, "LOWER_UP"},
    {1U << 17, "DORMANT"},
    {1U << 18, "ECHO"},
}};

}  // namespace

bool Interface::is_up() const noexcept {
  return (flags & IFF_UP) != 0;
}
bool Interface::is_loopback() const noexcept {
  return (flags & IFF_LOOPBACK) != 0;
}

std::string Interface::flags_string() const {
  std::string text;
  unsigned rest = flags;
  for (const auto& flag : kFlagNames) {
    if ((flags & flag.bit) == 0) continue;
    if (!text.empty()) text += ',';
    text += flag.name;
    rest &= ~flag.bit;
  }
  if (rest != 0) {
    std::array<char, 16> hex{};
    auto [end, ec] = std::to_chars(hex.data(), hex.data() + hex.size(), rest, 16);
    if (!text.empty()) text += ',';
    text += "0x";
    text.append(hex.data(), end);
  }
  return text;
}

std::vector<Interface> interfaces() {
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0) throw_errno("getifaddrs", "", errno);
  std::unique_ptr<ifaddrs, decltype(&::freeifaddrs)> guard(list, &::freeifaddrs);

  std::vector<Interface> result;
  for (const ifaddrs* ifa = list; ifa != nullptr; ifa = ifa->ifa_next) {
    if (ifa->ifa_addr == nullptr) continue;
    const int family = ifa->ifa_addr->sa_family;
    if (family != AF_INET && family != AF_INET6) continue;
    Interface entry;
    entry.name = ifa->ifa_name != nullptr ? ifa->ifa_name : "";
    entry.index = ::if_nametoindex(entry.name.c_str());
    entry.flags = ifa->ifa_flags;
    entry.address = *ip_sockaddr(ifa->ifa_addr, family);
    entry.netmask = ip_sockaddr(ifa->ifa_netmask, family);
    // ifa_broadaddr and ifa_dstaddr share storage; the flags say which one it is.
    if ((ifa->ifa_flags & IFF_BROADCAST) != 0) {
      entry.broadcast = ip_sockaddr(ifa->ifa_broadaddr, family);
    } else if ((ifa->ifa_flags & IFF_POINTOPOINT) != 0) {
      entry.destination = ip_sockaddr(ifa->ifa_dstaddr, family);
    }
    result.push_back(std::move(entry));
  }
  return result;
}

std::vector<Address> ip_address_list() {
  std::vector<Address> addresses;
  for (auto& entry : interfaces())
    addresses.push_back(std::move(entry.address));
  return addresses;
}

}  // namespace sockit
