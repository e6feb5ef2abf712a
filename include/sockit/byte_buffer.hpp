// ByteBuffer: the growable byte queue under the codecs, Stream's read buffer and the
// reactor's output queues. It sits in a public header only because those classes hold one
// by value; it is not part of the public API.
#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <string_view>

namespace sockit::detail {

// Append (or prepare() and commit()) at the back, consume from the front in O(1). Consumed
// space is reused by sliding the unread bytes down when that avoids growing the storage,
// so a queue drained about as fast as it fills does not allocate.
class ByteBuffer {
 public:
  // Storage is allocated on first use: at least `first_capacity` bytes, doubling after.
  ByteBuffer() noexcept = default;
  explicit ByteBuffer(std::size_t first_capacity) noexcept : first_capacity_(first_capacity) {}
  // A moved-from buffer is empty with no storage, ready for reuse.
  ByteBuffer(ByteBuffer&& other) noexcept;
  ByteBuffer& operator=(ByteBuffer&& other) noexcept;
  ByteBuffer(const ByteBuffer&) = delete;
  ByteBuffer& operator=(const ByteBuffer&) = delete;
  ~ByteBuffer() = default;

  // The bytes not yet consumed.
  std::string_view data() const noexcept { return {storage_.get() + begin_, end_ - begin_}; }
  std::size_t size() const noexcept { return end_ - begin_; }
  bool empty() const noexcept { return begin_ == end_; }
  std::size_t capacity() const noexcept { return capacity_; }

  // Drops the first `n` bytes (all of them when n > size()).
  void consume(std::size_t n) noexcept;
  // At least `n` writable bytes after the data (sliding, then growing, as needed).
  std::span<char> prepare(std::size_t n);
  // Marks `n` bytes of the last prepare() as data.
  void commit(std::size_t n) noexcept;
  void append(std::string_view bytes);
  // Empties the buffer but keeps the storage.
  void clear() noexcept { begin_ = end_ = 0; }
  // Frees the storage when there is no unread data (idle connections hold no buffer).
  void release_memory() noexcept;

 private:
  void make_room(std::size_t extra);

  std::unique_ptr<char[]> storage_;
  std::size_t first_capacity_ = 256;
  std::size_t capacity_ = 0;
  std::size_t begin_ = 0;
  std::size_t end_ = 0;
};

}  // namespace sockit::detail
