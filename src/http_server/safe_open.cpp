// The openat(2) walk under the served root (see safe_open.hpp).
#include "safe_open.hpp"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <string>

namespace sockit::http::detail {

int status_for_errno(int err) noexcept {
  switch (err) {
    case EACCES:
    case EPERM:
      return 403;
    case ENOENT:
    case ENOTDIR:
    case ELOOP:
    case ENAMETOOLONG:
    case ENXIO:
    case ENODEV:
    case EISDIR:
      return 404;
    case EMFILE:
    case ENFILE:
    case ENOMEM:
      return 503;
    default:
      return 500;
  }
}

bool is_safe_segment(std::string_view segment) noexcept {
  if (segment.empty() || segment == "." || segment == "..") return false;
  return segment.find('/') == std::string_view::npos &&
         segment.find('\0') == std::string_view::npos;
}

int open_node(int dir, const std::string& name, bool follow, FileDescriptor& out,
              struct stat& st) noexcept {
  int flags = O_PATH | O_CLOEXEC;
  if (!follow) flags |= O_NOFOLLOW;
  FileDescriptor fd(::openat(dir, name.c_str(), flags));
  if (!fd) return errno;
  if (::fstat(fd.get(), &st) != 0) return errno;
  // With O_NOFOLLOW an O_PATH open yields the link itself rather than failing.
  if (S_ISLNK(st.st_mode)) return ELOOP;
  out = std::move(fd);
  return 0;
}

int open_beneath(int root, const std::string& relative, FileDescriptor& out,
                 struct stat& st) noexcept {
  open_how how{};
  how.flags = O_PATH | O_CLOEXEC;
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
  const long fd = ::syscall(SYS_openat2, root, relative.c_str(), &how, sizeof how);
  if (fd < 0) return errno == EXDEV ? ENOENT : errno;
  FileDescriptor opened(static_cast<int>(fd));
  if (::fstat(opened.get(), &st) != 0) return errno;
  out = std::move(opened);
  return 0;
}

namespace {

// The walk a segment at a time: for kernels without openat2, where a symlink cannot be
// resolved beneath the root in one call and is refused unless the rules follow every one.
FoundPath walk_segments(int root, const std::vector<std::string>& segments, WalkRules rules) {
  FoundPath found;
  FileDescriptor current(::fcntl(root, F_DUPFD_CLOEXEC, 0));
  if (!current || ::fstat(current.get(), &found.st) != 0) {
    found.status = status_for_errno(errno);
    return found;
  }
  for (const std::string& segment : segments) {
    if (!S_ISDIR(found.st.st_mode)) {
      found.status = 404;
      return found;
    }
    FileDescriptor next;
    if (const int err = open_node(current.get(), segment, rules.follow_symlinks, next, found.st)) {
      found.status = status_for_errno(err);
      return found;
    }
    current = std::move(next);
  }
  found.node = std::move(current);
  found.status = 200;
  return found;
}

}  // namespace

int open_path(int root, const std::string& relative, bool follow, FileDescriptor& out,
              struct stat& st) noexcept {
  if (!follow) return open_beneath(root, relative, out, st);
  // Every segment is a plain name (no "..", no leading '/'), so only a symlink can lead
  // out of the root, and the rules allow that.
  FileDescriptor fd(::openat(root, relative.c_str(), O_PATH | O_CLOEXEC));
  if (!fd) return errno;
  if (::fstat(fd.get(), &st) != 0) return errno;
  out = std::move(fd);
  return 0;
}

std::optional<std::string> checked_relative(const std::vector<std::string>& segments,
                                            WalkRules rules) {
  std::string relative;
  for (const std::string& segment : segments) {
    if (!is_safe_segment(segment) || (!rules.show_dotfiles && segment[0] == '.')) {
      return std::nullopt;
    }
    if (!relative.empty()) relative += '/';
    relative += segment;
  }
  return relative;
}

FoundPath walk(int root, const std::vector<std::string>& segments, WalkRules rules) {
  FoundPath found;
  std::optional<std::string> relative = checked_relative(segments, rules);
  if (!relative) return found;
  found.relative = std::move(*relative);
  if (segments.empty()) {
    FileDescriptor self(::fcntl(root, F_DUPFD_CLOEXEC, 0));
    if (!self || ::fstat(self.get(), &found.st) != 0) {
      found.status = status_for_errno(errno);
      return found;
    }
    found.node = std::move(self);
    found.status = 200;
    return found;
  }
  // One lookup for the whole path: the kernel walks it, following symlinks only while they
  // stay beneath the root (or everywhere, when the rules say so).
  const int err = open_path(root, found.relative, rules.follow_symlinks, found.node, found.st);
  if (err == ENOSYS) {
    FoundPath slow = walk_segments(root, segments, rules);
    slow.relative = std::move(found.relative);
    return slow;
  }
  found.status = err == 0 ? 200 : status_for_errno(err);
  return found;
}

int reopen_file(int node, const struct stat& expected, FileDescriptor& out,
                struct stat& st) noexcept {
  // Reopening an O_PATH descriptor goes through its /proc link: the same inode, with no
  // second lookup of the name.
  const std::string link = "/proc/self/fd/" + std::to_string(node);
  FileDescriptor fd(::open(link.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY));
  if (!fd) return errno;
  if (::fstat(fd.get(), &st) != 0) return errno;
  if (!S_ISREG(st.st_mode) || st.st_dev != expected.st_dev || st.st_ino != expected.st_ino) {
    return ENOENT;
  }
  out = std::move(fd);
  return 0;
}

int reopen_directory(int node, FileDescriptor& out) noexcept {
  FileDescriptor fd(::openat(node, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) return errno;
  out = std::move(fd);
  return 0;
}

}  // namespace sockit::http::detail
