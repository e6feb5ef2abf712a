// Stream: buffered reads and unbuffered writes over a non-blocking Transport,
// every wait bounded by a Deadline through poll(2). SocketTransport is the
// plain-socket transport.
#include "sockit/stream.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>
#include <utility>

#include "sockit/error.hpp"
#include "sockit/poll.hpp"

namespace sockit {

// ---- SocketTransport ----

IoResult SocketTransport::read_some(std::span<char> buffer) {
  return socket_->read_nonblock(buffer);
}

IoResult SocketTransport::write_some(std::string_view bytes) {
  return socket_->write_nonblock(bytes);
}

bool SocketTransport::wait(Direction op, Deadline deadline) {
  return op == Direction::read ? wait_readable(*socket_, deadline)
                               : wait_writable(*socket_, deadline);
}

void SocketTransport::close_write() {
  socket_->close_write();
}

std::string SocketTransport::peer_name() const {
  try {
    return socket_->peer_or_empty().to_string();
  } catch (...) {
    // Only used to label an error that is already being reported.
    return {};
  }
}

// ---- Stream ----

namespace {

// write_line/write_frame copy into one scratch buffer so each message is one
// syscall; a scratch buffer that grew past this for a big message is given back
// afterwards, so an idle stream stays small.
constexpr std::size_t max_kept_scratch = 1024 * 1024;
// read_exact(n) and read_frame grow their result in steps, so a huge n (or a huge declared
// frame) costs memory only as bytes arrive.
constexpr std::size_t read_exact_step = 1024 * 1024;

std::string closed_after(std::size_t got, std::size_t total, std::string_view what = "bytes") {
  return "connection closed after " + std::to_string(got) + " of " + std::to_string(total) + " " +
         std::string(what);
}

}  // namespace

Stream::Stream(Socket& socket, std::size_t buffer_size)
    : owned_transport_(std::make_unique<SocketTransport>(socket)),
      transport_(owned_transport_.get()),
      buffer_size_(std::max(buffer_size, min_read_chunk)) {}

Stream::Stream(Transport& transport, std::size_t buffer_size)
    : transport_(&transport), buffer_size_(std::max(buffer_size, min_read_chunk)) {}

void Stream::fail(std::error_code ec, std::string_view operation, std::string_view detail) const {
  throw Error(ec, std::string(operation), transport_->peer_name(), std::string(detail));
}

std::size_t Stream::read_into(std::span<char> out, std::string_view operation, Deadline deadline) {
  for (;;) {
    IoResult result;
    try {
      result = transport_->read_some(out);
    } catch (const Error& e) {
      fail(e.code(), operation, e.detail());
    }
    if (result.ok()) return result.bytes;
    if (result.eof()) return 0;
    // Trying the read before waiting means data already there is returned even
    // when the deadline has passed; only an actual wait can time out.
    if (!transport_->wait(Direction::read, deadline)) {
      fail(std::make_error_code(std::errc::timed_out), operation);
    }
  }
}

bool Stream::fill(std::string_view operation, Deadline deadline) {
  const std::size_t want = read_buffer_.capacity() == 0 ? buffer_size_ : min_read_chunk;
  auto space = read_buffer_.prepare(want);
  const std::size_t n = read_into(space, operation, deadline);
  read_buffer_.commit(n);
  return n != 0;
}

bool Stream::fill_to(std::size_t n, std::string_view operation, Deadline deadline) {
  while (read_buffer_.size() < n) {
    if (!fill(operation, deadline)) return false;
  }
  return true;
}

std::optional<std::string> Stream::read_line(std::size_t max_len, Deadline deadline) {
  static constexpr std::string_view op = "read_line";
  std::size_t scanned = 0;  // never search the same bytes twice
  for (;;) {
    const std::string_view data = read_buffer_.data();
    const std::size_t newline = data.find('\n', scanned);
    if (newline != std::string_view::npos) {
      std::size_t length = newline;
      if (length > 0 && data[length - 1] == '\r') --length;
      if (length > max_len) {
        fail(make_error_code(errc::line_too_long), op,
             "line too long (more than " + std::to_string(max_len) + " bytes)");
      }
      std::string line(data.substr(0, length));
      read_buffer_.consume(newline + 1);
      return line;
    }
    scanned = data.size();
    // A trailing CR may be the first half of the "\r\n" that ends a line of
    // max_len bytes.
    const bool cr_last = !data.empty() && data.back() == '\r';
    if ((cr_last ? data.size() - 1 : data.size()) > max_len) {
      fail(make_error_code(errc::line_too_long), op,
           "line too long (more than " + std::to_string(max_len) + " bytes)");
    }
    if (!fill(op, deadline)) {
      if (read_buffer_.empty()) return std::nullopt;
      std::string line(read_buffer_.data());
      read_buffer_.consume(line.size());
      return line;
    }
  }
}

void Stream::read_exact_into(std::span<char> out, std::string_view operation, Deadline deadline) {
  read_exact_part(out, 0, out.size(), operation, deadline);
}

void Stream::read_exact_part(std::span<char> out, std::size_t already, std::size_t total,
                             std::string_view operation, Deadline deadline) {
  std::size_t got = 0;
  while (got < out.size()) {
    if (!read_buffer_.empty()) {
      const std::size_t n = std::min(out.size() - got, read_buffer_.size());
      std::memcpy(out.data() + got, read_buffer_.data().data(), n);
      read_buffer_.consume(n);
      got += n;
      continue;
    }
    std::size_t n = 0;
    if (out.size() - got >= min_read_chunk) {
      // Large remainder: read straight into the destination, saving a copy.
      n = read_into(out.subspan(got), operation, deadline);
      got += n;
    } else {
      n = fill(operation, deadline) ? 1 : 0;
    }
    if (n == 0) {
      fail(make_error_code(errc::connection_closed), operation, closed_after(already + got, total));
    }
  }
}

std::string Stream::read_exact_growing(std::size_t n, std::string_view operation,
                                       Deadline deadline) {
  std::string out;
  while (out.size() < n) {
    const std::size_t before = out.size();
    out.resize(before + std::min(n - before, read_exact_step));
    read_exact_part(std::span<char>(out).subspan(before), before, n, operation, deadline);
  }
  return out;
}

std::string Stream::read_exact(std::size_t n, Deadline deadline) {
  return read_exact_growing(n, "read_exact", deadline);
}

void Stream::read_exact(std::span<char> out, Deadline deadline) {
  read_exact_into(out, "read_exact", deadline);
}

std::size_t Stream::read_some(std::span<char> out, Deadline deadline) {
  static constexpr std::string_view op = "read_some";
  if (out.empty()) return 0;
  if (read_buffer_.empty()) {
    if (out.size() >= min_read_chunk) return read_into(out, op, deadline);
    if (!fill(op, deadline)) return 0;
  }
  const std::size_t n = std::min(out.size(), read_buffer_.size());
  std::memcpy(out.data(), read_buffer_.data().data(), n);
  read_buffer_.consume(n);
  return n;
}

std::string Stream::read_some(std::size_t max, Deadline deadline) {
  if (max == 0) return {};
  if (read_buffer_.empty() && !fill("read_some", deadline)) return {};
  std::string out(read_buffer_.data().substr(0, max));
  read_buffer_.consume(out.size());
  return out;
}

std::string Stream::read_to_eof(std::size_t cap, Deadline deadline) {
  static constexpr std::string_view op = "read_to_eof";
  std::string out;
  for (;;) {
    if (out.size() + read_buffer_.size() > cap) {
      fail(make_error_code(errc::frame_too_large), op,
           "more than " + std::to_string(cap) + " bytes before end of stream");
    }
    out.append(read_buffer_.data());
    read_buffer_.consume(read_buffer_.size());
    if (!fill(op, deadline)) return out;
  }
}

std::optional<std::string> Stream::read_frame(const LengthPrefixCodec& codec, Deadline deadline) {
  static constexpr std::string_view op = "read_frame";
  const std::size_t width = codec.width();
  if (!fill_to(width, op, deadline)) {
    if (read_buffer_.empty()) return std::nullopt;
    fail(make_error_code(errc::connection_closed), op,
         closed_after(read_buffer_.size(), width, "bytes of the length prefix"));
  }
  const std::uint64_t length = codec.decode_length(read_buffer_.data());
  if (length > codec.max_frame()) {
    fail(make_error_code(errc::frame_too_large), op,
         "frame too large (" + std::to_string(length) + " bytes, more than " +
             std::to_string(codec.max_frame()) + ")");
  }
  read_buffer_.consume(width);
  return read_exact_growing(static_cast<std::size_t>(length), op, deadline);
}

void Stream::write_bytes(std::string_view bytes, std::string_view operation, Deadline deadline) {
  while (!bytes.empty()) {
    IoResult result;
    try {
      result = transport_->write_some(bytes);
    } catch (const Error& e) {
      fail(e.code(), operation, e.detail());
    }
    if (result.ok()) {
      bytes.remove_prefix(std::min(result.bytes, bytes.size()));
      continue;
    }
    if (result.eof()) fail(errno_code(EPIPE), operation);
    if (!transport_->wait(Direction::write, deadline)) {
      fail(std::make_error_code(std::errc::timed_out), operation);
    }
  }
}

void Stream::write_all(std::string_view bytes, Deadline deadline) {
  write_bytes(bytes, "write_all", deadline);
}

void Stream::write_scratch(std::string_view operation, Deadline deadline) {
  write_bytes(write_scratch_, operation, deadline);
  if (write_scratch_.capacity() > max_kept_scratch) {
    std::string().swap(write_scratch_);
  }
}

void Stream::write_line(std::string_view line, Deadline deadline) {
  write_scratch_.clear();
  write_scratch_.append(line);
  write_scratch_.push_back('\n');
  write_scratch("write_line", deadline);
}

void Stream::puts(std::string_view text, Deadline deadline) {
  if (!text.empty() && text.back() == '\n') {
    write_bytes(text, "puts", deadline);
    return;
  }
  write_scratch_.clear();
  write_scratch_.append(text);
  write_scratch_.push_back('\n');
  write_scratch("puts", deadline);
}

void Stream::write_frame(const LengthPrefixCodec& codec, std::string_view payload,
                         Deadline deadline) {
  static constexpr std::string_view op = "write_frame";
  if (payload.size() > codec.max_frame()) {
    fail(make_error_code(errc::frame_too_large), op,
         "frame too large (" + std::to_string(payload.size()) + " bytes, more than " +
             std::to_string(codec.max_frame()) + ")");
  }
  write_scratch_.clear();
  codec.encode(payload, write_scratch_);
  write_scratch(op, deadline);
}

void Stream::close_write() {
  try {
    transport_->close_write();
  } catch (const Error& e) {
    fail(e.code(), "close_write", e.detail());
  }
}

}  // namespace sockit
