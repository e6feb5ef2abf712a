// Stream over socketpairs and loopback TCP: line reading limits and splits, exact reads,
// deadlines on reads and writes, large writes against a slow reader, framed messages.
// sockit-test-labels: threaded
#include "sockit/stream.hpp"

#include <gtest/gtest.h>
#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <new>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include "sockit/address.hpp"
#include "sockit/error.hpp"
#include "sockit/framing.hpp"
#include "sockit/socket.hpp"

namespace sockit {
namespace {

// The largest single allocation through operator new (replaced below) since last reset.
std::atomic<std::size_t> largest_allocation{0};

}  // namespace
}  // namespace sockit

// Counts what it allocates, to show what a declared frame length costs before its bytes.
void* operator new(std::size_t size) {
  std::size_t seen = sockit::largest_allocation.load(std::memory_order_relaxed);
  while (size > seen &&
         !sockit::largest_allocation.compare_exchange_weak(seen, size, std::memory_order_relaxed)) {
  }
  void* p = std::malloc(size == 0 ? 1 : size);  // NOLINT(cppcoreguidelines-no-malloc)
  if (p == nullptr) throw std::bad_alloc();
  return p;
}
void operator delete(void* p) noexcept {
  std::free(p);  // NOLINT(cppcoreguidelines-no-malloc)
}
void operator delete(void* p, std::size_t) noexcept {
  std::free(p);  // NOLINT(cppcoreguidelines-no-malloc)
}

namespace sockit {
namespace {

using namespace std::chrono_literals;

struct Pair {
  Socket a;
  Socket b;
};

Pair unix_pair() {
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) {
    throw std::system_error(errno, std::system_category(), "socketpair");
  }
  return {Socket::adopt(fds[0]), Socket::adopt(fds[1])};
}

// a = the client, b = the accepted end; errors then name "127.0.0.1:PORT".
Pair tcp_pair() {
  Socket listener(AF_INET, SOCK_STREAM);
  listener.bind(Address::parse("127.0.0.1", 0));
  listener.listen();
  Socket client(AF_INET, SOCK_STREAM);
  client.connect(listener.local_address(), 10s);
  Accepted accepted = listener.accept(10s);
  return {std::move(client), std::move(accepted.socket)};
}

void send_all(Socket& socket, std::string_view bytes) {
  while (!bytes.empty())
    bytes.remove_prefix(socket.send(bytes));
}

// Joins on scope exit so a failed assertion cannot leave a thread running.
class Peer {
 public:
  template <class F, class = std::enable_if_t<!std::is_same_v<std::decay_t<F>, Peer>>>
  explicit Peer(F&& f) : thread_(std::forward<F>(f)) {}
  ~Peer() {
    if (thread_.joinable()) thread_.join();
  }
  Peer(const Peer&) = delete;
  Peer& operator=(const Peer&) = delete;
  void join() { thread_.join(); }

 private:
  std::thread thread_;
};

// ---- read_line ----

TEST(StreamReadLine, LineSplitAcrossByteByByteWrites) {
  Pair pair = unix_pair();
  Socket& a = pair.a;
  Socket& b = pair.b;
  Peer writer([&a] {
    for (char c : std::string_view("first line\nsecond\r\n")) {
      send_all(a, std::string_view(&c, 1));
      std::this_thread::sleep_for(1ms);
    }
    a.close_write();
  });
  Stream stream(b);
  EXPECT_EQ(stream.read_line(100, 20s), "first line");
  EXPECT_EQ(stream.read_line(100, 20s), "second");
  EXPECT_EQ(stream.read_line(100, 20s), std::nullopt);
}

TEST(StreamReadLine, SeveralLinesInOneWrite) {
  Pair pair = unix_pair();
  Socket& a = pair.a;
  Socket& b = pair.b;
  send_all(a, "one\ntwo\r\n\nthree\n");
  Stream stream(b);
  EXPECT_EQ(stream.read_line(100, 10s), "one");
  EXPECT_EQ(stream.read_line(100, 10s), "two");
  EXPECT_EQ(stream.read_line(100, 10s), "");
  EXPECT_EQ(stream.read_line(100, 10s), "three");
  EXPECT_EQ(stream.buffered(), 0u);
}

TEST(StreamReadLine, BinaryGarbageWithNuls) {
  Pair pair = unix_pair();
  Socket& a = pair.a;
  Socket& b = pair.b;
  std::string garbage;
  for (int i = 0; i < 256; ++i) {
    if (i != '\n') garbage.push_back(static_cast<char>(i));
  }
  garbage.insert(0, std::string(3, '\0'));
  send_all(a, garbage + "\n");
  Stream stream(b);
  EXPECT_EQ(stream.read_line(1024, 10s), garbage);
}

TEST(StreamReadLine, FinalLineWithoutNewlineAtEof) {
  Pair pair = unix_pair();
  Socket& a = pair.a;
  Socket& b = pair.b;
  send_all(a, "complete\nno newline");
  a.close_write();
  Stream stream(b);
  EXPECT_EQ(stream.read_line(100, 10s), "complete");
  EXPECT_EQ(stream.read_line(100, 10s), "no newline");
  EXPECT_EQ(stream.read_line(100, 10s), std::nullopt);
}

TEST(StreamReadLine, CleanEofGivesNullopt) {
  Pair pair = unix_pair();
  Socket& a = pair.a;
  Socket& b = pair.b;
  a.close();
  Stream stream(b);
  EXPECT_EQ(stream.read_line(100, 10s), std::nullopt);
}

TEST(StreamReadLine, LineExactlyAtLimitPasses) {
  Pair pair = unix_pair();
  Socket& a = pair.a;
  Socket& b = pair.b;
  const std::string line(1024, 'x');
  send_all(a, line + "\n" + line + "\r\n");
  Stream stream(b);
  EXPECT_EQ(stream.read_line(1024, 10s), line);
  EXPECT_EQ(stream.read_line(1024, 10s), line);
}

TEST(StreamReadLine, OneByteOverLimitFailsWithMessage) {
  Pair pair = tcp_pair();
  Socket& a = pair.a;
  Socket& b = pair.b;
  send_all(a, std::string(1025, 'x') + "\n");
  Stream stream(b);
  try {
    (void)stream.read_line(1024, 10s);
    FAIL() << "over-long line accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), make_error_code(errc::line_too_long));
    EXPECT_EQ(std::string(e.what()), "read_line " + b.remote_address().to_string() +
                                         ": line too long (more than 1024 bytes)");
    EXPECT_EQ(e.target(), "127.0.0.1:" + std::to_string(b.remote_address().port()));
  }
}

TEST(StreamReadLine, OverLongLineRejectedBeforeItsNewline) {
  // The peer never ends the line and never closes: only the limit can end the read.
  Pair pair = unix_pair();
  Socket& a = pair.a;
  Socket& b = pair.b;
  send_all(a, std::string(5000, 'y'));
  Stream stream(b);
  try {
    (void)stream.read_line(1024, 20s);
    FAIL() << "over-long line accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), make_error_code(errc::line_too_long));
  }
}

TEST(StreamReadLine, LinesLongerThanTheBufferWithinTheLimit) {
  Pair pair = unix_pair();
  Socket& a = pair.a;
  Socket& b = pair.b;
  const std::string line(200'000, 'L');
  Peer writer([&] {
    send_all(a, line + "\nafter\n");
    a.close_write();
  });
  Stream stream(b, 16 * 1024);
  EXPECT_EQ(stream.read_line(300'000, 20s), line);
  EXPECT_EQ(stream.read_line(10, 20s), "after");
}

TEST(StreamReadLine, DeadlineExpiresWhenPeerSendsNothing) {
  Pair pair = tcp_pair();
  Socket& b = pair.b;
  Stream stream(b);
  const auto start = Clock::now();
  try {
    (void)stream.read_line(100, 200ms);
    ADD_FAILURE() << "read returned without data";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), std::errc::timed_out);
    EXPECT_EQ(std::string(e.what()),
              "read_line " + b.remote_address().to_string() + ": Connection timed out");
  }
  EXPECT_GE(Clock::now() - start, 190ms);
}

TEST(StreamReadLine, DataAlreadyThereIsReturnedEvenPastTheDeadline) {
  Pair pair = unix_pair();
  Socket& a = pair.a;
  Socket& b = pair.b;
  send_all(a, "ready\n");
  Stream stream(b);
  EXPECT_EQ(stream.read_line(100, Deadline::at(Clock::now() - 1s)), "ready");
}

// ---- read_exact / read_some / read_to_eof ----

TEST(StreamReadExact, EofMessageIsExact) {
  Pair pair = tcp_pair();
  Socket& a = pair.a;
  Socket& b = pair.b;
  send_all(a, "abc");
  a.close_write();
  Stream stream(b);
  try {
    (void)stream.read_exact(10, 10s);
    FAIL() << "short read accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), make_error_code(errc::connection_closed));
    EXPECT_EQ(std::string(e.what()), "read_exact " + b.remote_address().to_string() +
                                         ": connection closed after 3 of 10 bytes");
  }
}

TEST(StreamReadExact, ReadLineThenReadExactKeepsBufferedBytes) {
  Pair pair = unix_pair();
  Socket& a = pair.a;
  Socket& b = pair.b;
  send_all(a, "HEADER 5\r\nhello world\n");
  Stream stream(b);
  EXPECT_EQ(stream.read_line(100, 10s), "HEADER 5");
  EXPECT_EQ(stream.read_exact(5, 10s), "hello");
  EXPECT_EQ(stream.read_line(100, 10s), " world");
}

TEST(StreamReadExact, LargeReadAcrossManyChunks) {
  Pair pair = unix_pair();
  Socket& a = pair.a;
  Socket& b = pair.b;
  std::string data(3 * 1024 * 1024 + 17, '\0');
  for (std::size_t i = 0; i < data.size(); ++i)
    data[i] = static_cast<char>(i * 31 % 251);
  Peer writer([&] { send_all(a, "x" + data); });
  Stream stream(b);
  EXPECT_EQ(stream.read_exact(1, 20s), "x");
  EXPECT_EQ(stream.read_exact(data.size(), 20s), data);
}

TEST(StreamReadExact, SpanForm) {
  Pair pair = unix_pair();
  Socket& a = pair.a;
  Socket& b = pair.b;
  send_all(a, "0123456789");
  Stream stream(b);
  char out[4];
  stream.read_exact(out, 10s);
  EXPECT_EQ(std::string_view(out, 4), "0123");
  EXPECT_EQ(stream.read_exact(6, 10s), "456789");
}

TEST(StreamReadSome, ReturnsWhatIsThereThenEmptyAtEof) {
  Pair pair = unix_pair();
  Socket& a = pair.a;
  Socket& b = pair.b;
  send_all(a, "line\nrest");
  a.close_write();
  Stream stream(b);
  EXPECT_EQ(stream.read_line(100, 10s), "line");
  EXPECT_EQ(stream.read_some(2, 10s), "re");
  EXPECT_EQ(stream.read_some(100, 10s), "st");
  EXPECT_EQ(stream.read_some(100, 10s), "");
  char out[64 * 1024];
  EXPECT_EQ(stream.read_some(std::span<char>(out), 10s), 0u);
}

TEST(StreamReadSome, DeadlineExpires) {
  Pair pair = unix_pair();
  Socket& b = pair.b;
  Stream stream(b);
  EXPECT_THROW((void)stream.read_some(10, 100ms), Error);
}

TEST(StreamReadToEof, UnderCapReturnsAll) {
  Pair pair = unix_pair();
  Socket& a = pair.a;
  Socket& b = pair.b;
  const std::string data(100'000, 'e');
  Peer writer([&] {
    send_all(a, data);
    a.close_write();
  });
  Stream stream(b);
  EXPECT_EQ(stream.read_to_eof(100'000, 20s), data);
}

TEST(StreamReadToEof, OverCapFails) {
  Pair pair = tcp_pair();
  Socket& a = pair.a;
  Socket& b = pair.b;
  Peer writer([&] {
    send_all(a, std::string(100'001, 'e'));
    a.close_write();
  });
  Stream stream(b);
  try {
    (void)stream.read_to_eof(100'000, 20s);
    FAIL() << "cap ignored";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), make_error_code(errc::frame_too_large));
    EXPECT_EQ(std::string(e.what()), "read_to_eof " + b.remote_address().to_string() +
                                         ": more than 100000 bytes before end of stream");
  }
}

// ---- writes ----

TEST(StreamWrite, SeveralMiBToASlowReader) {
  Pair pair = tcp_pair();
  Socket& a = pair.a;
  Socket& b = pair.b;
  std::string data(6 * 1024 * 1024, '\0');
  for (std::size_t i = 0; i < data.size(); ++i)
    data[i] = static_cast<char>(i % 253);
  std::string received;
  Peer reader([&] {
    Stream in(b);
    for (;;) {
      std::string chunk = in.read_some(4096, 60s);
      if (chunk.empty()) break;
      received += chunk;
      if (received.size() % (256 * 1024) < 4096) std::this_thread::sleep_for(2ms);
    }
  });
  Stream out(a);
  out.write_all(data, 60s);
  out.close_write();
  reader.join();
  EXPECT_EQ(received.size(), data.size());
  EXPECT_TRUE(received == data);
}

TEST(StreamWrite, DeadlineExpiresAgainstAPeerThatNeverReads) {
  Pair pair = tcp_pair();
  Socket& a = pair.a;
  Stream stream(a);
  const std::string chunk(1024 * 1024, 'w');
  try {
    // Kernel buffers absorb a few MiB at most; 64 MiB cannot fit.
    for (int i = 0; i < 64; ++i)
      stream.write_all(chunk, 300ms);
    FAIL() << "64 MiB written to a peer that never reads";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), std::errc::timed_out);
    EXPECT_EQ(std::string(e.what()),
              "write_all " + a.remote_address().to_string() + ": Connection timed out");
  }
}

TEST(StreamWrite, WriteLineAndPuts) {
  Pair pair = unix_pair();
  Socket& a = pair.a;
  Socket& b = pair.b;
  Stream out(a);
  out.write_line("one");
  out.puts("two");
  out.puts("three\n");
  out.puts("");
  out.write_all("raw");
  out.close_write();
  Stream in(b);
  EXPECT_EQ(in.read_to_eof(1000, 10s), "one\ntwo\nthree\n\nraw");
}

TEST(StreamWrite, WriteToClosedPeerIsAnErrorNotSigpipe) {
  Pair pair = unix_pair();
  Socket& a = pair.a;
  Socket& b = pair.b;
  b.close();
  Stream stream(a);
  try {
    stream.write_all(std::string(1024, 'x'), 10s);
    stream.write_all(std::string(1024, 'x'), 10s);
    FAIL() << "write to a closed peer succeeded";
  } catch (const Error& e) {
    EXPECT_EQ(e.operation(), "write_all");
    EXPECT_EQ(e.code(), std::errc::broken_pipe);
  }
}

// ---- frames ----

TEST(StreamFrames, RoundTripAndCleanEof) {
  Pair pair = unix_pair();
  Socket& a = pair.a;
  Socket& b = pair.b;
  LengthPrefixCodec codec(LengthPrefixOptions{.width = 2, .order = ByteOrder::little_endian});
  Stream out(a);
  out.write_frame(codec, "hello");
  out.write_frame(codec, "");
  out.write_frame(codec, std::string(60'000, 'f'));
  out.close_write();
  Stream in(b);
  EXPECT_EQ(in.read_frame(codec, 10s), "hello");
  EXPECT_EQ(in.read_frame(codec, 10s), "");
  EXPECT_EQ(in.read_frame(codec, 10s), std::string(60'000, 'f'));
  EXPECT_EQ(in.read_frame(codec, 10s), std::nullopt);
}

TEST(StreamFrames, HostilePrefixRejected) {
  Pair pair = tcp_pair();
  Socket& a = pair.a;
  Socket& b = pair.b;
  send_all(a, std::string("\xff\xff\xff\xff", 4));
  LengthPrefixCodec codec;
  Stream in(b);
  try {
    (void)in.read_frame(codec, 10s);
    FAIL() << "hostile length accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), make_error_code(errc::frame_too_large));
    EXPECT_EQ(std::string(e.what()), "read_frame " + b.remote_address().to_string() +
                                         ": frame too large (4294967295 bytes, more than 65536)");
  }
}

TEST(StreamFrames, EofInsidePrefixOrPayload) {
  LengthPrefixCodec codec;
  {
    Pair pair = unix_pair();
    Socket& a = pair.a;
    Socket& b = pair.b;
    send_all(a, std::string("\0\0", 2));
    a.close_write();
    Stream in(b);
    try {
      (void)in.read_frame(codec, 10s);
      FAIL();
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), make_error_code(errc::connection_closed));
      EXPECT_NE(std::string(e.what()).find("after 2 of 4 bytes of the length prefix"),
                std::string::npos)
          << e.what();
    }
  }
  {
    Pair pair = unix_pair();
    Socket& a = pair.a;
    Socket& b = pair.b;
    send_all(a, std::string("\0\0\0\x0a"
                            "abc",
                            7));
    a.close_write();
    Stream in(b);
    try {
      (void)in.read_frame(codec, 10s);
      FAIL();
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), make_error_code(errc::connection_closed));
      EXPECT_NE(std::string(e.what()).find("connection closed after 3 of 10 bytes"),
                std::string::npos)
          << e.what();
    }
  }
}

TEST(StreamFrames, WriteFrameOverMaximumThrows) {
  Pair pair = unix_pair();
  Socket& a = pair.a;
  LengthPrefixCodec codec(LengthPrefixOptions{.max_frame = 10});
  Stream out(a);
  EXPECT_THROW(out.write_frame(codec, std::string(11, 'x')), Error);
}

TEST(StreamFrames, DeclaredLengthCostsNothingUntilTheBytesCome) {
  // A peer declares 256 MiB, within the maximum, sends 3 bytes and ends.
  constexpr std::size_t declared = 256 * 1024 * 1024;
  LengthPrefixCodec codec(LengthPrefixOptions{.max_frame = declared});
  Pair pair = unix_pair();
  std::string prefix(4, '\0');
  codec.encode_length(declared, prefix);
  prefix += "abc";
  send_all(pair.a, prefix);
  pair.a.close_write();
  Stream in(pair.b);
  largest_allocation = 0;
  try {
    (void)in.read_frame(codec, 10s);
    FAIL() << "a frame that never came was returned";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), make_error_code(errc::connection_closed));
    EXPECT_NE(std::string(e.what()).find("after 3 of 268435456 bytes"), std::string::npos)
        << e.what();
  }
  EXPECT_LT(largest_allocation.load(), std::size_t{16 * 1024 * 1024})
      << "memory for the declared length was taken before the payload came";
}

// ---- transports ----

// Hands out at most one byte per read and records how much was asked for, to prove the
// Stream works through any Transport and asks the kernel for big chunks.
class TrickleTransport final : public Transport {
 public:
  explicit TrickleTransport(Socket& socket) : inner_(socket) {}
  IoResult read_some(std::span<char> buffer) override {
    requested.push_back(buffer.size());
    return inner_.read_some(buffer.first(std::min<std::size_t>(buffer.size(), 1)));
  }
  IoResult write_some(std::string_view bytes) override {
    return inner_.write_some(bytes.substr(0, 3));
  }
  bool wait(Direction op, Deadline deadline) override { return inner_.wait(op, deadline); }
  void close_write() override { inner_.close_write(); }
  int fd() const noexcept override { return inner_.fd(); }
  std::string peer_name() const override { return "trickle"; }

  std::vector<std::size_t> requested;

 private:
  SocketTransport inner_;
};

TEST(StreamTransport, CustomTransportCarriesTheSameApi) {
  Pair pair = unix_pair();
  Socket& a = pair.a;
  Socket& b = pair.b;
  TrickleTransport out_transport(a);
  Stream out(out_transport);
  out.write_line("through a custom transport");
  out.write_all("tail");
  out.close_write();

  TrickleTransport in_transport(b);
  Stream in(in_transport);
  EXPECT_EQ(in.read_line(100, 10s), "through a custom transport");
  EXPECT_EQ(in.read_exact(4, 10s), "tail");
  EXPECT_EQ(in.read_line(100, 10s), std::nullopt);
  ASSERT_FALSE(in_transport.requested.empty());
  for (std::size_t asked : in_transport.requested)
    EXPECT_GE(asked, min_read_chunk);
}

TEST(StreamTransport, ErrorsNameTheTransportsPeer) {
  Pair pair = unix_pair();
  Socket& b = pair.b;
  TrickleTransport transport(b);
  Stream in(transport);
  try {
    (void)in.read_line(10, 50ms);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "read_line trickle: Connection timed out");
  }
}

TEST(StreamTransport, MovedStreamKeepsItsBufferAndTransport) {
  Pair pair = unix_pair();
  Socket& a = pair.a;
  Socket& b = pair.b;
  send_all(a, "one\ntwo\n");
  Stream first(b);
  EXPECT_EQ(first.read_line(100, 10s), "one");
  Stream second(std::move(first));
  EXPECT_EQ(second.read_line(100, 10s), "two");
}

}  // namespace
}  // namespace sockit
