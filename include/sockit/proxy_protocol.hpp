// The PROXY protocol (HAProxy's doc/proxy-protocol.txt), versions 1 (text) and 2 (binary):
// the header a load balancer puts before a connection's first byte to say who the client
// really is. Sans-I/O: parse_proxy_header looks at the bytes received so far and says
// whether they hold a whole header, could still become one, or never will; the encoders
// build the header a proxy sends upstream (HAProxy's send-proxy and send-proxy-v2).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "sockit/address.hpp"

namespace sockit {

// One type-length-value field of a version 2 header.
struct ProxyTlv {
  // Types the specification names (others are kept as they came).
  static constexpr std::uint8_t kAlpn = 0x01;
  static constexpr std::uint8_t kAuthority = 0x02;  // the host name the client asked for
  static constexpr std::uint8_t kCrc32c = 0x03;
  static constexpr std::uint8_t kNoop = 0x04;
  static constexpr std::uint8_t kUniqueId = 0x05;
  static constexpr std::uint8_t kSsl = 0x20;
  static constexpr std::uint8_t kNetns = 0x30;

  std::uint8_t type = 0;
  std::string value;

  friend bool operator==(const ProxyTlv&, const ProxyTlv&) = default;
};

struct ProxyHeader {
  int version = 1;  // 1 (text) or 2 (binary)
  // false: LOCAL (v2, a proxy's own connection, e.g. a health check) or UNKNOWN (v1): the
  // connection's own addresses stand and source/destination are empty.
  bool proxied = true;
  bool datagram = false;  // v2 only: the proxied connection was UDP or SOCK_DGRAM
  // The client as the proxy saw it, and the address it connected to (the proxy's listener).
  // IPv4, IPv6 or Unix; AF_UNSPEC when the proxy did not say.
  Address source;
  Address destination;
  std::vector<ProxyTlv> tlvs;  // v2 only, in the order sent

  // The first TLV of that type, if any.
  std::optional<std::string_view> tlv(std::uint8_t type) const;
};

struct ProxyParse {
  enum class Status {
    incomplete,  // a prefix of a header: wait for more bytes
    done,        // `header` holds it, and it took the first `size` bytes
    invalid,     // never a header: `error` says why
  };
  Status status = Status::incomplete;
  ProxyHeader header;
  std::size_t size = 0;
  std::string error;
};

// The longest header of each version: 107 bytes of text, and 16 + 65535 bytes of binary.
inline constexpr std::size_t kProxyV1MaxSize = 107;
inline constexpr std::size_t kProxyV2MaxSize = 16 + 65535;

// Looks at the first bytes of a connection. Only bytes that may still begin a header give
// `incomplete`, so garbage is refused at its first wrong byte and a v1 line at 107 bytes;
// a caller holds at most kProxyV2MaxSize bytes. A v2 header's CRC32C TLV, when present, is
// checked. The bytes after `size` belong to the connection itself.
ProxyParse parse_proxy_header(std::string_view bytes);

// "PROXY TCP4 src dst sport dport\r\n" (TCP6 when either address is IPv6, an IPv4 one then
// written v4-mapped), or "PROXY UNKNOWN\r\n" when either is not an IP address.
std::string proxy_header_v1(const Address& source, const Address& destination);
// The binary header, PROXY command, TCP (STREAM) over the addresses' family (UNSPEC when
// they are not both IP or both Unix), with `tlvs` after the addresses. Throws
// std::invalid_argument when the TLVs would pass the 65535-byte length.
std::string proxy_header_v2(const Address& source, const Address& destination,
                            std::span<const ProxyTlv> tlvs = {});
// The binary header with the LOCAL command: a proxy's own connection, e.g. a health check.
std::string proxy_header_v2_local();

// CRC-32C (Castagnoli), as the CRC32C TLV carries it.
std::uint32_t crc32c(std::string_view bytes, std::uint32_t crc = 0) noexcept;

}  // namespace sockit
