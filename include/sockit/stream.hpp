// Stream: buffered, deadline-bounded reading and writing on a stream socket (Ruby's gets,
// read(n), readpartial, read, write, puts). The bytes travel through a Transport, so a
// TLS transport plugs in under the same API. Deadlines are enforced with poll(2) on the
// transport's descriptor, never with signals or SO_RCVTIMEO.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "sockit/byte_buffer.hpp"
#include "sockit/deadline.hpp"
#include "sockit/framing.hpp"
#include "sockit/socket.hpp"

namespace sockit {

enum class Direction { read, write };

// Non-blocking byte transport under a Stream. read_some/write_some never block; after a
// would_block, wait() blocks until that same operation can make progress. (For TLS a read
// may need the socket writable, so waiting is the transport's business, not the Stream's.)
class Transport {
 public:
  Transport() = default;
  Transport(const Transport&) = delete;
  Transport& operator=(const Transport&) = delete;
  virtual ~Transport() = default;

  // ok with bytes > 0, would_block, or eof (reads only). Failures throw sockit::Error.
  virtual IoResult read_some(std::span<char> buffer) = 0;
  virtual IoResult write_some(std::string_view bytes) = 0;
  // true when `op` may progress, false when the deadline passed first.
  virtual bool wait(Direction op, Deadline deadline) = 0;
  // Sends end-of-stream (TCP FIN; TLS close_notify then FIN).
  virtual void close_write() = 0;
  // The descriptor, for callers that poll it themselves.
  virtual int fd() const noexcept = 0;
  // Who is on the other end, for error messages ("127.0.0.1:5555"); never throws.
  virtual std::string peer_name() const = 0;

 protected:
  Transport(Transport&&) = default;
  Transport& operator=(Transport&&) = default;
};

// The plain transport: a non-owning view of a connected stream Socket. I/O uses
// MSG_DONTWAIT, so the socket may be in blocking or non-blocking mode.
class SocketTransport final : public Transport {
 public:
  explicit SocketTransport(Socket& socket) noexcept : socket_(&socket) {}

  IoResult read_some(std::span<char> buffer) override;
  IoResult write_some(std::string_view bytes) override;
  bool wait(Direction op, Deadline deadline) override;
  void close_write() override;
  int fd() const noexcept override { return socket_->fd(); }
  std::string peer_name() const override;

 private:
  Socket* socket_;
};

inline constexpr std::size_t default_stream_buffer = 64 * 1024;
// Reads ask the kernel for at least this much at a time.
inline constexpr std::size_t min_read_chunk = 16 * 1024;

// Non-owning: the Socket (or Transport) must outlive the Stream. Not thread-safe.
// Errors name the operation and the peer: "read_line 127.0.0.1:5555: line too long (more
// than 1024 bytes)"; a passed deadline gives Error(std::errc::timed_out). After any error
// the stream's position in the protocol is unknown: close the connection.
// Reads never lose bytes between calls: read_line then read_exact sees what followed.
class Stream {
 public:
  explicit Stream(Socket& socket, std::size_t buffer_size = default_stream_buffer);
  explicit Stream(Transport& transport, std::size_t buffer_size = default_stream_buffer);
  Stream(Stream&&) noexcept = default;
  Stream& operator=(Stream&&) noexcept = default;
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;
  ~Stream() = default;

  // Ruby gets: the next line without its "\n" or "\r\n". nullopt at a clean end of stream
  // before any byte; a last line without newline is returned as is. A line longer than
  // max_len fails with errc::line_too_long as soon as that is known.
  std::optional<std::string> read_line(std::size_t max_len, Deadline deadline = {});

  // Ruby read(n): exactly n bytes. An early end of stream fails with
  // errc::connection_closed: "read_exact 127.0.0.1:5555: connection closed after 3 of 10
  // bytes" (the bytes that did arrive are consumed).
  std::string read_exact(std::size_t n, Deadline deadline = {});
  void read_exact(std::span<char> out, Deadline deadline = {});

  // Ruby readpartial: what is buffered, else waits for at least one byte; up to `max`.
  // Empty (0) only at end of stream.
  std::string read_some(std::size_t max, Deadline deadline = {});
  std::size_t read_some(std::span<char> out, Deadline deadline = {});

  // Ruby read: everything up to end of stream. More than `cap` bytes fails with
  // errc::frame_too_large: "read_to_eof 127.0.0.1:5555: more than 1048576 bytes before end
  // of stream".
  std::string read_to_eof(std::size_t cap, Deadline deadline = {});

  // One length-prefixed frame's payload (the codec gives width, byte order and maximum).
  // nullopt at a clean end of stream before any byte; a declared length over the maximum
  // fails with errc::frame_too_large before any of the payload is read. Memory is taken as
  // the payload arrives, not for the declared length up front.
  std::optional<std::string> read_frame(const LengthPrefixCodec& codec, Deadline deadline = {});

  // Writes are not buffered (Ruby sockets are sync): each call returns once the kernel has
  // every byte. A deadline passing mid-write leaves an unknown prefix written.
  void write_all(std::string_view bytes, Deadline deadline = {});
  // `line` then "\n" in one write.
  void write_line(std::string_view line, Deadline deadline = {});
  // Ruby puts: like write_line, but adds no "\n" when `text` already ends with one.
  void puts(std::string_view text, Deadline deadline = {});
  // Prefix + payload in one write; payload longer than the codec's maximum throws.
  void write_frame(const LengthPrefixCodec& codec, std::string_view payload,
                   Deadline deadline = {});

  // Sends end-of-stream to the peer; reading stays possible.
  void close_write();

  // Bytes already read from the transport and not yet returned.
  std::size_t buffered() const noexcept { return read_buffer_.size(); }
  std::string_view peek_buffered() const noexcept { return read_buffer_.data(); }
  Transport& transport() noexcept { return *transport_; }

 private:
  // Reads once into the buffer (waiting as needed); false at end of stream.
  bool fill(std::string_view operation, Deadline deadline);
  // Reads until `n` bytes are buffered; false if the stream ended first.
  bool fill_to(std::size_t n, std::string_view operation, Deadline deadline);
  // One transport read into `out` (waiting as needed); 0 at end of stream.
  std::size_t read_into(std::span<char> out, std::string_view operation, Deadline deadline);
  void read_exact_into(std::span<char> out, std::string_view operation, Deadline deadline);
  // Exactly n bytes, the string grown as they arrive (never n bytes up front).
  std::string read_exact_growing(std::size_t n, std::string_view operation, Deadline deadline);
  // Fills `out`, which is bytes [already, already + out.size()) of a `total`-byte read
  // (the numbers go into the "closed after X of N bytes" message).
  void read_exact_part(std::span<char> out, std::size_t already, std::size_t total,
                       std::string_view operation, Deadline deadline);
  void write_bytes(std::string_view bytes, std::string_view operation, Deadline deadline);
  void write_scratch(std::string_view operation, Deadline deadline);
  [[noreturn]] void fail(std::error_code ec, std::string_view operation,
                         std::string_view detail = {}) const;

  std::unique_ptr<SocketTransport> owned_transport_;  // set when built from a Socket
  Transport* transport_;
  std::size_t buffer_size_;
  detail::ByteBuffer read_buffer_;
  std::string write_scratch_;  // reused for write_line/write_frame: one write, no alloc
};

}  // namespace sockit
