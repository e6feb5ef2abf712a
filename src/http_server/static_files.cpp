// StaticFiles: a request path resolved under the root, and the answer a careful static
// server gives for it (see static_files.hpp).
#include "sockit/http/static_files.hpp"

#include <fcntl.h>
#include <sys/stat.h>

#include <cerrno>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "byte_range.hpp"
#include "content_coding.hpp"
#include "directory_listing.hpp"
#include "open_file_cache.hpp"
#include "safe_open.hpp"
#include "sockit/error.hpp"
#include "sockit/http/request_target.hpp"
#include "validators.hpp"

namespace sockit::http {
namespace {

constexpr std::string_view kHtml = "text/html; charset=utf-8";

StaticAnswer error_answer(int status, std::string_view detail = {}) {
  StaticAnswer a;
  a.status = status;
  a.headers.emplace_back("Content-Type", kHtml);
  a.body = error_page(status, detail);
  return a;
}

std::string last_modified(const struct stat& st) {
  return format_http_date(std::chrono::system_clock::from_time_t(st.st_mtime));
}

// The path as walked, rebuilt from the segments: a Location made from it cannot become
// "//host/" whatever `path.path` holds.
std::string walked_path(const TargetPath& path) {
  std::string out;
  for (const std::string& segment : path.segments)
    out += "/" + segment;
  return out;
}

// A query copied into a Location must not carry what could split or end the header: only
// visible ASCII (the target's own percent-escapes stay as they are); otherwise it is dropped.
bool is_clean_query(std::string_view query) noexcept {
  for (char ch : query) {
    const auto c = static_cast<unsigned char>(ch);
    if (c <= ' ' || c >= 0x7f || c == '#') return false;
  }
  return true;
}

// Every field of a name joined as one list, for fields a client may split (If-None-Match).
std::string joined(const Headers& headers, std::string_view name) {
  std::string out;
  for (std::string_view value : headers.get_all(name)) {
    if (!out.empty()) out += ',';
    out += value;
  }
  return out;
}

// RFC 9110 section 13.2.2: If-None-Match, when present, decides alone; If-Modified-Since
// only counts without it. True when the client's copy is current (answer 304).
bool not_modified(const Headers& headers, std::string_view etag, const struct stat& st) {
  if (headers.contains("If-None-Match")) {
    return detail::none_match_hits(joined(headers, "If-None-Match"), etag);
  }
  const auto since = headers.get("If-Modified-Since");
  if (!since) return false;
  const auto date = parse_http_date(*since);
  return date && std::chrono::system_clock::from_time_t(st.st_mtime) <= *date;
}

// If-Range: the range stands only when the validator names the current file exactly.
bool if_range_holds(const Headers& headers, std::string_view etag, const struct stat& st) {
  const auto value = headers.get("If-Range");
  if (!value) return true;
  std::string_view v = *value;
  while (!v.empty() && v.front() == ' ')
    v.remove_prefix(1);
  if (!v.empty() && (v.front() == '"' || v.substr(0, 2) == "W/")) {
    return detail::strong_match(v, etag);
  }
  const auto date = parse_http_date(v);
  return date && *date == std::chrono::system_clock::from_time_t(st.st_mtime);
}

// 304 carries the validators (and Vary) a 200 would have, and no body.
StaticAnswer not_modified_answer(const std::string& etag, const struct stat& st, bool vary) {
  StaticAnswer a;
  a.status = 304;
  a.headers.emplace_back("ETag", etag);
  a.headers.emplace_back("Last-Modified", last_modified(st));
  if (vary) a.headers.emplace_back("Vary", "Accept-Encoding");
  return a;
}

// The body chosen for a file: its own bytes, a .gz sibling's, or gzip made now.
using FilePtr = std::shared_ptr<const detail::OpenFile>;

// The file just opened at `relative`, through the cache when there is one.
FilePtr adopt(detail::OpenFileCache* cache, const std::string& relative, FileDescriptor fd,
              const struct stat& st) {
  if (cache != nullptr) return cache->insert(relative, std::move(fd), st);
  auto file = std::make_shared<detail::OpenFile>();
  file->fd = std::move(fd);
  file->st = st;
  return file;
}

// The regular file at `relative`, from the cache or opened by the rules: the file, or the
// errno (ENOENT for anything but a regular file).
FilePtr open_regular(int root, const std::string& relative, const StaticOptions& options,
                     detail::OpenFileCache* cache, int& err) {
  if (cache != nullptr) {
    if (FilePtr cached = cache->lookup(relative)) return cached;
  }
  FileDescriptor node;
  struct stat found {};
  err = detail::open_path(root, relative, options.follow_symlinks, node, found);
  if (err != 0) return nullptr;
  if (!S_ISREG(found.st_mode)) {
    err = ENOENT;
    return nullptr;
  }
  FileDescriptor fd;
  struct stat st {};
  err = detail::reopen_file(node.get(), found, fd, st);
  if (err != 0) return nullptr;
  return adopt(cache, relative, std::move(fd), st);
}

// The body chosen for a file: its own bytes, a .gz sibling's, or gzip made now.
struct Representation {
  FilePtr file;      // its bytes, unless `body` was made now
  std::string body;  // the gzip made now, when `gzipped` and not `file`
  bool gzipped = false;
  std::string etag;
};

// `length` bytes of `file` from `offset` as the answer's body: copied when the cache holds
// them, else a descriptor of the answer's own for the session to stream.
bool take_bytes(const detail::OpenFile& file, std::uint64_t offset, std::uint64_t length,
                StaticAnswer& a) {
  if (file.content) {
    a.body.assign(*file.content, static_cast<std::size_t>(offset),
                  static_cast<std::size_t>(length));
    return true;
  }
  a.file.reset(::fcntl(file.fd.get(), F_DUPFD_CLOEXEC, 0));
  a.offset = offset;
  a.length = length;
  return static_cast<bool>(a.file);
}

// The answer for the regular file `file` at `relative` under `root` (named `name`).
StaticAnswer serve_file(const StaticOptions& options, const RequestHead& head, int root,
                        const std::string& relative, std::string_view name,
                        detail::OpenFileCache* cache, FilePtr file) {
  const struct stat st = file->st;
  Representation rep;
  rep.file = std::move(file);
  const auto size = static_cast<std::uint64_t>(st.st_size);
  const std::string_view type = content_type_for(name);
  const bool compressible = options.compress && detail::is_compressible(type);
  const Headers& headers = head.headers;
  const std::optional<std::string_view> range =
      head.method == "GET" ? headers.get("Range") : std::nullopt;
  rep.etag = detail::file_etag(st);

  // Ranges address the identity body, so a request with one is never compressed.
  if (compressible && !range && detail::accepts_gzip(headers)) {
    std::string gz_path = relative;
    gz_path += ".gz";
    int gz_err = 0;
    if (FilePtr gz = open_regular(root, gz_path, options, cache, gz_err)) {
      rep.etag = detail::file_etag(gz->st, "-gz");
      rep.file = std::move(gz);
      rep.gzipped = true;
    } else if (size > 0 && size <= options.max_compress_bytes) {
      // A client revalidating the gzip body it holds needs no new gzip to learn it is current.
      std::string gz_etag = detail::file_etag(st, "-gz");
      if (headers.contains("If-None-Match") && not_modified(headers, gz_etag, st)) {
        return not_modified_answer(gz_etag, st, compressible);
      }
      auto body = rep.file->content ? detail::gzip_bytes(*rep.file->content)
                                    : detail::gzip_file(rep.file->fd.get(), size);
      // Tiny files grow under gzip: they stay identity (the choice is the same every time).
      if (body && body->size() < size) {
        rep.file = nullptr;
        rep.body = std::move(*body);
        rep.gzipped = true;
        rep.etag = std::move(gz_etag);
      }
    }
  }

  if (not_modified(headers, rep.etag, st)) return not_modified_answer(rep.etag, st, compressible);
  StaticAnswer a;
  a.headers.emplace_back("Content-Type", type);
  a.headers.emplace_back("Last-Modified", last_modified(st));
  a.headers.emplace_back("ETag", rep.etag);
  a.headers.emplace_back("Accept-Ranges", "bytes");
  if (compressible) a.headers.emplace_back("Vary", "Accept-Encoding");
  if (rep.gzipped) {
    a.headers.emplace_back("Content-Encoding", "gzip");
    if (!rep.file) {
      a.body = std::move(rep.body);
    } else if (!take_bytes(*rep.file, 0, static_cast<std::uint64_t>(rep.file->st.st_size), a)) {
      return error_answer(detail::status_for_errno(errno));
    }
    return a;
  }
  std::uint64_t offset = 0;
  std::uint64_t length = size;
  if (range && if_range_holds(headers, rep.etag, st)) {
    const detail::ByteRange r = detail::parse_byte_range(*range, size);
    if (r.kind == detail::RangeKind::unsatisfiable) {
      StaticAnswer refused = error_answer(416);
      refused.headers.emplace_back("Content-Range", "bytes */" + std::to_string(size));
      refused.headers.emplace_back("Accept-Ranges", "bytes");
      return refused;
    }
    if (r.kind == detail::RangeKind::single) {
      a.status = 206;
      offset = r.first;
      length = r.last - r.first + 1;
      a.headers.emplace_back("Content-Range", "bytes " + std::to_string(r.first) + "-" +
                                                  std::to_string(r.last) + "/" +
                                                  std::to_string(size));
    }
  }
  if (!take_bytes(*rep.file, offset, length, a)) {
    return error_answer(detail::status_for_errno(errno));
  }
  return a;
}

// The regular file found by the walk as the O_PATH `node`: opened, cached, answered.
StaticAnswer serve_found(const StaticOptions& options, const RequestHead& head, int root,
                         const std::string& relative, std::string_view name,
                         detail::OpenFileCache* cache, int node, const struct stat& found) {
  FileDescriptor fd;
  struct stat st {};
  if (const int err = detail::reopen_file(node, found, fd, st)) {
    return error_answer(detail::status_for_errno(err));
  }
  return serve_file(options, head, root, relative, name, cache,
                    adopt(cache, relative, std::move(fd), st));
}

}  // namespace

StaticFiles::StaticFiles(StaticOptions options) : options_(std::move(options)) {
  FileDescriptor root(::open(options_.root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!root) throw_errno("open static root", options_.root, errno);
  root_ = std::make_shared<const FileDescriptor>(std::move(root));
  if (options_.open_files > 0) {
    cache_ = std::make_shared<detail::OpenFileCache>(options_.open_files, options_.open_file_ttl);
  }
}

StaticAnswer StaticFiles::answer(const RequestHead& head, const TargetPath& path) const {
  try {
    if (head.method != "GET" && head.method != "HEAD") {
      StaticAnswer a = error_answer(405);
      a.headers.emplace_back("Allow", "GET, HEAD");
      return a;
    }
    const detail::WalkRules rules{options_.follow_symlinks, options_.show_dotfiles};
    // A file served a moment ago: no lookup at all.
    if (cache_ && !path.trailing_slash && !path.segments.empty()) {
      if (const auto relative = detail::checked_relative(path.segments, rules)) {
        if (FilePtr cached = cache_->lookup(*relative)) {
          return serve_file(options_, head, root_->get(), *relative, path.segments.back(),
                            cache_.get(), std::move(cached));
        }
      }
    }
    detail::FoundPath found = detail::walk(root_->get(), path.segments, rules);
    if (found.status != 200) return error_answer(found.status);

    if (S_ISDIR(found.st.st_mode)) {
      if (!path.trailing_slash && !path.segments.empty()) {
        StaticAnswer a = error_answer(301);
        std::string location = encode_path(walked_path(path)) + "/";
        if (!path.query.empty() && is_clean_query(path.query)) location += "?" + path.query;
        a.headers.emplace_back("Location", std::move(location));
        return a;
      }
      constexpr std::string_view index = "index.html";
      const std::string index_path =
          found.relative.empty() ? std::string(index) : found.relative + "/" + std::string(index);
      FileDescriptor index_node;
      struct stat index_st {};
      int err = detail::open_path(root_->get(), index_path, options_.follow_symlinks, index_node,
                                  index_st);
      // Without openat2: index.html must be a plain file in the directory.
      if (err == ENOSYS) {
        err = detail::open_node(found.node.get(), std::string(index), false, index_node, index_st);
      }
      if (err == 0 && S_ISREG(index_st.st_mode)) {
        return serve_found(options_, head, root_->get(), index_path, index, cache_.get(),
                           index_node.get(), index_st);
      }
      if (err != 0 && err != ENOENT && err != ELOOP)
        return error_answer(detail::status_for_errno(err));
      if (!options_.list_directories) return error_answer(404);
      FileDescriptor dir;
      if (const int e = detail::reopen_directory(found.node.get(), dir)) {
        return error_answer(detail::status_for_errno(e));
      }
      const detail::ListingRules listing{options_.show_dotfiles, options_.follow_symlinks};
      int list_err = 0;
      const std::string shown = walked_path(path) + "/";
      auto page = detail::directory_listing(dir.get(), shown, listing, list_err);
      if (!page) return error_answer(detail::status_for_errno(list_err));
      StaticAnswer a;
      a.headers.emplace_back("Content-Type", kHtml);
      a.body = std::move(*page);
      return a;
    }
    // Fifos, devices and sockets are never opened for reading.
    if (!S_ISREG(found.st.st_mode) || path.trailing_slash) return error_answer(404);
    return serve_found(options_, head, root_->get(), found.relative, path.segments.back(),
                       cache_.get(), found.node.get(), found.st);
  } catch (const std::bad_alloc&) {
    return error_answer(503);
  } catch (const std::exception&) {
    return error_answer(500);
  }
}

}  // namespace sockit::http
