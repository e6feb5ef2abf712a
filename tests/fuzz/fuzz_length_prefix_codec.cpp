// LengthPrefixCodec fed a peer's bytes in fuzzer-chosen pieces, with each width and byte
// order: the frames (or the error) must be those read off the whole input by hand; a
// declared length over the limit is refused before its payload arrives; every frame
// decoded encodes back to the bytes it came from.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_support.hpp"
#include "sockit/error.hpp"
#include "sockit/framing.hpp"

namespace {

struct Outcome {
  std::vector<std::string> frames;
  bool error = false;
};

Outcome expected(std::string_view input, const sockit::LengthPrefixCodec& codec) {
  Outcome out;
  while (input.size() >= codec.width()) {
    const std::uint64_t length = codec.decode_length(input);
    if (length > codec.max_frame()) {
      out.error = true;
      return out;
    }
    if (input.size() - codec.width() < length) break;
    out.frames.emplace_back(input.substr(codec.width(), static_cast<std::size_t>(length)));
    input.remove_prefix(codec.width() + static_cast<std::size_t>(length));
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const sockit::fuzz::SplitInput input = sockit::fuzz::split_input(data, size);
  static constexpr std::size_t widths[] = {1, 2, 4, 8};
  sockit::LengthPrefixOptions options;
  options.width = widths[input.choice & 3];
  options.order =
      (input.choice & 4) != 0 ? sockit::ByteOrder::little_endian : sockit::ByteOrder::big_endian;
  options.max_frame = (input.choice & 8) != 0 ? 300 : sockit::default_max_frame;
  sockit::LengthPrefixCodec codec(options);

  Outcome got;
  for (std::string_view piece : sockit::fuzz::pieces(input.choice >> 4, input.message)) {
    if (got.error) break;
    codec.feed(piece);
    for (;;) {
      sockit::DecodeResult result = codec.next();
      if (result.is_frame()) {
        FUZZ_CHECK(result.frame.size() <= codec.max_frame());
        got.frames.emplace_back(result.frame);
        continue;
      }
      if (result.is_error()) {
        FUZZ_CHECK(result.error == sockit::errc::frame_too_large);
        FUZZ_CHECK(result.size > codec.max_frame() && result.limit == codec.max_frame());
        got.error = true;
      } else {
        // Never more than one prefix and a payload within the limit.
        FUZZ_CHECK(codec.buffered() < codec.width() + codec.max_frame());
      }
      break;
    }
  }
  const Outcome want = expected(input.message, codec);
  FUZZ_CHECK(got.error == want.error);
  FUZZ_CHECK(got.frames == want.frames);

  std::string wire;
  for (const std::string& frame : got.frames)
    codec.encode(frame, wire);
  FUZZ_CHECK(input.message.substr(0, wire.size()) == wire);
  return 0;
}
