// The PROXY protocol header: both versions parsed from whole and partial input, garbage
// refused at its first wrong byte, the length bounds, TLVs and their CRC32C, and the
// encoders round-tripping through the parser.
#include "sockit/proxy_protocol.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace sockit {
namespace {

using Status = ProxyParse::Status;

ProxyParse parse(std::string_view bytes) {
  return parse_proxy_header(bytes);
}

// Every strict prefix of a whole header waits for more.
void expect_prefixes_incomplete(const std::string& header) {
  for (std::size_t n = 0; n < header.size(); ++n) {
    const ProxyParse result = parse(std::string_view(header).substr(0, n));
    EXPECT_EQ(result.status, Status::incomplete) << "prefix of " << n << " bytes: " << result.error;
  }
}

TEST(ProxyProtocolV1, Tcp4GivesBothAddressesAndLeavesTheRest) {
  const std::string header = "PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n";
  const ProxyParse result = parse(header + "GET / HTTP/1.1\r\n");
  ASSERT_EQ(result.status, Status::done) << result.error;
  EXPECT_EQ(result.size, header.size());
  EXPECT_EQ(result.header.version, 1);
  EXPECT_TRUE(result.header.proxied);
  EXPECT_EQ(result.header.source, Address::parse("192.168.0.1", 56324));
  EXPECT_EQ(result.header.destination, Address::parse("192.168.0.11", 443));
  expect_prefixes_incomplete(header);
}

TEST(ProxyProtocolV1, Tcp6) {
  const ProxyParse result = parse("PROXY TCP6 2001:db8::1 ::1 65535 0\r\n");
  ASSERT_EQ(result.status, Status::done) << result.error;
  EXPECT_EQ(result.header.source, Address::parse("2001:db8::1", 65535));
  EXPECT_EQ(result.header.destination, Address::parse("::1", 0));
}

TEST(ProxyProtocolV1, UnknownKeepsTheConnectionsOwnAddresses) {
  for (const std::string header :
       {"PROXY UNKNOWN\r\n", "PROXY UNKNOWN ffff:f...f:ffff ffff:f...f:ffff 65535 65535\r\n"}) {
    const ProxyParse result = parse(header);
    ASSERT_EQ(result.status, Status::done) << header;
    EXPECT_FALSE(result.header.proxied);
    EXPECT_TRUE(result.header.source.is_unspecified_family());
    EXPECT_EQ(result.size, header.size());
  }
}

TEST(ProxyProtocolV1, MalformedLinesAreRefused) {
  for (const std::string line : {
           "PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n",        // LF without CR
           "PROXY TCP4 1.2.3.4 5.6.7.8 1 2\rX",       // CR without LF
           "PROXY TCP4 1.2.3.4  5.6.7.8 1 2\r\n",     // two spaces
           "PROXY TCP4 1.2.3.4 5.6.7.8 1 2 \r\n",     // a trailing space
           "PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n",        // three fields
           "PROXY TCP4 1.2.3.4 5.6.7.8 1 65536\r\n",  // port out of range
           "PROXY TCP4 1.2.3.4 5.6.7.8 -1 2\r\n",     // not a number
           "PROXY TCP4 ::1 ::1 1 2\r\n",              // IPv6 under TCP4
           "PROXY TCP6 1.2.3.4 ::1 1 2\r\n",          // IPv4 under TCP6
           "PROXY TCP6 fe80::1%lo ::1 1 2\r\n",       // a scope
           "PROXY TCP4 localhost 1.2.3.4 1 2\r\n",    // a name
           "PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n",      // no such protocol
           "PROXY \r\n",                              // nothing
           "PROXY TCP4 1.2.3.4 5.6.7.8 1 2\x01\r\n",  // a control byte
       }) {
    const ProxyParse result = parse(line);
    EXPECT_EQ(result.status, Status::invalid) << line;
    EXPECT_FALSE(result.error.empty()) << line;
  }
}

TEST(ProxyProtocolV1, GarbageIsRefusedAtItsFirstWrongByte) {
  EXPECT_EQ(parse("G").status, Status::invalid);
  EXPECT_EQ(parse("PROXX").status, Status::invalid);
  EXPECT_EQ(parse("PROX").status, Status::incomplete);
  EXPECT_EQ(parse(std::string(1, '\0')).status, Status::invalid);
  EXPECT_EQ(parse("SSH-2.0-OpenSSH\r\n").status, Status::invalid);
}

TEST(ProxyProtocolV1, TheLineIsAtMost107Bytes) {
  std::string longest = "PROXY UNKNOWN ";
  longest.append(kProxyV1MaxSize - longest.size() - 2, 'x');
  longest += "\r\n";
  ASSERT_EQ(longest.size(), kProxyV1MaxSize);
  EXPECT_EQ(parse(longest).status, Status::done);
  std::string over = "PROXY UNKNOWN ";
  over.append(kProxyV1MaxSize - over.size() - 1, 'x');
  EXPECT_EQ(parse(over).status, Status::incomplete);  // 106 bytes: the CRLF may come
  EXPECT_EQ(parse(over + "\r\n").status, Status::invalid);
  EXPECT_EQ(parse(over + "x").status, Status::invalid);
}

TEST(ProxyProtocolV1, EncoderRoundTrips) {
  const Address client = Address::parse("203.0.113.7", 40000);
  const Address server = Address::parse("127.0.0.1", 8080);
  EXPECT_EQ(proxy_header_v1(client, server), "PROXY TCP4 203.0.113.7 127.0.0.1 40000 8080\r\n");
  const ProxyParse result = parse(proxy_header_v1(client, server));
  ASSERT_EQ(result.status, Status::done);
  EXPECT_EQ(result.header.source, client);
  EXPECT_EQ(result.header.destination, server);
  // Mixed families: the IPv4 one is written v4-mapped.
  EXPECT_EQ(proxy_header_v1(client, Address::parse("::1", 80)),
            "PROXY TCP6 ::ffff:203.0.113.7 ::1 40000 80\r\n");
  EXPECT_EQ(proxy_header_v1(Address::unix_path("/tmp/a"), server), "PROXY UNKNOWN\r\n");
}

TEST(ProxyProtocolV2, Ipv4WithTlvsRoundTrips) {
  const Address client = Address::parse("198.51.100.22", 51234);
  const Address server = Address::parse("10.0.0.1", 443);
  const std::vector<ProxyTlv> tlvs = {{ProxyTlv::kAuthority, "example.com"},
                                      {ProxyTlv::kAlpn, "http/1.1"},
                                      {0xe0, std::string("\0\1\2", 3)}};
  const std::string header = proxy_header_v2(client, server, tlvs);
  EXPECT_EQ(header.size(), 16U + 12U + (3 + 11) + (3 + 8) + (3 + 3));
  const ProxyParse result = parse(header + "payload");
  ASSERT_EQ(result.status, Status::done) << result.error;
  EXPECT_EQ(result.size, header.size());
  EXPECT_EQ(result.header.version, 2);
  EXPECT_TRUE(result.header.proxied);
  EXPECT_FALSE(result.header.datagram);
  EXPECT_EQ(result.header.source, client);
  EXPECT_EQ(result.header.destination, server);
  EXPECT_EQ(result.header.tlvs, tlvs);
  EXPECT_EQ(result.header.tlv(ProxyTlv::kAuthority), "example.com");
  EXPECT_FALSE(result.header.tlv(ProxyTlv::kUniqueId));
  expect_prefixes_incomplete(header);
}

TEST(ProxyProtocolV2, Ipv6MixedAndUnixRoundTrip) {
  const Address v6 = Address::parse("2001:db8::7", 1);
  const Address v4 = Address::parse("192.0.2.1", 2);
  ProxyParse result = parse(proxy_header_v2(v6, Address::parse("::1", 3)));
  ASSERT_EQ(result.status, Status::done);
  EXPECT_EQ(result.header.source, v6);
  EXPECT_EQ(result.header.destination, Address::parse("::1", 3));
  result = parse(proxy_header_v2(v4, v6));
  ASSERT_EQ(result.status, Status::done);
  EXPECT_EQ(result.header.source, Address::parse("::ffff:192.0.2.1", 2));
  result = parse(proxy_header_v2(Address::unix_path("/run/a.sock"), Address::unix_abstract("b")));
  ASSERT_EQ(result.status, Status::done) << result.error;
  EXPECT_EQ(result.header.source, Address::unix_path("/run/a.sock"));
  EXPECT_EQ(result.header.destination, Address::unix_abstract("b"));
  // Neither both IP nor both Unix: UNSPEC, and the connection's own addresses stand.
  result = parse(proxy_header_v2(v4, Address::unix_path("/x")));
  ASSERT_EQ(result.status, Status::done);
  EXPECT_FALSE(result.header.proxied);
}

TEST(ProxyProtocolV2, UnixAddressesOfOnlyZerosSayNothing) {
  // PROXY over AF_UNIX whose two sun_paths are all NULs (found by the fuzzer): no address is
  // named, so the connection's own stand, as for UNSPEC; encoded again, it parses the same.
  std::string header("\r\n\r\n\0\r\nQUIT\n\x21\x31\x00\xd8", 16);
  header.append(216, '\0');
  const ProxyParse result = parse(header);
  ASSERT_EQ(result.status, Status::done) << result.error;
  EXPECT_EQ(result.size, header.size());
  EXPECT_FALSE(result.header.proxied);
  const ProxyParse again = parse(proxy_header_v2(result.header.source, result.header.destination));
  ASSERT_EQ(again.status, Status::done) << again.error;
  EXPECT_EQ(again.header.proxied, result.header.proxied);
}

TEST(ProxyProtocolV2, LocalIsAProxysOwnConnection) {
  const std::string header = proxy_header_v2_local();
  ASSERT_EQ(header.size(), 16U);
  const ProxyParse result = parse(header);
  ASSERT_EQ(result.status, Status::done);
  EXPECT_FALSE(result.header.proxied);
  EXPECT_TRUE(result.header.source.is_unspecified_family());
}

TEST(ProxyProtocolV2, MalformedHeadersAreRefused) {
  const std::string good =
      proxy_header_v2(Address::parse("1.2.3.4", 1), Address::parse("5.6.7.8", 2));
  auto with = [&](std::size_t at, char byte) {
    std::string bad = good;
    bad[at] = byte;
    return bad;
  };
  EXPECT_EQ(parse(with(3, 'x')).status, Status::invalid);      // signature
  EXPECT_EQ(parse(with(12, '\x11')).status, Status::invalid);  // version 1 in binary
  EXPECT_EQ(parse(with(12, '\x22')).status, Status::invalid);  // command 2
  EXPECT_EQ(parse(with(13, '\x41')).status, Status::invalid);  // family 4
  EXPECT_EQ(parse(with(13, '\x13')).status, Status::invalid);  // protocol 3
  // A length shorter than the family's addresses.
  EXPECT_EQ(parse(with(15, '\x08')).status, Status::invalid);
  // A TLV that claims more than the header holds.
  std::string tlv = proxy_header_v2(Address::parse("1.2.3.4", 1), Address::parse("5.6.7.8", 2),
                                    std::vector<ProxyTlv>{{ProxyTlv::kNoop, "abcd"}});
  tlv[tlv.size() - 5] = '\x09';
  EXPECT_EQ(parse(tlv).status, Status::invalid);
  // Refused before the whole header is there, when its head is already wrong.
  EXPECT_EQ(parse(with(12, '\x11').substr(0, 13)).status, Status::invalid);
}

TEST(ProxyProtocolV2, Crc32cIsChecked) {
  EXPECT_EQ(crc32c("123456789"), 0xe3069283U);
  // The checksum is taken over the header with its own value zeroed.
  std::string header =
      proxy_header_v2(Address::parse("1.2.3.4", 1), Address::parse("5.6.7.8", 2),
                      std::vector<ProxyTlv>{{ProxyTlv::kCrc32c, std::string(4, '\0')}});
  const std::uint32_t crc = crc32c(header);
  for (int i = 0; i < 4; ++i)
    header[header.size() - 4 + static_cast<std::size_t>(i)] =
        static_cast<char>((crc >> (24 - 8 * i)) & 0xff);
  EXPECT_EQ(parse(header).status, Status::done);
  header[20] = static_cast<char>(header[20] ^ 1);  // the destination address changed in transit
  const ProxyParse result = parse(header);
  EXPECT_EQ(result.status, Status::invalid);
  EXPECT_NE(result.error.find("CRC32C"), std::string::npos);
}

}  // namespace
}  // namespace sockit
