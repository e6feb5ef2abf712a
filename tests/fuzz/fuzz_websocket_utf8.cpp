// UTF-8 validation, differential: the incremental validator fed fuzzer-chosen pieces, the
// whole-string check, and a decoder written here from RFC 3629's definition (code points
// decoded, then overlongs, surrogates and values past U+10FFFF refused) must agree; the
// incremental one must fail at the first piece holding a byte no valid text can continue.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz_support.hpp"
#include "sockit/websocket/utf8.hpp"

namespace {

// How many leading bytes of `text` could begin valid UTF-8 (text.size() when all can), and
// whether the whole text is valid.
struct Reference {
  std::size_t valid_prefix = 0;
  bool valid = false;
};

Reference reference(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size()) {
    const auto lead = static_cast<unsigned char>(text[i]);
    std::size_t length = 0;
    std::uint32_t cp = 0;
    if (lead < 0x80) {
      ++i;
      continue;
    }
    if ((lead & 0xe0) == 0xc0) {
      length = 2;
      cp = lead & 0x1fU;
    } else if ((lead & 0xf0) == 0xe0) {
      length = 3;
      cp = lead & 0x0fU;
    } else if ((lead & 0xf8) == 0xf0) {
      length = 4;
      cp = lead & 0x07U;
    } else {
      return {i, false};
    }
    // C0 and C1 can only begin overlong forms, F5..F7 only values past U+10FFFF.
    if ((length == 2 && lead < 0xc2) || (length == 4 && lead > 0xf4)) return {i, false};
    // Decode as far as the bytes go; refuse as soon as the value so far shows an overlong,
    // a surrogate or a value past U+10FFFF, whatever the remaining bytes.
    std::size_t k = 1;
    for (; k < length && i + k < text.size(); ++k) {
      const auto c = static_cast<unsigned char>(text[i + k]);
      if ((c & 0xc0) != 0x80) return {i + k, false};
      cp = cp << 6 | (c & 0x3fU);
      // The smallest and largest values the sequence can still reach.
      const unsigned shift = 6 * static_cast<unsigned>(length - 1 - k);
      const std::uint32_t lowest = cp << shift;
      const std::uint32_t highest = lowest | ((1U << shift) - 1);
      const std::uint32_t minimum = length == 2 ? 0x80 : length == 3 ? 0x800 : 0x10000;
      if (highest < minimum || lowest > 0x10ffff || (lowest >= 0xd800 && highest <= 0xdfff)) {
        return {i + k, false};
      }
    }
    if (k < length) return {text.size(), false};  // cut short at the end
    i += length;
  }
  return {text.size(), true};
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const sockit::fuzz::SplitInput input = sockit::fuzz::split_input(data, size);
  const Reference want = reference(input.message);
  FUZZ_CHECK(sockit::websocket::is_valid_utf8(input.message) == want.valid);

  sockit::websocket::Utf8Validator validator;
  std::size_t fed = 0;
  for (std::string_view piece : sockit::fuzz::pieces(input.choice, input.message)) {
    const bool ok = validator.feed(piece);
    fed += piece.size();
    FUZZ_CHECK(ok == !validator.failed());
    // Fails exactly when the bytes so far hold one no valid text can continue.
    FUZZ_CHECK(validator.failed() == (want.valid_prefix < fed));
  }
  FUZZ_CHECK(validator.complete() == want.valid);
  return 0;
}
