// Internal: the Output of one channel of a blocking connection (the accepted socket or an
// outbound connection it opened). Bytes wait here until the read loop flushes them; the
// runtime requests (timers, off-loop work, outbound connects, peers) go to the connection
// that owns the channel, through ChannelHost.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "metric_shard.hpp"
#include "sockit/server/session.hpp"
#include "sockit/socket.hpp"

namespace sockit::server::detail {

// What a channel's Output asks of its connection; `channel` names the asking channel.
class ChannelHost {
 public:
  virtual std::shared_ptr<Peer> peer_of(std::uint64_t channel) = 0;
  virtual TimerId start_timer(std::uint64_t channel, std::chrono::milliseconds after) = 0;
  virtual bool cancel_timer(TimerId id) noexcept = 0;
  virtual bool run_off_loop(std::uint64_t channel, OffLoopWork work) = 0;
  virtual void connect(OutboundRequest request, std::unique_ptr<Session> session) = 0;

 protected:
  ~ChannelHost() = default;
};

class BufferedOutput final : public Output {
 public:
  // `socket`: where send_file sends from (the channel's own socket).
  BufferedOutput(ChannelHost& host, std::uint64_t channel, Socket* socket) noexcept
      : host_(host), channel_(channel), socket_(socket) {}

  // Counted in the calling thread's shard (thread_shard()), as are the bytes sent.
  void write(std::string_view bytes) override {
    if (closing_ || write_shut_) return;
    pending_.append(bytes);
    thread_shard().add(Counter::messages_out);
  }
  void close() override { closing_ = true; }
  bool closing() const noexcept override { return closing_; }
  void close_write() override {
    if (!closing_) write_shut_ = true;
  }
  // close_write was asked for, and everything before it has been sent: the FIN is due.
  bool write_shut_due() const noexcept { return write_shut_ && !write_shut_sent_ && queued() == 0; }
  void write_shut_sent() noexcept { write_shut_sent_ = true; }
  std::shared_ptr<Peer> peer() override;

  std::size_t queued() const noexcept override { return pending_.size() - sent_ + file_waiting_; }
  void set_reading(bool on) override { reading_ = on; }
  std::optional<std::size_t> send_file(int fd, std::uint64_t offset, std::size_t length) override;
  void tally(Counter counter, std::uint64_t n) noexcept override { thread_shard().add(counter, n); }
  // The rest of a file waits for the socket to take more (see send_file): the channel is
  // polled for POLLOUT and held to its write deadline, as with queued bytes.
  bool file_waiting() const noexcept { return file_waiting_; }
  // The socket can take more (or the connection is ending): the wait is over.
  void end_file_wait() noexcept { file_waiting_ = false; }
  TimerId start_timer(std::chrono::milliseconds after) override;
  bool cancel_timer(TimerId id) noexcept override;
  bool run_off_loop(OffLoopWork work) override;
  void connect(OutboundRequest request, std::unique_ptr<Session> session) override;

  // Where bytes from other threads are appended.
  std::string& pending() noexcept { return pending_; }
  std::string_view unsent() const noexcept { return std::string_view(pending_).substr(sent_); }
  // The kernel took `n` more bytes. What was sent is dropped once all is sent, or once it is
  // most of the buffer, so a slow peer costs no copying per partial write.
  void sent(std::size_t n) noexcept {
    thread_shard().add(Counter::bytes_out, n);
    sent_ += n;
    if (sent_ == pending_.size()) {
      pending_.clear();
      sent_ = 0;
    }
  }
  void compact() {
    if (sent_ > pending_.size() / 2) {
      pending_.erase(0, sent_);
      sent_ = 0;
    }
  }
  void discard() noexcept {
    pending_.clear();
    sent_ = 0;
  }
  bool reading() const noexcept { return reading_; }

 private:
  ChannelHost& host_;
  const std::uint64_t channel_;
  std::string pending_;
  Socket* socket_;
  std::size_t sent_ = 0;  // the head of pending_ the kernel has already taken
  bool file_waiting_ = false;
  bool nonblocking_ = false;  // the socket was switched to non-blocking mode for sendfile
  bool closing_ = false;
  bool reading_ = true;
  bool write_shut_ = false;       // close_write: writes end here
  bool write_shut_sent_ = false;  // and the FIN has gone
};

}  // namespace sockit::server::detail
