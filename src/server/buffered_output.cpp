// A blocking connection's per-channel Output (see buffered_output.hpp).
#include "buffered_output.hpp"

#include <sys/sendfile.h>

#include <cerrno>
#include <utility>

#include "sockit/error.hpp"

namespace sockit::server::detail {

std::shared_ptr<Peer> BufferedOutput::peer() {
  return host_.peer_of(channel_);
}

// Only with nothing queued ahead of the file: the bytes written before it (a response's
// head) go first, and when the socket does not take them all the session writes the file
// itself behind them. sendfile(2) takes no MSG_DONTWAIT, so the socket goes non-blocking
// for good on first use: every other call on it is non-blocking already.
std::optional<std::size_t> BufferedOutput::send_file(int fd, std::uint64_t offset,
                                                     std::size_t length) {
  if (socket_ == nullptr || closing_ || write_shut_ || file_waiting_) return std::nullopt;
  try {
    while (queued() != 0) {
      const IoResult r = socket_->write_nonblock(unsent());
      if (!r.ok()) return std::nullopt;
      sent(r.bytes);
    }
    if (!nonblocking_) {
      socket_->set_nonblocking(true);
      nonblocking_ = true;
    }
  } catch (const Error&) {
    return std::nullopt;  // the read loop meets the failure on its next write or read
  }
  if (length == 0) return 0;
  auto at = static_cast<off_t>(offset);
  const ssize_t n = ::sendfile(socket_->fd(), fd, &at, length);
  if (n < 0) {
    const int err = errno;
    if (err != EAGAIN && err != EWOULDBLOCK && err != EINTR) return std::nullopt;
    file_waiting_ = true;
    return 0;
  }
  // Nothing taken and no error: the file ended early; the session finds out by reading it.
  if (n == 0) return std::nullopt;
  const auto took = static_cast<std::size_t>(n);
  thread_shard().add(Counter::bytes_out, took);
  if (took < length) file_waiting_ = true;
  return took;
}

TimerId BufferedOutput::start_timer(std::chrono::milliseconds after) {
  return host_.start_timer(channel_, after);
}

bool BufferedOutput::cancel_timer(TimerId id) noexcept {
  return host_.cancel_timer(id);
}

bool BufferedOutput::run_off_loop(OffLoopWork work) {
  return host_.run_off_loop(channel_, std::move(work));
}

void BufferedOutput::connect(OutboundRequest request, std::unique_ptr<Session> session) {
  host_.connect(std::move(request), std::move(session));
}

}  // namespace sockit::server::detail
