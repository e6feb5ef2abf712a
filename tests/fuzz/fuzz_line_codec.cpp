// LineCodec fed a peer's bytes in fuzzer-chosen pieces: the lines (or the error) must be
// those a plain split of the whole input at "\n" gives, whatever the pieces; the codec
// never holds a partial line over its limit; a line decoded encodes and decodes back.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_support.hpp"
#include "sockit/error.hpp"
#include "sockit/framing.hpp"

namespace {

using sockit::fuzz::SplitInput;

struct Outcome {
  std::vector<std::string> lines;
  bool error = false;
};

// What the codec must report for `input` as a whole.
Outcome expected(std::string_view input, std::size_t max_line) {
  Outcome out;
  for (;;) {
    const std::size_t newline = input.find('\n');
    if (newline == std::string_view::npos) {
      std::size_t content = input.size();
      if (content > 0 && input.back() == '\r') --content;
      out.error = content > max_line;
      return out;
    }
    std::string_view line = input.substr(0, newline);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.size() > max_line) {
      out.error = true;
      return out;
    }
    out.lines.emplace_back(line);
    input.remove_prefix(newline + 1);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const SplitInput input = sockit::fuzz::split_input(data, size);
  const std::size_t max_line = 1 + input.choice % 97;
  sockit::LineCodec codec({max_line, (input.choice & 0x80) != 0});

  Outcome got;
  for (std::string_view piece : sockit::fuzz::pieces(input.choice, input.message)) {
    if (got.error) break;
    codec.feed(piece);
    for (;;) {
      sockit::DecodeResult result = codec.next();
      if (result.is_frame()) {
        FUZZ_CHECK(result.frame.size() <= max_line);
        FUZZ_CHECK(result.frame.find('\n') == std::string_view::npos);
        got.lines.emplace_back(result.frame);
        continue;
      }
      if (result.is_error()) {
        FUZZ_CHECK(result.error == sockit::errc::line_too_long);
        FUZZ_CHECK(result.limit == max_line);
        FUZZ_CHECK(!result.describe().empty());
        got.error = true;
      } else {
        // A partial line: at most max_line bytes, and the CR that may end it.
        FUZZ_CHECK(codec.buffered() <= max_line + 1);
        FUZZ_CHECK(codec.pending().find('\n') == std::string_view::npos);
      }
      break;
    }
  }
  const Outcome want = expected(input.message, max_line);
  FUZZ_CHECK(got.error == want.error);
  FUZZ_CHECK(got.lines == want.lines);

  // Each line decoded encodes, and decodes back to itself; except a line ending in CR
  // ("a\r\r\n" gives "a\r"), whose CR the decoder takes for half of a "\r\n" again.
  for (const std::string& line : got.lines) {
    if (!line.empty() && line.back() == '\r') continue;
    std::string wire;
    codec.encode(line, wire);
    sockit::LineCodec again({max_line, false});
    again.feed(wire);
    sockit::DecodeResult back = again.next();
    FUZZ_CHECK(back.is_frame() && back.frame == line);
    FUZZ_CHECK(again.next().need_more() && again.buffered() == 0);
  }
  return 0;
}
