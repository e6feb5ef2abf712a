// Address: parsing and printing for every family, predicates, ordering and hashing, name
// resolution against /etc/hosts and /etc/services, and the machine's interfaces.
#include "sockit/address.hpp"

#include <gtest/gtest.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/un.h>

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <sstream>
#include <string>
#include <unordered_set>
#include <vector>

#include "sockit/error.hpp"
#include "support/unresolvable.hpp"

namespace {

using sockit::Address;

// The Error thrown by `f`, or a test failure when it throws nothing.
template <typename F>
sockit::Error error_of(F&& f) {
  try {
    f();
  } catch (const sockit::Error& e) {
    return e;
  }
  ADD_FAILURE() << "no sockit::Error thrown";
  return sockit::Error(sockit::errc::invalid_argument, "(nothing thrown)");
}

// ---------------------------------------------------------------------------------------
// Parsing and printing

TEST(AddressTest, DefaultIsUnspecified) {
  const Address a;
  EXPECT_EQ(a.family(), AF_UNSPEC);
  EXPECT_TRUE(a.is_unspecified_family());
  EXPECT_FALSE(a.is_ip());
  EXPECT_FALSE(a.is_unix());
  EXPECT_EQ(a.size(), 0U);
  EXPECT_EQ(a.to_string(), "(unspecified)");
  EXPECT_EQ(a.port(), 0);
}

TEST(AddressTest, Ipv4RoundTrip) {
  const Address a = Address::parse("127.0.0.1", 7777);
  EXPECT_TRUE(a.is_ipv4());
  EXPECT_FALSE(a.is_ipv6());
  EXPECT_EQ(a.family(), AF_INET);
  EXPECT_EQ(a.size(), sizeof(sockaddr_in));
  EXPECT_EQ(a.ip(), "127.0.0.1");
  EXPECT_EQ(a.port(), 7777);
  EXPECT_EQ(a.to_string(), "127.0.0.1:7777");
  EXPECT_EQ(a.path(), "");
  const auto* raw = reinterpret_cast<const sockaddr_in*>(a.data());
  EXPECT_EQ(ntohs(raw->sin_port), 7777);
  EXPECT_EQ(ntohl(raw->sin_addr.s_addr), 0x7F000001U);
  EXPECT_EQ(Address::parse(a.ip(), a.port()), a);
}

TEST(AddressTest, Ipv6RoundTrip) {
  const Address a = Address::parse("::1", 7777);
  EXPECT_TRUE(a.is_ipv6());
  EXPECT_EQ(a.size(), sizeof(sockaddr_in6));
  EXPECT_EQ(a.ip(), "::1");
  EXPECT_EQ(a.to_string(), "[::1]:7777");
  // Printing normalises the literal.
  EXPECT_EQ(Address::parse("2001:DB8:0:0:0:0:0:1", 443).to_string(), "[2001:db8::1]:443");
  EXPECT_EQ(Address::parse("::ffff:1.2.3.4").to_string(), "[::ffff:1.2.3.4]:0");
}

TEST(AddressTest, Ipv6ScopeIdByNameAndNumber) {
  const unsigned lo = if_nametoindex("lo");
  ASSERT_NE(lo, 0U) << "no loopback interface";
  const Address named = Address::parse("fe80::1%lo", 80);
  const auto* raw = reinterpret_cast<const sockaddr_in6*>(named.data());
  EXPECT_EQ(raw->sin6_scope_id, lo);
  EXPECT_EQ(named.ip(), "fe80::1%lo");
  EXPECT_EQ(named.to_string(), "[fe80::1%lo]:80");
  EXPECT_EQ(named.port(), 80);

  const Address numbered = Address::parse("fe80::1%" + std::to_string(lo), 80);
  EXPECT_EQ(numbered, named);
  // A different scope is a different address.
  EXPECT_NE(Address::parse("fe80::1", 80), named);
}

TEST(AddressTest, UnixPathRoundTrip) {
  const Address a = Address::unix_path("/run/app.sock");
  EXPECT_TRUE(a.is_unix());
  EXPECT_FALSE(a.is_abstract());
  EXPECT_FALSE(a.is_ip());
  EXPECT_EQ(a.family(), AF_UNIX);
  EXPECT_EQ(a.path(), "/run/app.sock");
  EXPECT_EQ(a.to_string(), "/run/app.sock");
  EXPECT_EQ(a.port(), 0);
  EXPECT_EQ(a.ip(), "");
  EXPECT_EQ(a.size(), offsetof(sockaddr_un, sun_path) + std::strlen("/run/app.sock") + 1);
  EXPECT_EQ(Address::unix_path(a.path()), a);
}

TEST(AddressTest, UnixPathLimits) {
  const std::size_t capacity = sizeof(sockaddr_un::sun_path);
  const std::string longest(capacity - 1, 'x');
  EXPECT_EQ(Address::unix_path(longest).path(), longest);

  const std::string too_long(capacity, 'x');
  const auto e = error_of([&] { Address::unix_path(too_long); });
  EXPECT_EQ(e.code(), sockit::errc::invalid_argument);
  EXPECT_NE(std::string(e.what()).find(too_long), std::string::npos) << e.what();

  EXPECT_EQ(error_of([] { Address::unix_path(""); }).code(), sockit::errc::invalid_argument);
  EXPECT_EQ(error_of([] { Address::unix_path(std::string("a\0b", 3)); }).code(),
            sockit::errc::invalid_argument);
}

TEST(AddressTest, AbstractUnixRoundTrip) {
  const Address a = Address::unix_abstract("sockit-test");
  EXPECT_TRUE(a.is_unix());
  EXPECT_TRUE(a.is_abstract());
  EXPECT_EQ(a.path(), "sockit-test");
  EXPECT_EQ(a.to_string(), "@sockit-test");
  // The kernel sees a leading NUL and no trailing one.
  EXPECT_EQ(a.size(), offsetof(sockaddr_un, sun_path) + 1 + std::strlen("sockit-test"));
  EXPECT_EQ(reinterpret_cast<const sockaddr_un*>(a.data())->sun_path[0], '\0');
  // Abstract and path namespaces are distinct.
  EXPECT_NE(a, Address::unix_path("sockit-test"));
  EXPECT_EQ(Address::unix_abstract(a.path()), a);
  EXPECT_THROW(Address::unix_abstract(std::string(sizeof(sockaddr_un::sun_path), 'x')),
               sockit::Error);
}

TEST(AddressTest, UnnamedUnixSocket) {
  // What getpeername gives for an unbound client socket: the family alone.
  sockaddr_un un{};
  un.sun_family = AF_UNIX;
  const Address a(reinterpret_cast<const sockaddr*>(&un), sizeof(sa_family_t));
  EXPECT_TRUE(a.is_unix());
  EXPECT_FALSE(a.is_abstract());
  EXPECT_EQ(a.path(), "");
  EXPECT_EQ(a.to_string(), "(unnamed unix)");
  EXPECT_NE(a, Address::unix_abstract(""));
}

TEST(AddressTest, FromKernelSockaddr) {
  sockaddr_in6 v6{};
  v6.sin6_family = AF_INET6;
  v6.sin6_port = htons(8080);
  v6.sin6_addr.s6_addr[15] = 1;
  const Address a(reinterpret_cast<const sockaddr*>(&v6), sizeof v6);
  EXPECT_EQ(a.to_string(), "[::1]:8080");
  EXPECT_EQ(a, Address::loopback_ipv6(8080));

  sockaddr_storage big{};
  const auto e =
      error_of([&] { Address(reinterpret_cast<const sockaddr*>(&big), sizeof big + 1); });
  EXPECT_EQ(e.code(), sockit::errc::invalid_argument);
}

TEST(AddressTest, ResizeAfterKernelFill) {
  Address a;
  sockaddr_in v4{};
  v4.sin_family = AF_INET;
  v4.sin_port = htons(9);
  v4.sin_addr.s_addr = htonl(0x0A000001U);
  std::memcpy(a.data(), &v4, sizeof v4);
  a.resize(sizeof v4);
  EXPECT_EQ(a.to_string(), "10.0.0.1:9");
  EXPECT_THROW(a.resize(Address::capacity() + 1), sockit::Error);
}

TEST(AddressTest, NamedConstructors) {
  EXPECT_EQ(Address::any_ipv4(1).to_string(), "0.0.0.0:1");
  EXPECT_EQ(Address::any_ipv6(2).to_string(), "[::]:2");
  EXPECT_EQ(Address::loopback_ipv4(3).to_string(), "127.0.0.1:3");
  EXPECT_EQ(Address::loopback_ipv6(4).to_string(), "[::1]:4");
}

TEST(AddressTest, WithPort) {
  const Address a = Address::parse("192.0.2.7", 1);
  const Address b = a.with_port(65535);
  EXPECT_EQ(b.to_string(), "192.0.2.7:65535");
  EXPECT_EQ(a.port(), 1);  // the original is unchanged
  EXPECT_EQ(Address::parse("::1").with_port(22).to_string(), "[::1]:22");
  // Non-IP addresses have no port to change.
  EXPECT_EQ(Address::unix_path("/x").with_port(22), Address::unix_path("/x"));
}

TEST(AddressTest, BadLiteralsRejected) {
  for (const char* bad : {"", "256.1.1.1", "1.2.3", "1.2.3.4.5", "localhost", "::g", "1.2.3.4:80",
                          "[::1]", "::1::2", " 127.0.0.1", "fe80::1%no-such-if0", "1.2.3.4%lo"}) {
    SCOPED_TRACE(bad);
    EXPECT_FALSE(Address::try_parse(bad).has_value());
    const auto e = error_of([&] { Address::parse(bad); });
    EXPECT_EQ(e.code(), sockit::errc::invalid_argument);
    EXPECT_EQ(e.operation(), "parse address");
    EXPECT_EQ(e.target(), bad);
  }
  EXPECT_STREQ(error_of([] { Address::parse("256.1.1.1"); }).what(),
               "parse address 256.1.1.1: not a numeric IPv4 or IPv6 address");
  EXPECT_FALSE(Address::try_parse(std::string("127.0.0.1\0x", 11)).has_value());
}

TEST(AddressTest, StreamOperatorPrintsToString) {
  std::ostringstream out;
  out << Address::parse("::1", 7777) << ' ' << Address::unix_abstract("x");
  EXPECT_EQ(out.str(), "[::1]:7777 @x");
}

// ---------------------------------------------------------------------------------------
// Predicates

Address ip(const char* text) {
  return Address::parse(text);
}

TEST(AddressPredicateTest, Loopback) {
  EXPECT_TRUE(ip("127.0.0.1").is_loopback());
  EXPECT_TRUE(ip("127.255.255.254").is_loopback());
  EXPECT_TRUE(ip("::1").is_loopback());
  EXPECT_FALSE(ip("128.0.0.1").is_loopback());
  EXPECT_FALSE(ip("126.255.255.255").is_loopback());
  EXPECT_FALSE(ip("::").is_loopback());
  EXPECT_FALSE(ip("::2").is_loopback());
  EXPECT_FALSE(Address::unix_path("/tmp/x").is_loopback());
}

TEST(AddressPredicateTest, PrivateRanges) {
  for (const char* yes : {"10.0.0.0", "10.255.255.255", "172.16.0.0", "172.31.255.255",
                          "192.168.0.0", "192.168.255.255"}) {
    EXPECT_TRUE(ip(yes).is_private()) << yes;
  }
  for (const char* no : {"9.255.255.255", "11.0.0.0", "172.15.255.255", "172.32.0.0",
                         "192.167.255.255", "192.169.0.0", "127.0.0.1", "8.8.8.8", "fd00::1"}) {
    EXPECT_FALSE(ip(no).is_private()) << no;
  }
}

TEST(AddressPredicateTest, UniqueLocal) {
  EXPECT_TRUE(ip("fc00::").is_unique_local());
  EXPECT_TRUE(ip("fd12:3456::1").is_unique_local());
  EXPECT_TRUE(ip("fdff:ffff::1").is_unique_local());
  EXPECT_FALSE(ip("fbff:ffff::1").is_unique_local());
  EXPECT_FALSE(ip("fe00::1").is_unique_local());
  EXPECT_FALSE(ip("10.0.0.1").is_unique_local());
}

TEST(AddressPredicateTest, Multicast) {
  EXPECT_TRUE(ip("224.0.0.1").is_multicast());
  EXPECT_TRUE(ip("239.255.255.255").is_multicast());
  EXPECT_TRUE(ip("ff02::1").is_multicast());
  EXPECT_FALSE(ip("223.255.255.255").is_multicast());
  EXPECT_FALSE(ip("240.0.0.0").is_multicast());
  EXPECT_FALSE(ip("fe80::1").is_multicast());
}

TEST(AddressPredicateTest, LinkLocal) {
  EXPECT_TRUE(ip("169.254.0.0").is_link_local());
  EXPECT_TRUE(ip("169.254.255.255").is_link_local());
  EXPECT_TRUE(ip("fe80::1").is_link_local());
  EXPECT_TRUE(ip("febf:ffff::1").is_link_local());
  EXPECT_FALSE(ip("169.253.255.255").is_link_local());
  EXPECT_FALSE(ip("169.255.0.0").is_link_local());
  EXPECT_FALSE(ip("fec0::1").is_link_local());
  EXPECT_FALSE(ip("fe7f::1").is_link_local());
}

TEST(AddressPredicateTest, Any) {
  EXPECT_TRUE(ip("0.0.0.0").is_any());
  EXPECT_TRUE(ip("::").is_any());
  EXPECT_FALSE(ip("0.0.0.1").is_any());
  EXPECT_FALSE(ip("::1").is_any());
  EXPECT_FALSE(Address().is_any());
}

TEST(AddressPredicateTest, V4MappedAndCompat) {
  EXPECT_TRUE(ip("::ffff:1.2.3.4").is_v4_mapped());
  EXPECT_FALSE(ip("::ffff:1.2.3.4").is_v4_compat());
  EXPECT_FALSE(ip("1.2.3.4").is_v4_mapped());
  EXPECT_FALSE(ip("::fffe:1.2.3.4").is_v4_mapped());
  EXPECT_FALSE(ip("0:0:0:0:1:ffff:102:304").is_v4_mapped());

  EXPECT_TRUE(ip("::1.2.3.4").is_v4_compat());
  EXPECT_TRUE(ip("::2").is_v4_compat());
  EXPECT_FALSE(ip("::").is_v4_compat());
  EXPECT_FALSE(ip("::1").is_v4_compat());
  EXPECT_FALSE(ip("1::1.2.3.4").is_v4_compat());
  EXPECT_FALSE(ip("1.2.3.4").is_v4_compat());
}

TEST(AddressPredicateTest, UnmapV4KeepsPort) {
  const Address mapped = Address::parse("::ffff:192.168.1.2", 8080);
  const Address plain = mapped.unmap_v4();
  EXPECT_TRUE(plain.is_ipv4());
  EXPECT_EQ(plain.to_string(), "192.168.1.2:8080");
  EXPECT_TRUE(plain.is_private());
  const Address v6 = Address::parse("::1", 5);
  EXPECT_EQ(v6.unmap_v4(), v6);
}

// ---------------------------------------------------------------------------------------
// Comparison and hashing

TEST(AddressOrderTest, FamilyFirstThenBytesThenPort) {
  std::vector<Address> list{Address::parse("::1", 1),
                            Address::parse("10.0.0.2", 1),
                            Address::parse("10.0.0.1", 2),
                            Address::unix_path("/b"),
                            Address::parse("10.0.0.1", 1),
                            Address::unix_path("/a"),
                            Address()};
  std::sort(list.begin(), list.end());
  std::vector<std::string> printed;
  for (const auto& a : list)
    printed.push_back(a.to_string());
  // AF_UNSPEC (0) < AF_UNIX (1) < AF_INET (2) < AF_INET6 (10).
  const std::vector<std::string> expected{"(unspecified)", "/a",         "/b",     "10.0.0.1:1",
                                          "10.0.0.1:2",    "10.0.0.2:1", "[::1]:1"};
  EXPECT_EQ(printed, expected);
  EXPECT_LT(Address::parse("9.0.0.0", 65535), Address::parse("10.0.0.0", 0));
  EXPECT_EQ(Address::parse("1.2.3.4", 5) <=> Address::parse("1.2.3.4", 5),
            std::strong_ordering::equal);
}

TEST(AddressOrderTest, UnixEqualityIgnoresTrailingNul) {
  // Some callers pass the length without the NUL terminator.
  sockaddr_un un{};
  un.sun_family = AF_UNIX;
  std::memcpy(un.sun_path, "/tmp/s", 6);
  const Address without_nul(reinterpret_cast<const sockaddr*>(&un),
                            static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 6));
  EXPECT_EQ(without_nul, Address::unix_path("/tmp/s"));
  EXPECT_EQ(std::hash<Address>{}(without_nul), std::hash<Address>{}(Address::unix_path("/tmp/s")));
}

TEST(AddressOrderTest, HashAgreesWithEquality) {
  std::unordered_set<Address> set;
  set.insert(Address::parse("127.0.0.1", 80));
  set.insert(Address::parse("127.0.0.1", 80));
  set.insert(Address::parse("127.0.0.1", 81));
  set.insert(Address::parse("::1", 80));
  set.insert(Address::unix_path("/x"));
  set.insert(Address::unix_abstract("x"));
  set.insert(Address());
  set.insert(Address());
  EXPECT_EQ(set.size(), 6U);
  EXPECT_EQ(set.count(Address::loopback_ipv4(80)), 1U);
  EXPECT_EQ(set.count(Address::loopback_ipv4(82)), 0U);
  EXPECT_NE(std::hash<Address>{}(Address::parse("127.0.0.1", 80)),
            std::hash<Address>{}(Address::parse("127.0.0.1", 81)));
}

// ---------------------------------------------------------------------------------------
// Resolution

std::vector<std::string> printed(const std::vector<sockit::ResolvedAddress>& results) {
  std::vector<std::string> out;
  for (const auto& r : results)
    out.push_back(r.address.to_string());
  return out;
}

TEST(ResolveTest, LocalhostGivesLoopbackWithPort) {
  const auto results = sockit::resolve("localhost", "7777");
  ASSERT_FALSE(results.empty());
  for (const auto& r : results) {
    SCOPED_TRACE(r.address.to_string());
    EXPECT_TRUE(r.address.to_string() == "127.0.0.1:7777" || r.address.to_string() == "[::1]:7777");
    EXPECT_EQ(r.family, r.address.family());
    EXPECT_EQ(r.socktype, SOCK_STREAM);
    EXPECT_EQ(r.protocol, IPPROTO_TCP);
  }
  const auto by_port = sockit::resolve("localhost", std::uint16_t{7777});
  EXPECT_EQ(printed(by_port), printed(results));
}

TEST(ResolveTest, FamilySelection) {
  sockit::ResolveOptions v4;
  v4.family = AF_INET;
  const auto results = sockit::resolve("localhost", "80", v4);
  ASSERT_FALSE(results.empty());
  for (const auto& r : results)
    EXPECT_EQ(r.address.to_string(), "127.0.0.1:80");

  sockit::ResolveOptions v6;
  v6.family = AF_INET6;
  const auto six = sockit::resolve("::1", "80", v6);
  ASSERT_EQ(six.size(), 1U);
  EXPECT_EQ(six[0].address.to_string(), "[::1]:80");
}

TEST(ResolveTest, SocktypeSelection) {
  sockit::ResolveOptions dgram;
  dgram.socktype = SOCK_DGRAM;
  const auto results = sockit::resolve("127.0.0.1", "53", dgram);
  ASSERT_EQ(results.size(), 1U);
  EXPECT_EQ(results[0].socktype, SOCK_DGRAM);
  EXPECT_EQ(results[0].protocol, IPPROTO_UDP);

  sockit::ResolveOptions every;
  every.socktype = 0;
  const auto all = sockit::resolve("127.0.0.1", "53", every);
  const auto has = [&](int type) {
    return std::any_of(all.begin(), all.end(), [&](const auto& r) { return r.socktype == type; });
  };
  EXPECT_TRUE(has(SOCK_STREAM));
  EXPECT_TRUE(has(SOCK_DGRAM));
}

TEST(ResolveTest, EmptyHostIsLoopbackOrWildcard) {
  sockit::ResolveOptions active;
  active.family = AF_INET;
  EXPECT_EQ(printed(sockit::resolve("", "7777", active)),
            std::vector<std::string>{"127.0.0.1:7777"});

  sockit::ResolveOptions passive = active;
  passive.passive = true;
  EXPECT_EQ(printed(sockit::resolve("", "7777", passive)),
            std::vector<std::string>{"0.0.0.0:7777"});

  passive.family = AF_INET6;
  EXPECT_EQ(printed(sockit::resolve("", "7777", passive)), std::vector<std::string>{"[::]:7777"});
}

TEST(ResolveTest, ServiceNameResolved) {
  const auto results = sockit::resolve("127.0.0.1", "http");
  ASSERT_EQ(results.size(), 1U);
  EXPECT_EQ(results[0].address.port(), 80);
}

TEST(ResolveTest, UnknownHostMessage) {
  const std::string host = sockit::test::unresolvable_host;
  const auto e = error_of([&] { sockit::resolve(host, "80"); });
  EXPECT_EQ(e.operation(), "resolve");
  EXPECT_EQ(e.target(), host);
  EXPECT_EQ(e.code(), std::error_code(EAI_NONAME, sockit::resolve_category()));
  EXPECT_EQ(std::string(e.what()), "resolve " + host + ": Name or service not known");
}

TEST(ResolveTest, NonThrowingForm) {
  std::error_code ec;
  const auto none = sockit::resolve("nosuch.invalid", "80", {}, ec);
  EXPECT_TRUE(none.empty());
  EXPECT_TRUE(ec);
  EXPECT_EQ(&ec.category(), &sockit::resolve_category());

  const auto some = sockit::resolve("127.0.0.1", "80", {}, ec);
  EXPECT_FALSE(ec) << ec.message();
  EXPECT_EQ(printed(some), std::vector<std::string>{"127.0.0.1:80"});
}

TEST(ResolveTest, NumericHostNeverResolvesNames) {
  sockit::ResolveOptions numeric;
  numeric.numeric_host = true;
  EXPECT_EQ(printed(sockit::resolve("127.0.0.1", "80", numeric)),
            std::vector<std::string>{"127.0.0.1:80"});
  const auto e = error_of([&] { sockit::resolve("localhost", "80", numeric); });
  EXPECT_EQ(e.code(), std::error_code(EAI_NONAME, sockit::resolve_category()));
  EXPECT_STREQ(e.what(), "resolve localhost: Name or service not known");
}

TEST(ResolveTest, UnknownServiceNamesTheService) {
  const auto e = error_of([] { sockit::resolve("127.0.0.1", "no-such-service-xyz"); });
  EXPECT_EQ(e.target(), "127.0.0.1:no-such-service-xyz");
  EXPECT_EQ(&e.code().category(), &sockit::resolve_category());
  EXPECT_EQ(std::string(e.what()), "resolve 127.0.0.1:no-such-service-xyz: " + e.code().message());
}

TEST(ResolveTest, PortOutOfRangeRejected) {
  const auto e = error_of([] { sockit::resolve("127.0.0.1", "70000"); });
  EXPECT_EQ(e.code(), sockit::errc::invalid_argument);
  EXPECT_STREQ(e.what(), "resolve 127.0.0.1: port 70000 out of range (0-65535)");
}

TEST(ResolveTest, CanonicalNameOnFirstResultOnly) {
  sockit::ResolveOptions canon;
  canon.canonical_name = true;
  const auto results = sockit::resolve("localhost", "80", canon);
  ASSERT_FALSE(results.empty());
  EXPECT_EQ(results[0].canonical_name, "localhost");
  for (std::size_t i = 1; i < results.size(); ++i)
    EXPECT_EQ(results[i].canonical_name, "");
  EXPECT_EQ(sockit::resolve("localhost", "80")[0].canonical_name, "");
}

TEST(ReverseLookupTest, LoopbackHasAName) {
  std::string name;
  try {
    name = sockit::reverse_lookup(Address::loopback_ipv4());
  } catch (const sockit::Error& e) {
    GTEST_SKIP() << "this machine has no name for 127.0.0.1: " << e.what();
  }
  EXPECT_FALSE(name.empty());
  EXPECT_EQ(name.find("127.0.0.1"), std::string::npos) << "numeric answer: " << name;
}

TEST(ReverseLookupTest, NonIpRejected) {
  const auto e = error_of([] { sockit::reverse_lookup(Address::unix_path("/x")); });
  EXPECT_EQ(e.code(), sockit::errc::invalid_argument);
  EXPECT_EQ(e.operation(), "reverse lookup");
}

// ---------------------------------------------------------------------------------------
// Services

TEST(ServiceTest, NamesAndNumbers) {
  EXPECT_EQ(sockit::service_port("http"), 80);
  EXPECT_EQ(sockit::service_port("https"), 443);
  EXPECT_EQ(sockit::service_port("domain", "udp"), 53);
  EXPECT_EQ(sockit::service_port("8080"), 8080);
  EXPECT_EQ(sockit::service_port("0"), 0);
  EXPECT_EQ(sockit::service_port("65535"), 65535);
  EXPECT_EQ(sockit::service_name(80), "http");
  EXPECT_EQ(sockit::service_name(53, "udp"), "domain");
  EXPECT_EQ(sockit::service_name(65000), "65000");
}

TEST(ServiceTest, BadServices) {
  const auto unknown = error_of([] { sockit::service_port("no-such-service-xyz"); });
  EXPECT_EQ(unknown.code(), sockit::errc::not_found);
  EXPECT_EQ(unknown.operation(), "service");
  EXPECT_EQ(unknown.target(), "no-such-service-xyz");
  EXPECT_STREQ(unknown.what(), "service no-such-service-xyz: unknown service name for tcp");

  const auto range = error_of([] { sockit::service_port("65536"); });
  EXPECT_EQ(range.code(), sockit::errc::invalid_argument);
  EXPECT_STREQ(range.what(), "service 65536: port out of range (0-65535)");
  EXPECT_EQ(error_of([] { sockit::service_port(""); }).code(), sockit::errc::invalid_argument);
  EXPECT_EQ(error_of([] { sockit::service_port("80x"); }).code(), sockit::errc::not_found);
}

// ---------------------------------------------------------------------------------------
// Interfaces

TEST(InterfaceTest, LoopbackIsListed) {
  const auto list = sockit::interfaces();
  const auto lo = std::find_if(list.begin(), list.end(), [](const sockit::Interface& i) {
    return i.name == "lo" && i.address.is_ipv4();
  });
  ASSERT_NE(lo, list.end()) << "no IPv4 address on lo";
  EXPECT_EQ(lo->address.ip(), "127.0.0.1");
  EXPECT_TRUE(lo->is_up());
  EXPECT_TRUE(lo->is_loopback());
  EXPECT_EQ(lo->index, if_nametoindex("lo"));
  EXPECT_NE(lo->index, 0U);
  ASSERT_TRUE(lo->netmask.has_value());
  EXPECT_EQ(lo->netmask->ip(), "255.0.0.0");
  const std::string flags = lo->flags_string();
  EXPECT_EQ(flags.rfind("UP,", 0), 0U) << flags;
  EXPECT_NE(flags.find("LOOPBACK"), std::string::npos) << flags;
  for (const auto& i : list)
    EXPECT_TRUE(i.address.is_ip()) << i.address;
}

TEST(InterfaceTest, FlagsString) {
  sockit::Interface i;
  EXPECT_EQ(i.flags_string(), "");
  EXPECT_FALSE(i.is_up());
  i.flags = IFF_UP | IFF_LOOPBACK | IFF_RUNNING;
  EXPECT_EQ(i.flags_string(), "UP,LOOPBACK,RUNNING");
  i.flags = IFF_UP | IFF_BROADCAST | IFF_RUNNING | IFF_MULTICAST;
  EXPECT_EQ(i.flags_string(), "UP,BROADCAST,RUNNING,MULTICAST");
  EXPECT_FALSE(i.is_loopback());
  i.flags = 1U << 24;
  EXPECT_EQ(i.flags_string(), "0x1000000");
}

TEST(InterfaceTest, IpAddressListMatchesInterfaces) {
  const auto addresses = sockit::ip_address_list();
  const auto list = sockit::interfaces();
  ASSERT_EQ(addresses.size(), list.size());
  for (std::size_t i = 0; i < list.size(); ++i)
    EXPECT_EQ(addresses[i], list[i].address);
  EXPECT_NE(std::find(addresses.begin(), addresses.end(), Address::loopback_ipv4()),
            addresses.end());
}

}  // namespace
