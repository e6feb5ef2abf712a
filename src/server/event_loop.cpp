// The reactor's event loop. Level-triggered epoll; per message the hot path is one read
// into the loop's shared buffer, the session's callback, and one write straight to the
// socket. epoll_ctl is called only when a connection's state changes (its output backs up
// or drains, it pauses for back-pressure, it half-closes), never per message; per-connection
// memory is taken only while output is backed up.
#include "event_loop.hpp"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <climits>
#include <cstdint>
#include <cstring>
#include <exception>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "io_buffer.hpp"
#include "sockit/error.hpp"
#include "sockit/poller.hpp"

namespace sockit::server::detail {
namespace {

using std::chrono::milliseconds;

constexpr std::uint64_t kListenerToken = ~std::uint64_t{0};
constexpr std::uint64_t kStopToken = kListenerToken - 1;
constexpr std::uint64_t kWakeToken = kListenerToken - 2;
constexpr std::size_t kMaxEvents = 256;
// Bounds the work done for one readiness report so a connect storm cannot starve the
// connections already open; level-triggered epoll reports the rest next round.
constexpr int kMaxAcceptsPerEvent = 64;
// Reads per connection when stop is requested: enough to take in what already arrived.
constexpr int kMaxDrainReads = 16;
constexpr std::size_t kCachedBuffers = 32;
constexpr std::size_t kCachedBufferCapacity = 64 * 1024;
constexpr std::size_t kMaxRetainedMail = 64 * 1024;
// Pieces written in one callback are gathered up to this much before a write(2); larger
// ones go to the socket directly rather than being copied.
constexpr std::size_t kStagingLimit = 64 * 1024;

std::uint64_t token_of(std::uint32_t slot, std::uint32_t generation) noexcept {
  return (std::uint64_t{generation} << 32) | slot;
}

// Plain errno, no std::error_code: this runs when the descriptor table is full, where even
// the UBSan runtime's vptr checks (which need a pipe) cannot cope with a virtual call.
bool is_out_of_descriptors(int err) noexcept {
  return err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM;
}

class PeerImpl;

// How Peers reach their loop from any thread: a queue of peers with mail, and an eventfd
// that wakes the loop. Shared by the loop and its Peers, so a Peer that outlives its loop
// still has a valid (closed-for-business) mailbox.
struct Mailbox {
  explicit Mailbox(int fd) : wake_fd(fd) {}
  ~Mailbox() { ::close(wake_fd); }
  Mailbox(const Mailbox&) = delete;
  Mailbox& operator=(const Mailbox&) = delete;

  const int wake_fd;
  std::mutex mutex;
  // Guarded by mutex:
  std::vector<std::shared_ptr<PeerImpl>> ready;
  std::thread::id owner;      // the loop's thread: its own posts need no wake-up
  bool open = true;           // false once the loop has returned
  bool wake_pending = false;  // an eventfd write is on its way
  // Set under the mutex, polled by the loop without it once per iteration.
  std::atomic<bool> has_ready{false};
};

class PeerImpl final : public Peer, public std::enable_shared_from_this<PeerImpl> {
 public:
  PeerImpl(std::shared_ptr<Mailbox> box, std::uint32_t slot_, std::uint32_t generation_)
      : slot(slot_), generation(generation_), box_(std::move(box)) {}

  void send(std::string bytes) override { post(std::move(bytes), false); }
  void close() override { post({}, true); }

  const std::uint32_t slot;
  const std::uint32_t generation;
  // Guarded by box_->mutex:
  std::string inbox;
  bool close_asked = false;
  bool queued = false;
  bool gone = false;
  // The loop thread's copy of what was taken from the inbox.
  std::string taken;
  bool take_close = false;

 private:
  void post(std::string bytes, bool close_after) {
    bool wake = false;
    {
      std::lock_guard lock(box_->mutex);
      if (gone || !box_->open) return;
      if (inbox.empty()) {
        inbox = std::move(bytes);
      } else {
        inbox += bytes;
      }
      close_asked = close_asked || close_after;
      if (!queued) {
        queued = true;
        box_->ready.push_back(shared_from_this());
      }
      box_->has_ready.store(true, std::memory_order_release);
      if (!box_->wake_pending && std::this_thread::get_id() != box_->owner) {
        box_->wake_pending = true;
        wake = true;
      }
    }
    if (wake) {
      const std::uint64_t one = 1;
      // Cannot fail short of a counter overflow; a lost wake-up would only delay mail.
      [[maybe_unused]] auto written = ::write(box_->wake_fd, &one, sizeof one);
    }
  }

  std::shared_ptr<Mailbox> box_;
};

// Socket's descriptor-taking constructor is protected: this is how the loop wraps what
// accept4 gave it without the extra fcntl/getpeername calls of Socket::adopt.
class AcceptedSocket final : public Socket {
 public:
  explicit AcceptedSocket(int fd) noexcept : Socket(fd) {}
};

class Reactor;
struct ConnectionList;

// The loop's read buffer starts on a page. The kernel copies every message into it (and
// echoes send from it) with `rep movsb`, which is slower when the destination is not
// cache-line aligned, as operator new's 16-byte alignment leaves it.
constexpr std::align_val_t kPageAlignment{4096};
struct PageAlignedDelete {
  void operator()(char* p) const noexcept { ::operator delete[](p, kPageAlignment); }
};

// The per-message path (readiness -> recv -> session -> send) is compiled into the loop
// itself, Socket's inline read_nonblock/write_nonblock included. After a system call the
// CPU's return-address predictor holds the kernel's own calls, so every function the result
// is returned through costs a mispredicted return: with these inlined, only the libc
// wrappers of recv and send are returned from, as in a hand-written loop.
#define SOCKIT_HOT [[gnu::always_inline]] inline

// One accepted connection, and the Output its session writes to. Recycled through the
// loop's slot table, so churn does not allocate one per connection.
//
// Layout matters at hundreds of connections, where a slot is rarely still cached when its
// next event comes: every field an event reads (state, session, idle-list position, the
// descriptor) lies in the first two cache lines, which the loop prefetches one event
// ahead (see Reactor::run). The rest (the peer's address, over 100 bytes; the ticket; the
// Peer handle) is read only when a connection opens, closes or is logged.
struct alignas(64) Connection final : Output {
  explicit Connection(Reactor& loop, std::uint32_t slot_) : reactor(loop), slot(slot_) {}

  void write(std::string_view bytes) override;
  void close() override { close_requested = true; }
  bool closing() const noexcept override { return close_requested || broken; }
  std::shared_ptr<Peer> peer() override;

  std::size_t queued() const noexcept { return pending ? pending->size() : 0; }

  Reactor& reactor;
  const std::uint32_t slot;
  std::uint32_t generation = 1;
  std::uint32_t interest = 0;  // what epoll watches now
  bool live = false;
  bool registered = false;
  bool close_requested = false;
  bool broken = false;     // an I/O error or a failed callback: close without flushing
  bool eof = false;        // the peer half-closed
  bool paused = false;     // back-pressure: not reading until output drains
  bool lingering = false;  // our side closed; discarding input until the peer's EOF
  std::unique_ptr<Session> session;
  std::unique_ptr<IoBuffer> pending;  // only while output is backed up
  ConnectionList* list = nullptr;
  Clock::time_point touched{};
  Socket socket;  // its descriptor comes first; its cached peer address after it
  Connection* prev = nullptr;
  Connection* next = nullptr;
  std::shared_ptr<PeerImpl> peer_handle;
  ConnectionGate::Ticket ticket;
  std::error_code error;  // what broke the connection, for its "closed" line
  Address remote;
};

// An intrusive list kept in order of `touched`: every insertion is at the back with the
// loop's current time, which never goes backwards, so the front is always the oldest.
struct ConnectionList {
  Connection* head = nullptr;
  Connection* tail = nullptr;

  void push_back(Connection& c) noexcept {
    c.list = this;
    c.prev = tail;
    c.next = nullptr;
    if (tail != nullptr) {
      tail->next = &c;
    } else {
      head = &c;
    }
    tail = &c;
  }
  void remove(Connection& c) noexcept {
    if (c.prev != nullptr) {
      c.prev->next = c.next;
    } else {
      head = c.next;
    }
    if (c.next != nullptr) {
      c.next->prev = c.prev;
    } else {
      tail = c.prev;
    }
    c.prev = c.next = nullptr;
    c.list = nullptr;
  }
};

class Reactor {
 public:
  Reactor(Runtime& rt, Socket& listener, ListenerUse use, LoopSettings settings);
  ~Reactor();
  Reactor(const Reactor&) = delete;
  Reactor& operator=(const Reactor&) = delete;

  void run();
  LoopStats stats() const noexcept;

  void write_to(Connection& c, std::string_view bytes);
  bool stage(std::string_view bytes);
  SOCKIT_HOT void send_staged(Connection& c);
  SOCKIT_HOT void send_or_queue(Connection& c, std::string_view bytes);
  std::shared_ptr<Peer> peer_of(Connection& c);

 private:
  SOCKIT_HOT void dispatch(const PollEvent& event);
  Connection* slot_of(std::uint64_t token) const noexcept {
    const auto slot = static_cast<std::uint32_t>(token & 0xffffffffu);
    return slot < slots_.size() ? slots_[slot].get() : nullptr;  // the loop's own tokens too
  }
  void prefetch_slot(std::uint64_t token) const noexcept {
    if (const Connection* c = slot_of(token)) {
      __builtin_prefetch(c);
      __builtin_prefetch(reinterpret_cast<const char*>(c) + 64);
    }
  }
  void prefetch_session(std::uint64_t token) const noexcept {
    if (const Connection* c = slot_of(token); c != nullptr && c->session) {
      __builtin_prefetch(c->session.get());
    }
  }
  SOCKIT_HOT void on_event(Connection& c, std::uint32_t events);
  SOCKIT_HOT bool on_readable(Connection& c);
  // An I/O error: the connection closes without flushing, its "closed" line says why.
  static void fail(Connection& c, const Error& error) noexcept {
    c.broken = true;
    c.error = error.code();
  }
  void discard_input(Connection& c);
  void flush(Connection& c);
  void settle(Connection& c);
  void update_interest(Connection& c);
  void finish_close(Connection& c);
  void destroy(Connection& c) noexcept;
  template <class Callback>
  SOCKIT_HOT void call(Connection& c, const char* what, Callback&& callback);
  void touch(Connection& c) noexcept;

  void accept_ready();
  void admit(Accepted accepted);
  Connection& allocate();
  void pause_accepting(int err);
  void resume_accepting();

  void begin_drain();
  void deliver_mail();
  void expire_timers();
  int next_timeout_ms() const noexcept;
  void close_all() noexcept;
  bool alive(const Connection& c, std::uint32_t generation) const noexcept {
    return c.live && c.generation == generation;
  }
  void note_queued(std::size_t added) noexcept;
  void note_dequeued(std::size_t removed) noexcept;

  std::uint32_t listener_interest() const noexcept {
    return listener_use_ == ListenerUse::shared ? EPOLLIN | EPOLLEXCLUSIVE : EPOLLIN;
  }
  bool info_enabled() const noexcept { return rt_.log.level() != LogLevel::quiet; }

  Runtime& rt_;
  Socket& listener_;
  const ListenerUse listener_use_;
  const LoopSettings settings_;
  Address local_;
  bool local_is_wildcard_ = false;

  Poller poller_;
  std::shared_ptr<Mailbox> mailbox_;
  std::vector<std::unique_ptr<Connection>> slots_;
  std::vector<std::uint32_t> free_slots_;
  std::unique_ptr<char[], PageAlignedDelete> read_buffer_;
  std::array<PollEvent, kMaxEvents> events_{};
  BufferPool pool_{kCachedBuffers, kCachedBufferCapacity};
  std::vector<std::shared_ptr<PeerImpl>> mail_batch_;
  IoBuffer staging_;              // writes of the callback now running
  std::string_view staged_view_;  // or those writes, when they are bytes of read_buffer_
  std::size_t read_valid_ = 0;    // bytes of read_buffer_ the running on_data was given
  Connection* corked_ = nullptr;  // whose callback that is

  ConnectionList idle_;       // open connections, oldest activity first
  ConnectionList lingering_;  // closed on our side, waiting for the peer's EOF
  Clock::time_point now_ = Clock::now();
  milliseconds idle_timeout_;
  milliseconds tick_;  // idle-list precision: activity moves a connection at most once a tick
  std::size_t live_ = 0;

  bool listening_ = false;
  bool accept_paused_ = false;
  bool descriptor_shortage_logged_ = false;
  Clock::time_point accept_resume_at_{};
  bool stop_watched_ = false;
  bool draining_ = false;
  Clock::time_point drain_deadline_{};

  std::atomic<std::size_t> stat_connections_{0};
  std::atomic<std::size_t> stat_accepted_{0};
  std::atomic<std::size_t> stat_queued_{0};
  std::atomic<std::size_t> stat_peak_queued_{0};
  std::atomic<std::size_t> stat_read_pauses_{0};
  std::atomic<std::size_t> stat_accept_pauses_{0};
};

void Connection::write(std::string_view bytes) {
  reactor.write_to(*this, bytes);
}
std::shared_ptr<Peer> Connection::peer() {
  return reactor.peer_of(*this);
}

int make_eventfd() {
  int fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (fd < 0) throw_errno("eventfd", "", errno);
  return fd;
}

Reactor::Reactor(Runtime& rt, Socket& listener, ListenerUse use, LoopSettings settings)
    : rt_(rt),
      listener_(listener),
      listener_use_(use),
      settings_(settings),
      local_(rt.local),
      local_is_wildcard_(rt.local.is_any()),
      mailbox_(std::make_shared<Mailbox>(make_eventfd())),
      read_buffer_(new (kPageAlignment) char[settings.read_buffer]),
      idle_timeout_(rt.options.idle_timeout) {
  tick_ = std::clamp(idle_timeout_ / 16, milliseconds{1}, milliseconds{1000});
  mail_batch_.reserve(64);
}

Reactor::~Reactor() {
  close_all();
  std::lock_guard lock(mailbox_->mutex);
  mailbox_->open = false;
  mailbox_->ready.clear();
}

LoopStats Reactor::stats() const noexcept {
  LoopStats s;
  s.connections = stat_connections_.load(std::memory_order_relaxed);
  s.accepted = stat_accepted_.load(std::memory_order_relaxed);
  s.queued_bytes = stat_queued_.load(std::memory_order_relaxed);
  s.peak_queued_bytes = stat_peak_queued_.load(std::memory_order_relaxed);
  s.read_pauses = stat_read_pauses_.load(std::memory_order_relaxed);
  s.accept_pauses = stat_accept_pauses_.load(std::memory_order_relaxed);
  return s;
}

void Reactor::run() {
  {
    std::lock_guard lock(mailbox_->mutex);
    mailbox_->owner = std::this_thread::get_id();
  }
  now_ = Clock::now();
  poller_.add(mailbox_->wake_fd, EPOLLIN, kWakeToken);
  poller_.add(rt_.stop.fd(), EPOLLIN, kStopToken);
  stop_watched_ = true;
  if (listener_.is_open()) {
    poller_.add(listener_.fd(), listener_interest(), kListenerToken);
    listening_ = true;
  }
  while (!draining_ || (live_ > 0 && now_ < drain_deadline_)) {
    const std::size_t count = poller_.wait(events_, next_timeout_ms());
    now_ = Clock::now();
    // Software pipelining. With hundreds of connections, the slot and the session an event
    // needs are rarely still cached, and each is a load that stalls the loop; the kernel's
    // work on the events before it can hide that wait. So each connection's slot is
    // prefetched two events ahead, and its session (whose address is in the slot) one ahead.
    if (count > 0) prefetch_slot(events_[0].token);
    for (std::size_t i = 0; i < count; ++i) {
      if (i + 2 < count) prefetch_slot(events_[i + 2].token);
      if (i + 1 < count) prefetch_session(events_[i + 1].token);
      dispatch(events_[i]);
    }
    if (mailbox_->has_ready.load(std::memory_order_acquire)) deliver_mail();
    expire_timers();
  }
  if (live_ > 0) {
    rt_.log.info("drain deadline passed; closing " + std::to_string(live_) + " connection" +
                 (live_ == 1 ? "" : "s"));
  }
  close_all();
}

void Reactor::dispatch(const PollEvent& event) {
  switch (event.token) {
    case kListenerToken:
      accept_ready();
      return;
    case kStopToken:
      begin_drain();
      return;
    case kWakeToken: {
      std::uint64_t count = 0;
      [[maybe_unused]] auto got = ::read(mailbox_->wake_fd, &count, sizeof count);
      return;
    }
    default:
      break;
  }
  const auto slot = static_cast<std::uint32_t>(event.token & 0xffffffffu);
  const auto generation = static_cast<std::uint32_t>(event.token >> 32);
  if (slot >= slots_.size()) return;
  Connection& c = *slots_[slot];
  // A connection closed earlier in this batch may have left a stale event behind.
  if (!alive(c, generation)) return;
  on_event(c, event.events);
}

void Reactor::on_event(Connection& c, std::uint32_t events) {
  const std::uint32_t generation = c.generation;
  if ((c.interest & EPOLLOUT) != 0 && (events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) != 0) {
    flush(c);
    settle(c);
    if (!alive(c, generation)) return;
  }
  if ((c.interest & EPOLLIN) != 0 && (events & (EPOLLIN | EPOLLRDHUP | EPOLLERR | EPOLLHUP)) != 0) {
    on_readable(c);
    if (!alive(c, generation)) return;
  }
  // Hang-up or error reported while we watch for nothing (after the peer's EOF, with no
  // output queued): level-triggered epoll would report it forever, so act on it now.
  if ((events & (EPOLLERR | EPOLLHUP)) != 0 && (c.interest & (EPOLLIN | EPOLLOUT)) == 0) {
    destroy(c);
  }
}

// Returns true when bytes were read and handed to the session.
bool Reactor::on_readable(Connection& c) {
  if (c.lingering) {
    discard_input(c);
    return false;
  }
  IoResult r;
  try {
    r = c.socket.read_nonblock({read_buffer_.get(), settings_.read_buffer});
  } catch (const Error& error) {
    fail(c, error);
    destroy(c);
    return false;
  }
  if (r.would_block()) return false;
  if (r.eof()) {
    c.eof = true;
    call(c, "on_eof", [&] { c.session->on_eof(c); });
    settle(c);
    return false;
  }
  touch(c);
  read_valid_ = r.bytes;
  call(c, "on_data", [&] { c.session->on_data({read_buffer_.get(), r.bytes}, c); });
  read_valid_ = 0;
  settle(c);
  return true;
}

void Reactor::discard_input(Connection& c) {
  for (int i = 0; i < kMaxDrainReads; ++i) {
    IoResult r;
    try {
      r = c.socket.read_nonblock({read_buffer_.get(), settings_.read_buffer});
    } catch (const Error&) {
      destroy(c);
      return;
    }
    if (r.would_block()) return;
    if (r.eof()) {
      destroy(c);
      return;
    }
  }
}

// While one of its callbacks runs, a connection's writes are gathered in the loop's staging
// buffer and sent with one write(2) when the callback returns, however many pieces the
// session wrote them in (echo writes a line, then its newline). Outside callbacks (Peer
// mail) and for large pieces, bytes go straight to the socket.
void Reactor::write_to(Connection& c, std::string_view bytes) {
  if (!c.live || c.broken || c.lingering || bytes.empty()) return;
  if (corked_ == &c && c.queued() == 0) {
    if (stage(bytes)) return;
    send_staged(c);
    if (c.broken) return;
  }
  send_or_queue(c, bytes);
}

// Gathers one piece of the running callback's output; false when it does not fit. A piece
// that lies in the read buffer (an echo of what was just read) is kept as a view, and a
// following piece equal to the bytes after that view (echo's newline) extends it, so the
// usual echo answer is sent from where it was read, without a copy. The read buffer does
// not change while a callback runs, and read_valid_ is 0 outside on_data.
bool Reactor::stage(std::string_view bytes) {
  if (staging_.empty()) {
    const char* const begin = read_buffer_.get();
    const char* const valid_end = begin + read_valid_;
    if (staged_view_.empty()) {
      // Compared as integers: ordering pointers into different objects is unspecified.
      const auto at = reinterpret_cast<std::uintptr_t>(bytes.data());
      if (at >= reinterpret_cast<std::uintptr_t>(begin) &&
          at + bytes.size() <= reinterpret_cast<std::uintptr_t>(valid_end)) {
        staged_view_ = bytes;
        return true;
      }
    } else {
      const char* const view_end = staged_view_.data() + staged_view_.size();
      if (bytes.size() <= static_cast<std::size_t>(valid_end - view_end) &&
          (bytes.data() == view_end || std::memcmp(view_end, bytes.data(), bytes.size()) == 0)) {
        staged_view_ = {staged_view_.data(), staged_view_.size() + bytes.size()};
        return true;
      }
    }
    if (staged_view_.size() + bytes.size() > kStagingLimit) return false;
    staging_.append(staged_view_);
    staged_view_ = {};
  }
  if (staging_.size() + bytes.size() > kStagingLimit) return false;
  staging_.append(bytes);
  return true;
}

void Reactor::send_staged(Connection& c) {
  if (!staged_view_.empty()) {
    const std::string_view view = staged_view_;
    staged_view_ = {};
    if (!c.broken) send_or_queue(c, view);
    return;
  }
  if (staging_.empty()) return;
  if (!c.broken) send_or_queue(c, staging_.data());
  staging_.clear();
}

void Reactor::send_or_queue(Connection& c, std::string_view bytes) {
  if (c.queued() == 0) {
    IoResult r;
    try {
      r = c.socket.write_nonblock(bytes);
    } catch (const Error& error) {
      fail(c, error);
      return;
    }
    if (r.ok()) {
      if (r.bytes >= bytes.size()) return;
      bytes.remove_prefix(r.bytes);
    }
  }
  if (!c.pending) c.pending = pool_.take();
  c.pending->append(bytes);
  note_queued(bytes.size());
  if (c.pending->size() > stat_peak_queued_.load(std::memory_order_relaxed)) {
    stat_peak_queued_.store(c.pending->size(), std::memory_order_relaxed);
  }
}

std::shared_ptr<Peer> Reactor::peer_of(Connection& c) {
  if (!c.peer_handle) c.peer_handle = std::make_shared<PeerImpl>(mailbox_, c.slot, c.generation);
  return c.peer_handle;
}

void Reactor::flush(Connection& c) {
  while (c.queued() > 0) {
    IoResult r;
    try {
      r = c.socket.write_nonblock(c.pending->data());
    } catch (const Error& error) {
      fail(c, error);
      return;
    }
    if (!r.ok()) break;
    c.pending->consume(r.bytes);
    note_dequeued(r.bytes);
    touch(c);
  }
  if (c.pending && c.pending->empty()) pool_.give(std::move(c.pending));
  if (c.paused && c.queued() < settings_.low_water) c.paused = false;
}

// Decides what a connection does next, after anything changed its state. Never called
// while one of its session's callbacks is on the stack, so it may destroy the connection.
void Reactor::settle(Connection& c) {
  if (!c.live) return;
  // The steady state of a busy connection, once per message: everything written, still
  // reading, epoll already watching just that. Nothing below would change anything.
  if (c.registered && c.interest == static_cast<std::uint32_t>(Interest::readable) &&
      c.queued() == 0 && !c.broken && !c.close_requested && !c.paused && !c.eof) {
    return;
  }
  if (c.broken) {
    destroy(c);
    return;
  }
  const std::size_t queued = c.queued();
  if (queued > settings_.max_queued) {
    rt_.log.info("closing " + c.remote.to_string() + ": " + std::to_string(queued) +
                 " bytes of output unread (client too slow)");
    destroy(c);
    return;
  }
  if (!c.paused && queued > settings_.high_water) {
    c.paused = true;
    stat_read_pauses_.fetch_add(1, std::memory_order_relaxed);
  }
  if (c.close_requested && queued == 0 && !c.lingering) {
    finish_close(c);
    return;
  }
  update_interest(c);
}

void Reactor::update_interest(Connection& c) {
  const bool reading = c.lingering || (!c.eof && !c.close_requested && !c.paused);
  const std::uint32_t want = (reading ? static_cast<std::uint32_t>(Interest::readable) : 0U) |
                             (c.queued() > 0 ? static_cast<std::uint32_t>(EPOLLOUT) : 0U);
  if (c.registered && want == c.interest) return;
  try {
    if (c.registered) {
      poller_.modify(c.socket.fd(), want, token_of(c.slot, c.generation));
    } else {
      poller_.add(c.socket.fd(), want, token_of(c.slot, c.generation));
      c.registered = true;
    }
    c.interest = want;
  } catch (const Error& error) {
    rt_.log.error(error.what());
    destroy(c);
  }
}

// Output is flushed and the session is done. Closing a socket with unread input makes the
// kernel answer with a reset, which can destroy the reply still in flight to the peer; so
// when input is waiting, send our FIN and discard input until the peer's EOF (bounded by
// settings_.linger) before closing.
void Reactor::finish_close(Connection& c) {
  if (c.eof || draining_) {
    destroy(c);
    return;
  }
  IoResult r;
  try {
    r = c.socket.read_nonblock({read_buffer_.get(), settings_.read_buffer});
    if (r.ok()) c.socket.close_write();
  } catch (const Error&) {
    destroy(c);
    return;
  }
  if (!r.ok()) {
    destroy(c);
    return;
  }
  c.lingering = true;
  if (c.list != nullptr) c.list->remove(c);
  c.touched = now_;
  lingering_.push_back(c);
  update_interest(c);
}

void Reactor::destroy(Connection& c) noexcept {
  if (!c.live) return;
  c.live = false;
  if (c.list != nullptr) c.list->remove(c);
  if (c.peer_handle) {
    std::lock_guard lock(mailbox_->mutex);
    c.peer_handle->gone = true;
  }
  c.peer_handle.reset();
  if (c.session) {
    try {
      c.session->on_close();
    } catch (const std::exception& e) {
      rt_.log.error("on_close " + c.remote.to_string() + ": " + e.what());
    } catch (...) {
      rt_.log.error("on_close " + c.remote.to_string() + ": unknown exception");
    }
    c.session.reset();
  }
  if (c.pending) {
    note_dequeued(c.pending->size());
    pool_.give(std::move(c.pending));
  }
  // Closing the descriptor also drops it from the epoll set: no epoll_ctl needed.
  c.socket.close();
  c.ticket = ConnectionGate::Ticket{};
  if (info_enabled()) {
    try {
      rt_.log.info("closed " + c.remote.to_string() +
                   (c.error ? " (" + c.error.message() + ")" : ""));
    } catch (...) {
    }
  }
  ++c.generation;
  c.interest = 0;
  c.registered = c.close_requested = c.broken = c.eof = c.paused = c.lingering = false;
  c.error.clear();
  free_slots_.push_back(c.slot);  // capacity reserved in allocate(): cannot throw
  --live_;
  stat_connections_.store(live_, std::memory_order_relaxed);
}

template <class Callback>
void Reactor::call(Connection& c, const char* what, Callback&& callback) {
  corked_ = &c;
  try {
    callback();
  } catch (const std::exception& e) {
    rt_.log.error(std::string(what) + " " + c.remote.to_string() + ": " + e.what());
    c.broken = true;
  } catch (...) {
    rt_.log.error(std::string(what) + " " + c.remote.to_string() + ": unknown exception");
    c.broken = true;
  }
  corked_ = nullptr;
  send_staged(c);
}

void Reactor::touch(Connection& c) noexcept {
  if (c.list != &idle_ || now_ - c.touched < tick_) return;
  idle_.remove(c);
  c.touched = now_;
  idle_.push_back(c);
}

// accept4(2) is called directly rather than through Socket::accept_nonblock: the listener is
// known to be non-blocking (no fcntl per call), and running out of descriptors is an
// expected state here, answered without an exception.
void Reactor::accept_ready() {
  for (int i = 0; i < kMaxAcceptsPerEvent && listening_; ++i) {
    Address peer;
    socklen_t size = Address::capacity();
    const int fd = ::accept4(listener_.fd(), peer.data(), &size, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0) {
      const int err = errno;
      if (err == EAGAIN || err == EWOULDBLOCK) return;
      if (is_out_of_descriptors(err)) {
        pause_accepting(err);
        return;
      }
      // The client gave up between SYN and accept, or a network error was passed up
      // (see accept(2)): only that one connection is lost.
      if (err == ECONNABORTED || err == EINTR || err == EPROTO || err == ENETDOWN ||
          err == ENOPROTOOPT || err == EHOSTDOWN || err == ENONET || err == EHOSTUNREACH ||
          err == EOPNOTSUPP || err == ENETUNREACH || err == EPERM) {
        continue;
      }
      rt_.log.error("accept " + local_.to_string() + ": " + std::strerror(err));
      return;
    }
    peer.resize(size);
    if (descriptor_shortage_logged_) {
      descriptor_shortage_logged_ = false;
      rt_.log.info("accepting connections again");
    }
    admit(Accepted{AcceptedSocket(fd), std::move(peer)});
  }
}

Connection& Reactor::allocate() {
  if (!free_slots_.empty()) {
    const std::uint32_t slot = free_slots_.back();
    free_slots_.pop_back();
    return *slots_[slot];
  }
  const auto slot = static_cast<std::uint32_t>(slots_.size());
  slots_.push_back(std::make_unique<Connection>(*this, slot));
  // destroy() returns the slot with push_back, which must not throw: reserve here.
  free_slots_.reserve(slots_.size());
  return *slots_.back();
}

void Reactor::admit(Accepted accepted) {
  std::string reason;
  ConnectionGate::Ticket ticket = rt_.gate.admit(accepted.peer, &reason);
  if (!ticket) {
    try {
      accepted.socket.write_nonblock(rt_.service.full_message());
    } catch (const Error&) {
      // Best effort: the client is turned away either way.
    }
    if (info_enabled()) rt_.log.info("refused " + accepted.peer.to_string() + ": " + reason);
    return;
  }
  Connection& c = allocate();
  ConnectionInfo info{accepted.peer, local_, rt_.options.limits};
  if (local_is_wildcard_) {
    try {
      info.local = accepted.socket.local_address();
    } catch (const Error&) {
    }
  }
  c.socket = std::move(accepted.socket);
  c.remote = std::move(accepted.peer);
  c.ticket = std::move(ticket);
  c.live = true;
  c.touched = now_;
  ++live_;
  stat_connections_.store(live_, std::memory_order_relaxed);
  stat_accepted_.fetch_add(1, std::memory_order_relaxed);
  if (idle_timeout_.count() > 0) idle_.push_back(c);
  try {
    c.session = rt_.service.open(info);
  } catch (const std::exception& e) {
    rt_.log.error("open session for " + c.remote.to_string() + ": " + e.what());
    destroy(c);
    return;
  }
  if (!c.session) {
    destroy(c);
    return;
  }
  if (info_enabled()) rt_.log.info("connection from " + c.remote.to_string());
  call(c, "on_open", [&] { c.session->on_open(c); });
  settle(c);
}

void Reactor::pause_accepting(int err) {
  if (!descriptor_shortage_logged_) {
    rt_.log.error("accept " + local_.to_string() + ": " + std::strerror(err) +
                  "; pausing new connections for " +
                  std::to_string(settings_.accept_pause.count()) +
                  " ms at a time, serving current ones");
    descriptor_shortage_logged_ = true;
  }
  poller_.remove(listener_.fd());
  listening_ = false;
  accept_paused_ = true;
  stat_accept_pauses_.fetch_add(1, std::memory_order_relaxed);
  accept_resume_at_ = now_ + settings_.accept_pause;
}

void Reactor::resume_accepting() {
  accept_paused_ = false;
  if (draining_ || !listener_.is_open()) return;
  try {
    poller_.add(listener_.fd(), listener_interest(), kListenerToken);
    listening_ = true;
  } catch (const Error& error) {
    // Most likely still short of memory: try again after another pause.
    pause_accepting(error.code().value());
  }
}

// Stop: no new connections; take in what each connection already sent and answer it;
// close those with nothing left to send; let the rest flush until the drain deadline.
void Reactor::begin_drain() {
  if (draining_) return;
  draining_ = true;
  drain_deadline_ = now_ + rt_.options.drain_timeout;
  if (stop_watched_) {
    poller_.remove(rt_.stop.fd());
    stop_watched_ = false;
  }
  if (listening_) poller_.remove(listener_.fd());
  listening_ = false;
  accept_paused_ = false;
  if (listener_use_ == ListenerUse::exclusive) listener_.close();
  for (std::size_t i = 0; i < slots_.size(); ++i) {
    Connection& c = *slots_[i];
    if (!c.live) continue;
    const std::uint32_t generation = c.generation;
    if (c.lingering) {
      destroy(c);
      continue;
    }
    for (int reads = 0; reads < kMaxDrainReads && alive(c, generation) && !c.eof &&
                        !c.close_requested && !c.paused;
         ++reads) {
      if (!on_readable(c)) break;
    }
    if (!alive(c, generation)) continue;
    c.close_requested = true;
    settle(c);
  }
}

void Reactor::deliver_mail() {
  {
    std::lock_guard lock(mailbox_->mutex);
    mail_batch_.swap(mailbox_->ready);
    mailbox_->wake_pending = false;
    mailbox_->has_ready.store(false, std::memory_order_relaxed);
    for (auto& peer : mail_batch_) {
      peer->taken.swap(peer->inbox);
      peer->inbox.clear();
      peer->take_close = peer->close_asked;
      peer->close_asked = false;
      peer->queued = false;
    }
  }
  for (auto& peer : mail_batch_) {
    if (peer->slot < slots_.size()) {
      Connection& c = *slots_[peer->slot];
      if (alive(c, peer->generation)) {
        write_to(c, peer->taken);
        if (peer->take_close) c.close_requested = true;
        settle(c);
      }
    }
    peer->taken.clear();
    if (peer->taken.capacity() > kMaxRetainedMail) std::string().swap(peer->taken);
  }
  mail_batch_.clear();
}

void Reactor::expire_timers() {
  if (accept_paused_ && now_ >= accept_resume_at_) resume_accepting();
  if (idle_timeout_.count() > 0) {
    while (idle_.head != nullptr && idle_.head->touched + idle_timeout_ + tick_ <= now_) {
      Connection& c = *idle_.head;
      if (info_enabled()) rt_.log.info("idle timeout " + c.remote.to_string());
      destroy(c);
    }
  }
  while (lingering_.head != nullptr && lingering_.head->touched + settings_.linger <= now_) {
    destroy(*lingering_.head);
  }
}

int Reactor::next_timeout_ms() const noexcept {
  if (mailbox_->has_ready.load(std::memory_order_acquire)) return 0;
  std::optional<Clock::time_point> next;
  auto consider = [&next](Clock::time_point when) {
    if (!next || when < *next) next = when;
  };
  if (idle_timeout_.count() > 0 && idle_.head != nullptr) {
    consider(idle_.head->touched + idle_timeout_ + tick_);
  }
  if (lingering_.head != nullptr) consider(lingering_.head->touched + settings_.linger);
  if (accept_paused_) consider(accept_resume_at_);
  if (draining_) consider(drain_deadline_);
  if (!next) return -1;
  if (*next <= now_) return 0;
  const auto wait = std::chrono::ceil<milliseconds>(*next - now_).count();
  return wait > INT_MAX ? INT_MAX : static_cast<int>(wait);
}

void Reactor::close_all() noexcept {
  for (auto& slot : slots_)
    destroy(*slot);
}

void Reactor::note_queued(std::size_t added) noexcept {
  stat_queued_.fetch_add(added, std::memory_order_relaxed);
}

void Reactor::note_dequeued(std::size_t removed) noexcept {
  stat_queued_.fetch_sub(removed, std::memory_order_relaxed);
}

}  // namespace

void prepare_listener(Socket& listener, const Address& local) noexcept {
  if (!local.is_ip()) return;
  try {
    listener.set(option::NoDelay{true});
  } catch (const Error&) {
    // Only a latency optimisation: serve without it.
  }
}

struct EventLoop::Impl {
  Impl(Runtime& rt, Socket& listener, ListenerUse use, LoopSettings settings)
      : reactor(rt, listener, use, settings) {}
  Reactor reactor;
};

EventLoop::EventLoop(Runtime& runtime, Socket& listener, ListenerUse use, LoopSettings settings)
    : impl_(std::make_unique<Impl>(runtime, listener, use, settings)) {}

EventLoop::~EventLoop() = default;

void EventLoop::run() {
  impl_->reactor.run();
}

LoopStats EventLoop::stats() const noexcept {
  return impl_->reactor.stats();
}

}  // namespace sockit::server::detail
