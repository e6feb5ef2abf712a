// What a connection's session writes during one callback, gathered so that it leaves in one
// write(2) when the callback returns, however many pieces it was written in. A piece that
// lies in the loop's read buffer (an echo of what was just read) is kept as a view, not
// copied, as are the pieces that continue it there.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "io_buffer.hpp"

namespace sockit::server::detail {

class OutputStaging {
 public:
  // Larger output goes to the socket directly rather than being copied here.
  static constexpr std::size_t kDefaultLimit = 64 * 1024;

  explicit OutputStaging(std::size_t limit = kDefaultLimit) noexcept : limit_(limit) {}
  OutputStaging(const OutputStaging&) = delete;
  OutputStaging& operator=(const OutputStaging&) = delete;

  // The bytes a staged view may point into: what the running callback was handed. They
  // must not change until clear_source(); outside on_data there are none.
  void set_source(const char* begin, std::size_t size) noexcept {
    source_ = begin;
    source_size_ = size;
  }
  void clear_source() noexcept { source_size_ = 0; }

  // Gathers one piece; false when it does not fit (the caller then sends what is staged,
  // and the piece after it).
  bool add(std::string_view bytes) {
    if (bytes.empty()) return true;
    if (copy_.empty()) {
      const char* const view_end = view_.data() + view_.size();
      if (view_.empty() ? in_source(bytes)
                        : bytes.data() == view_end && in_source({view_end, bytes.size()})) {
        view_ = {view_.empty() ? bytes.data() : view_.data(), view_.size() + bytes.size()};
        return true;
      }
    }
    return add_copy(bytes);
  }

  bool empty() const noexcept { return view_.empty() && copy_.empty(); }
  std::size_t size() const noexcept { return view_.size() + copy_.size(); }
  // Everything staged, in order; valid until the next add() or clear().
  std::string_view data() const noexcept { return view_.empty() ? copy_.data() : view_; }
  // Keeps the copy buffer's storage, so steady traffic allocates nothing.
  void clear() noexcept {
    view_ = {};
    copy_.clear();
  }
  // True while what is staged is a view into the source, not a copy.
  bool is_view() const noexcept { return !view_.empty(); }

 private:
  // Compared as integers: ordering pointers into different objects is unspecified.
  bool in_source(std::string_view bytes) const noexcept {
    const auto at = reinterpret_cast<std::uintptr_t>(bytes.data());
    const auto begin = reinterpret_cast<std::uintptr_t>(source_);
    return at >= begin && at + bytes.size() <= begin + source_size_;
  }

  bool add_copy(std::string_view bytes) {
    if (size() + bytes.size() > limit_) return false;
    if (!view_.empty()) {
      copy_.append(view_);
      view_ = {};
    }
    copy_.append(bytes);
    return true;
  }

  std::size_t limit_;
  const char* source_ = nullptr;
  std::size_t source_size_ = 0;
  std::string_view view_;                 // staged bytes that are still in the source
  IoBuffer copy_{kOutputBufferCapacity};  // or the staged bytes, copied
};

}  // namespace sockit::server::detail
