// A small cache of open files for the static server, for files of up to 64 KiB: a
// request for one it served a moment ago costs one fstat(2) instead of a path lookup and
// two opens, and its bytes come from memory. An entry stands while fstat says the file is
// unchanged (same size, mtime and ctime, still linked: an edit, a chmod, an unlink, a
// rename of it or over it ends it at once) and for at most `ttl` after it was opened (what
// fstat cannot see, such as a directory on the way renamed or a symlink swapped in, is
// noticed within `ttl`). A file whose ctime is less than `settle` old is not cached at
// all: the kernel stamps times from a clock that ticks every few milliseconds, so a second
// change in the same tick as the first would leave ctime as it was; once a file has been
// still for `settle`, any change moves its ctime. Safe to share between threads.
#pragma once

#include <sys/stat.h>

#include <chrono>
#include <cstddef>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "sockit/file_descriptor.hpp"

namespace sockit::http::detail {

// An open regular file, shared by the cache and the answers being built from it.
struct OpenFile {
  FileDescriptor fd;
  struct stat st {};
  std::optional<std::string> content;  // its bytes, when cached (at most kContentMax)
  std::chrono::steady_clock::time_point opened;

  static constexpr std::size_t kContentMax = 64 * 1024;
};

class OpenFileCache {
 public:
  OpenFileCache(std::size_t capacity, std::chrono::milliseconds ttl,
                std::chrono::milliseconds settle = std::chrono::seconds(1));

  // The cached file at `relative` when there is one and it is unchanged; null otherwise.
  std::shared_ptr<const OpenFile> lookup(const std::string& relative);

  // Takes `fd`, the regular file at `relative` whose stat is `st`, and returns it as an
  // OpenFile: cached with its bytes unless it is over kContentMax, changed within `settle`,
  // or the cache holds nothing. A full cache drops its expired entries, else its oldest.
  std::shared_ptr<const OpenFile> insert(const std::string& relative, FileDescriptor fd,
                                         const struct stat& st);

  std::size_t size() const;

 private:
  using Clock = std::chrono::steady_clock;

  void make_room(Clock::time_point now);

  std::size_t capacity_;
  std::chrono::milliseconds ttl_;
  std::chrono::milliseconds settle_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, std::shared_ptr<const OpenFile>> entries_;
};

}  // namespace sockit::http::detail
