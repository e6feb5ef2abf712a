// CIDR address ranges: parsing (and refusing what says something other than it means),
// matching across families and prefix lengths, v4-mapped peers, Unix peers.
#include "sockit/address_range.hpp"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

namespace sockit {
namespace {

TEST(AddressRange, MatchesByPrefix) {
  const AddressRange ten = AddressRange::parse("10.0.0.0/8");
  EXPECT_TRUE(ten.contains(Address::parse("10.255.1.2", 80)));
  EXPECT_FALSE(ten.contains(Address::parse("11.0.0.1")));
  const AddressRange odd = AddressRange::parse("192.168.4.0/22");
  EXPECT_TRUE(odd.contains(Address::parse("192.168.7.255")));
  EXPECT_FALSE(odd.contains(Address::parse("192.168.8.0")));
  EXPECT_FALSE(odd.contains(Address::parse("192.168.3.255")));
  const AddressRange doc = AddressRange::parse("2001:db8::/32");
  EXPECT_TRUE(doc.contains(Address::parse("2001:db8:ffff::1")));
  EXPECT_FALSE(doc.contains(Address::parse("2001:db9::1")));
  EXPECT_FALSE(doc.contains(Address::parse("10.0.0.1")));
  EXPECT_FALSE(ten.contains(Address::parse("::1")));
}

TEST(AddressRange, ASingleAddressAndEverything) {
  const AddressRange one = AddressRange::parse("127.0.0.1");
  EXPECT_EQ(one.to_string(), "127.0.0.1/32");
  EXPECT_TRUE(one.contains(Address::parse("127.0.0.1", 9)));
  EXPECT_FALSE(one.contains(Address::parse("127.0.0.2")));
  const AddressRange all = AddressRange::parse("0.0.0.0/0");
  EXPECT_TRUE(all.contains(Address::parse("203.0.113.9")));
  EXPECT_EQ(AddressRange::parse("::/0").to_string(), "::/0");
  EXPECT_TRUE(AddressRange::parse("::/0").contains(Address::parse("fe80::1")));
}

TEST(AddressRange, V4MappedPeersMatchIpv4Ranges) {
  const AddressRange loop = AddressRange::parse("127.0.0.0/8");
  EXPECT_TRUE(loop.contains(Address::parse("::ffff:127.0.0.5", 1)));
  EXPECT_FALSE(loop.contains(Address::parse("::ffff:128.0.0.5", 1)));
}

TEST(AddressRange, UnixPeers) {
  const AddressRange unix_peers = AddressRange::parse("unix");
  EXPECT_TRUE(unix_peers.contains(Address::unix_path("/run/x.sock")));
  EXPECT_TRUE(unix_peers.contains(Address::unix_abstract("x")));
  EXPECT_FALSE(unix_peers.contains(Address::parse("127.0.0.1")));
  EXPECT_FALSE(AddressRange::parse("0.0.0.0/0").contains(Address::unix_path("/run/x.sock")));
}

TEST(AddressRange, ListsAndTheLoopbackDefault) {
  const auto ranges = AddressRange::parse_list("10.0.0.0/8,::1,unix");
  ASSERT_EQ(ranges.size(), 3U);
  EXPECT_TRUE(contains_any(ranges, Address::parse("::1")));
  EXPECT_FALSE(contains_any(ranges, Address::parse("192.0.2.1")));
  const auto local = AddressRange::loopback();
  EXPECT_TRUE(contains_any(local, Address::parse("127.0.0.2")));
  EXPECT_TRUE(contains_any(local, Address::parse("::1")));
  EXPECT_TRUE(contains_any(local, Address::unix_abstract("y")));
  EXPECT_FALSE(contains_any(local, Address::parse("10.0.0.1")));
}

TEST(AddressRange, RefusesWhatItCannotMean) {
  for (const std::string text :
       {"", "10.0.0.0/33", "::/129", "10.1.0.0/8", "10.0.0.0/", "10/8", "host.example",
        "fe80::1%lo", "10.0.0.0/-1", "10.0.0.0/8,", "10.0.0.0/08x"}) {
    EXPECT_THROW(AddressRange::parse_list(text), std::invalid_argument) << text;
  }
  try {
    AddressRange::parse("10.1.0.0/8");
    FAIL() << "no exception";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("10.1.0.0/8"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace sockit
