// Internal to the server layer: the per-address connection counts that prefork's worker
// processes share. Each worker serves one connection at a time and owns one slot, in
// memory mapped before fork (MAP_SHARED), holding a hash of that connection's address (0
// when it has none). Counting the slots that hold an address is its count across every
// worker; no lock is taken, so a worker that dies holding its slot blocks no one, and the
// master empties the slot of a worker it reaps.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace sockit::server::detail {

class SharedAddressSlots {
 public:
  // One slot per worker, all empty. Throws sockit::Error when the mapping fails.
  explicit SharedAddressSlots(std::size_t count);
  ~SharedAddressSlots();
  SharedAddressSlots(const SharedAddressSlots&) = delete;
  SharedAddressSlots& operator=(const SharedAddressSlots&) = delete;

  // Puts `key` in `slot` unless `limit` other slots hold it already (or `slot` is taken);
  // false then, with the slot left as it was. Two workers claiming one address at the
  // same moment at the limit may both be refused, never both admitted.
  bool claim(std::size_t slot, std::string_view key, std::size_t limit) noexcept;
  // Empties `slot`: its connection ended, or its worker did.
  void release(std::size_t slot) noexcept;
  std::size_t size() const noexcept { return count_; }

 private:
  std::atomic<std::uint64_t>* slots_ = nullptr;
  std::size_t count_ = 0;
};

}  // namespace sockit::server::detail
