// The reactor's buffer cache.
#include "io_buffer.hpp"

namespace sockit::server::detail {

std::unique_ptr<IoBuffer> BufferPool::take() {
  if (cache_.empty()) return std::make_unique<IoBuffer>(first_capacity_);
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
