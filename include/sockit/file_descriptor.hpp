// FileDescriptor: the move-only owner of one descriptor (a socket, an epoll instance, an
// eventfd...). Every class that holds a descriptor holds it through one of these, so each
// descriptor is closed exactly once, whatever path its owner leaves by.
#pragma once

#include <utility>

namespace sockit {

class FileDescriptor {
 public:
  // No descriptor.
  FileDescriptor() noexcept = default;
  // Takes ownership of `fd` (-1 for none).
  explicit FileDescriptor(int fd) noexcept : fd_(fd) {}

  FileDescriptor(FileDescriptor&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  FileDescriptor& operator=(FileDescriptor&& other) noexcept {
    if (this != &other) reset(other.release());
    return *this;
  }
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  ~FileDescriptor() { close(); }

  int get() const noexcept { return fd_; }
  bool is_open() const noexcept { return fd_ >= 0; }
  explicit operator bool() const noexcept { return is_open(); }

  // Gives up ownership; the caller must close the returned descriptor.
  int release() noexcept { return std::exchange(fd_, -1); }
  // Closes the descriptor held (if any) and takes `fd` instead.
  void reset(int fd = -1) noexcept;
  // Closes now (idempotent). A close error is not reportable in any useful way: ignored.
  void close() noexcept { reset(); }

 private:
  int fd_ = -1;
};

}  // namespace sockit
