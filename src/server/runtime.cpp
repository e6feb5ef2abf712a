// The policies every architecture shares: the stderr logger, the connection gate (global
// and per-address limits) and the stop signal (an eventfd, so it can be polled).
#include "runtime.hpp"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <string>
#include <system_error>
#include <utility>

#include "sockit/error.hpp"

namespace sockit::server::detail {
namespace {

// The per-address key: the IP for IP peers (so two ports of one client share a limit);
// Unix peers all share one key.
std::string address_key(const Address& peer) {
  if (peer.is_ip()) return peer.unmap_v4().ip();
  return "unix";
}

}  // namespace

void Logger::write_line(std::string_view level, std::string_view message) const {
  std::string line = "sockit[" + std::to_string(::getpid()) + "] ";
  line += level;
  line += ' ';
  line += message;
  line += '\n';
  if (writer_ != nullptr) {
    writer_->write(line);
    return;
  }
  // One write per line so lines from threads and worker processes never interleave.
  std::string_view left = line;
  while (!left.empty()) {
    ssize_t n = ::write(STDERR_FILENO, left.data(), left.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return;  // stderr gone: nothing better to do
    }
    left.remove_prefix(static_cast<std::size_t>(n));
  }
}

void Logger::flush() const noexcept {
  if (writer_ != nullptr) writer_->flush(LogWriter::flush_at_exit);
}

void Logger::info(std::string_view message) const {
  if (level_ != LogLevel::quiet) write_line("INFO", message);
}

void Logger::debug(std::string_view message) const {
  if (level_ == LogLevel::verbose) write_line("DEBUG", message);
}

void Logger::error(std::string_view message) const {
  write_line("ERROR", message);
}

ConnectionGate::Ticket::Ticket(Ticket&& other) noexcept
    : gate_(std::exchange(other.gate_, nullptr)), key_(std::move(other.key_)) {}

ConnectionGate::Ticket& ConnectionGate::Ticket::operator=(Ticket&& other) noexcept {
  if (this != &other) {
    if (gate_ != nullptr) gate_->release(key_);
    gate_ = std::exchange(other.gate_, nullptr);
    key_ = std::move(other.key_);
  }
  return *this;
}

ConnectionGate::Ticket::~Ticket() {
  if (gate_ != nullptr) gate_->release(key_);
}

ConnectionGate::ConnectionGate(std::size_t max_total, std::size_t max_per_address)
    : max_total_(max_total), max_per_address_(max_per_address) {}

ConnectionGate::ConnectionGate(std::size_t max_total, std::size_t max_per_address,
                               SharedAddressSlots& shared, std::size_t slot)
    : max_total_(max_total), max_per_address_(max_per_address), shared_(&shared), slot_(slot) {}

ConnectionGate::Ticket ConnectionGate::admit(const Address& peer, std::string* reason,
                                             Counter* refusal) {
  if (max_per_address_ == 0) {
    // No per-address limit: the count is all there is to keep, so no key is formatted, no
    // table touched and no lock taken (this runs for every connection).
    const std::size_t before = active_.fetch_add(1, std::memory_order_relaxed);
    if (max_total_ != 0 && before >= max_total_) {
      active_.fetch_sub(1, std::memory_order_relaxed);
      if (reason != nullptr)
        *reason = "connection limit " + std::to_string(max_total_) + " reached";
      if (refusal != nullptr) *refusal = Counter::refused_full;
      return {};
    }
    return Ticket(this, {});
  }
  std::string key = address_key(peer);
  std::lock_guard lock(mutex_);
  if (max_total_ != 0 && active_.load(std::memory_order_relaxed) >= max_total_) {
    if (reason != nullptr) *reason = "connection limit " + std::to_string(max_total_) + " reached";
    if (refusal != nullptr) *refusal = Counter::refused_full;
    return {};
  }
  if (shared_ != nullptr) {
    if (!shared_->claim(slot_, key, max_per_address_)) {
      if (reason != nullptr) {
        *reason = "per-address limit " + std::to_string(max_per_address_) + " reached for " + key;
      }
      if (refusal != nullptr) *refusal = Counter::refused_per_address;
      return {};
    }
    active_.fetch_add(1, std::memory_order_relaxed);
    return Ticket(this, std::move(key));
  }
  if (max_per_address_ != 0) {
    auto it = per_address_.find(key);
    if (it != per_address_.end() && it->second >= max_per_address_) {
      if (reason != nullptr) {
        *reason = "per-address limit " + std::to_string(max_per_address_) + " reached for " + key;
      }
      if (refusal != nullptr) *refusal = Counter::refused_per_address;
      return {};
    }
  }
  ++per_address_[key];
  active_.fetch_add(1, std::memory_order_relaxed);
  return Ticket(this, std::move(key));
}

void ConnectionGate::release(const std::string& key) noexcept {
  if (max_per_address_ == 0) {
    active_.fetch_sub(1, std::memory_order_relaxed);
    return;
  }
  std::lock_guard lock(mutex_);
  if (shared_ != nullptr) {
    shared_->release(slot_);
    active_.fetch_sub(1, std::memory_order_relaxed);
    return;
  }
  auto it = per_address_.find(key);
  if (it != per_address_.end() && --it->second == 0) per_address_.erase(it);
  active_.fetch_sub(1, std::memory_order_relaxed);
}

StopSignal::StopSignal() : fd_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
  if (!fd_) throw_errno("eventfd", "stop signal", errno);
}

void StopSignal::request() noexcept {
  requested_.store(true, std::memory_order_release);
  // Nobody ever reads the counter, so the descriptor stays readable for good. write(2) is
  // async-signal-safe; errno is saved because this may run inside a signal handler.
  int saved = errno;
  std::uint64_t one = 1;
  [[maybe_unused]] ssize_t n = ::write(fd_.get(), &one, sizeof one);
  errno = saved;
}

}  // namespace sockit::server::detail
