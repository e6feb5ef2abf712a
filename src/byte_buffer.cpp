// ByteBuffer (see byte_buffer.hpp).
#include "sockit/byte_buffer.hpp"

#include <algorithm>
#include <cstring>
#include <utility>

namespace sockit::detail {

ByteBuffer::ByteBuffer(ByteBuffer&& other) noexcept
    : storage_(std::move(other.storage_)),
      first_capacity_(other.first_capacity_),
      capacity_(std::exchange(other.capacity_, 0)),
      begin_(std::exchange(other.begin_, 0)),
      end_(std::exchange(other.end_, 0)) {}

ByteBuffer& ByteBuffer::operator=(ByteBuffer&& other) noexcept {
  if (this != &other) {
    storage_ = std::move(other.storage_);
    first_capacity_ = other.first_capacity_;
    capacity_ = std::exchange(other.capacity_, 0);
    begin_ = std::exchange(other.begin_, 0);
    end_ = std::exchange(other.end_, 0);
  }
  return *this;
}

void ByteBuffer::consume(std::size_t n) noexcept {
  begin_ += std::min(n, size());
  // Rewinding only the offsets costs nothing and keeps later appends from moving data;
  // the bytes stay in place, so views handed out earlier still read correctly.
  if (begin_ == end_) begin_ = end_ = 0;
}

std::span<char> ByteBuffer::prepare(std::size_t n) {
  if (capacity_ - end_ < n) make_room(n);
  return {storage_.get() + end_, capacity_ - end_};
}

void ByteBuffer::commit(std::size_t n) noexcept {
  end_ = std::min(end_ + n, capacity_);
}

void ByteBuffer::append(std::string_view bytes) {
  if (bytes.empty()) return;
  if (capacity_ - end_ < bytes.size()) make_room(bytes.size());
  std::memcpy(storage_.get() + end_, bytes.data(), bytes.size());
  end_ += bytes.size();
}

void ByteBuffer::release_memory() noexcept {
  if (!empty()) return;
  storage_.reset();
  capacity_ = begin_ = end_ = 0;
}

void ByteBuffer::make_room(std::size_t extra) {
  const std::size_t live = size();
  // Sliding is cheaper than growing when the consumed prefix alone makes enough room and
  // the live part is the smaller half (so each byte moves at most a few times).
  if (live + extra <= capacity_ && live <= capacity_ / 2) {
    std::memmove(storage_.get(), storage_.get() + begin_, live);
    begin_ = 0;
    end_ = live;
    return;
  }
  const std::size_t grown = std::max({first_capacity_, capacity_ * 2, live + extra});
  // Left uninitialised: nothing reads the bytes before they are written, and zeroing a
  // large buffer would cost as much as the copy.
  auto bigger = std::make_unique_for_overwrite<char[]>(grown);
  if (live > 0) std::memcpy(bigger.get(), storage_.get() + begin_, live);
  storage_ = std::move(bigger);
  capacity_ = grown;
  begin_ = 0;
  end_ = live;
}

}  // namespace sockit::detail
