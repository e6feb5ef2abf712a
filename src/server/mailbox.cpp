// The event loop's mailbox and Peer (see mailbox.hpp).
#include "mailbox.hpp"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <utility>

#include "sockit/error.hpp"

namespace sockit::server::detail {
namespace {

// A loop-side copy larger than this is freed after delivery rather than kept.
constexpr std::size_t kMaxRetainedMail = 64 * 1024;

}  // namespace

std::shared_ptr<Mailbox> Mailbox::open() {
  FileDescriptor fd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!fd) throw_errno("eventfd", "", errno);
  return std::make_shared<Mailbox>(std::move(fd));
}

void Mailbox::set_owner(std::thread::id owner) {
  std::lock_guard lock(mutex_);
  owner_ = owner;
}

void Mailbox::clear_wake() noexcept {
  std::uint64_t count = 0;
  [[maybe_unused]] auto got = ::read(wake_fd_.get(), &count, sizeof count);
}

void Mailbox::take(std::vector<std::shared_ptr<PeerImpl>>& batch,
                   std::vector<Delivery>& deliveries) {
  std::lock_guard lock(mutex_);
  batch.swap(ready_);
  deliveries.swap(deliveries_);
  wake_pending_ = false;
  has_ready_.store(false, std::memory_order_relaxed);
  for (auto& peer : batch) {
    peer->taken.swap(peer->inbox_);
    peer->inbox_.clear();
    peer->taken_sends = std::exchange(peer->inbox_sends_, 0);
    peer->take_close = peer->close_asked_;
    peer->close_asked_ = false;
    peer->queued_ = false;
  }
}

void Mailbox::recycle(std::vector<std::shared_ptr<PeerImpl>>& batch) noexcept {
  for (auto& peer : batch) {
    peer->taken.clear();
    if (peer->taken.capacity() > kMaxRetainedMail) std::string().swap(peer->taken);
  }
  batch.clear();
}

void Mailbox::forget(PeerImpl& peer) noexcept {
  std::lock_guard lock(mutex_);
  peer.gone_ = true;
}

void Mailbox::shut() noexcept {
  std::vector<Delivery> dropped;
  {
    std::lock_guard lock(mutex_);
    open_ = false;
    ready_.clear();
    dropped.swap(deliveries_);
  }
  // Destroyed outside the lock: what a continuation holds may post again as it goes.
}

void Mailbox::deliver(Delivery delivery) {
  bool wake = false;
  {
    std::lock_guard lock(mutex_);
    if (!open_) return;  // `delivery` is destroyed after the lock is released
    deliveries_.push_back(std::move(delivery));
    has_ready_.store(true, std::memory_order_release);
    if (!wake_pending_ && std::this_thread::get_id() != owner_) {
      wake_pending_ = true;
      wake = true;
    }
  }
  if (wake) signal();
}

void Mailbox::signal() noexcept {
  const std::uint64_t one = 1;
  // Cannot fail short of a counter overflow; a lost wake-up would only delay mail.
  [[maybe_unused]] auto written = ::write(wake_fd_.get(), &one, sizeof one);
}

void PeerImpl::post(std::string bytes, bool close_after) {
  bool wake = false;
  {
    std::lock_guard lock(box_->mutex_);
    if (gone_ || !box_->open_) return;
    if (inbox_.empty()) {
      inbox_ = std::move(bytes);
    } else {
      inbox_ += bytes;
    }
    if (!close_after) ++inbox_sends_;
    close_asked_ = close_asked_ || close_after;
    if (!queued_) {
      queued_ = true;
      box_->ready_.push_back(shared_from_this());
    }
    box_->has_ready_.store(true, std::memory_order_release);
    if (!box_->wake_pending_ && std::this_thread::get_id() != box_->owner_) {
      box_->wake_pending_ = true;
      wake = true;
    }
  }
  if (wake) box_->signal();
}

}  // namespace sockit::server::detail
