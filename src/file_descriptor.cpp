// FileDescriptor (see file_descriptor.hpp).
#include "sockit/file_descriptor.hpp"

#include <unistd.h>

namespace sockit {

void FileDescriptor::reset(int fd) noexcept {
  const int old = std::exchange(fd_, fd);
  // Never retried on EINTR: Linux has released the descriptor either way, and a retry could
  // close one another thread has just been given.
  if (old >= 0 && old != fd) ::close(old);
}

}  // namespace sockit
