// The reactor's per-connection output queue: the bytes a session wrote that the socket
// could not take yet. A connection holds one only while its output is backed up; the
// BufferPool recycles small ones so a burst of slow writes does not mean a burst of mallocs.
#pragma once

#include <cstddef>
#include <memory>
#include <vector>

#include "sockit/byte_buffer.hpp"

namespace sockit::server::detail {

using IoBuffer = sockit::detail::ByteBuffer;

// The first allocation of a pooled buffer: small enough that a few hundred backed-up
// connections cost little, large enough that a typical response burst fits without
// regrowing.
inline constexpr std::size_t kOutputBufferCapacity = 16 * 1024;

// A small per-thread cache of empty buffers. Buffers that grew large (a client that stopped
// reading) are freed rather than cached, so idle memory stays bounded by
// max_cached x max_cached_capacity.
class BufferPool {
 public:
  // `first_capacity`: what a new buffer allocates on its first append.
  BufferPool(std::size_t max_cached, std::size_t max_cached_capacity,
             std::size_t first_capacity = kOutputBufferCapacity)
      : max_cached_(max_cached),
        max_cached_capacity_(max_cached_capacity),
        first_capacity_(first_capacity) {
    cache_.reserve(max_cached);
  }

  std::unique_ptr<IoBuffer> take();
  void give(std::unique_ptr<IoBuffer> buffer) noexcept;
  std::size_t cached() const noexcept { return cache_.size(); }

 private:
  std::size_t max_cached_;
  std::size_t max_cached_capacity_;
  std::size_t first_capacity_;
  std::vector<std::unique_ptr<IoBuffer>> cache_;
};

}  // namespace sockit::server::detail
