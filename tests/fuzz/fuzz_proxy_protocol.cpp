// The PROXY protocol header parser fed a balancer's (or an attacker's) first bytes: the
// input's prefixes at fuzzer-chosen points must agree with the whole (incomplete until a
// header is whole, then the same header; once refused, refused for good), a header is never
// longer than its version allows, and one that names addresses encodes back to the same.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_support.hpp"
#include "sockit/proxy_protocol.hpp"

namespace {

using sockit::ProxyParse;

bool same_header(const sockit::ProxyHeader& a, const sockit::ProxyHeader& b) {
  return a.version == b.version && a.proxied == b.proxied && a.source == b.source &&
         a.destination == b.destination && a.tlvs == b.tlvs;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const sockit::fuzz::SplitInput input = sockit::fuzz::split_input(data, size);
  const ProxyParse whole = sockit::parse_proxy_header(input.message);
  if (whole.status == ProxyParse::Status::done) {
    FUZZ_CHECK(whole.size <= input.message.size());
    FUZZ_CHECK(whole.size <=
               (whole.header.version == 1 ? sockit::kProxyV1MaxSize : sockit::kProxyV2MaxSize));
  }
  if (whole.status == ProxyParse::Status::invalid) FUZZ_CHECK(!whole.error.empty());
  if (whole.status == ProxyParse::Status::incomplete) {
    FUZZ_CHECK(input.message.size() < sockit::kProxyV2MaxSize);
  }

  // What a server sees as the bytes arrive: each longer prefix.
  std::size_t seen = 0;
  bool refused = false;
  for (std::string_view piece : sockit::fuzz::pieces(input.choice, input.message)) {
    seen += piece.size();
    const ProxyParse now = sockit::parse_proxy_header(input.message.substr(0, seen));
    if (refused) FUZZ_CHECK(now.status == ProxyParse::Status::invalid);
    if (now.status == ProxyParse::Status::invalid) {
      refused = true;
      FUZZ_CHECK(whole.status == ProxyParse::Status::invalid);
    } else if (now.status == ProxyParse::Status::done) {
      FUZZ_CHECK(whole.status == ProxyParse::Status::done);
      FUZZ_CHECK(now.size == whole.size);
      FUZZ_CHECK(same_header(now.header, whole.header));
    } else if (whole.status == ProxyParse::Status::done) {
      FUZZ_CHECK(seen < whole.size);
    }
  }

  // A header naming addresses encodes back to one that parses the same.
  if (whole.status == ProxyParse::Status::done && whole.header.proxied) {
    const sockit::ProxyHeader& h = whole.header;
    if (h.version == 1) {
      const ProxyParse again =
          sockit::parse_proxy_header(sockit::proxy_header_v1(h.source, h.destination));
      FUZZ_CHECK(again.status == ProxyParse::Status::done);
      FUZZ_CHECK(again.header.source == h.source && again.header.destination == h.destination);
    } else if (h.source.family() == h.destination.family()) {
      std::string encoded;
      try {
        encoded = sockit::proxy_header_v2(h.source, h.destination, h.tlvs);
      } catch (const std::invalid_argument&) {
        return 0;  // the addresses and TLVs fill more than one header holds
      }
      const ProxyParse again = sockit::parse_proxy_header(encoded);
      // A CRC32C TLV carried over no longer matches the header it is now in.
      if (!h.tlv(sockit::ProxyTlv::kCrc32c)) {
        FUZZ_CHECK(again.status == ProxyParse::Status::done);
        FUZZ_CHECK(same_header(again.header, h));
      }
    }
  }
  return 0;
}
