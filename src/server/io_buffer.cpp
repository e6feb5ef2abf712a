// The reactor's output queue and its buffer cache.
#include "io_buffer.hpp"

#include <algorithm>
#include <cstring>

namespace sockit::server::detail {

namespace {
// Small enough that a few hundred backed-up connections cost little, large enough that a
// typical response burst fits without regrowing.
constexpr std::size_t kInitialCapacity = 16 * 1024;
}  // namespace

void IoBuffer::append(std::string_view bytes) {
  if (bytes.empty()) return;
  if (capacity_ - end_ < bytes.size()) make_room(bytes.size());
  std::memcpy(storage_.get() + end_, bytes.data(), bytes.size());
  end_ += bytes.size();
}

void IoBuffer::consume(std::size_t count) noexcept {
  begin_ += std::min(count, size());
  if (begin_ == end_) begin_ = end_ = 0;
}

void IoBuffer::make_room(std::size_t extra) {
  const std::size_t live = size();
  // Sliding is cheaper than growing when the consumed prefix alone makes enough room and
  // the live part is the smaller half (so each byte moves at most a few times).
  if (live + extra <= capacity_ && live <= capacity_ / 2) {
    std::memmove(storage_.get(), storage_.get() + begin_, live);
    begin_ = 0;
    end_ = live;
    return;
  }
  std::size_t grown = std::max({kInitialCapacity, capacity_ * 2, live + extra});
  // new char[] without () leaves the bytes uninitialised: nothing reads them before they
  // are written, and zeroing a large buffer would cost as much as the copy.
  std::unique_ptr<char[]> bigger(new char[grown]);
  if (live > 0) std::memcpy(bigger.get(), storage_.get() + begin_, live);
  storage_ = std::move(bigger);
  capacity_ = grown;
  begin_ = 0;
  end_ = live;
}

std::unique_ptr<IoBuffer> BufferPool::take() {
  if (cache_.empty()) return std::make_unique<IoBuffer>();
  auto buffer = std::move(cache_.back());
  cache_.pop_back();
  return buffer;
}

void BufferPool::give(std::unique_ptr<IoBuffer> buffer) noexcept {
  if (!buffer) return;
  if (cache_.size() >= max_cached_ || buffer->capacity() > max_cached_capacity_) return;
  buffer->clear();
  // The constructor reserved max_cached slots, so this never reallocates or throws.
  cache_.push_back(std::move(buffer));
}

}  // namespace sockit::server::detail
