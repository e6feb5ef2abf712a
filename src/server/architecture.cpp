// Names and one-line descriptions of the seven architectures (for --arch and --help).
#include <array>
#include <utility>

#include "sockit/server/server.hpp"

namespace sockit::server {
namespace {

struct ArchitectureInfo {
  Architecture arch;
  std::string_view name;
  std::string_view description;
  bool shares_memory;
};

constexpr std::array<ArchitectureInfo, 9> architectures{{
    {Architecture::serial, "serial", "one connection at a time, on one thread", true},
    {Architecture::thread, "thread", "a thread per connection", true},
    {Architecture::fork, "fork", "a child process per connection, reaped by the parent", false},
    {Architecture::prefork, "prefork",
     "N supervised worker processes accepting on one socket, respawned if they die", false},
    {Architecture::pool, "pool", "N threads serving connections from a bounded queue", true},
    {Architecture::reactor, "reactor", "one thread, epoll, non-blocking everything", true},
    {Architecture::hybrid, "hybrid", "one reactor per core on SO_REUSEPORT listeners (nginx-style)",
     true},
    {Architecture::uring, "uring", "one thread, io_uring completions, one system call per turn",
     true},
    {Architecture::uring_hybrid, "uring-hybrid",
     "one io_uring loop per core on SO_REUSEPORT listeners", true},
}};

constexpr std::array<Architecture, architectures.size()> all = [] {
  std::array<Architecture, architectures.size()> list{};
  for (std::size_t i = 0; i < list.size(); ++i)
    list[i] = architectures[i].arch;
  return list;
}();

const ArchitectureInfo& info(Architecture arch) noexcept {
  for (const auto& entry : architectures) {
    if (entry.arch == arch) return entry;
  }
  return architectures[0];
}

}  // namespace

std::span<const Architecture> all_architectures() noexcept {
  return all;
}

std::string_view to_string(Architecture arch) noexcept {
  return info(arch).name;
}

std::optional<Architecture> parse_architecture(std::string_view name) noexcept {
  for (const auto& entry : architectures) {
    if (entry.name == name) return entry.arch;
  }
  return std::nullopt;
}

std::string_view describe(Architecture arch) noexcept {
  return info(arch).description;
}

bool shares_memory(Architecture arch) noexcept {
  return info(arch).shares_memory;
}

}  // namespace sockit::server
