// Reading and atomically rewriting the user file (see sockit/auth/user_file.hpp).
#include "sockit/auth/user_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "sockit/auth/password.hpp"
#include "sockit/error.hpp"
#include "sockit/file_descriptor.hpp"

namespace sockit::auth {
namespace {

std::vector<std::string> split_permissions(std::string_view text) {
  std::vector<std::string> permissions;
  while (!text.empty()) {
    auto comma = text.find(',');
    std::string_view item = text.substr(0, comma);
    if (!item.empty()) permissions.emplace_back(item);
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return permissions;
}

void check_record(const UserRecord& record) {
  if (auto problem = UserFile::name_problem(record.name); !problem.empty()) {
    throw std::invalid_argument("user name '" + record.name + "': " + problem);
  }
  if (auto problem = hash_problem(record.password_hash); !problem.empty()) {
    throw std::invalid_argument("password hash of " + record.name + ": " + problem);
  }
  for (const auto& permission : record.permissions) {
    if (auto problem = UserFile::permission_problem(permission); !problem.empty()) {
      throw std::invalid_argument("permission '" + permission + "' of " + record.name + ": " +
                                  problem);
    }
  }
}

// Closes a descriptor and removes a temporary file unless released.
class TempFile {
 public:
  explicit TempFile(std::string pattern) : path_(std::move(pattern)) {
    fd_ = ::mkstemp(path_.data());
    if (fd_ < 0) throw_errno("create", path_, errno);
  }
  ~TempFile() {
    if (fd_ >= 0) ::close(fd_);
    if (!kept_) ::unlink(path_.c_str());
  }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;

  int fd() const noexcept { return fd_; }
  const std::string& path() const noexcept { return path_; }
  void close() {
    int fd = fd_;
    fd_ = -1;
    if (::close(fd) != 0) throw_errno("close", path_, errno);
  }
  void keep() noexcept { kept_ = true; }

 private:
  std::string path_;
  int fd_ = -1;
  bool kept_ = false;
};

}  // namespace

bool UserRecord::permits(std::string_view command) const {
  return std::find(permissions.begin(), permissions.end(), command) != permissions.end();
}

std::string UserFile::name_problem(std::string_view name) {
  if (name.empty()) return "empty";
  if (name.size() > 64) return "longer than 64 bytes";
  for (char c : name) {
    auto byte = static_cast<unsigned char>(c);
    if (byte <= 0x20 || byte >= 0x7f) return "only printable ASCII without spaces";
    if (c == ':') return "':' is not allowed";
  }
  return {};
}

std::string UserFile::permission_problem(std::string_view permission) {
  if (permission.empty() || permission.size() > 32) return "must be 1-32 letters A-Z";
  for (char c : permission) {
    if (c < 'A' || c > 'Z') return "must be 1-32 letters A-Z";
  }
  return {};
}

UserFile UserFile::parse(std::string_view text, std::string_view origin) {
  UserFile file;
  std::size_t number = 0;
  while (!text.empty()) {
    ++number;
    auto newline = text.find('\n');
    std::string_view line = text.substr(0, newline);
    text.remove_prefix(newline == std::string_view::npos ? text.size() : newline + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);

    // A line that does not parse is bad data from a file, not the caller's mistake: Error.
    auto bad_line = [&](const std::string& problem) {
      throw_error(errc::invalid_argument, {}, std::string(origin) + ":" + std::to_string(number),
                  problem);
    };
    auto first = line.find_first_not_of(" \t");
    if (first == std::string_view::npos || line[first] == '#') {
      // Every CR at its end goes (serialize() ends lines with "\n" alone): a comment kept
      // with a CR would lose it on the next load, and the file would change at every save.
      while (!line.empty() && line.back() == '\r')
        line.remove_suffix(1);
      file.lines_.push_back(Line{std::string(line), false, {}});
      continue;
    }
    // user : scheme : iterations : salt : hash : permissions
    std::vector<std::string_view> fields;
    std::string_view rest = line;
    for (int i = 0; i < 5; ++i) {
      auto colon = rest.find(':');
      if (colon == std::string_view::npos) break;
      fields.push_back(rest.substr(0, colon));
      rest.remove_prefix(colon + 1);
    }
    if (fields.size() != 5) {
      bad_line("expected user:" + std::string(pbkdf2_scheme) + ":ITERATIONS:SALT:HASH:PERMISSIONS");
    }
    UserRecord record;
    record.name = std::string(fields[0]);
    record.password_hash = std::string(fields[1]) + ":" + std::string(fields[2]) + ":" +
                           std::string(fields[3]) + ":" + std::string(fields[4]);
    record.permissions = split_permissions(rest);
    try {
      check_record(record);
    } catch (const std::invalid_argument& e) {
      bad_line(e.what());
    }
    if (file.find(record.name) != nullptr) {
      bad_line("user " + record.name + " appears twice");
    }
    file.lines_.push_back(Line{{}, true, std::move(record)});
  }
  return file;
}

UserFile UserFile::load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw_errno("read", path, errno);
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) throw_errno("read", path, errno);
  return parse(text.str(), path);
}

std::string UserFile::serialize() const {
  std::string text;
  for (const auto& line : lines_) {
    if (!line.is_user) {
      text += line.comment;
    } else {
      text += line.user.name + ":" + line.user.password_hash + ":";
      for (std::size_t i = 0; i < line.user.permissions.size(); ++i) {
        if (i != 0) text += ',';
        text += line.user.permissions[i];
      }
    }
    text += '\n';
  }
  return text;
}

namespace {

// The directory holding `path`, for syncing the rename.
std::string directory_of(const std::string& path) {
  auto slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

}  // namespace

void UserFile::save(const std::string& path) const {
  // A symbolic link is refused rather than replaced by a file (or followed to one the
  // caller did not name). An existing file's owner, group and the owner's and group's
  // permission bits carry over to the new one, so access given to the service's account
  // survives an update; others never get to read the hashes.
  struct stat existing {};
  bool exists = false;
  if (::lstat(path.c_str(), &existing) == 0) {
    if (S_ISLNK(existing.st_mode)) {
      throw_error(errc::invalid_argument, "replace", path,
                  "is a symbolic link; name the file it points to");
    }
    if (!S_ISREG(existing.st_mode)) {
      throw_error(errc::invalid_argument, "replace", path, "not a regular file");
    }
    exists = true;
  } else if (errno != ENOENT) {
    throw_errno("stat", path, errno);
  }
  std::string text = serialize();
  TempFile temp(path + ".tmp.XXXXXX");
  // mkstemp creates it 0600; fchmod keeps that true whatever the umask did.
  const mode_t mode = exists ? existing.st_mode & (S_IRWXU | S_IRWXG) : S_IRUSR | S_IWUSR;
  if (exists && ::fchown(temp.fd(), existing.st_uid, existing.st_gid) != 0) {
    throw_errno("chown", temp.path(), errno);
  }
  if (::fchmod(temp.fd(), mode) != 0) {
    throw_errno("chmod", temp.path(), errno);
  }
  std::string_view left = text;
  while (!left.empty()) {
    ssize_t n = ::write(temp.fd(), left.data(), left.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      throw_errno("write", temp.path(), errno);
    }
    left.remove_prefix(static_cast<std::size_t>(n));
  }
  if (::fsync(temp.fd()) != 0) {
    throw_errno("fsync", temp.path(), errno);
  }
  temp.close();
  if (::rename(temp.path().c_str(), path.c_str()) != 0) {
    const int err = errno;  // before the message is built
    throw_errno("rename", temp.path() + " to " + path, err);
  }
  temp.keep();
  // The rename is durable once the directory is synced.
  const std::string directory = directory_of(path);
  const FileDescriptor dir(::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir) throw_errno("open", directory, errno);
  if (::fsync(dir.get()) != 0) throw_errno("fsync", directory, errno);
}

const UserRecord* UserFile::find(std::string_view name) const {
  for (const auto& line : lines_) {
    if (line.is_user && line.user.name == name) return &line.user;
  }
  return nullptr;
}

void UserFile::upsert(UserRecord record) {
  check_record(record);
  for (auto& line : lines_) {
    if (line.is_user && line.user.name == record.name) {
      line.user = std::move(record);
      return;
    }
  }
  lines_.push_back(Line{{}, true, std::move(record)});
}

std::vector<const UserRecord*> UserFile::users() const {
  std::vector<const UserRecord*> list;
  for (const auto& line : lines_) {
    if (line.is_user) list.push_back(&line.user);
  }
  return list;
}

std::uint32_t UserFile::max_iterations() const {
  std::uint32_t most = 0;
  for (const auto& line : lines_) {
    if (line.is_user) most = std::max(most, hash_iterations(line.user.password_hash));
  }
  return most == 0 ? default_iterations : most;
}

}  // namespace sockit::auth
