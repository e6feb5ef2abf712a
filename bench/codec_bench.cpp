// Decode and encode throughput of the line and length-prefix codecs, for small (64 B) and
// medium (4 KiB) messages. Input arrives in 16 KiB pieces, as from one socket read, so
// messages straddle feeds the way they do in a server.
#include <benchmark/benchmark.h>

#include <cstddef>
#include <string>
#include <string_view>

#include "sockit/framing.hpp"

namespace {

constexpr std::size_t kReadSize = 16 * 1024;
constexpr std::size_t kWireBytes = 1024 * 1024;

std::string payload(std::size_t size) {
  std::string text(size, '\0');
  for (std::size_t i = 0; i < size; ++i)
    text[i] = static_cast<char>('a' + i % 26);
  return text;
}

// About kWireBytes of back-to-back encoded messages.
template <class Codec>
std::string wire_of(const Codec& codec, std::size_t message_size, std::size_t& messages) {
  const std::string message = payload(message_size);
  std::string wire;
  messages = 0;
  while (wire.size() < kWireBytes) {
    codec.encode(message, wire);
    ++messages;
  }
  return wire;
}

template <class Codec>
void decode(benchmark::State& state, Codec codec) {
  const auto size = static_cast<std::size_t>(state.range(0));
  std::size_t messages = 0;
  const std::string wire = wire_of(codec, size, messages);
  for (auto _ : state) {
    std::size_t frames = 0;
    std::size_t bytes = 0;
    for (std::size_t at = 0; at < wire.size(); at += kReadSize) {
      codec.feed(std::string_view(wire).substr(at, kReadSize));
      for (;;) {
        auto result = codec.next();
        if (!result.is_frame()) break;
        ++frames;
        bytes += result.frame.size();
      }
    }
    benchmark::DoNotOptimize(bytes);
    if (frames != messages) state.SkipWithError("lost frames");
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * wire.size()));
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * messages));
}

template <class Codec>
void encode(benchmark::State& state, Codec codec) {
  const std::string message = payload(static_cast<std::size_t>(state.range(0)));
  std::string out;
  out.reserve(message.size() + 16);
  for (auto _ : state) {
    out.clear();
    codec.encode(message, out);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * message.size()));
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}

void BM_LineDecode(benchmark::State& state) {
  decode(state, sockit::LineCodec{});
}
void BM_LineDecodeCrlf(benchmark::State& state) {
  decode(state, sockit::LineCodec(sockit::LineCodecOptions{.crlf = true}));
}
void BM_LengthPrefixDecode(benchmark::State& state) {
  decode(state, sockit::LengthPrefixCodec{});
}
void BM_LengthPrefixDecodeLittle8(benchmark::State& state) {
  decode(state, sockit::LengthPrefixCodec(sockit::LengthPrefixOptions{
                    .width = 8, .order = sockit::ByteOrder::little_endian}));
}
void BM_LineEncode(benchmark::State& state) {
  encode(state, sockit::LineCodec{});
}
void BM_LengthPrefixEncode(benchmark::State& state) {
  encode(state, sockit::LengthPrefixCodec{});
}

}  // namespace

BENCHMARK(BM_LineDecode)->Arg(64)->Arg(4096);
BENCHMARK(BM_LineDecodeCrlf)->Arg(64)->Arg(4096);
BENCHMARK(BM_LengthPrefixDecode)->Arg(64)->Arg(4096);
BENCHMARK(BM_LengthPrefixDecodeLittle8)->Arg(64)->Arg(4096);
BENCHMARK(BM_LineEncode)->Arg(64)->Arg(4096);
BENCHMARK(BM_LengthPrefixEncode)->Arg(64)->Arg(4096);
