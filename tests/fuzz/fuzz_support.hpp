// What the fuzz targets share: an invariant check that aborts (so libFuzzer reports the
// input, in every build type), the input split into pieces at points the fuzzer chooses
// (for incremental parsers, whose result must not depend on how the bytes arrive), and a
// recording Output for driving sessions without sockets.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "sockit/server/session.hpp"
#include "support/fake_runtime.hpp"

// Aborts with the failed condition: an invariant of the parser under test does not hold.
#define FUZZ_CHECK(condition)                                                                \
  do {                                                                                       \
    if (!(condition)) {                                                                      \
      std::fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #condition); \
      std::abort();                                                                          \
    }                                                                                        \
  } while (false)

namespace sockit::fuzz {

inline std::string_view as_text(const std::uint8_t* data, std::size_t size) noexcept {
  return size == 0 ? std::string_view()
                   : std::string_view(reinterpret_cast<const char*>(data), size);
}

// An input whose first byte chooses how the rest is cut into pieces: the rest is the
// message (so a seed file is one byte of split choice, then readable text).
struct SplitInput {
  std::uint8_t choice = 0;
  std::string_view message;
};

inline SplitInput split_input(const std::uint8_t* data, std::size_t size) noexcept {
  if (size == 0) return {};
  return {data[0], as_text(data + 1, size - 1)};
}

// The lengths of the pieces `size` bytes are cut into, chosen by `choice`: 0 one piece,
// 1 single bytes, otherwise pieces of 1..(choice % 64 + 1) bytes drawn from a small
// generator seeded with `choice`. The lengths sum to `size`.
inline std::vector<std::size_t> piece_lengths(std::uint8_t choice, std::size_t size) {
  std::vector<std::size_t> lengths;
  if (choice == 0) {
    lengths.push_back(size);
    return lengths;
  }
  const std::size_t widest = choice == 1 ? 1 : choice % 64 + 1;
  std::uint32_t state = 0x9e3779b9U ^ choice;
  for (std::size_t at = 0; at < size;) {
    state ^= state << 13;
    state ^= state >> 17;
    state ^= state << 5;
    std::size_t length = std::min<std::size_t>(state % widest + 1, size - at);
    lengths.push_back(length);
    at += length;
  }
  return lengths;
}

inline std::vector<std::string_view> pieces(std::uint8_t choice, std::string_view message) {
  std::vector<std::string_view> out;
  std::size_t at = 0;
  for (std::size_t length : piece_lengths(choice, message.size())) {
    out.push_back(message.substr(at, length));
    at += length;
  }
  return out;
}

class NullPeer final : public server::Peer {
 public:
  void send(std::string bytes) override { sent += bytes; }
  void close() override { closed = true; }
  std::string sent;
  bool closed = false;
};

// An Output that keeps what the session wrote, and whether it asked to close.
class RecordingOutput final : public test::FakeRuntime {
 public:
  void write(std::string_view bytes) override {
    if (closed) ++writes_after_close;
    written.append(bytes);
  }
  void close() override { closed = true; }
  bool closing() const noexcept override { return closed; }
  std::shared_ptr<server::Peer> peer() override {
    if (!peer_) peer_ = std::make_shared<NullPeer>();
    return peer_;
  }

  std::string written;
  bool closed = false;
  std::size_t writes_after_close = 0;

 private:
  std::shared_ptr<NullPeer> peer_;
};

}  // namespace sockit::fuzz
