// CIDR address ranges (see address_range.hpp).
#include "sockit/address_range.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstring>
#include <optional>
#include <stdexcept>

namespace sockit {
namespace {

std::invalid_argument bad_range(std::string_view text, std::string_view why) {
  return std::invalid_argument("address range '" + std::string(text) + "': " + std::string(why));
}

std::optional<unsigned> parse_prefix(std::string_view digits, unsigned largest) {
  if (digits.empty() || digits.size() > 3) return std::nullopt;
  unsigned value = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + static_cast<unsigned>(c - '0');
  }
  if (value > largest) return std::nullopt;
  return value;
}

// The address's bytes, IPv4 (4) or IPv6 (16), in network order.
std::size_t address_bytes(const Address& address, std::array<std::uint8_t, 16>& out) {
  if (address.is_ipv4()) {
    const auto* sa = reinterpret_cast<const sockaddr_in*>(address.data());
    std::memcpy(out.data(), &sa->sin_addr, 4);
    return 4;
  }
  const auto* sa = reinterpret_cast<const sockaddr_in6*>(address.data());
  std::memcpy(out.data(), &sa->sin6_addr, 16);
  return 16;
}

bool prefix_matches(const std::uint8_t* a, const std::uint8_t* b, unsigned bits) noexcept {
  const unsigned whole = bits / 8;
  if (std::memcmp(a, b, whole) != 0) return false;
  const unsigned rest = bits % 8;
  if (rest == 0) return true;
  const auto mask = static_cast<std::uint8_t>(0xff << (8 - rest));
  return (a[whole] & mask) == (b[whole] & mask);
}

}  // namespace

AddressRange AddressRange::parse(std::string_view text) {
  AddressRange range;
  if (text == "unix") return range;
  const std::size_t slash = text.find('/');
  const std::string_view ip = text.substr(0, slash);
  const std::string literal(ip);
  if (literal.find('%') != std::string::npos) throw bad_range(text, "a scope is not allowed");
  if (inet_pton(AF_INET, literal.c_str(), range.bytes_.data()) == 1) {
    range.kind_ = Kind::ipv4;
    range.prefix_ = 32;
  } else if (inet_pton(AF_INET6, literal.c_str(), range.bytes_.data()) == 1) {
    range.kind_ = Kind::ipv6;
    range.prefix_ = 128;
  } else {
    throw bad_range(text, "not an IP address, CIDR range or 'unix'");
  }
  if (slash != std::string_view::npos) {
    const auto prefix = parse_prefix(text.substr(slash + 1), range.prefix_);
    if (!prefix) {
      throw bad_range(
          text, range.kind_ == Kind::ipv4 ? "prefix length not 0-32" : "prefix length not 0-128");
    }
    const std::size_t size = range.kind_ == Kind::ipv4 ? 4 : 16;
    for (std::size_t bit = *prefix; bit < size * 8; ++bit) {
      if ((range.bytes_[bit / 8] & (0x80 >> (bit % 8))) != 0) {
        throw bad_range(text, "bits set past the prefix length");
      }
    }
    range.prefix_ = *prefix;
  }
  return range;
}

std::vector<AddressRange> AddressRange::parse_list(std::string_view text) {
  std::vector<AddressRange> ranges;
  while (true) {
    const std::size_t comma = text.find(',');
    ranges.push_back(parse(text.substr(0, comma)));
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return ranges;
}

std::vector<AddressRange> AddressRange::loopback() {
  return {parse("127.0.0.0/8"), parse("::1"), parse("unix")};
}

bool AddressRange::contains(const Address& address) const noexcept {
  if (kind_ == Kind::unix_peer) return address.is_unix();
  if (!address.is_ip()) return false;
  std::array<std::uint8_t, 16> bytes{};
  std::size_t size = address_bytes(address, bytes);
  if (address.is_v4_mapped()) {
    std::memmove(bytes.data(), bytes.data() + 12, 4);
    size = 4;
  }
  if (size != (kind_ == Kind::ipv4 ? 4U : 16U)) return false;
  return prefix_matches(bytes.data(), bytes_.data(), prefix_);
}

std::string AddressRange::to_string() const {
  if (kind_ == Kind::unix_peer) return "unix";
  char text[INET6_ADDRSTRLEN] = {};
  inet_ntop(kind_ == Kind::ipv4 ? AF_INET : AF_INET6, bytes_.data(), text, sizeof text);
  return std::string(text) + "/" + std::to_string(prefix_);
}

bool contains_any(const std::vector<AddressRange>& ranges, const Address& address) noexcept {
  for (const AddressRange& range : ranges) {
    if (range.contains(address)) return true;
  }
  return false;
}

}  // namespace sockit
