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

FoundPath walk(int root, const std::vector<std::string>& segments, WalkRules rules) {
  FoundPath found;
  FileDescriptor current(::fcntl(root, F_DUPFD_CLOEXEC, 0));
  if (!current) {
    found.status = status_for_errno(errno);
    return found;
  }
  if (::fstat(current.get(), &found.st) != 0) {
    found.status = status_for_errno(errno);
    return found;
  }
  std::string relative;  // the segments so far, for resolving a symlink beneath the root
  for (const std::string& segment : segments) {
    if (!is_safe_segment(segment) || (!rules.show_dotfiles && segment[0] == '.') ||
        !S_ISDIR(found.st.st_mode)) {
      found.status = 404;
      return found;
    }
    if (!relative.empty()) relative += '/';
    relative += segment;
    FileDescriptor next;
    int err = open_node(current.get(), segment, rules.follow_symlinks, next, found.st);
    // A symlink: followed while it stays under the root.
    if (err == ELOOP && !rules.follow_symlinks) {
      err = open_beneath(root, relative, next, found.st);
      if (err == ENOSYS) err = ELOOP;
    }
    if (err != 0) {
      found.status = status_for_errno(err);
      return found;
    }
    found.parent = std::move(current);
    current = std::move(next);
  }
  found.node = std::move(current);
  found.status = 200;
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
