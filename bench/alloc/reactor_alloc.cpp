// Heap allocations per message on the `reactor` architecture in steady state. This program
// replaces operator new/delete with counting versions, runs `echo` on a reactor Server in a
// second thread, and drives it from the main thread with plain syscalls and stack buffers
// (so every allocation counted is the server's). After a warm-up it counts the allocations
// made while N more 64-byte messages are echoed on each of C connections.
// With --coroutine the echo is a CoroutineService (read_some, then write_all, awaited on
// an AsyncStream): the same count for awaited operations.
// Usage: reactor_alloc [--conns 50] [--messages 20000] [--coroutine]; prints one line,
// exits 1 when any allocation per message was seen.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string_view>
#include <thread>
#include <vector>

#include <array>

#include "sockit/async/task.hpp"
#include "sockit/server/async_stream.hpp"
#include "sockit/server/coroutine_service.hpp"
#include "sockit/server/server.hpp"
#include "sockit/server/services.hpp"

namespace {
std::atomic<unsigned long long> allocations{0};
std::atomic<unsigned long long> allocated_bytes{0};

void* counted(std::size_t size) {
  allocations.fetch_add(1, std::memory_order_relaxed);
  allocated_bytes.fetch_add(size, std::memory_order_relaxed);
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
}  // namespace

void* operator new(std::size_t size) {
  return counted(size);
}
void* operator new[](std::size_t size) {
  return counted(size);
}
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete[](void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
  std::free(p);
}
void operator delete[](void* p, std::size_t) noexcept {
  std::free(p);
}

namespace {

constexpr std::size_t kSize = 64;

// Ping-pong `rounds` times on every connection: send one line on each, then read every echo.
bool ping_pong(const std::vector<int>& fds, int rounds) {
  char line[kSize];
  std::memset(line, 'x', sizeof line);
  line[kSize - 1] = '\n';
  char buffer[4096];
  for (int r = 0; r < rounds; ++r) {
    for (int fd : fds) {
      if (::send(fd, line, sizeof line, MSG_NOSIGNAL) != static_cast<ssize_t>(sizeof line))
        return false;
    }
    for (int fd : fds) {
      std::size_t got = 0;
      while (got < kSize) {
        ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
        if (n <= 0) return false;
        if (std::memcmp(buffer, line + got, static_cast<std::size_t>(n)) != 0) return false;
        got += static_cast<std::size_t>(n);
      }
    }
  }
  return true;
}

sockit::Task<void> coroutine_echo(sockit::server::AsyncStream& client) {
  std::array<char, 16 * 1024> buffer;
  while (std::size_t n = co_await client.read_some(buffer)) {
    co_await client.write_all(std::string_view(buffer.data(), n));
  }
}

}  // namespace

int main(int argc, char** argv) {
  int conns = 50;
  int messages = 20000;
  bool coroutine = false;
  for (int i = 1; i < argc; ++i) {
    std::string_view flag = argv[i];
    if (flag == "--coroutine") {
      coroutine = true;
    } else if (flag == "--conns" && i + 1 < argc) {
      conns = std::atoi(argv[++i]);
    } else if (flag == "--messages" && i + 1 < argc) {
      messages = std::atoi(argv[++i]);
    }
  }
  using namespace sockit::server;
  ServerOptions options;
  options.architecture = Architecture::reactor;
  options.port = 0;
  options.log_level = LogLevel::quiet;
  options.handle_signals = false;
  std::shared_ptr<Service> service;
  if (coroutine) {
    service = std::make_shared<CoroutineService>("coroutine-echo", 0, coroutine_echo);
  } else {
    service = std::make_shared<EchoService>();
  }
  Server server(service, options);
  const auto port = server.local_address().port();
  std::thread loop([&server] { server.run(); });

  std::vector<int> fds;
  for (int i = 0; i < conns; ++i) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
      std::perror("reactor_alloc: connect");
      return 2;
    }
    fds.push_back(fd);
  }
  const int rounds = messages / conns;
  bool ok = ping_pong(fds, 200);  // warm-up: connections opened, buffers sized
  const auto before = allocations.load();
  const auto bytes_before = allocated_bytes.load();
  ok = ok && ping_pong(fds, rounds);
  const auto counted_allocations = allocations.load() - before;
  const auto counted_bytes = allocated_bytes.load() - bytes_before;
  for (int fd : fds)
    ::close(fd);
  server.stop();
  loop.join();
  if (!ok) {
    std::fprintf(stderr, "reactor_alloc: an echo failed or differed\n");
    return 2;
  }
  const double total = static_cast<double>(rounds) * conns;
  std::printf(
      "reactor_alloc: %s conns=%d messages=%.0f allocations=%llu bytes=%llu "
      "allocations_per_message=%.4f\n",
      coroutine ? "coroutine-echo" : "echo", conns, total, counted_allocations, counted_bytes,
      static_cast<double>(counted_allocations) / total);
  return counted_allocations == 0 ? 0 : 1;
}
