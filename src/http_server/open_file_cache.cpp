// The open-file cache of the static server (see open_file_cache.hpp).
#include "open_file_cache.hpp"

#include <unistd.h>

#include <cerrno>
#include <iterator>
#include <utility>

namespace sockit::http::detail {
namespace {

bool same_file(const struct stat& a, const struct stat& b) noexcept {
  return a.st_ino == b.st_ino && a.st_dev == b.st_dev && a.st_size == b.st_size &&
         a.st_mtim.tv_sec == b.st_mtim.tv_sec && a.st_mtim.tv_nsec == b.st_mtim.tv_nsec &&
         a.st_ctim.tv_sec == b.st_ctim.tv_sec && a.st_ctim.tv_nsec == b.st_ctim.tv_nsec;
}

// True when `st` last changed at least `settle` ago by the realtime clock.
bool settled(const struct stat& st, std::chrono::milliseconds settle) noexcept {
  const auto changed = std::chrono::system_clock::time_point(
      std::chrono::duration_cast<std::chrono::system_clock::duration>(
          std::chrono::seconds(st.st_ctim.tv_sec) + std::chrono::nanoseconds(st.st_ctim.tv_nsec)));
  return std::chrono::system_clock::now() - changed >= settle;
}

// The whole file read, when it is still the file `st` describes once read.
std::optional<std::string> read_content(int fd, const struct stat& st) {
  std::string bytes(static_cast<std::size_t>(st.st_size), '\0');
  std::size_t got = 0;
  while (got < bytes.size()) {
    const ssize_t n = ::pread(fd, bytes.data() + got, bytes.size() - got, static_cast<off_t>(got));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return std::nullopt;
    got += static_cast<std::size_t>(n);
  }
  struct stat after {};
  if (::fstat(fd, &after) != 0 || !same_file(after, st)) return std::nullopt;
  return bytes;
}

}  // namespace

OpenFileCache::OpenFileCache(std::size_t capacity, std::chrono::milliseconds ttl,
                             std::chrono::milliseconds settle)
    : capacity_(capacity), ttl_(ttl), settle_(settle) {}

std::shared_ptr<const OpenFile> OpenFileCache::lookup(const std::string& relative) {
  std::shared_ptr<const OpenFile> entry;
  {
    const std::lock_guard lock(mutex_);
    const auto it = entries_.find(relative);
    if (it == entries_.end()) return nullptr;
    if (Clock::now() - it->second->opened > ttl_) {
      entries_.erase(it);
      return nullptr;
    }
    entry = it->second;
  }
  struct stat now {};
  if (::fstat(entry->fd.get(), &now) != 0 || now.st_nlink == 0 || !same_file(now, entry->st)) {
    const std::lock_guard lock(mutex_);
    const auto it = entries_.find(relative);
    if (it != entries_.end() && it->second == entry) entries_.erase(it);
    return nullptr;
  }
  return entry;
}

std::shared_ptr<const OpenFile> OpenFileCache::insert(const std::string& relative,
                                                      FileDescriptor fd, const struct stat& st) {
  auto file = std::make_shared<OpenFile>();
  file->fd = std::move(fd);
  file->st = st;
  file->opened = Clock::now();
  // A large file is not kept: its lookup is a small part of sending it, and an open
  // descriptor kept for it would hold its disk space after an unlink.
  if (capacity_ == 0 || !settled(st, settle_) ||
      static_cast<std::size_t>(st.st_size) > OpenFile::kContentMax) {
    return file;
  }
  file->content = read_content(file->fd.get(), st);
  if (!file->content) return file;  // it changed while read: not cached
  const std::lock_guard lock(mutex_);
  if (entries_.find(relative) == entries_.end()) make_room(file->opened);
  entries_[relative] = file;
  return file;
}

std::size_t OpenFileCache::size() const {
  const std::lock_guard lock(mutex_);
  return entries_.size();
}

void OpenFileCache::make_room(Clock::time_point now) {
  if (entries_.size() < capacity_) return;
  for (auto it = entries_.begin(); it != entries_.end();) {
    it = now - it->second->opened > ttl_ ? entries_.erase(it) : std::next(it);
  }
  if (entries_.size() < capacity_) return;
  auto oldest = entries_.begin();
  for (auto it = entries_.begin(); it != entries_.end(); ++it) {
    if (it->second->opened < oldest->second->opened) oldest = it;
  }
  entries_.erase(oldest);
}

}  // namespace sockit::http::detail
