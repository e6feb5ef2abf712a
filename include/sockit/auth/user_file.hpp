// The command service's user file: one line per user,
//   user:pbkdf2-sha256:ITERATIONS:SALT_HEX:HASH_HEX:PERM1,PERM2
// where the permissions are the command words the user may run. Lines starting with '#'
// and blank lines are comments, kept as they are when the file is rewritten.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace sockit::auth {

struct UserRecord {
  std::string name;
  std::string password_hash;             // "pbkdf2-sha256:..." (see password.hpp)
  std::vector<std::string> permissions;  // command words, e.g. "STATUS"

  bool permits(std::string_view command) const;
};

class UserFile {
 public:
  // Throws sockit::Error naming the file, and the line for a line that does not parse:
  // "users.txt:3: bad hash: ..." (code errc::invalid_argument).
  static UserFile load(const std::string& path);
  static UserFile parse(std::string_view text, std::string_view origin = "users");

  // The file's text, comments in place.
  std::string serialize() const;
  // Replaces `path` atomically: writes a temporary file beside it with the owner, group
  // and owner/group permission bits of the file it replaces (others get none; a new file
  // is mode 0600), syncs it, renames it over
  // `path` and syncs the directory. A symbolic link or other non-regular file at `path` is
  // refused. Throws sockit::Error naming the step that failed.
  void save(const std::string& path) const;

  const UserRecord* find(std::string_view name) const;
  // Replaces the user of that name, or appends it. Throws std::invalid_argument for an
  // invalid name, hash or permission.
  void upsert(UserRecord record);
  std::vector<const UserRecord*> users() const;
  // The largest iteration count of the users' hashes (default_iterations with no user):
  // what checking a login costs at most, and so what every check should cost.
  std::uint32_t max_iterations() const;

  // Why this cannot be a user name / permission, or "" when it can. Names: 1-64 bytes of
  // printable ASCII without spaces or ':'. Permissions: 1-32 letters A-Z.
  static std::string name_problem(std::string_view name);
  static std::string permission_problem(std::string_view permission);

 private:
  struct Line {
    std::string comment;  // the raw text, when this line is no user
    bool is_user = false;
    UserRecord user;
  };
  std::vector<Line> lines_;
};

}  // namespace sockit::auth
