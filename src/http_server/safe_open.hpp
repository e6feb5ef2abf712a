// Opening a request's path under the served root without leaving it: one openat(2) per
// segment from the root's descriptor, each checked through the descriptor it returned (so
// a rename or symlink swapped in between two checks cannot redirect the walk). A symlink is
// followed only while it stays under the root (openat2's RESOLVE_BENEATH), unless the
// rules say to follow every symlink.
#pragma once

#include <sys/stat.h>

#include <optional>
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
// of the root when there are none) and its stat; otherwise the status the request deserves
// (403, 404, 503, 500). `relative` is the path walked ("a/b/c", empty for the root), for
// looking up a sibling (a .gz) or a child (index.html) by the same rules.
struct FoundPath {
  int status = 404;
  std::string relative;
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

// Opens `relative` (a path of safe segments) under `root` as O_PATH by the rules: beneath
// the root (open_beneath) unless `follow`, where every symlink is followed. Returns 0 or
// the errno (ENOSYS without openat2 and not `follow`).
int open_path(int root, const std::string& relative, bool follow, FileDescriptor& out,
              struct stat& st) noexcept;

// The segments joined as a path relative to the root ("a/b/c"), or nothing when one is
// unsafe or a dotfile the rules hide.
std::optional<std::string> checked_relative(const std::vector<std::string>& segments,
                                            WalkRules rules);

// Resolves `segments` under the root by the rules: a segment that is unsafe, or a dotfile
// the rules hide, is 404; every segment but the last must be a directory. The kernel walks
// the whole path in one openat2(2); without it, one openat(2) a segment.
FoundPath walk(int root, const std::vector<std::string>& segments, WalkRules rules);

// Opens the regular file behind the O_PATH descriptor `node` for reading (O_NONBLOCK, so a
// fifo swapped in cannot block) and checks it is the very file `expected` describes. Fills
// `st` with the fresh stat. Returns 0 or the errno (ENOENT when the file changed identity).
int reopen_file(int node, const struct stat& expected, FileDescriptor& out,
                struct stat& st) noexcept;

// Opens the directory behind an O_PATH descriptor for reading its entries.
int reopen_directory(int node, FileDescriptor& out) noexcept;

}  // namespace sockit::http::detail
