// The PROXY protocol header, both versions: parsing what a balancer sent (refusing garbage
// at its first wrong byte) and building what a proxy sends upstream.
#include "sockit/proxy_protocol.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/un.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <stdexcept>

namespace sockit {
namespace {

constexpr std::string_view kV1Prefix = "PROXY ";
constexpr std::string_view kV2Signature{"\r\n\r\n\0\r\nQUIT\n", 12};
constexpr std::size_t kV2HeadSize = 16;
constexpr std::size_t kUnixPathSize = 108;

enum : std::uint8_t { kLocal = 0x0, kProxy = 0x1 };
enum : std::uint8_t { kUnspec = 0x0, kInet = 0x1, kInet6 = 0x2, kUnix = 0x3 };
enum : std::uint8_t { kStream = 0x1, kDgram = 0x2 };

ProxyParse incomplete() {
  return {};
}

ProxyParse invalid(std::string error) {
  ProxyParse result;
  result.status = ProxyParse::Status::invalid;
  result.error = std::move(error);
  return result;
}

bool is_prefix_of(std::string_view bytes, std::string_view whole) {
  return whole.substr(0, bytes.size()) == bytes.substr(0, std::min(bytes.size(), whole.size()));
}

std::uint16_t be16(const char* p) {
  return static_cast<std::uint16_t>((static_cast<unsigned char>(p[0]) << 8) |
                                    static_cast<unsigned char>(p[1]));
}

std::uint32_t be32(const char* p) {
  return (std::uint32_t{be16(p)} << 16) | be16(p + 2);
}

void put16(std::string& out, std::size_t value) {
  out.push_back(static_cast<char>((value >> 8) & 0xff));
  out.push_back(static_cast<char>(value & 0xff));
}

// ---- version 1 ----

std::optional<std::uint16_t> parse_port(std::string_view text) {
  if (text.empty() || text.size() > 5) return std::nullopt;
  unsigned value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + static_cast<unsigned>(c - '0');
  }
  if (value > 65535) return std::nullopt;
  return static_cast<std::uint16_t>(value);
}

// A literal of exactly that family: inet_pton takes no scope ("%eth0") and no names.
std::optional<Address> parse_ip(int family, std::string_view text, std::uint16_t port) {
  if (text.empty() || text.size() >= INET6_ADDRSTRLEN) return std::nullopt;
  const std::string literal(text);
  if (family == AF_INET) {
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    if (inet_pton(AF_INET, literal.c_str(), &sa.sin_addr) != 1) return std::nullopt;
    return Address(reinterpret_cast<const sockaddr*>(&sa), sizeof sa);
  }
  sockaddr_in6 sa{};
  sa.sin6_family = AF_INET6;
  sa.sin6_port = htons(port);
  if (inet_pton(AF_INET6, literal.c_str(), &sa.sin6_addr) != 1) return std::nullopt;
  return Address(reinterpret_cast<const sockaddr*>(&sa), sizeof sa);
}

// Splits "a b c d" on single spaces into exactly four fields.
std::optional<std::array<std::string_view, 4>> four_fields(std::string_view text) {
  std::array<std::string_view, 4> fields;
  for (std::size_t i = 0; i < fields.size(); ++i) {
    const std::size_t space = text.find(' ');
    if (i + 1 < fields.size()) {
      if (space == std::string_view::npos) return std::nullopt;
      fields[i] = text.substr(0, space);
      text.remove_prefix(space + 1);
    } else {
      if (space != std::string_view::npos) return std::nullopt;
      fields[i] = text;
    }
    if (fields[i].empty()) return std::nullopt;
  }
  return fields;
}

ProxyParse parse_v1(std::string_view bytes) {
  if (!is_prefix_of(bytes, kV1Prefix)) return invalid("not a PROXY protocol header");
  const std::size_t limit = std::min(bytes.size(), kProxyV1MaxSize);
  std::size_t end = std::string_view::npos;
  for (std::size_t i = 0; i < limit; ++i) {
    const char c = bytes[i];
    if (c == '\r') {
      if (i + 1 == bytes.size()) break;  // the LF may still come
      if (i + 1 >= kProxyV1MaxSize || bytes[i + 1] != '\n') {
        return invalid("PROXY v1 header: CR without LF");
      }
      end = i;
      break;
    }
    if (c < 0x20 || c > 0x7e) return invalid("PROXY v1 header: a control or non-ASCII byte");
  }
  if (end == std::string_view::npos) {
    if (bytes.size() >= kProxyV1MaxSize) return invalid("PROXY v1 header over 107 bytes");
    return incomplete();
  }
  if (end < kV1Prefix.size()) return invalid("PROXY v1 header: no protocol");
  std::string_view line = bytes.substr(kV1Prefix.size(), end - kV1Prefix.size());
  ProxyParse result;
  result.status = ProxyParse::Status::done;
  result.size = end + 2;
  result.header.version = 1;
  // UNKNOWN: whatever follows is ignored, and the connection's own addresses stand.
  if (line == "UNKNOWN" || line.starts_with("UNKNOWN ")) {
    result.header.proxied = false;
    return result;
  }
  int family = AF_UNSPEC;
  if (line.starts_with("TCP4 ")) family = AF_INET;
  if (line.starts_with("TCP6 ")) family = AF_INET6;
  if (family == AF_UNSPEC) return invalid("PROXY v1 header: protocol not TCP4, TCP6 or UNKNOWN");
  line.remove_prefix(5);
  const auto fields = four_fields(line);
  if (!fields) return invalid("PROXY v1 header: not 'source destination sport dport'");
  const auto source_port = parse_port((*fields)[2]);
  const auto destination_port = parse_port((*fields)[3]);
  if (!source_port || !destination_port) return invalid("PROXY v1 header: bad port");
  auto source = parse_ip(family, (*fields)[0], *source_port);
  auto destination = parse_ip(family, (*fields)[1], *destination_port);
  if (!source || !destination) {
    return invalid(family == AF_INET ? "PROXY v1 header: bad IPv4 address"
                                     : "PROXY v1 header: bad IPv6 address");
  }
  result.header.source = *source;
  result.header.destination = *destination;
  return result;
}

// ---- version 2 ----

Address inet_address(const char* ip, const char* port) {
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  std::memcpy(&sa.sin_addr, ip, 4);
  std::memcpy(&sa.sin_port, port, 2);
  return {reinterpret_cast<const sockaddr*>(&sa), sizeof sa};
}

Address inet6_address(const char* ip, const char* port) {
  sockaddr_in6 sa{};
  sa.sin6_family = AF_INET6;
  std::memcpy(&sa.sin6_addr, ip, 16);
  std::memcpy(&sa.sin6_port, port, 2);
  return {reinterpret_cast<const sockaddr*>(&sa), sizeof sa};
}

// A 108-byte sun_path: a path ended by a NUL, or (a NUL first) an abstract name without
// its trailing NULs; all zeros says nothing.
std::optional<Address> unix_address(std::string_view field) {
  if (field.front() != '\0') {
    const std::size_t end = field.find('\0');
    if (end == std::string_view::npos) return std::nullopt;
    return Address::unix_path(field.substr(0, end));
  }
  std::string_view name = field.substr(1);
  while (!name.empty() && name.back() == '\0')
    name.remove_suffix(1);
  return name.empty() ? Address() : Address::unix_abstract(name);
}

bool check_crc(std::string_view header, std::size_t crc_offset, std::uint32_t sent) {
  std::string copy(header);
  std::memset(copy.data() + crc_offset, 0, 4);
  return crc32c(copy) == sent;
}

ProxyParse parse_v2(std::string_view bytes) {
  if (!is_prefix_of(bytes, kV2Signature)) return invalid("not a PROXY protocol header");
  if (bytes.size() > 12) {
    const auto version_command = static_cast<unsigned char>(bytes[12]);
    if ((version_command >> 4) != 0x2) return invalid("PROXY v2 header: version not 2");
    if ((version_command & 0xf) > kProxy) return invalid("PROXY v2 header: unknown command");
  }
  if (bytes.size() > 13) {
    const auto family_protocol = static_cast<unsigned char>(bytes[13]);
    if ((family_protocol >> 4) > kUnix) return invalid("PROXY v2 header: unknown family");
    if ((family_protocol & 0xf) > kDgram) return invalid("PROXY v2 header: unknown protocol");
  }
  if (bytes.size() < kV2HeadSize) return incomplete();
  const std::size_t total = kV2HeadSize + be16(bytes.data() + 14);
  if (bytes.size() < total) return incomplete();
  const std::string_view header = bytes.substr(0, total);
  const bool proxy = (static_cast<unsigned char>(header[12]) & 0xf) == kProxy;
  const auto family = static_cast<std::uint8_t>(static_cast<unsigned char>(header[13]) >> 4);
  const auto protocol = static_cast<std::uint8_t>(static_cast<unsigned char>(header[13]) & 0xf);
  std::size_t address_size = 0;
  if (family == kInet) address_size = 12;
  if (family == kInet6) address_size = 36;
  if (family == kUnix) address_size = 2 * kUnixPathSize;
  if (total - kV2HeadSize < address_size) {
    return invalid("PROXY v2 header: shorter than its addresses");
  }
  ProxyParse result;
  result.status = ProxyParse::Status::done;
  result.size = total;
  ProxyHeader& out = result.header;
  out.version = 2;
  out.datagram = protocol == kDgram;
  // LOCAL, or PROXY over an unspecified family: the connection's own addresses stand.
  out.proxied = proxy && family != kUnspec;
  const char* a = header.data() + kV2HeadSize;
  if (out.proxied) {
    if (family == kInet) {
      out.source = inet_address(a, a + 8);
      out.destination = inet_address(a + 4, a + 10);
    } else if (family == kInet6) {
      out.source = inet6_address(a, a + 32);
      out.destination = inet6_address(a + 16, a + 34);
    } else {
      auto source = unix_address({a, kUnixPathSize});
      auto destination = unix_address({a + kUnixPathSize, kUnixPathSize});
      if (!source || !destination) return invalid("PROXY v2 header: a Unix path without its NUL");
      out.source = *source;
      out.destination = *destination;
      // Two sun_paths of only NULs name nothing: as for UNSPEC, the connection's own stand.
      if (source->is_unspecified_family() && destination->is_unspecified_family())
        out.proxied = false;
    }
  }
  std::size_t at = kV2HeadSize + address_size;
  std::optional<std::size_t> crc_at;
  while (at < total) {
    if (total - at < 3) return invalid("PROXY v2 header: a truncated TLV");
    const std::size_t length = be16(header.data() + at + 1);
    if (total - at - 3 < length) return invalid("PROXY v2 header: a TLV past the header's end");
    ProxyTlv tlv{static_cast<std::uint8_t>(header[at]), std::string(header.substr(at + 3, length))};
    if (tlv.type == ProxyTlv::kCrc32c) {
      if (length != 4 || crc_at) return invalid("PROXY v2 header: a malformed CRC32C TLV");
      crc_at = at + 3;
    }
    out.tlvs.push_back(std::move(tlv));
    at += 3 + length;
  }
  if (crc_at && !check_crc(header, *crc_at, be32(header.data() + *crc_at))) {
    return invalid("PROXY v2 header: CRC32C mismatch");
  }
  return result;
}

// ---- encoding ----

std::string ip_text(const Address& address, bool as_v6) {
  std::string ip = address.ip();
  if (const std::size_t scope = ip.find('%'); scope != std::string::npos) ip.resize(scope);
  return as_v6 && address.is_ipv4() ? "::ffff:" + ip : ip;
}

void put_ip(std::string& out, const Address& address, bool as_v6) {
  if (address.is_ipv4()) {
    const auto* sa = reinterpret_cast<const sockaddr_in*>(address.data());
    if (as_v6) out.append("\0\0\0\0\0\0\0\0\0\0\xff\xff", 12);
    out.append(reinterpret_cast<const char*>(&sa->sin_addr), 4);
  } else {
    const auto* sa = reinterpret_cast<const sockaddr_in6*>(address.data());
    out.append(reinterpret_cast<const char*>(&sa->sin6_addr), 16);
  }
}

void put_unix(std::string& out, const Address& address) {
  std::string field(kUnixPathSize, '\0');
  const std::string name = address.path();
  const std::size_t offset = address.is_abstract() ? 1 : 0;
  std::memcpy(field.data() + offset, name.data(), std::min(name.size(), kUnixPathSize - offset));
  out += field;
}

}  // namespace

std::optional<std::string_view> ProxyHeader::tlv(std::uint8_t type) const {
  for (const ProxyTlv& t : tlvs) {
    if (t.type == type) return std::string_view(t.value);
  }
  return std::nullopt;
}

ProxyParse parse_proxy_header(std::string_view bytes) {
  if (bytes.empty()) return incomplete();
  if (bytes.front() == 'P') return parse_v1(bytes);
  if (bytes.front() == '\r') return parse_v2(bytes);
  return invalid("not a PROXY protocol header");
}

std::string proxy_header_v1(const Address& source, const Address& destination) {
  if (!source.is_ip() || !destination.is_ip()) return "PROXY UNKNOWN\r\n";
  const bool v6 = source.is_ipv6() || destination.is_ipv6();
  std::string out = v6 ? "PROXY TCP6 " : "PROXY TCP4 ";
  out += ip_text(source, v6);
  out += ' ';
  out += ip_text(destination, v6);
  out += ' ';
  out += std::to_string(source.port());
  out += ' ';
  out += std::to_string(destination.port());
  out += "\r\n";
  return out;
}

std::string proxy_header_v2(const Address& source, const Address& destination,
                            std::span<const ProxyTlv> tlvs) {
  std::string body;
  std::uint8_t family = kUnspec;
  if (source.is_ip() && destination.is_ip()) {
    const bool v6 = source.is_ipv6() || destination.is_ipv6();
    family = v6 ? kInet6 : kInet;
    put_ip(body, source, v6);
    put_ip(body, destination, v6);
    put16(body, source.port());
    put16(body, destination.port());
  } else if (source.is_unix() && destination.is_unix()) {
    family = kUnix;
    put_unix(body, source);
    put_unix(body, destination);
  }
  for (const ProxyTlv& tlv : tlvs) {
    if (tlv.value.size() > 65535) throw std::invalid_argument("PROXY v2 TLV over 65535 bytes");
    body.push_back(static_cast<char>(tlv.type));
    put16(body, tlv.value.size());
    body += tlv.value;
  }
  if (body.size() > 65535) throw std::invalid_argument("PROXY v2 header over 65535 bytes");
  std::string out(kV2Signature);
  out.push_back(static_cast<char>(0x20 | kProxy));
  out.push_back(static_cast<char>((family << 4) | (family == kUnspec ? 0 : kStream)));
  put16(out, body.size());
  return out + body;
}

std::string proxy_header_v2_local() {
  std::string out(kV2Signature);
  out.push_back(static_cast<char>(0x20 | kLocal));
  out.push_back('\0');
  put16(out, 0);
  return out;
}

std::uint32_t crc32c(std::string_view bytes, std::uint32_t crc) noexcept {
  static const std::array<std::uint32_t, 256> table = [] {
    std::array<std::uint32_t, 256> t{};
    for (std::uint32_t i = 0; i < t.size(); ++i) {
      std::uint32_t c = i;
      for (int bit = 0; bit < 8; ++bit)
        c = (c & 1U) != 0 ? (c >> 1) ^ 0x82f63b78U : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  std::uint32_t c = ~crc;
  for (const char byte : bytes)
    c = table[(c ^ static_cast<unsigned char>(byte)) & 0xffU] ^ (c >> 8);
  return ~c;
}

}  // namespace sockit
