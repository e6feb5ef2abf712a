// The event loop's connection slots. A connection's slot number is half of the token it is
// registered under; slots are recycled, so churn does not allocate one connection per
// connection, and the other half of the token (the slot's generation) tells a stale event
// from a current one.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

namespace sockit::server::detail {

// Conn is constructed as Conn(args..., slot) and has a `const std::uint32_t slot`.
template <class Conn>
class SlotTable {
 public:
  std::size_t size() const noexcept { return slots_.size(); }
  // nullptr for a number that is no slot (the loop's own tokens among them).
  Conn* find(std::uint32_t slot) const noexcept {
    return slot < slots_.size() ? slots_[slot].get() : nullptr;
  }
  Conn& at(std::size_t slot) const noexcept { return *slots_[slot]; }

  template <class... Args>
  Conn& allocate(Args&&... args) {
    if (!free_.empty()) {
      const std::uint32_t slot = free_.back();
      free_.pop_back();
      return *slots_[slot];
    }
    const auto slot = static_cast<std::uint32_t>(slots_.size());
    slots_.push_back(std::make_unique<Conn>(std::forward<Args>(args)..., slot));
    // release() must not throw: its room is reserved here.
    free_.reserve(slots_.size());
    return *slots_.back();
  }

  void release(const Conn& conn) noexcept { free_.push_back(conn.slot); }

 private:
  std::vector<std::unique_ptr<Conn>> slots_;
  std::vector<std::uint32_t> free_;
};

}  // namespace sockit::server::detail
