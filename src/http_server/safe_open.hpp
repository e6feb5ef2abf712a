// Opening a request's path under the served root without leaving it: one openat(2) per
// segment from the root's descriptor, each checked through the descriptor it returned (so
// a rename or symlink swapped in between two checks cannot redirect the walk). A symlink is
// followed only while it stays under the root (openat2's RESOLVE_BENEATH), unless the
// rules say to follow every symlink.
#pragma once

#include <sys/stat.h>

#include <string>
#include <string_view>
#include <vector>

#include "sockit/file_descriptor.hpp"

namespace sockit::http::detail {

struct WalkRules {
  bool follow_symlinks = false;
  bool show_dotfiles = false;
};

// What a walk found: `status` 200 with `node` (an O_PATH descriptor of the last segment, or
// of the root when there are none), `parent` (O_PATH, the directory holding it; closed for
// the root) and its stat; otherwise the status the request deserves (403, 404, 503, 500).
struct FoundPath {
  int status = 404;
  FileDescriptor parent;
  FileDescriptor node;
  struct stat st {};
};

// The answer status for an errno met while opening: 403 for permissions, 404 for names
// that do not exist (or cannot), 503 when descriptors ran out, else 500.
int status_for_errno(int err) noexcept;

// True for a segment that may be looked up at all: not empty, ".", "..", and free of '/'
// and NUL (the target decoder never produces these; refused again here as defence).
bool is_safe_segment(std::string_view segment) noexcept;

// Opens `name` inside the directory `dir` as O_PATH and stats it. A symlink is refused with
// ELOOP unless `follow`. Returns 0 or the errno.
int open_node(int dir, const std::string& name, bool follow, FileDescriptor& out,
              struct stat& st) noexcept;

// Opens `relative` (a path of safe segments) beneath `root` as O_PATH: symlinks on the way
// are followed only while they stay under the root; one that leads out is ENOENT. ENOSYS
// where the kernel has no openat2 (before 5.6): there, symlinks are simply refused.
int open_beneath(int root, const std::string& relative, FileDescriptor& out,
                 struct stat& st) noexcept;

// Walks `segments` from the root descriptor; every segment but the last must be a directory.
FoundPath walk(int root, const std::vector<std::string>& segments, WalkRules rules);

// Opens the regular file behind the O_PATH descriptor `node` for reading (O_NONBLOCK, so a
// fifo swapped in cannot block) and checks it is the very file `expected` describes. Fills
// `st` with the fresh stat. Returns 0 or the errno (ENOENT when the file changed identity).
int reopen_file(int node, const struct stat& expected, FileDescriptor& out,
                struct stat& st) noexcept;

// Opens the directory behind an O_PATH descriptor for reading its entries.
int reopen_directory(int node, FileDescriptor& out) noexcept;

}  // namespace sockit::http::detail
