// Outbound connections of an event loop: a session's connect() takes a slot of the loop's
// slot table; the name is resolved on the worker pool (a numeric host is parsed inline);
// each address is tried in turn with a non-blocking connect, the whole bounded by the
// request's timeout. Then the connection is served like an accepted one. Nothing is
// reported from inside the opener's connect(): the dial begins on a zero-delay timer.
#include <sys/socket.h>

#include <algorithm>
#include <charconv>
#include <exception>
#include <optional>
#include <string>
#include <utility>

#include "loop_connection.hpp"
#include "sockit/error.hpp"
#include "sockit/options.hpp"

namespace sockit::server::detail {
namespace {

std::string target_of(const OutboundRequest& request) {
  const bool v6 = request.host.find(':') != std::string::npos;
  return (v6 ? "[" + request.host + "]" : request.host) + ":" + request.port;
}

// A port given as a number, or nullopt (a service name, or out of range: left to resolve,
// which reports it).
std::optional<std::uint16_t> numeric_port(const std::string& text) {
  unsigned value = 0;
  const char* end = text.data() + text.size();
  const auto [stop, error] = std::from_chars(text.data(), end, value);
  if (text.empty() || error != std::errc{} || stop != end || value > 65535) return std::nullopt;
  return static_cast<std::uint16_t>(value);
}

// Why one address failed: the error, and which address when there were several.
std::string failure_reason(const Dialing& d, const Address& address, std::error_code error) {
  if (d.addresses.size() <= 1) return error.message();
  return address.to_string() + ": " + error.message();
}

}  // namespace

void LoopConnection::connect(OutboundRequest request, std::unique_ptr<Session> outbound) {
  if (!outbound) return;
  // Outbound connections are not admitted by the connection gate; they are bounded by the
  // same number, per loop, and die with their opener.
  const std::size_t limit = loop.rt.options.max_connections;
  std::string refusal;
  if (state != State::open && state != State::closing) {
    refusal = "the opening connection is closing";
  } else if (loop.draining) {
    refusal = "the server is stopping";
  } else if (limit > 0 && loop.outbound >= limit) {
    refusal = "outbound connection limit " + std::to_string(limit) + " reached";
  }
  if (!refusal.empty()) {
    loop.refused.push_back(
        RefusedDial{std::move(outbound), target_of(request),
                    std::make_error_code(std::errc::resource_unavailable_try_again), refusal});
    return;
  }
  // Forget the children that have gone, so a long-lived opener's list stays short.
  std::erase_if(children_, [this](const std::pair<std::uint32_t, std::uint32_t>& child) {
    const LoopConnection* c = loop.slots.find(child.first);
    return c == nullptr || !c->is(child.second);
  });
  children_.reserve(children_.size() + 1);
  LoopConnection& c = loop.slots.allocate(loop);
  c.dial(std::move(request), std::move(outbound));
  if (c.live()) children_.emplace_back(c.slot, c.generation);
}

void LoopConnection::dial(OutboundRequest request, std::unique_ptr<Session> outbound) {
  const std::string target = target_of(request);
  state = State::connecting;
  outbound_ = true;
  session = std::move(outbound);
  ++loop.live;
  ++loop.outbound;
  loop.counters.connections.store(loop.live, std::memory_order_relaxed);
  try {
    dialing_ = std::make_unique<Dialing>();
    dialing_->host = std::move(request.host);
    dialing_->port = std::move(request.port);
    dialing_->timeout = std::max(request.timeout, std::chrono::milliseconds{0});
    const Clock::time_point now = Clock::now();
    dialing_->deadline = loop.timers.start(*this, now + dialing_->timeout, kConnectDeadline);
    // Due at the loop's last wake-up, so it begins in this iteration's timer pass.
    loop.timers.start(*this, loop.now, kConnectStart);
  } catch (const std::exception& e) {
    // Out of memory: report it from the loop rather than throw into the opener.
    loop.refused.push_back(RefusedDial{
        std::move(session), target, std::make_error_code(std::errc::not_enough_memory), e.what()});
    dialing_.reset();
    abort();
  }
}

std::string LoopConnection::dial_target() const {
  return dialing_ ? target_of({dialing_->host, dialing_->port, dialing_->timeout}) : "";
}

void LoopConnection::begin_dial() {
  Dialing& d = *dialing_;
  if (const auto port = numeric_port(d.port)) {
    if (auto address = Address::try_parse(d.host, *port)) {
      d.addresses.push_back(*address);
      try_next_address();
      return;
    }
  }
  // A name: getaddrinfo blocks, so it runs on the worker pool, and the addresses come home
  // through the mailbox to this slot and generation (dropped if the dial has ended).
  WorkerPool::Job job = [box = loop.mailbox, home = slot, current = generation, host = d.host,
                         port = d.port] {
    std::error_code error;
    std::vector<Address> found;
    for (auto& r : resolve(host, port, ResolveOptions{}, error))
      found.push_back(r.address);
    box->deliver(Delivery{home, current,
                          [found = std::move(found), error](Output& out) mutable {
                            static_cast<LoopConnection&>(out).on_resolved(std::move(found), error);
                          },
                          true});
  };
  if (!loop.rt.workers.try_submit(job)) {
    give_up(std::make_error_code(std::errc::resource_unavailable_try_again),
            "resolve " + d.host + ": the worker pool is busy");
  }
}

void LoopConnection::on_resolved(std::vector<Address> found, std::error_code error) {
  if (!dialing_) return;
  if (error || found.empty()) {
    if (!error) error = make_error_code(errc::not_found);
    give_up(error, "resolve " + dialing_->host + ": " + error.message());
    return;
  }
  dialing_->addresses = std::move(found);
  try_next_address();
}

// Every failure of one address moves on to the next; the last one's reason is reported.
void LoopConnection::try_next_address() {
  Dialing& d = *dialing_;
  while (d.next < d.addresses.size()) {
    const Address& address = d.addresses[d.next++];
    socket.close();
    interest = kUnwatched;
    remote_ = address;
    try {
      Socket attempt(address.family(), SOCK_STREAM);
      const ConnectStatus status = attempt.connect_nonblock(address);
      socket = std::move(attempt);
      if (status == ConnectStatus::connected) connected();
      return;  // else settle() watches for writable
    } catch (const Error& e) {
      d.error = e.code();
      d.reason = failure_reason(d, address, e.code());
      if (is_out_of_descriptors(d.error)) break;
    }
  }
  give_up(d.error ? d.error : std::make_error_code(std::errc::address_not_available),
          d.reason.empty() ? "no address to connect to" : d.reason);
}

void LoopConnection::finish_connect() {
  // Only a connect in progress and watched can have finished.
  if (!dialing_ || interest == kUnwatched || !socket.is_open()) return;
  const std::error_code error = socket.finish_connect();
  if (!error) {
    connected();
    return;
  }
  dialing_->error = error;
  dialing_->reason = failure_reason(*dialing_, remote_, error);
  try_next_address();
}

void LoopConnection::connected() {
  const std::string target = dial_target();
  loop.timers.cancel(*this, dialing_->deadline);
  dialing_.reset();
  state = State::open;
  touched = loop.now;
  if (loop.idle_timeout.count() > 0 && !link_) loop.idle.push_back(*this);
  try {
    socket.set(option::NoDelay{true});  // as accepted sockets inherit from the listener
  } catch (const Error&) {
  }
  if (loop.info_enabled() && !link_) {
    loop.rt.log.info("connected to " + target + " (" + remote_.to_string() + ")");
  }
  call("on_open", [&] { session->on_open(*this); });
}

void LoopConnection::give_up(std::error_code error, const std::string& reason) noexcept {
  if (!dialing_) return;
  // A connection's outcome, like its "closed" line: info, not an error of the server's.
  if (loop.info_enabled() && !link_) {
    try {
      loop.rt.log.info("connect to " + dial_target() + " failed: " + reason);
    } catch (...) {
    }
  }
  if (session) {
    try {
      session->on_connect_failed(error, reason);
    } catch (const std::exception& e) {
      callback_failed("on_connect_failed", e.what());
    } catch (...) {
      callback_failed("on_connect_failed", "unknown exception");
    }
  }
  abort();
}

}  // namespace sockit::server::detail
