// The reactor's event loop: wait, dispatch, deliver mail, expire timers, settle what
// callbacks changed in other connections; drain at a stop.
// Level-triggered; per message the hot path is one read into the loop's shared buffer, the
// session's callback, and one write straight to the socket, all inlined into run(). The
// backend is told about a connection only when its state changes (its output backs up or
// drains, it pauses for back-pressure, it half-closes), never per message.
#include "event_loop.hpp"

#include <poll.h>
#include <climits>
#include <exception>
#include <optional>
#include <string>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

namespace sockit::server::detail {

LoopStats LoopCounters::snapshot() const noexcept {
  LoopStats s;
  s.connections = connections.load(std::memory_order_relaxed);
  s.accepted = accepted.load(std::memory_order_relaxed);
  s.queued_bytes = queued.load(std::memory_order_relaxed);
  s.peak_queued_bytes = peak_queued.load(std::memory_order_relaxed);
  s.read_pauses = read_pauses.load(std::memory_order_relaxed);
  s.accept_pauses = accept_pauses.load(std::memory_order_relaxed);
  return s;
}

EventLoop::EventLoop(Runtime& runtime, Socket& listener, ListenerUse use, LoopSettings settings)
    : shared_(runtime, settings), acceptor_(shared_, listener, use) {
  mail_batch_.reserve(64);
  deliveries_.reserve(64);
}

EventLoop::~EventLoop() {
  close_all();
  shared_.mailbox->shut();
}

void EventLoop::run() {
  if (shared_.settings.use_uring) {
    run_uring();
    return;
  }
  shared_.mailbox->set_owner(std::this_thread::get_id());
  shared_.now = Clock::now();
  shared_.backend.watch(shared_.mailbox->fd(), LoopBackend::kSignalled, kWakeToken);
  shared_.backend.watch(shared_.rt.stop.fd(), LoopBackend::kSignalled, kStopToken);
  stop_watched_ = true;
  acceptor_.start();
  links_.start();
  while (running()) {
    const std::span<const PollEvent> events = shared_.backend.wait(next_timeout_ms());
    shared_.now = Clock::now();
    // Software pipelining. With hundreds of connections, the slot and the session an event
    // needs are rarely still cached, and each is a load that stalls the loop; the kernel's
    // work on the events before it can hide that wait. So each connection's slot is
    // prefetched two events ahead, and its session (whose address is in the slot) one ahead.
    const std::size_t count = events.size();
    if (count > 0) prefetch_slot(events[0].token);
    for (std::size_t i = 0; i < count; ++i) {
      if (i + 2 < count) prefetch_slot(events[i + 2].token);
      if (i + 1 < count) prefetch_session(events[i + 1].token);
      dispatch(events[i]);
    }
    if (acceptor_.backlogged()) acceptor_.on_ready();
    end_turn();
  }
  finish();
}

// The same phases on io_uring. One system call per turn submits the requests the turn queued
// (receives armed, sends, cancellations) and waits for completions, bounded by the nearest
// timer.
void EventLoop::run_uring() {
  shared_.uring = std::make_unique<UringBackend>();
  UringBackend& ring = *shared_.uring;
  shared_.mailbox->set_owner(std::this_thread::get_id());
  shared_.now = Clock::now();
  ring.poll(shared_.mailbox->fd(), POLLIN, true, kWakeToken);
  ring.poll(shared_.rt.stop.fd(), POLLIN, true, kStopToken);
  stop_watched_ = true;
  acceptor_.start();
  links_.start();
  while (running()) {
    const std::vector<UringCompletion>& done = ring.wait(next_timeout_ms());
    shared_.now = Clock::now();
    // A stop is acted on after the turn's completions: they hold input that came before
    // whatever the drain then reads from the sockets.
    bool stop = false;
    for (const UringCompletion& completion : done)
      dispatch(completion, stop);
    if (stop) begin_drain();
    end_turn();
  }
  finish();
  // The loop's own requests go too; then whatever the closes above queued is submitted and
  // finished before the loop returns.
  ring.cancel(kWakeToken);
  unwatch_stop();
  ring.quiesce();
}

void EventLoop::finish() {
  if (shared_.live > 0) {
    shared_.rt.log.info("drain deadline passed; closing " + std::to_string(shared_.live) +
                        " connection" + (shared_.live == 1 ? "" : "s"));
  }
  close_all();
}

void EventLoop::dispatch(const PollEvent& event) {
  switch (event.token) {
    case kListenerToken:
      acceptor_.on_ready();
      return;
    case kStopToken:
      begin_drain();
      return;
    case kWakeToken:
      shared_.mailbox->clear_wake();
      return;
    default:
      break;
  }
  LoopConnection* c = shared_.slots.find(static_cast<std::uint32_t>(event.token & 0xffffffffu));
  // A connection closed earlier in this batch may have left a stale event behind.
  if (c == nullptr || !c->is(static_cast<std::uint32_t>(event.token >> 32))) return;
  c->on_event(event.events);
}

void EventLoop::prefetch_slot(std::uint64_t token) const noexcept {
  if (const LoopConnection* c = shared_.slots.find(static_cast<std::uint32_t>(token))) {
    __builtin_prefetch(c);
    __builtin_prefetch(reinterpret_cast<const char*>(c) + 64);
  }
}

void EventLoop::prefetch_session(std::uint64_t token) const noexcept {
  const LoopConnection* c = shared_.slots.find(static_cast<std::uint32_t>(token));
  if (c != nullptr && c->session) __builtin_prefetch(c->session.get());
}

// Stop: no new connections, but those already waiting in the backlog are taken in; take in
// what each connection already sent and answer it; close those with nothing left to send,
// except new ones whose first bytes may still be on their way (drain_late_arrivals); let
// the rest flush (and linger) until the drain deadline.
void EventLoop::begin_drain() {
  if (shared_.draining) return;
  shared_.draining = true;
  // The stop arrived through an eventfd, which orders nothing a race detector can see: this
  // acquire pairs with request()'s release, so what the requester did before (a restart
  // thread reading the listener about to be closed here) happens before the drain.
  static_cast<void>(shared_.rt.stop.requested());
  drain_deadline_ = shared_.now + shared_.rt.options.drain_timeout;
  unwatch_stop();
  acceptor_.stop();
  for (std::size_t i = 0; i < shared_.slots.size(); ++i) {
    LoopConnection& c = shared_.slots.at(i);
    // Lingering ones keep discarding input until their peer's EOF, bounded by the linger
    // time and the drain deadline: closing them now would reset the reply still in flight.
    if (!c.live() || c.state == LoopConnection::State::lingering) continue;
    if (c.dialing()) {
      c.give_up(std::make_error_code(std::errc::operation_canceled), "the server is stopping");
      continue;
    }
    c.drain_and_close();
  }
  settle_others();
}

// Draining: the new connections that waited for their first bytes are drained like the
// others once those bytes (or an EOF) have come and been answered, or once their wait is
// over, whichever is first. The rest wait on.
void EventLoop::drain_late_arrivals() {
  std::vector<std::pair<LoopConnection*, std::uint32_t>> waiting;
  waiting.swap(shared_.awaiting_first_bytes);
  for (const auto& [c, generation] : waiting) {
    if (!c->is(generation)) continue;
    if (c->awaits_first_bytes()) {
      shared_.awaiting_first_bytes.emplace_back(c, generation);
      continue;
    }
    c->drain_and_close();
  }
}

void EventLoop::unwatch_stop() {
  if (!stop_watched_) return;
  if (shared_.uring) {
    shared_.uring->cancel(kStopToken);
  } else {
    shared_.backend.unwatch(shared_.rt.stop.fd());
  }
  stop_watched_ = false;
}

void EventLoop::end_turn() {
  if (shared_.mailbox->has_mail()) deliver_mail();
  expire_timers();
  if (!shared_.awaiting_first_bytes.empty()) drain_late_arrivals();
  if (!shared_.settle_later.empty() || !shared_.refused.empty()) settle_others();
}

void EventLoop::deliver_mail() {
  shared_.mailbox->take(mail_batch_, deliveries_);
  for (const auto& peer : mail_batch_) {
    LoopConnection* c = shared_.slots.find(peer->slot);
    if (c == nullptr || !c->is(peer->generation)) continue;
    if (peer->taken_sends != 0) shared_.metrics->add(Counter::messages_out, peer->taken_sends);
    c->write_mail(peer->taken);
    if (peer->take_close) c->close();
    c->settle();
  }
  Mailbox::recycle(mail_batch_);
  for (Delivery& delivery : deliveries_) {
    LoopConnection* c = shared_.slots.find(delivery.slot);
    if (c != nullptr && c->is(delivery.generation)) c->on_delivery(delivery);
  }
  deliveries_.clear();
}

void EventLoop::expire_timers() {
  acceptor_.expire_timer();
  links_.expire();
  const Clock::time_point now = shared_.now;
  // Only the timers due now: one a callback starts with no delay waits for the next
  // iteration, so a session that keeps restarting one cannot starve the others.
  for (std::size_t due_now = shared_.timers.size(); due_now > 0; --due_now) {
    LoopTimers::Due due;
    if (!shared_.timers.pop_due(now, due)) break;
    due.owner->on_timer_due(due.id, due.kind);
  }
  if (shared_.idle_timeout.count() > 0) {
    while (LoopConnection* c = shared_.idle.front()) {
      if (c->touched + shared_.idle_timeout + shared_.tick > now) break;
      if (shared_.info_enabled()) shared_.rt.log.info("idle timeout " + c->remote().to_string());
      c->count_close_as(Counter::closed_idle);
      c->abort();
    }
  }
  while (LoopConnection* c = shared_.lingering.front()) {
    if (c->touched + shared_.settings.linger > now) break;
    c->abort();
  }
}

int EventLoop::next_timeout_ms() const noexcept {
  if (shared_.mailbox->has_mail() || acceptor_.backlogged()) return 0;
  std::optional<Clock::time_point> next;
  auto consider = [&next](Clock::time_point when) {
    if (!next || when < *next) next = when;
  };
  if (shared_.idle_timeout.count() > 0 && shared_.idle.front() != nullptr) {
    consider(shared_.idle.front()->touched + shared_.idle_timeout + shared_.tick);
  }
  if (shared_.lingering.front() != nullptr) {
    consider(shared_.lingering.front()->touched + shared_.settings.linger);
  }
  if (acceptor_.paused()) consider(acceptor_.resume_at());
  if (shared_.draining) consider(drain_deadline_);
  for (const auto& [c, generation] : shared_.awaiting_first_bytes) {
    if (c->is(generation)) consider(c->first_bytes_due());
  }
  if (const auto timer = shared_.timers.next_deadline()) consider(*timer);
  if (const auto redial = links_.next_redial()) consider(*redial);
  if (!next) return -1;
  if (*next <= shared_.now) return 0;
  const auto wait = std::chrono::ceil<std::chrono::milliseconds>(*next - shared_.now).count();
  return wait > INT_MAX ? INT_MAX : static_cast<int>(wait);
}

// Connections written to, closed or resumed by another's callback, and outbound
// connections refused before they had a slot.
void EventLoop::settle_others() {
  for (std::size_t i = 0; i < shared_.settle_later.size(); ++i) {
    // Copied: settling may close a connection whose on_close adds to the list.
    const auto [c, generation] = shared_.settle_later[i];
    if (!c->is(generation)) continue;
    c->settled_later();
    c->settle();
  }
  shared_.settle_later.clear();
  while (!shared_.refused.empty()) {
    RefusedDial refused = std::move(shared_.refused.back());
    shared_.refused.pop_back();
    report_refused(refused);
  }
}

void EventLoop::report_refused(RefusedDial& refused) noexcept {
  auto guarded = [&](const char* what, auto&& callback) noexcept {
    try {
      callback();
    } catch (const std::exception& e) {
      shared_.rt.log.error(std::string(what) + " " + refused.target + ": " + e.what());
    } catch (...) {
      shared_.rt.log.error(std::string(what) + " " + refused.target + ": unknown exception");
    }
  };
  if (shared_.info_enabled()) {
    guarded("log", [&] {
      shared_.rt.log.info("connect to " + refused.target + " failed: " + refused.reason);
    });
  }
  guarded("on_connect_failed",
          [&] { refused.session->on_connect_failed(refused.error, refused.reason); });
  guarded("on_close", [&] { refused.session->on_close(); });
}

void EventLoop::close_all() noexcept {
  for (std::size_t i = 0; i < shared_.slots.size(); ++i)
    shared_.slots.at(i).abort();
  shared_.settle_later.clear();
  // Asked for by the sessions just closed: they hear why, as any other would.
  while (!shared_.refused.empty()) {
    RefusedDial refused = std::move(shared_.refused.back());
    shared_.refused.pop_back();
    report_refused(refused);
  }
}

}  // namespace sockit::server::detail
