// The HTTP access log: lines in the combined log format, buffered and written in batches
// by a background thread, so a request costs a memcpy, not a write(2). Each process has
// its own thread (started on first use after a fork); a forked child, which exits
// without running destructors, flushes at the end of each connection instead.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include <sys/types.h>

#include "sockit/address.hpp"
#include "sockit/file_descriptor.hpp"

namespace sockit::http {

struct RequestHead;

class AccessLog {
 public:
  // "-": stdout; anything else: a file opened for appending (created 0644). Throws Error.
  explicit AccessLog(const std::string& where);
  AccessLog(const AccessLog&) = delete;
  AccessLog& operator=(const AccessLog&) = delete;
  ~AccessLog();

  // One line: 127.0.0.1 - - [04/Dec/2026:23:40:01 +0000] "GET / HTTP/1.1" 200 612 "-" "curl/7.88.1"
  // `head` may be null for a request that never had a complete head (a 400, a 408).
  void record(const Address& peer, const RequestHead* head, int status, std::uint64_t body_bytes);
  // Writes what is buffered now (a forked child, at the end of its connection).
  void flush();
  // True in a process forked after the log was opened.
  bool in_child() const noexcept;

 private:
  void start_writer_locked();
  void writer_main();
  void write_out(const std::string& bytes) noexcept;

  FileDescriptor file_;
  int fd_ = -1;  // file_'s, or 1 for stdout
  pid_t owner_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::string buffer_;
  std::uint64_t dropped_ = 0;  // lines dropped because the buffer was full
  pid_t writer_pid_ = 0;       // the process whose thread writer_ is
  std::thread writer_;
  bool stopping_ = false;
};

}  // namespace sockit::http
