// The io_uring floor of the comparison: the plainest fast echo server on liburing. One
// thread, one ring; multishot accept; multishot recv into a ring of provided buffers, so an
// idle connection holds no buffer; a received buffer goes back out as a send and returns to
// the ring when the send completes. Everything a turn produces is submitted together by the
// next io_uring_submit_and_wait, the loop's only system call in the steady state. The ring
// starts with a few buffers and doubles them (up to --buffers) whenever it runs dry, as the
// kernel takes them in ring order and would touch every page of a ring filled at once.
// Usage: uring_echo [--host 127.0.0.1] [--port 0] [--buffers 1024] [--buffer-size 65536]
//                   [--setup defer|coop|plain] [--wait-past-sends 1|0];
// prints "listening on HOST:PORT".
#include <liburing.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string_view>
#include <vector>

#include "peer_common.hpp"

namespace {

constexpr const char* kName = "uring_echo";
constexpr unsigned kSubmissionEntries = 4096;
constexpr unsigned kFirstBuffers = 64;
constexpr std::uint16_t kGroup = 0;
constexpr std::uint16_t kNone = 0xFFFF;
// A peer that stops reading keeps its echoes queued; past this many buffers its recv is
// cancelled, so one slow reader cannot take the whole ring from the others.
constexpr std::uint16_t kMaxHeld = 16;

volatile sig_atomic_t stop_requested = 0;
void on_signal(int) {
  stop_requested = 1;
}

enum Kind : std::uint8_t { kIgnore, kAccept, kAcceptRetry, kRecv, kSend };

// user_data: kind in the top byte, a buffer id below it, the descriptor in the low half.
constexpr std::uint64_t pack(Kind kind, std::uint16_t buffer, int fd) {
  return (std::uint64_t{kind} << 56) | (std::uint64_t{buffer} << 32) |
         static_cast<std::uint32_t>(fd);
}
constexpr Kind kind_of(std::uint64_t data) {
  return static_cast<Kind>(data >> 56);
}
constexpr std::uint16_t buffer_of(std::uint64_t data) {
  return static_cast<std::uint16_t>(data >> 32);
}
constexpr int fd_of(std::uint64_t data) {
  return static_cast<int>(static_cast<std::uint32_t>(data));
}

struct Buffer {
  std::uint32_t length = 0;    // bytes received into it
  std::uint16_t next = kNone;  // the next buffer queued on the same connection
};

// Indexed by descriptor. Sends of one connection go out as one linked chain at a time, so
// echoes can never overtake each other; what arrives meanwhile waits in the queue.
struct Connection {
  std::uint16_t head = kNone, tail = kNone;  // received, not yet submitted
  std::uint16_t held = 0;                    // buffers queued or being sent
  std::uint16_t in_flight = 0;               // sends submitted, not completed
  bool open = false;
  bool recv_armed = false;      // a multishot recv is live
  bool cancel_pending = false;  // its cancellation is on the way
  bool ended = false;           // EOF or error: close once the echoes are out
  bool failed = false;          // error: drop what is queued
  bool shut_down = false;       // shutdown(2) sent to end the recv
  bool starved = false;         // on the starved list (the ring ran dry)
  bool kicked = false;          // on the list of connections with sends to submit
};

struct Options {
  peer::Args address;
  unsigned buffers = 1024;
  unsigned buffer_size = 64 * 1024;
  std::string_view setup = "defer";
  bool wait_past_sends = true;
};

// A whole decimal number in [0, max], or -1.
long number(const char* text, long max) {
  char* end = nullptr;
  errno = 0;
  const long value = std::strtol(text, &end, 10);
  if (errno != 0 || end == text || *end != '\0' || value < 0 || value > max) return -1;
  return value;
}

Options parse(int argc, char** argv) {
  Options o;
  bool valid = (argc % 2) == 1;
  for (int i = 1; valid && i + 1 < argc; i += 2) {
    std::string_view flag = argv[i];
    if (flag == "--host") {
      o.address.host = argv[i + 1];
    } else if (flag == "--port") {
      const long port = number(argv[i + 1], 65535);
      o.address.port = static_cast<int>(port);
      valid = port >= 0;
    } else if (flag == "--buffers") {
      o.buffers = static_cast<unsigned>(number(argv[i + 1], 32768));
    } else if (flag == "--buffer-size") {
      const long size = number(argv[i + 1], 1L << 24);
      o.buffer_size = static_cast<unsigned>(size);
      valid = size >= 64;
    } else if (flag == "--setup") {
      o.setup = argv[i + 1];
    } else if (flag == "--wait-past-sends") {
      o.wait_past_sends = std::string_view(argv[i + 1]) != "0";
    } else {
      valid = false;
    }
  }
  // The ring wants a power of two; buffer ids are 16 bits with kNone reserved.
  const bool power_of_two = o.buffers != 0 && (o.buffers & (o.buffers - 1)) == 0;
  if (!valid || !power_of_two || o.buffers > 32768 ||
      (o.setup != "defer" && o.setup != "coop" && o.setup != "plain")) {
    std::fprintf(stderr,
                 "usage: %s [--host H] [--port P] [--buffers 2^k <= 32768] "
                 "[--buffer-size 64..16M] [--setup defer|coop|plain] [--wait-past-sends 1|0]\n",
                 kName);
    std::exit(2);
  }
  return o;
}

class EchoLoop {
 public:
  EchoLoop(const Options& o, int listener) : options_(o), listener_(listener) {
    io_uring_params params{};
    params.flags = IORING_SETUP_CQSIZE | IORING_SETUP_SUBMIT_ALL;
    // Multishot operations post many completions per submission: room for them.
    params.cq_entries = kSubmissionEntries * 4;
    if (o.setup == "defer") {
      params.flags |= IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;
    } else if (o.setup == "coop") {
      params.flags |= IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_COOP_TASKRUN;
    }
    const int rc = io_uring_queue_init_params(kSubmissionEntries, &ring_, &params);
    if (rc < 0) {
      errno = -rc;
      peer::die(kName, "io_uring_queue_init_params");
    }
    // Spares io_uring_enter the descriptor lookup; an old kernel without it still works.
    io_uring_register_ring_fd(&ring_);
    setup_buffers();
  }
  ~EchoLoop() { io_uring_queue_exit(&ring_); }
  EchoLoop(const EchoLoop&) = delete;
  EchoLoop& operator=(const EchoLoop&) = delete;

  void run() {
    arm_accept();
    while (stop_requested == 0) {
      int rc = 0;
      if (sends_queued_ == 0 || !options_.wait_past_sends) {
        rc = io_uring_submit_and_wait(&ring_, 1);
      } else {
        // A send to a socket with room completes within the submission, so waiting for one
        // completion would return at once with just the sends', for a turn of their own:
        // wait for one more. A send that must wait for its peer may leave the count short,
        // hence the bound.
        static __kernel_timespec bound{0, 1000 * 1000};
        io_uring_cqe* first = nullptr;
        rc = io_uring_submit_and_wait_timeout(&ring_, &first, sends_queued_ + 1, &bound, nullptr);
      }
      sends_queued_ = 0;
      if (rc < 0 && rc != -EINTR && rc != -EAGAIN && rc != -EBUSY && rc != -ETIME) {
        errno = -rc;
        peer::die(kName, "io_uring_submit_and_wait");
      }
      unsigned head = 0;
      unsigned seen = 0;
      io_uring_cqe* cqe = nullptr;
      io_uring_for_each_cqe(&ring_, head, cqe) {
        handle(*cqe);
        ++seen;
      }
      io_uring_cq_advance(&ring_, seen);
      end_turn();
    }
  }

 private:
  // liburing 2.3 has no io_uring_setup_buf_ring: the ring and the buffers are mapped here
  // (pages the kernel has not written to cost no memory) and the ring is registered.
  void setup_buffers() {
    const std::size_t ring_bytes = options_.buffers * sizeof(io_uring_buf);
    void* ring_memory =
        ::mmap(nullptr, ring_bytes, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
    if (ring_memory == MAP_FAILED) peer::die(kName, "mmap buffer ring");
    const std::size_t data_bytes = std::size_t{options_.buffers} * options_.buffer_size;
    void* data =
        ::mmap(nullptr, data_bytes, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
    if (data == MAP_FAILED) peer::die(kName, "mmap buffers");
    // Where huge pages are always on, a 64 B echo would otherwise make 2 MiB resident.
    ::madvise(data, data_bytes, MADV_NOHUGEPAGE);
    buffer_ring_ = static_cast<io_uring_buf_ring*>(ring_memory);
    data_ = static_cast<char*>(data);
    io_uring_buf_reg reg{};
    reg.ring_addr = reinterpret_cast<std::uintptr_t>(ring_memory);
    reg.ring_entries = options_.buffers;
    reg.bgid = kGroup;
    const int rc = io_uring_register_buf_ring(&ring_, &reg, 0);
    if (rc < 0) {
      errno = -rc;
      peer::die(kName, "io_uring_register_buf_ring");
    }
    io_uring_buf_ring_init(buffer_ring_);
    mask_ = io_uring_buf_ring_mask(options_.buffers);
    buffers_.resize(options_.buffers);
    grow_buffers(std::min(kFirstBuffers, options_.buffers));
  }

  // Hands `count` more never-used buffers to the kernel.
  void grow_buffers(unsigned count) {
    for (unsigned i = 0; i < count; ++i)
      give_back(static_cast<std::uint16_t>(population_++));
    publish_buffers();
  }

  char* address_of(std::uint16_t id) const {
    return data_ + std::size_t{id} * options_.buffer_size;
  }
  void give_back(std::uint16_t id) {
    io_uring_buf_ring_add(buffer_ring_, address_of(id), options_.buffer_size, id, mask_,
                          returned_++);
  }
  void publish_buffers() {
    if (returned_ == 0) return;
    io_uring_buf_ring_advance(buffer_ring_, returned_);
    returned_ = 0;
  }

  io_uring_sqe* sqe() {
    io_uring_sqe* s = io_uring_get_sqe(&ring_);
    if (s == nullptr) {
      io_uring_submit(&ring_);
      sends_queued_ = 0;
      s = io_uring_get_sqe(&ring_);
      if (s == nullptr) peer::die(kName, "io_uring_get_sqe");
    }
    return s;
  }
  // An operation whose success needs no answer (close, shutdown, cancel); after the prep
  // call, which clears the flags.
  static void quiet(io_uring_sqe* s) {
    io_uring_sqe_set_data64(s, pack(kIgnore, 0, -1));
    s->flags |= IOSQE_CQE_SKIP_SUCCESS;
  }

  Connection& connection(int fd) {
    if (static_cast<std::size_t>(fd) >= connections_.size()) {
      connections_.resize(static_cast<std::size_t>(fd) + 1);
    }
    return connections_[static_cast<std::size_t>(fd)];
  }

  void arm_accept() {
    io_uring_sqe* s = sqe();
    io_uring_prep_multishot_accept(s, listener_, nullptr, nullptr, SOCK_CLOEXEC);
    io_uring_sqe_set_data64(s, pack(kAccept, 0, listener_));
  }

  void arm_recv(int fd, Connection& c) {
    io_uring_sqe* s = sqe();
    io_uring_prep_recv_multishot(s, fd, nullptr, 0, 0);
    s->flags |= IOSQE_BUFFER_SELECT;
    s->buf_group = kGroup;
    io_uring_sqe_set_data64(s, pack(kRecv, 0, fd));
    c.recv_armed = true;
  }

  void handle(const io_uring_cqe& cqe) {
    switch (kind_of(cqe.user_data)) {
      case kAccept:
        on_accept(cqe);
        break;
      case kAcceptRetry:
        arm_accept();
        break;
      case kRecv:
        on_recv(fd_of(cqe.user_data), cqe);
        break;
      case kSend:
        on_send(fd_of(cqe.user_data), buffer_of(cqe.user_data), cqe.res);
        break;
      case kIgnore:
        break;
    }
  }

  void on_accept(const io_uring_cqe& cqe) {
    if (cqe.res >= 0) {
      Connection& c = connection(cqe.res);
      c = Connection{};
      c.open = true;
      arm_recv(cqe.res, c);
    }
    if ((cqe.flags & IORING_CQE_F_MORE) != 0) return;
    if (cqe.res >= 0) {
      arm_accept();
      return;
    }
    // Out of descriptors (EMFILE) or memory: the connection waits in the backlog; try
    // again shortly rather than spin on the same failure.
    static __kernel_timespec pause{0, 10 * 1000 * 1000};
    io_uring_sqe* s = sqe();
    io_uring_prep_timeout(s, &pause, 0, 0);
    io_uring_sqe_set_data64(s, pack(kAcceptRetry, 0, -1));
  }

  void on_recv(int fd, const io_uring_cqe& cqe) {
    Connection& c = connections_[static_cast<std::size_t>(fd)];
    const bool more = (cqe.flags & IORING_CQE_F_MORE) != 0;
    if (!more) {
      c.recv_armed = false;
      c.cancel_pending = false;
    }
    if (cqe.res > 0 && (cqe.flags & IORING_CQE_F_BUFFER) != 0) {
      const auto id = static_cast<std::uint16_t>(cqe.flags >> IORING_CQE_BUFFER_SHIFT);
      ++held_total_;
      ++c.held;
      buffers_[id].length = static_cast<std::uint32_t>(cqe.res);
      buffers_[id].next = kNone;
      if (c.failed) {
        release(c, id);
      } else {
        if (c.tail == kNone) {
          c.head = id;
        } else {
          buffers_[c.tail].next = id;
        }
        c.tail = id;
        if (!c.kicked) {
          c.kicked = true;
          kicked_.push_back(fd);
        }
      }
      if (c.held >= kMaxHeld && c.recv_armed && !c.cancel_pending) {
        io_uring_sqe* s = sqe();
        io_uring_prep_cancel64(s, pack(kRecv, 0, fd), 0);
        quiet(s);
        c.cancel_pending = true;
      }
    } else if (cqe.res == -ENOBUFS) {
      // The ring ran dry; the recv ended. It is armed again once buffers come back.
      if (!c.starved) {
        c.starved = true;
        starved_.push_back(fd);
      }
    } else if (cqe.res != -ECANCELED) {
      c.ended = true;
      if (cqe.res != 0) fail(fd, c);
    }
    if (!more) settle(fd, c);
  }

  void on_send(int fd, std::uint16_t id, int result) {
    Connection& c = connections_[static_cast<std::size_t>(fd)];
    --c.in_flight;
    const bool complete = result >= 0 && static_cast<std::uint32_t>(result) == buffers_[id].length;
    release(c, id);
    // MSG_WAITALL makes the kernel finish a short send itself: anything less is an error,
    // or a link cancelled after one.
    if (!complete) fail(fd, c);
    if (c.in_flight == 0 && c.head != kNone && !c.kicked) {
      c.kicked = true;
      kicked_.push_back(fd);
    }
    settle(fd, c);
  }

  void release(Connection& c, std::uint16_t id) {
    --c.held;
    --held_total_;
    give_back(id);
  }

  // An error: what is queued is dropped, and a live recv is ended by shutting the socket.
  void fail(int fd, Connection& c) {
    c.failed = true;
    c.ended = true;
    while (c.head != kNone) {
      const std::uint16_t id = c.head;
      c.head = buffers_[id].next;
      release(c, id);
    }
    c.tail = kNone;
    if (c.recv_armed && !c.shut_down) {
      io_uring_sqe* s = sqe();
      io_uring_prep_shutdown(s, fd, SHUT_RDWR);
      quiet(s);
      c.shut_down = true;
    }
  }

  // Decides what a connection needs once one of its operations has finished.
  void settle(int fd, Connection& c) {
    if (!c.open) return;
    if (c.ended) {
      if (!c.recv_armed && c.in_flight == 0 && c.head == kNone && !c.kicked) {
        io_uring_sqe* s = sqe();
        io_uring_prep_close(s, fd);
        quiet(s);
        c = Connection{};
      }
      return;
    }
    if (!c.recv_armed && !c.cancel_pending && !c.starved && c.held < kMaxHeld / 2) {
      arm_recv(fd, c);
    }
  }

  void end_turn() {
    publish_buffers();
    if (!starved_.empty() && population_ < options_.buffers) {
      grow_buffers(std::min(population_, options_.buffers - population_));
    }
    if (!starved_.empty() && held_total_ < population_) {
      for (int fd : starved_) {
        Connection& c = connections_[static_cast<std::size_t>(fd)];
        c.starved = false;
        settle(fd, c);
      }
      starved_.clear();
    }
    for (int fd : kicked_) {
      Connection& c = connections_[static_cast<std::size_t>(fd)];
      c.kicked = false;
      if (c.in_flight == 0 && c.head != kNone) {
        send_queue(fd, c);
      } else {
        settle(fd, c);  // an ended connection waited for this list to let go of it
      }
    }
    kicked_.clear();
  }

  // One linked chain: the kernel runs the sends in order, and cancels the rest if one fails.
  void send_queue(int fd, Connection& c) {
    unsigned count = 0;
    for (std::uint16_t id = c.head; id != kNone; id = buffers_[id].next)
      ++count;
    // A chain split across two submissions would lose its order.
    if (io_uring_sq_space_left(&ring_) < count) {
      io_uring_submit(&ring_);
      sends_queued_ = 0;
    }
    for (std::uint16_t id = c.head; id != kNone; id = buffers_[id].next) {
      io_uring_sqe* s = sqe();
      io_uring_prep_send(s, fd, address_of(id), buffers_[id].length, MSG_WAITALL | MSG_NOSIGNAL);
      io_uring_sqe_set_data64(s, pack(kSend, id, fd));
      if (buffers_[id].next != kNone) s->flags |= IOSQE_IO_LINK;
      ++c.in_flight;
      ++sends_queued_;
    }
    c.head = c.tail = kNone;
  }

  Options options_;
  int listener_;
  io_uring ring_{};
  io_uring_buf_ring* buffer_ring_ = nullptr;
  char* data_ = nullptr;
  int mask_ = 0;
  int returned_ = 0;           // buffers given back this turn, published at its end
  unsigned population_ = 0;    // buffers handed to the kernel so far
  unsigned sends_queued_ = 0;  // send SQEs not yet submitted
  unsigned held_total_ = 0;
  std::vector<Buffer> buffers_;
  std::vector<Connection> connections_;
  std::vector<int> kicked_;
  std::vector<int> starved_;
};

}  // namespace

int main(int argc, char** argv) {
  const Options options = parse(argc, argv);
  struct sigaction action {};
  action.sa_handler = on_signal;
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
  signal(SIGPIPE, SIG_IGN);
  const int listener = peer::listen_on(options.address, kName, 0);
  EchoLoop loop(options, listener);
  peer::announce(listener, options.address, kName);
  loop.run();
  return 0;
}
