// The io_uring backend (see uring_backend.hpp). Built on liburing when it was found at
// configure time; otherwise every attempt to use it says so.
#include "uring_backend.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <string>
#include <system_error>
#include <utility>

#include "sockit/error.hpp"

#if SOCKIT_HAVE_URING
#include <liburing.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/socket.h>

#include <chrono>
#include <thread>
#endif

namespace sockit::server::detail {

#if SOCKIT_HAVE_URING

namespace {

std::string sysctl_io_uring_disabled() {
  std::ifstream in("/proc/sys/kernel/io_uring_disabled");
  std::string value;
  in >> value;
  return value;
}

// Why io_uring_setup failed with `err`, in words an operator can act on.
std::string setup_refused(int err) {
  std::string call = std::string("io_uring_setup: ") + std::strerror(err);
  switch (err) {
    case ENOSYS:
      return call + " (this kernel has no io_uring; Linux 6.1 or later is needed)";
    case EPERM:
    case EACCES: {
      const std::string disabled = sysctl_io_uring_disabled();
      if (disabled == "2")
        return call + " (io_uring is disabled: sysctl kernel.io_uring_disabled=2)";
      if (disabled == "1") {
        return call +
               " (io_uring is limited to the group in kernel.io_uring_group: sysctl "
               "kernel.io_uring_disabled=1)";
      }
      return call +
             " (a seccomp filter or security module forbids io_uring; container runtimes' "
             "default profiles block it)";
    }
    case ENOMEM:
      return call + " (no memory for the rings; check `ulimit -l`)";
    default:
      return call;
  }
}

}  // namespace

struct UringBackend::Ring {
  io_uring ring{};
  bool ring_open = false;
  io_uring_buf_ring* buffer_ring = nullptr;
  std::size_t buffer_ring_bytes = 0;
  char* buffers = nullptr;
  std::size_t buffers_bytes = 0;
  int mask = 0;

  ~Ring() {
    if (ring_open) io_uring_queue_exit(&ring);
    if (buffer_ring != nullptr) ::munmap(buffer_ring, buffer_ring_bytes);
    if (buffers != nullptr) ::munmap(buffers, buffers_bytes);
  }

  io_uring_sqe* sqe() {
    io_uring_sqe* s = io_uring_get_sqe(&ring);
    if (s == nullptr) {
      // Full: what is queued goes to the kernel now, not at the end of the turn.
      io_uring_submit(&ring);
      s = io_uring_get_sqe(&ring);
    }
    if (s == nullptr) throw_errno("io_uring_get_sqe", "", EBUSY);
    return s;
  }
};

namespace {

// The flags the loop wants, then what older kernels accept. SINGLE_ISSUER and DEFER_TASKRUN
// (6.1) let completions be reaped only when the loop asks, in its own wait, with no
// interrupt of the thread meanwhile.
int open_ring(io_uring& ring, unsigned entries) {
  const unsigned wanted[] = {
      IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_SUBMIT_ALL,
      IORING_SETUP_COOP_TASKRUN | IORING_SETUP_SUBMIT_ALL,
      0,
  };
  int result = -EINVAL;
  for (const unsigned flags : wanted) {
    io_uring_params params{};
    params.flags = flags | IORING_SETUP_CQSIZE;
    params.cq_entries = entries * 4;
    result = io_uring_queue_init_params(entries, &ring, &params);
    if (result != -EINVAL) return result;
  }
  return result;
}

}  // namespace

UringBackend::UringBackend(UringSettings settings)
    : settings_(settings), ring_(std::make_unique<Ring>()) {
  Ring& r = *ring_;
  if (const int result = open_ring(r.ring, settings_.entries); result < 0) {
    throw Error(errno_code(-result), "io_uring", "", setup_refused(-result));
  }
  r.ring_open = true;
  if ((r.ring.features & IORING_FEAT_EXT_ARG) == 0) {
    throw Error(errno_code(ENOTSUP), "io_uring", "",
                "the kernel cannot wait with a timeout in one call (IORING_FEAT_EXT_ARG, "
                "Linux 5.11); Linux 6.1 or later is needed");
  }
  // One less lookup of the ring's descriptor per system call; harmless where unsupported.
  io_uring_register_ring_fd(&r.ring);

  const unsigned count = settings_.buffers;
  r.buffer_ring_bytes = count * sizeof(io_uring_buf);
  void* ring_memory = ::mmap(nullptr, r.buffer_ring_bytes, PROT_READ | PROT_WRITE,
                             MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
  if (ring_memory == MAP_FAILED) throw_errno("mmap", "io_uring buffer ring", errno);
  r.buffer_ring = static_cast<io_uring_buf_ring*>(ring_memory);
  // Pages of buffers no receive has used yet are never touched: idle costs nothing.
  r.buffers_bytes = count * settings_.buffer_size;
  void* buffer_memory =
      ::mmap(nullptr, r.buffers_bytes, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
  if (buffer_memory == MAP_FAILED) throw_errno("mmap", "io_uring buffers", errno);
  r.buffers = static_cast<char*>(buffer_memory);
  io_uring_buf_reg reg{};
  reg.ring_addr = reinterpret_cast<std::uintptr_t>(r.buffer_ring);
  reg.ring_entries = count;
  reg.bgid = 0;
  if (const int result = io_uring_register_buf_ring(&r.ring, &reg, 0); result < 0) {
    throw Error(errno_code(-result), "io_uring", "",
                std::string("register a provided-buffer ring: ") + std::strerror(-result) +
                    " (Linux 5.19 or later is needed)");
  }
  io_uring_buf_ring_init(r.buffer_ring);
  r.mask = io_uring_buf_ring_mask(count);
  grow_buffers();
  completions_.reserve(settings_.entries);
}

// The kernel takes buffers from the ring in turn, so every buffer in it is soon touched:
// the ring starts with a few and gets more only when a receive found it empty. Memory
// follows the most receives ever in flight at once, not the most there could be.
bool UringBackend::grow_buffers() noexcept {
  Ring& r = *ring_;
  if (buffers_added_ >= settings_.buffers) return false;
  const unsigned first = buffers_added_;
  const unsigned count = std::min(settings_.buffers - first, std::max(first, kFirstBuffers));
  for (unsigned i = 0; i < count; ++i) {
    const unsigned id = first + i;
    io_uring_buf_ring_add(r.buffer_ring, r.buffers + std::size_t{id} * settings_.buffer_size,
                          static_cast<unsigned>(settings_.buffer_size),
                          static_cast<unsigned short>(id), r.mask, static_cast<int>(i));
  }
  io_uring_buf_ring_advance(r.buffer_ring, static_cast<int>(count));
  buffers_added_ += count;
  return true;
}

UringBackend::~UringBackend() = default;

bool UringCompletion::more() const noexcept {
  return (flags & IORING_CQE_F_MORE) != 0;
}
bool UringCompletion::has_buffer() const noexcept {
  return (flags & IORING_CQE_F_BUFFER) != 0;
}
std::uint16_t UringCompletion::buffer() const noexcept {
  return static_cast<std::uint16_t>(flags >> IORING_CQE_BUFFER_SHIFT);
}

void UringBackend::receive(int fd, std::uint64_t user_data) {
  io_uring_sqe* s = ring_->sqe();
  io_uring_prep_recv_multishot(s, fd, nullptr, 0, 0);
  s->flags |= IOSQE_BUFFER_SELECT;
  s->buf_group = 0;
  io_uring_sqe_set_data64(s, user_data);
  ++in_flight_;
}

void UringBackend::send(int fd, const char* data, std::size_t size, std::uint64_t user_data) {
  io_uring_sqe* s = ring_->sqe();
  io_uring_prep_send(s, fd, data, size, MSG_NOSIGNAL);
  io_uring_sqe_set_data64(s, user_data);
  ++in_flight_;
  ++sends_queued_;
}

void UringBackend::poll(int fd, std::uint32_t events, bool multishot, std::uint64_t user_data) {
  io_uring_sqe* s = ring_->sqe();
  if (multishot) {
    io_uring_prep_poll_multishot(s, fd, events);
  } else {
    io_uring_prep_poll_add(s, fd, events);
  }
  io_uring_sqe_set_data64(s, user_data);
  ++in_flight_;
}

void UringBackend::accept(int fd, std::uint64_t user_data) {
  io_uring_sqe* s = ring_->sqe();
  io_uring_prep_multishot_accept(s, fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
  io_uring_sqe_set_data64(s, user_data);
  ++in_flight_;
}

void UringBackend::cancel(std::uint64_t user_data) {
  io_uring_sqe* s = ring_->sqe();
  io_uring_prep_cancel64(s, user_data, 0);
  io_uring_sqe_set_data64(s, kUringCancelToken);
}

const std::vector<UringCompletion>& UringBackend::wait(int timeout_ms) {
  io_uring& ring = ring_->ring;
  completions_.clear();
  int result = 0;
#if defined(__SANITIZE_THREAD__)
  // ThreadSanitizer runs a signal's handler only when the thread next enters a function it
  // intercepts, and io_uring_enter is not one: the kernel restarts the wait after the signal
  // (SA_RESTART), and a stop request would wait for the loop's next wake-up. Under it the
  // loop comes up every 50 ms through poll(2), which it intercepts.
  ::poll(nullptr, 0, 0);
  if (timeout_ms < 0 || timeout_ms > 50) timeout_ms = 50;
#endif
  // A send to a socket with room completes as it is submitted: waiting for one completion
  // would return at once with only those, and cost the next message a system call of its
  // own. So a turn that sends waits for one completion past its sends, for at most a
  // millisecond (a send that had to wait for room must not hold up the others for long).
  const unsigned sends = std::exchange(sends_queued_, 0U);
  unsigned wanted = 1;
  if (sends > 0 && timeout_ms != 0) {
    wanted = sends + 1;
    timeout_ms = timeout_ms < 0 ? 1 : std::min(timeout_ms, 1);
  }
  if (timeout_ms == 0) {
    result = io_uring_submit_and_get_events(&ring);
  } else {
    io_uring_cqe* cqe = nullptr;
    __kernel_timespec ts{};
    ts.tv_sec = timeout_ms / 1000;
    ts.tv_nsec = static_cast<long long>(timeout_ms % 1000) * 1000000;
    result = io_uring_submit_and_wait_timeout(&ring, &cqe, wanted, timeout_ms < 0 ? nullptr : &ts,
                                              nullptr);
  }
  if (result < 0 && result != -ETIME && result != -EINTR && result != -EAGAIN && result != -EBUSY) {
    throw_errno("io_uring_enter", "", -result);
  }
  unsigned head = 0;
  unsigned seen = 0;
  io_uring_cqe* cqe = nullptr;
  io_uring_for_each_cqe(&ring, head, cqe) {
    completions_.push_back({cqe->user_data, cqe->res, cqe->flags});
    if (cqe->user_data != kUringCancelToken && (cqe->flags & IORING_CQE_F_MORE) == 0) {
      --in_flight_;
    }
    ++seen;
  }
  io_uring_cq_advance(&ring, seen);
  return completions_;
}

char* UringBackend::buffer(std::uint16_t id) noexcept {
  return ring_->buffers + std::size_t{id} * settings_.buffer_size;
}

void UringBackend::give_back(std::uint16_t id) noexcept {
  Ring& r = *ring_;
  io_uring_buf_ring_add(r.buffer_ring, buffer(id), static_cast<unsigned>(settings_.buffer_size), id,
                        r.mask, 0);
  io_uring_buf_ring_advance(r.buffer_ring, 1);
}

void UringBackend::quiesce() {
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  while (in_flight_ > 0 && std::chrono::steady_clock::now() < give_up) {
    for (const auto& done : wait(10)) {
      if (done.op() == UringOp::send) release_sent(done.user_data);
      if (done.op() == UringOp::receive && done.has_buffer()) give_back(done.buffer());
    }
  }
  if (!orphans_.empty()) {
    // The ring's teardown cancels them; rather leak these bytes than free them under the
    // kernel.
    for (auto& orphan : orphans_)
      static_cast<void>(orphan.second.release());
    orphans_.clear();
  }
}

std::string probe_uring() {
  try {
    UringBackend backend(UringSettings{8, 8, 4096});
  } catch (const Error& e) {
    return e.what();
  }
  return {};
}

#else  // no liburing at build time

struct UringBackend::Ring {};

namespace {
[[noreturn]] void unavailable() {
  throw Error(std::make_error_code(std::errc::function_not_supported), "io_uring", "",
              "this sockit was built without liburing (install liburing-dev and rebuild)");
}
}  // namespace

UringBackend::UringBackend(UringSettings settings) : settings_(settings) {
  unavailable();
}
UringBackend::~UringBackend() = default;
bool UringCompletion::more() const noexcept {
  return false;
}
bool UringCompletion::has_buffer() const noexcept {
  return false;
}
std::uint16_t UringCompletion::buffer() const noexcept {
  return 0;
}
void UringBackend::receive(int, std::uint64_t) {
  unavailable();
}
void UringBackend::send(int, const char*, std::size_t, std::uint64_t) {
  unavailable();
}
void UringBackend::poll(int, std::uint32_t, bool, std::uint64_t) {
  unavailable();
}
void UringBackend::accept(int, std::uint64_t) {
  unavailable();
}
void UringBackend::cancel(std::uint64_t) {
  unavailable();
}
const std::vector<UringCompletion>& UringBackend::wait(int) {
  unavailable();
}
char* UringBackend::buffer(std::uint16_t) noexcept {
  return nullptr;
}
void UringBackend::give_back(std::uint16_t) noexcept {}
bool UringBackend::grow_buffers() noexcept {
  return false;
}
void UringBackend::quiesce() {}

std::string probe_uring() {
  return "io_uring: this sockit was built without liburing (install liburing-dev and rebuild)";
}

#endif

void UringBackend::keep_until_sent(std::uint64_t user_data, std::unique_ptr<IoBuffer> in_flight) {
  orphans_[user_data] = std::move(in_flight);
}

bool UringBackend::release_sent(std::uint64_t user_data) {
  return orphans_.erase(user_data) > 0;
}

}  // namespace sockit::server::detail
