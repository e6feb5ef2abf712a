// An event loop's one-shot timers: a binary heap of deadlines over a recycled table of timer
// slots. Starting and cancelling cost no system call, and no allocation once the vectors
// have grown to the loop's peak. Each owner (a connection) keeps its pending timers in an
// intrusive list, so they can all be cancelled when it goes.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

namespace sockit::server::detail {

// Owner has a `std::uint32_t timers` member: the head of its list, TimerHeap<Owner>::kNone
// when it has no pending timer. An owner must not move while it has timers.
template <class Owner, class Clock = std::chrono::steady_clock>
class TimerHeap {
 public:
  using Id = std::uint64_t;
  // What a timer is for; the heap only carries it back.
  using Kind = std::uint8_t;
  static constexpr std::uint32_t kNone = ~std::uint32_t{0};

  struct Due {
    Owner* owner = nullptr;
    Id id = 0;
    Kind kind = 0;
  };

  bool empty() const noexcept { return heap_.empty(); }
  std::size_t size() const noexcept { return heap_.size(); }
  std::optional<typename Clock::time_point> next_deadline() const noexcept {
    if (heap_.empty()) return std::nullopt;
    return slots_[heap_.front()].deadline;
  }

  // Never 0; unique until one slot has been reused 2^32 times.
  Id start(Owner& owner, typename Clock::time_point deadline, Kind kind = 0) {
    // Reserve first, so nothing below can throw half-way.
    if (free_.empty()) {
      heap_.reserve(slots_.size() + 1);
      slots_.emplace_back();
      free_.reserve(slots_.size());
      free_.push_back(static_cast<std::uint32_t>(slots_.size() - 1));
    }
    const std::uint32_t index = free_.back();
    free_.pop_back();
    Slot& s = slots_[index];
    s.owner = &owner;
    s.deadline = deadline;
    s.order = ++sequence_;
    s.kind = kind;
    s.prev = kNone;
    s.next = owner.timers;
    if (owner.timers != kNone) slots_[owner.timers].prev = index;
    owner.timers = index;
    s.position = heap_.size();
    heap_.push_back(index);
    sift_up(s.position);
    return id_of(index);
  }

  // False when `id` is not a pending timer of `owner`.
  bool cancel(const Owner& owner, Id id) noexcept {
    const auto index = static_cast<std::uint32_t>(id & 0xffffffffu);
    if (index >= slots_.size()) return false;
    const Slot& s = slots_[index];
    if (s.owner != &owner || s.generation != static_cast<std::uint32_t>(id >> 32)) return false;
    remove(index);
    return true;
  }

  // Cancels every pending timer of `owner`.
  void cancel_all(Owner& owner) noexcept {
    while (owner.timers != kNone)
      remove(owner.timers);
  }

  // Takes the earliest timer whose deadline is not after `now`; false when there is none.
  bool pop_due(typename Clock::time_point now, Due& due) noexcept {
    if (heap_.empty()) return false;
    const std::uint32_t index = heap_.front();
    const Slot& s = slots_[index];
    if (s.deadline > now) return false;
    due = {s.owner, id_of(index), s.kind};
    remove(index);
    return true;
  }

 private:
  struct Slot {
    Owner* owner = nullptr;  // nullptr while free
    typename Clock::time_point deadline{};
    std::uint64_t order = 0;  // start order: equal deadlines fire first-started first
    std::size_t position = 0;
    std::uint32_t generation = 1;
    std::uint32_t prev = kNone;
    std::uint32_t next = kNone;
    Kind kind = 0;
  };

  Id id_of(std::uint32_t index) const noexcept {
    return (Id{slots_[index].generation} << 32) | index;
  }
  bool before(std::uint32_t a, std::uint32_t b) const noexcept {
    const Slot& x = slots_[a];
    const Slot& y = slots_[b];
    return x.deadline < y.deadline || (x.deadline == y.deadline && x.order < y.order);
  }
  void place(std::size_t position, std::uint32_t index) noexcept {
    heap_[position] = index;
    slots_[index].position = position;
  }
  void sift_up(std::size_t position) noexcept {
    const std::uint32_t index = heap_[position];
    while (position > 0) {
      const std::size_t parent = (position - 1) / 2;
      if (!before(index, heap_[parent])) break;
      place(position, heap_[parent]);
      position = parent;
    }
    place(position, index);
  }
  void sift_down(std::size_t position) noexcept {
    const std::uint32_t index = heap_[position];
    const std::size_t n = heap_.size();
    for (;;) {
      std::size_t child = 2 * position + 1;
      if (child >= n) break;
      if (child + 1 < n && before(heap_[child + 1], heap_[child])) ++child;
      if (!before(heap_[child], index)) break;
      place(position, heap_[child]);
      position = child;
    }
    place(position, index);
  }
  // Unlinks a pending timer from its owner's list and the heap, and frees its slot.
  void remove(std::uint32_t index) noexcept {
    Slot& s = slots_[index];
    if (s.prev != kNone) {
      slots_[s.prev].next = s.next;
    } else {
      s.owner->timers = s.next;
    }
    if (s.next != kNone) slots_[s.next].prev = s.prev;
    const std::size_t position = s.position;
    const std::uint32_t last = heap_.back();
    heap_.pop_back();
    if (last != index) {
      place(position, last);
      if (position > 0 && before(last, heap_[(position - 1) / 2])) {
        sift_up(position);
      } else {
        sift_down(position);
      }
    }
    s.owner = nullptr;
    s.prev = s.next = kNone;
    ++s.generation;
    if (s.generation == 0) s.generation = 1;  // ids stay non-zero
    free_.push_back(index);                   // cannot throw: room was reserved in start()
  }

  std::vector<Slot> slots_;
  std::vector<std::uint32_t> heap_;
  std::vector<std::uint32_t> free_;
  std::uint64_t sequence_ = 0;
};

}  // namespace sockit::server::detail
