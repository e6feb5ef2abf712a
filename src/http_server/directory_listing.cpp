// HTML directory listings (see directory_listing.hpp).
#include "directory_listing.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <memory>
#include <queue>
#include <vector>

#include "sockit/http/request_target.hpp"
#include "sockit/http/static_files.hpp"

namespace sockit::http::detail {
namespace {

struct Entry {
  std::string name;
  bool directory = false;
  std::uint64_t size = 0;
  std::int64_t mtime = 0;

  bool operator<(const Entry& other) const noexcept { return name < other.name; }
};

struct DirCloser {
  void operator()(DIR* d) const noexcept { ::closedir(d); }
};

}  // namespace

std::optional<std::string> directory_listing(int dir, std::string_view request_path,
                                             const ListingRules& rules, int& err) {
  // fdopendir takes the descriptor it is given; the caller keeps its own.
  const int copy = ::fcntl(dir, F_DUPFD_CLOEXEC, 0);
  if (copy < 0) {
    err = errno;
    return std::nullopt;
  }
  std::unique_ptr<DIR, DirCloser> d(::fdopendir(copy));
  if (!d) {
    err = errno;
    ::close(copy);
    return std::nullopt;
  }
  // A max-heap of the names kept: past the bound, the largest leaves, so memory stays at
  // max_entries names and the page shows the first ones in order.
  std::priority_queue<Entry> kept;
  std::size_t hidden = 0;
  const int flags = rules.follow_symlinks ? 0 : AT_SYMLINK_NOFOLLOW;
  for (;;) {
    errno = 0;
    const dirent* e = ::readdir(d.get());
    if (e == nullptr) {
      if (errno != 0) {
        err = errno;
        return std::nullopt;
      }
      break;
    }
    const std::string_view name = e->d_name;
    if (name == "." || name == "..") continue;
    if (!rules.show_dotfiles && name[0] == '.') continue;
    struct stat st {};
    if (::fstatat(::dirfd(d.get()), e->d_name, &st, flags) != 0) continue;
    if (S_ISLNK(st.st_mode)) continue;
    Entry entry{std::string(name), S_ISDIR(st.st_mode), static_cast<std::uint64_t>(st.st_size),
                static_cast<std::int64_t>(st.st_mtime)};
    if (kept.size() < rules.max_entries) {
      kept.push(std::move(entry));
    } else if (rules.max_entries > 0 && entry < kept.top()) {
      kept.pop();
      kept.push(std::move(entry));
      ++hidden;
    } else {
      ++hidden;
    }
  }
  std::vector<Entry> entries;
  entries.reserve(kept.size());
  while (!kept.empty()) {
    entries.push_back(kept.top());
    kept.pop();
  }
  std::reverse(entries.begin(), entries.end());

  const std::string title = "Index of " + html_escape(request_path);
  std::string page = "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>" + title +
                     "</title></head><body><h1>" + title + "</h1>\n<table>\n";
  if (request_path != "/") page += "<tr><td><a href=\"../\">../</a></td><td></td><td></td></tr>\n";
  for (const Entry& entry : entries) {
    const std::string suffix = entry.directory ? "/" : "";
    page += "<tr><td><a href=\"" + html_escape(encode_path(entry.name)) + suffix + "\">" +
            html_escape(entry.name) + suffix + "</a></td><td>";
    page += entry.directory ? "-" : std::to_string(entry.size);
    page += "</td><td>" + format_http_date(std::chrono::system_clock::from_time_t(entry.mtime)) +
            "</td></tr>\n";
  }
  page += "</table>\n";
  if (hidden > 0) page += "<p>" + std::to_string(hidden) + " more not shown</p>\n";
  page += "</body></html>\n";
  return page;
}

}  // namespace sockit::http::detail
