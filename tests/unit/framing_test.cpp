// Line and length-prefix codecs: partial input, limits, hostile prefixes, round trips.
#include "sockit/framing.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "sockit/error.hpp"

namespace sockit {
namespace {

// Everything the codec yields until it needs more or fails.
template <class Codec>
std::vector<std::string> drain(Codec& codec) {
  std::vector<std::string> frames;
  for (;;) {
    auto result = codec.next();
    if (!result.is_frame()) break;
    frames.emplace_back(result.frame);
  }
  return frames;
}

// ---- LineCodec ----

TEST(LineCodec, SeveralLinesInOneFeed) {
  LineCodec codec;
  codec.feed("one\ntwo\nthree\n");
  EXPECT_EQ(drain(codec), (std::vector<std::string>{"one", "two", "three"}));
  EXPECT_EQ(codec.buffered(), 0u);
}

TEST(LineCodec, ByteByByteFeeds) {
  LineCodec codec;
  const std::string input = "hello\r\nworld\n\npartial";
  std::vector<std::string> frames;
  for (char c : input) {
    codec.feed(std::string_view(&c, 1));
    for (auto& f : drain(codec))
      frames.push_back(f);
  }
  EXPECT_EQ(frames, (std::vector<std::string>{"hello", "world", ""}));
  EXPECT_EQ(codec.pending(), "partial");
  EXPECT_TRUE(codec.next().need_more());
}

TEST(LineCodec, CrlfStrippedButLoneCrKept) {
  LineCodec codec;
  codec.feed("a\r\nb\rc\n\r\n");
  EXPECT_EQ(drain(codec), (std::vector<std::string>{"a", "b\rc", ""}));
}

TEST(LineCodec, BinaryBytesWithNulsPassThrough) {
  LineCodec codec;
  const std::string line("\0\x01\xff\0z", 5);
  codec.feed(line + "\n");
  auto result = codec.next();
  ASSERT_TRUE(result.is_frame());
  EXPECT_EQ(result.frame, line);
}

TEST(LineCodec, LineExactlyAtLimitPasses) {
  LineCodec codec(LineCodecOptions{.max_line = 8});
  codec.feed("12345678\n12345678\r\n");
  EXPECT_EQ(drain(codec), (std::vector<std::string>{"12345678", "12345678"}));
}

TEST(LineCodec, LineAtLimitWithCrlfSplitBeforeLfPasses) {
  LineCodec codec(LineCodecOptions{.max_line = 8});
  codec.feed("12345678\r");
  EXPECT_TRUE(codec.next().need_more());
  codec.feed("\n");
  auto result = codec.next();
  ASSERT_TRUE(result.is_frame());
  EXPECT_EQ(result.frame, "12345678");
}

TEST(LineCodec, OneByteOverLimitFails) {
  LineCodec codec(LineCodecOptions{.max_line = 8});
  codec.feed("123456789\n");
  auto result = codec.next();
  ASSERT_TRUE(result.is_error());
  EXPECT_EQ(result.error, make_error_code(errc::line_too_long));
  EXPECT_EQ(result.describe(), "line too long (more than 8 bytes)");
}

TEST(LineCodec, OverLongLineRejectedBeforeNewlineArrives) {
  LineCodec codec(LineCodecOptions{.max_line = 1024});
  codec.feed(std::string(1024, 'x'));
  EXPECT_TRUE(codec.next().need_more());
  codec.feed("y");  // 1025 bytes, no newline yet
  auto result = codec.next();
  ASSERT_TRUE(result.is_error());
  EXPECT_EQ(result.error, make_error_code(errc::line_too_long));
  EXPECT_EQ(result.size, 1025u);
}

TEST(LineCodec, ErrorIsStickyUntilReset) {
  LineCodec codec(LineCodecOptions{.max_line = 4});
  codec.feed("toolong\nok\n");
  EXPECT_TRUE(codec.next().is_error());
  codec.feed("more\n");
  EXPECT_TRUE(codec.next().is_error());
  codec.reset();
  codec.feed("ok\n");
  auto result = codec.next();
  ASSERT_TRUE(result.is_frame());
  EXPECT_EQ(result.frame, "ok");
}

TEST(LineCodec, ThrowIfErrorGivesMessage) {
  LineCodec codec(LineCodecOptions{.max_line = 3});
  codec.feed("abcd");
  auto result = codec.next();
  try {
    result.throw_if_error("read_line", "127.0.0.1:5555");
    FAIL() << "no exception";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "read_line 127.0.0.1:5555: line too long (more than 3 bytes)");
    EXPECT_EQ(e.code(), make_error_code(errc::line_too_long));
  }
}

TEST(LineCodec, EncodeAppendsTerminator) {
  std::string out = "x";
  LineCodec lf;
  lf.encode("abc", out);
  LineCodec crlf(LineCodecOptions{.crlf = true});
  crlf.encode("def", out);
  EXPECT_EQ(out, "xabc\ndef\r\n");
  EXPECT_THROW(lf.encode("a\nb", out), Error);
  LineCodec small(LineCodecOptions{.max_line = 2});
  EXPECT_THROW(small.encode("abc", out), Error);
}

TEST(LineCodec, PrepareCommitReadsInPlace) {
  LineCodec codec;
  auto space = codec.prepare(16);
  ASSERT_GE(space.size(), 16u);
  std::memcpy(space.data(), "hi\nthere\n", 9);
  codec.commit(9);
  EXPECT_EQ(drain(codec), (std::vector<std::string>{"hi", "there"}));
}

TEST(LineCodec, SteadyStateDoesNotGrowBuffer) {
  LineCodec codec;
  const std::string chunk = std::string(60, 'a') + "\n" + std::string(30, 'b');
  const std::string rest = std::string(30, 'b') + "\n";
  codec.feed(chunk);
  drain(codec);
  codec.feed(rest);
  drain(codec);
  const std::size_t capacity = codec.capacity();
  for (int i = 0; i < 10000; ++i) {
    codec.feed(chunk);
    ASSERT_EQ(drain(codec).size(), 1u);
    codec.feed(rest);
    ASSERT_EQ(drain(codec).size(), 1u);
  }
  EXPECT_EQ(codec.capacity(), capacity);
  codec.release_memory();
  EXPECT_EQ(codec.capacity(), 0u);
}

TEST(LineCodec, MoveKeepsPendingBytesAndEmptiesTheSource) {
  LineCodec first;
  first.feed("par");
  LineCodec second(std::move(first));
  second.feed("tial\n");
  auto result = second.next();
  ASSERT_TRUE(result.is_frame());
  EXPECT_EQ(result.frame, "partial");
  EXPECT_EQ(first.buffered(), 0u);  // NOLINT(bugprone-use-after-move): documented state
  EXPECT_EQ(first.capacity(), 0u);  // NOLINT(bugprone-use-after-move)
  first.feed("reused\n");           // NOLINT(bugprone-use-after-move)
  EXPECT_EQ(first.next().frame, "reused");
}

// ---- LengthPrefixCodec ----

struct PrefixCase {
  std::size_t width;
  ByteOrder order;
};

class LengthPrefixRoundTrip : public ::testing::TestWithParam<PrefixCase> {};

TEST_P(LengthPrefixRoundTrip, EncodeThenDecode) {
  const auto [width, order] = GetParam();
  LengthPrefixCodec codec(LengthPrefixOptions{.width = width, .order = order});
  const std::size_t biggest = std::min<std::size_t>(codec.max_frame(), 300);
  std::vector<std::string> messages = {"", "a", std::string("\0\xff\n\r", 4),
                                       std::string(biggest, 'z')};
  std::string wire;
  for (auto& m : messages)
    codec.encode(m, wire);
  // Fed one byte at a time: the decoder must cope with every split point.
  std::vector<std::string> decoded;
  for (char c : wire) {
    codec.feed(std::string_view(&c, 1));
    for (auto& f : drain(codec))
      decoded.push_back(f);
  }
  EXPECT_EQ(decoded, messages);
  EXPECT_EQ(codec.buffered(), 0u);
}

TEST_P(LengthPrefixRoundTrip, PrefixByteLayout) {
  const auto [width, order] = GetParam();
  LengthPrefixCodec codec(LengthPrefixOptions{.width = width, .order = order});
  std::string wire;
  codec.encode("abc", wire);
  ASSERT_EQ(wire.size(), width + 3);
  const std::size_t low = order == ByteOrder::big_endian ? width - 1 : 0;
  for (std::size_t i = 0; i < width; ++i) {
    EXPECT_EQ(static_cast<unsigned char>(wire[i]), i == low ? 3 : 0) << "byte " << i;
  }
  EXPECT_EQ(wire.substr(width), "abc");
}

INSTANTIATE_TEST_SUITE_P(
    AllWidths, LengthPrefixRoundTrip,
    ::testing::Values(PrefixCase{1, ByteOrder::big_endian}, PrefixCase{1, ByteOrder::little_endian},
                      PrefixCase{2, ByteOrder::big_endian}, PrefixCase{2, ByteOrder::little_endian},
                      PrefixCase{4, ByteOrder::big_endian}, PrefixCase{4, ByteOrder::little_endian},
                      PrefixCase{8, ByteOrder::big_endian},
                      PrefixCase{8, ByteOrder::little_endian}),
    [](const ::testing::TestParamInfo<PrefixCase>& param_info) {
      return "w" + std::to_string(param_info.param.width) +
             (param_info.param.order == ByteOrder::big_endian ? "_be" : "_le");
    });

TEST(LengthPrefixCodec, DefaultIsFourByteBigEndian64KiB) {
  LengthPrefixCodec codec;
  EXPECT_EQ(codec.width(), 4u);
  EXPECT_EQ(codec.order(), ByteOrder::big_endian);
  EXPECT_EQ(codec.max_frame(), 64u * 1024);
  std::string wire;
  codec.encode(std::string(0x0102, 'q'), wire);
  EXPECT_EQ(wire.substr(0, 4), std::string("\0\0\x01\x02", 4));
}

TEST(LengthPrefixCodec, MultiByteLengthsDecodeBothOrders) {
  LengthPrefixCodec be(LengthPrefixOptions{.width = 8, .order = ByteOrder::big_endian});
  LengthPrefixCodec le(LengthPrefixOptions{.width = 8, .order = ByteOrder::little_endian});
  const std::string header("\x01\x02\x03\x04\x05\x06\x07\x08", 8);
  EXPECT_EQ(be.decode_length(header), 0x0102030405060708u);
  EXPECT_EQ(le.decode_length(header), 0x0807060504030201u);
  char out[8];
  be.encode_length(0x0102030405060708u, out);
  EXPECT_EQ(std::string(out, 8), header);
}

TEST(LengthPrefixCodec, HostilePrefixRejectedWithoutAllocating) {
  LengthPrefixCodec codec;
  codec.feed(std::string("\xff\xff\xff\xff", 4));
  auto result = codec.next();
  ASSERT_TRUE(result.is_error());
  EXPECT_EQ(result.error, make_error_code(errc::frame_too_large));
  EXPECT_EQ(result.size, 0xFFFFFFFFu);
  EXPECT_EQ(result.describe(), "frame too large (4294967295 bytes, more than 65536)");
  EXPECT_LE(codec.capacity(), 1024u);
  // Bytes that follow are discarded, not buffered.
  codec.feed(std::string(100000, 'x'));
  EXPECT_TRUE(codec.next().is_error());
  EXPECT_LE(codec.capacity(), 1024u);
}

TEST(LengthPrefixCodec, HostileEightBytePrefixRejected) {
  LengthPrefixCodec codec(LengthPrefixOptions{.width = 8});
  codec.feed(std::string(8, '\xff'));
  auto result = codec.next();
  ASSERT_TRUE(result.is_error());
  EXPECT_EQ(result.size, ~std::uint64_t{0});
  EXPECT_LE(codec.capacity(), 1024u);
}

TEST(LengthPrefixCodec, ZeroLengthFrames) {
  LengthPrefixCodec codec;
  codec.feed(std::string(12, '\0'));
  auto frames = drain(codec);
  ASSERT_EQ(frames.size(), 3u);
  for (auto& f : frames)
    EXPECT_TRUE(f.empty());
}

TEST(LengthPrefixCodec, MaxSizeAcceptedAndOneMoreRejected) {
  LengthPrefixOptions options{.max_frame = 1000};
  LengthPrefixCodec codec(options);
  std::string wire;
  codec.encode(std::string(1000, 'm'), wire);
  codec.feed(wire);
  auto result = codec.next();
  ASSERT_TRUE(result.is_frame());
  EXPECT_EQ(result.frame.size(), 1000u);

  std::string too_big;
  EXPECT_THROW(codec.encode(std::string(1001, 'm'), too_big), Error);
  char header[4];
  codec.encode_length(1001, header);
  codec.feed(std::string_view(header, 4));
  result = codec.next();
  ASSERT_TRUE(result.is_error());
  EXPECT_EQ(result.error, make_error_code(errc::frame_too_large));
}

TEST(LengthPrefixCodec, MaxFrameClampedToWidth) {
  LengthPrefixCodec one(LengthPrefixOptions{.width = 1});
  EXPECT_EQ(one.max_frame(), 255u);
  LengthPrefixCodec two(LengthPrefixOptions{.width = 2, .max_frame = 1 << 20});
  EXPECT_EQ(two.max_frame(), 65535u);
}

TEST(LengthPrefixCodec, BadWidthRejected) {
  try {
    LengthPrefixCodec codec(LengthPrefixOptions{.width = 3});
    FAIL() << "width 3 accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), make_error_code(errc::invalid_argument));
  }
}

TEST(LengthPrefixCodec, FramesStayValidUntilNextFeed) {
  LengthPrefixCodec codec;
  std::string wire;
  codec.encode("first", wire);
  codec.encode("second", wire);
  codec.feed(wire);
  auto a = codec.next();
  auto b = codec.next();
  ASSERT_TRUE(a.is_frame());
  ASSERT_TRUE(b.is_frame());
  EXPECT_TRUE(codec.next().need_more());
  EXPECT_EQ(a.frame, "first");
  EXPECT_EQ(b.frame, "second");
}

TEST(LengthPrefixCodec, SteadyStateDoesNotGrowBuffer) {
  LengthPrefixCodec codec;
  std::string wire;
  codec.encode(std::string(4096, 'p'), wire);
  // Feed in uneven pieces so frames straddle feeds.
  auto pump = [&] {
    std::size_t count = 0;
    for (std::size_t at = 0; at < wire.size(); at += 1000) {
      codec.feed(std::string_view(wire).substr(at, 1000));
      count += drain(codec).size();
    }
    return count;
  };
  for (int i = 0; i < 10; ++i)
    pump();
  const std::size_t capacity = codec.capacity();
  for (int i = 0; i < 1000; ++i)
    ASSERT_EQ(pump(), 1u);
  EXPECT_EQ(codec.capacity(), capacity);
}

}  // namespace
}  // namespace sockit
