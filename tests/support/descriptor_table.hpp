// Test support: fills the process's descriptor table (its soft limit lowered to at most
// 4096 first), so the next call that needs a descriptor fails with EMFILE; empties it and
// restores the limit when released or destroyed.
#pragma once

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <vector>

namespace sockit::test {

// Lowers the soft descriptor limit to at most `most` for its lifetime. io_uring takes the
// limit when an accept is armed, not when it runs: a test of a server on it lowers the limit
// before the server starts, as a real server's limit is set before it runs.
class LoweredDescriptorLimit {
 public:
  explicit LoweredDescriptorLimit(rlim_t most) {
    if (::getrlimit(RLIMIT_NOFILE, &original_) != 0) return;
    rlimit lowered = original_;
    lowered.rlim_cur = std::min<rlim_t>(original_.rlim_cur, most);
    limited_ = ::setrlimit(RLIMIT_NOFILE, &lowered) == 0;
  }
  ~LoweredDescriptorLimit() {
    if (limited_) ::setrlimit(RLIMIT_NOFILE, &original_);
  }
  LoweredDescriptorLimit(const LoweredDescriptorLimit&) = delete;
  LoweredDescriptorLimit& operator=(const LoweredDescriptorLimit&) = delete;

 private:
  rlimit original_{};
  bool limited_ = false;
};

class FullDescriptorTable {
 public:
  FullDescriptorTable() {
    if (::getrlimit(RLIMIT_NOFILE, &original_) != 0) return;
    rlimit lowered = original_;
    lowered.rlim_cur = std::min<rlim_t>(original_.rlim_cur, 4096);
    if (::setrlimit(RLIMIT_NOFILE, &lowered) != 0) return;
    limited_ = true;
    fillers_.reserve(lowered.rlim_cur);
    for (;;) {
      const int fd = ::dup(STDIN_FILENO);
      if (fd < 0) break;
      fillers_.push_back(fd);
    }
    fill_error_ = errno;
  }
  ~FullDescriptorTable() { release(); }
  FullDescriptorTable(const FullDescriptorTable&) = delete;
  FullDescriptorTable& operator=(const FullDescriptorTable&) = delete;

  // EMFILE when the table was filled (anything else: the test cannot run as meant).
  int fill_error() const noexcept { return fill_error_; }

  // Closes the fillers and restores the limit (idempotent).
  void release() noexcept {
    for (int fd : fillers_)
      ::close(fd);
    fillers_.clear();
    if (limited_) ::setrlimit(RLIMIT_NOFILE, &original_);
    limited_ = false;
  }

 private:
  rlimit original_{};
  bool limited_ = false;
  std::vector<int> fillers_;
  int fill_error_ = 0;
};

}  // namespace sockit::test
