// Test support: blocking reads on a connected socket for tests that only need "the next N
// bytes" without the library's Stream in the way.
#pragma once

#include <array>
#include <cstddef>
#include <string>

#include "sockit/socket.hpp"

namespace sockit::test {

// Reads until `size` bytes have arrived or the peer closes; returns what arrived.
inline std::string receive_text(Socket& socket, std::size_t size) {
  std::string text;
  std::array<char, 256> buffer{};
  while (text.size() < size) {
    std::size_t n = socket.recv(buffer);
    if (n == 0) break;
    text.append(buffer.data(), n);
  }
  return text;
}

}  // namespace sockit::test
