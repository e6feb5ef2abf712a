// Address ranges in CIDR notation ("10.0.0.0/8", "2001:db8::/32", a single address, or
// "unix" for every Unix socket peer): who may do what, e.g. which peers may send a PROXY
// protocol header.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "sockit/address.hpp"

namespace sockit {

class AddressRange {
 public:
  // "192.168.0.0/16", "::1/128", "127.0.0.1" (a /32), "::1" (a /128) or "unix". Bits past
  // the prefix must be zero ("10.1.0.0/8" is refused: it says something other than it
  // means). Throws std::invalid_argument naming the text.
  static AddressRange parse(std::string_view text);
  // Comma-separated ranges, e.g. "127.0.0.0/8,::1,unix". Throws std::invalid_argument.
  static std::vector<AddressRange> parse_list(std::string_view text);
  // 127.0.0.0/8, ::1 and Unix sockets: this machine.
  static std::vector<AddressRange> loopback();

  // An IPv4 address in its v4-mapped IPv6 form (a dual-stack listener's peers) is matched
  // as the IPv4 address it is.
  bool contains(const Address& address) const noexcept;
  std::string to_string() const;

 private:
  enum class Kind : std::uint8_t { ipv4, ipv6, unix_peer };
  Kind kind_ = Kind::unix_peer;
  unsigned prefix_ = 0;
  std::array<std::uint8_t, 16> bytes_{};
};

bool contains_any(const std::vector<AddressRange>& ranges, const Address& address) noexcept;

}  // namespace sockit
