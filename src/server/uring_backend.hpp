// The event loop's completion backend, on io_uring: where the epoll backend reports that a
// descriptor is ready and the loop then calls recv and send, this one is asked to receive
// and to send, and reports what was done. Receives land in a ring of provided buffers the
// kernel picks from as data arrives (an idle connection holds none); requests queue in
// the submission ring and go to the kernel together, with the wait, in one system call per
// turn of the loop. Used from the loop's own thread only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "io_buffer.hpp"

namespace sockit::server::detail {

// What a request was for; kept in bits 24-31 of its user data, beside the connection's
// slot (bits 0-23) and generation (bits 32-63). The loop's own tokens (listener, stop,
// wake) have 0xff there, which no kind uses.
enum class UringOp : std::uint8_t {
  receive = 1,  // multishot receive into the buffer ring
  send = 2,     // one send of the connection's output in flight
  poll = 3,     // a connect in progress, waiting for writable
  cancel = 4,   // a cancellation: its own completion says nothing
};

inline constexpr std::uint32_t kUringSlotLimit = 1U << 24;
inline constexpr std::uint64_t kUringCancelToken = ~std::uint64_t{0} - 16;

inline std::uint64_t uring_user_data(std::uint64_t token, UringOp op) noexcept {
  return token | (std::uint64_t{static_cast<std::uint8_t>(op)} << 24);
}

struct UringCompletion {
  std::uint64_t user_data;
  std::int32_t result;
  std::uint32_t flags;

  UringOp op() const noexcept { return static_cast<UringOp>((user_data >> 24) & 0xff); }
  std::uint32_t slot() const noexcept {
    return static_cast<std::uint32_t>(user_data & (kUringSlotLimit - 1));
  }
  std::uint32_t generation() const noexcept { return static_cast<std::uint32_t>(user_data >> 32); }
  // Multishot requests: still armed after this completion.
  bool more() const noexcept;
  // Receives: whether a provided buffer was used, and which.
  bool has_buffer() const noexcept;
  std::uint16_t buffer() const noexcept;
};

struct UringSettings {
  unsigned entries = 4096;  // submission ring; the completion ring is four times that
  // Provided receive buffers, at most (a power of two); the ring starts with a few and
  // doubles them when a receive finds none. 64 KiB: a large message in one receive.
  unsigned buffers = 1024;
  std::size_t buffer_size = 64 * 1024;
};

class UringBackend {
 public:
  // Throws Error naming the cause when the kernel refuses io_uring or a feature the loop
  // needs (see probe_uring).
  explicit UringBackend(UringSettings settings = {});
  ~UringBackend();
  UringBackend(const UringBackend&) = delete;
  UringBackend& operator=(const UringBackend&) = delete;

  // Requests, queued until the next wait (or sooner, when the submission ring is full).
  void receive(int fd, std::uint64_t user_data);
  void send(int fd, const char* data, std::size_t size, std::uint64_t user_data);
  void poll(int fd, std::uint32_t events, bool multishot, std::uint64_t user_data);
  void accept(int fd, std::uint64_t user_data);
  void cancel(std::uint64_t user_data);

  // Submits what is queued and waits up to timeout_ms (-1: no limit) for a completion; the
  // completions are valid until the next wait.
  const std::vector<UringCompletion>& wait(int timeout_ms);

  char* buffer(std::uint16_t id) noexcept;
  std::size_t buffer_size() const noexcept { return settings_.buffer_size; }
  // Hands a provided buffer back to the kernel once its bytes have been used.
  void give_back(std::uint16_t id) noexcept;
  // A receive found no buffer: the ring gets more, up to settings.buffers. False when it
  // has them all already.
  bool grow_buffers() noexcept;

  // Output a connection had in flight when it closed: the kernel may still read it until the
  // send's completion arrives, which releases it.
  void keep_until_sent(std::uint64_t user_data, std::unique_ptr<IoBuffer> in_flight);
  bool release_sent(std::uint64_t user_data);
  // Submits what is queued (the cancellations of the connections just closed, whose sockets
  // the requests hold open until then) and waits, a bounded time, until no request is in
  // flight: the loop calls this before it goes, so every socket it closed is closed, and
  // nothing the kernel may still read is freed under it.
  void quiesce();
  // Requests submitted and not yet finished (multishot ones until their last completion).
  std::size_t in_flight() const noexcept { return in_flight_; }

 private:
  struct Ring;
  UringSettings settings_;
  std::unique_ptr<Ring> ring_;
  std::vector<UringCompletion> completions_;
  std::unordered_map<std::uint64_t, std::unique_ptr<IoBuffer>> orphans_;
  static constexpr unsigned kFirstBuffers = 64;
  unsigned buffers_added_ = 0;
  std::size_t in_flight_ = 0;
  unsigned sends_queued_ = 0;  // since the last wait
};

// Empty when this machine can run the io_uring loop, else why not, in words an operator can
// act on (the kernel lacks it, kernel.io_uring_disabled, a seccomp filter, a build without
// liburing).
std::string probe_uring();

}  // namespace sockit::server::detail
