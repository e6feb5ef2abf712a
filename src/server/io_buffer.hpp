// The reactor's per-connection output queue: the bytes a session wrote that the socket
// could not take yet. A connection holds one only while its output is backed up; the
// BufferPool recycles small ones so a burst of slow writes does not mean a burst of mallocs.
#pragma once

#include <cstddef>
#include <memory>
#include <string_view>
#include <vector>

namespace sockit::server::detail {

// A contiguous byte queue: append at the back, consume from the front. Consumed space is
// reclaimed by sliding the live bytes down when that avoids growing the storage.
class IoBuffer {
 public:
  IoBuffer() = default;
  IoBuffer(const IoBuffer&) = delete;
  IoBuffer& operator=(const IoBuffer&) = delete;

  bool empty() const noexcept { return begin_ == end_; }
  std::size_t size() const noexcept { return end_ - begin_; }
  std::size_t capacity() const noexcept { return capacity_; }
  // The bytes not yet consumed.
  std::string_view data() const noexcept { return {storage_.get() + begin_, size()}; }

  void append(std::string_view bytes);
  // Drops the first `count` bytes (count <= size()).
  void consume(std::size_t count) noexcept;
  // Empties the queue but keeps the storage.
  void clear() noexcept { begin_ = end_ = 0; }

 private:
  void make_room(std::size_t extra);

  std::unique_ptr<char[]> storage_;
  std::size_t capacity_ = 0;
  std::size_t begin_ = 0;
  std::size_t end_ = 0;
};

// A small per-thread cache of empty buffers. Buffers that grew large (a client that stopped
// reading) are freed rather than cached, so idle memory stays bounded by
// max_cached x max_cached_capacity.
class BufferPool {
 public:
  BufferPool(std::size_t max_cached, std::size_t max_cached_capacity)
      : max_cached_(max_cached), max_cached_capacity_(max_cached_capacity) {
    cache_.reserve(max_cached);
  }

  std::unique_ptr<IoBuffer> take();
  void give(std::unique_ptr<IoBuffer> buffer) noexcept;
  std::size_t cached() const noexcept { return cache_.size(); }

 private:
  std::size_t max_cached_;
  std::size_t max_cached_capacity_;
  std::vector<std::unique_ptr<IoBuffer>> cache_;
};

}  // namespace sockit::server::detail
