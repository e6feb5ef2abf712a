// The per-address counts prefork's workers share (see shared_address_slots.hpp).
#include "shared_address_slots.hpp"

#include <sys/mman.h>

#include <cerrno>
#include <new>

#include "sockit/error.hpp"

namespace sockit::server::detail {
namespace {

// FNV-1a, never 0 (0 marks an empty slot). Two addresses sharing a hash (one chance in
// 2^63) would only share a limit.
std::uint64_t hash_of(std::string_view key) noexcept {
  std::uint64_t hash = 14695981039346656037ULL;
  for (char c : key) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 1099511628211ULL;
  }
  return hash | 1;
}

static_assert(std::atomic<std::uint64_t>::is_always_lock_free,
              "slots shared between processes must be lock-free atomics");

}  // namespace

SharedAddressSlots::SharedAddressSlots(std::size_t count) : count_(count) {
  void* memory = ::mmap(nullptr, count_ * sizeof(std::atomic<std::uint64_t>),
                        PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (memory == MAP_FAILED) throw_errno("mmap", "per-address counts", errno);
  slots_ = static_cast<std::atomic<std::uint64_t>*>(memory);
  for (std::size_t i = 0; i < count_; ++i)
    new (&slots_[i]) std::atomic<std::uint64_t>(0);
}

SharedAddressSlots::~SharedAddressSlots() {
  ::munmap(slots_, count_ * sizeof(std::atomic<std::uint64_t>));
}

bool SharedAddressSlots::claim(std::size_t slot, std::string_view key, std::size_t limit) noexcept {
  const std::uint64_t hash = hash_of(key);
  std::uint64_t empty = 0;
  if (slot >= count_ || !slots_[slot].compare_exchange_strong(empty, hash)) return false;
  // Published first, counted after (both sequentially consistent): of claims racing for
  // the last place, the one published last sees all the others, so the limit holds.
  std::size_t holders = 0;
  for (std::size_t i = 0; i < count_; ++i) {
    if (slots_[i].load() == hash) ++holders;
  }
  if (holders > limit) {
    slots_[slot].store(0);
    return false;
  }
  return true;
}

void SharedAddressSlots::release(std::size_t slot) noexcept {
  if (slot < count_) slots_[slot].store(0);
}

}  // namespace sockit::server::detail
