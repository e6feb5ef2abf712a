// The RESP reply decoder fed a Redis server's (or an impostor's) bytes: fed in fuzzer-chosen
// pieces it decodes the same replies as fed whole, and refuses the same input; nothing it
// decodes is past its bounds.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "fuzz_support.hpp"
#include "sockit/error.hpp"
#include "sockit/resp.hpp"

namespace {

sockit::RespLimits limits() {
  sockit::RespLimits l;
  l.max_bulk = 4096;
  l.max_items = 16;
  l.max_depth = 3;
  l.max_line = 64;
  l.max_buffered = 16 * 1024;
  return l;
}

// Each reply, written back in one canonical form, for comparing.
void describe(const sockit::RespValue& v, std::size_t depth, std::string& out) {
  FUZZ_CHECK(depth <= limits().max_depth);
  out += std::to_string(static_cast<int>(v.type)) + ":";
  switch (v.type) {
    case sockit::RespValue::Type::bulk:
      FUZZ_CHECK(v.text.size() <= limits().max_bulk);
      out += v.text;
      break;
    case sockit::RespValue::Type::simple:
    case sockit::RespValue::Type::error:
      FUZZ_CHECK(v.text.size() <= limits().max_line);
      out += v.text;
      break;
    case sockit::RespValue::Type::integer:
      out += std::to_string(v.integer);
      break;
    case sockit::RespValue::Type::array:
      FUZZ_CHECK(v.items.size() <= limits().max_items);
      for (const auto& item : v.items)
        describe(item, depth + 1, out);
      break;
    case sockit::RespValue::Type::null:
      break;
  }
  out += ";";
}

struct Outcome {
  std::string replies;
  bool refused = false;
};

Outcome decode(const std::vector<std::string_view>& pieces) {
  Outcome outcome;
  sockit::RespDecoder decoder(limits());
  try {
    for (std::string_view piece : pieces) {
      decoder.feed(piece);
      while (auto reply = decoder.next())
        describe(*reply, 0, outcome.replies);
    }
  } catch (const sockit::Error&) {
    outcome.refused = true;
  }
  return outcome;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const sockit::fuzz::SplitInput input = sockit::fuzz::split_input(data, size);
  const Outcome whole = decode({input.message});
  const Outcome split = decode(sockit::fuzz::pieces(input.choice, input.message));
  // Every bound is checked the same way whatever the split: the same replies, refused alike.
  FUZZ_CHECK(whole.refused == split.refused);
  FUZZ_CHECK(whole.replies == split.replies);
  return 0;
}
