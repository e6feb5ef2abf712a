// sockit passwd: add a user to the command service's user file, or change one.
//   printf 'secret\n' | sockit passwd users.txt alice --permit STATUS,INFO,HELP
// The password comes from stdin (asked twice, without echo, on a terminal) and must fit
// the service's AUTH line. The file is replaced atomically, keeping its owner, group and
// their permission bits (others get none; a new file is readable by its owner only); a
// symbolic link in place of the file or its lock is refused. Runs at the same time on one
// file take turns on FILE.lock (flock), so none loses another's update.
#include <fcntl.h>
#include <fmt/core.h>
#include <sys/file.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "cli_support.hpp"
#include "commands.hpp"
#include "sockit/auth/command_service.hpp"
#include "sockit/auth/password.hpp"
#include "sockit/auth/user_file.hpp"

namespace sockit::cli {
namespace {

struct PasswdArgs {
  std::string file;
  std::string user;
  std::vector<std::string> permit;
  bool permit_given = false;
  std::uint32_t iterations = auth::default_iterations;
};

// Turns terminal echo off for its lifetime.
class NoEcho {
 public:
  NoEcho() {
    if (::tcgetattr(STDIN_FILENO, &saved_) != 0) return;
    termios quiet = saved_;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    active_ = ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) == 0;
  }
  ~NoEcho() {
    if (active_) ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_);
  }
  NoEcho(const NoEcho&) = delete;
  NoEcho& operator=(const NoEcho&) = delete;

 private:
  termios saved_{};
  bool active_ = false;
};

std::string read_line_from_stdin(const char* prompt) {
  bool terminal = ::isatty(STDIN_FILENO) != 0;
  std::string line;
  if (terminal) {
    fmt::print(stderr, "{}", prompt);
    std::fflush(stderr);
    NoEcho no_echo;
    std::getline(std::cin, line);
    fmt::print(stderr, "\n");
  } else {
    std::getline(std::cin, line);
  }
  if (!std::cin && line.empty()) failure("passwd: no password on stdin");
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

// The service reads "AUTH user password" as one line of at most max_command_input bytes
// and refuses a line with a control character: a password it could never accept is
// refused here, not stored.
void check_password(const std::string& user, std::string_view password) {
  if (password.empty()) usage_error("passwd: empty password refused");
  const std::size_t longest =
      auth::max_command_input - std::string_view("AUTH  ").size() - user.size();
  if (password.size() > longest) {
    usage_error(fmt::format(
        "passwd: password longer than {} bytes (the service reads AUTH, the user name and the "
        "password as one line of at most {} bytes)",
        longest, auth::max_command_input));
  }
  if (std::any_of(password.begin(), password.end(), [](char c) {
        const auto byte = static_cast<unsigned char>(c);
        return byte < 0x20 || byte == 0x7f;
      })) {
    usage_error("passwd: password holds a control character, which the service refuses");
  }
}

std::string read_password(const std::string& user) {
  std::string password = read_line_from_stdin(fmt::format("Password for {}: ", user).c_str());
  check_password(user, password);
  if (::isatty(STDIN_FILENO) != 0 && read_line_from_stdin("Retype password: ") != password) {
    usage_error("passwd: the passwords do not match");
  }
  return password;
}

std::vector<std::string> checked_permissions(const std::vector<std::string>& items) {
  std::vector<std::string> permissions;
  for (const auto& item : items) {
    bool known = false;
    for (auto word : auth::command_words())
      known = known || word == item;
    if (!known) {
      std::string list;
      for (auto word : auth::command_words())
        list += (list.empty() ? "" : ", ") + std::string(word);
      usage_error(fmt::format("passwd: unknown command '{}' (commands: {})", item, list));
    }
    if (std::find(permissions.begin(), permissions.end(), item) == permissions.end()) {
      permissions.push_back(item);
    }
  }
  return permissions;
}

// Held for the read-modify-replace of the user file: an exclusive flock on FILE.lock (the
// user file itself is replaced by rename, so a lock on it would not outlive the update).
// A symbolic link in its place is refused (ELOOP), so it cannot create or truncate-open a
// file elsewhere.
class FileLock {
 public:
  explicit FileLock(const std::string& path)
      : fd_(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600)) {
    if (fd_ < 0) failure(fmt::format("passwd: open {}: {}", path, std::strerror(errno)));
    while (::flock(fd_, LOCK_EX) != 0) {
      if (errno != EINTR) failure(fmt::format("passwd: lock {}: {}", path, std::strerror(errno)));
    }
  }
  ~FileLock() { ::close(fd_); }  // closing the descriptor releases the lock
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

 private:
  int fd_;
};

int run_passwd(const PasswdArgs& args) {
  if (auto problem = auth::UserFile::name_problem(args.user); !problem.empty()) {
    usage_error(fmt::format("passwd: user name '{}': {}", args.user, problem));
  }
  std::vector<std::string> permissions;
  if (args.permit_given) permissions = checked_permissions(args.permit);

  // The password is read and hashed (the slow part) before the file is locked and read.
  const std::string password = read_password(args.user);
  const std::string hash = auth::hash_password(password, args.iterations);

  FileLock lock(args.file + ".lock");
  auth::UserFile file;
  if (::access(args.file.c_str(), F_OK) == 0) {
    try {
      file = auth::UserFile::load(args.file);
    } catch (const std::exception& e) {
      failure(fmt::format("passwd: {}", e.what()));
    }
  }
  const auth::UserRecord* existing = file.find(args.user);
  const bool existed = existing != nullptr;
  // Changing a password keeps the permissions unless new ones are given.
  if (!args.permit_given) {
    permissions =
        existing ? existing->permissions : std::vector<std::string>{"STATUS", "INFO", "HELP"};
  }
  file.upsert(auth::UserRecord{args.user, hash, permissions});
  try {
    file.save(args.file);
  } catch (const std::exception& e) {
    failure(fmt::format("passwd: {}", e.what()));
  }
  std::string list;
  for (const auto& p : permissions)
    list += (list.empty() ? "" : ",") + p;
  fmt::print(stderr, "{} {} in {} (may run: {})\n", existed ? "updated" : "added", args.user,
             args.file, list.empty() ? "nothing" : list);
  return exit_ok;
}

void register_passwd(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<PasswdArgs>();
  CLI::App* cmd =
      app.add_subcommand("passwd", "Add or change a user of the command service's user file");
  cmd->add_option("file", args->file, "The user file (created if missing)")->required();
  cmd->add_option("user", args->user, "The user name")->required();
  cmd->add_option("--permit", args->permit,
                  "Commands the user may run, comma-separated [STATUS,INFO,HELP for a new user; "
                  "unchanged for an existing one]")
      ->delimiter(',')
      ->each([args](const std::string&) { args->permit_given = true; });
  cmd->add_option("--iterations", args->iterations,
                  "PBKDF2 iterations; the server checks every login, an unknown user's too, at "
                  "the file's largest count")
      ->check(CLI::Range(auth::min_iterations, auth::max_iterations))
      ->capture_default_str();
  cmd->footer(
      "\nThe password is read from stdin: asked twice without echo on a terminal, else the\n"
      "first line; it must fit the service's 256-byte AUTH line, without control characters.\n"
      "Lines look like user:pbkdf2-sha256:ITERATIONS:SALT:HASH:PERMISSIONS. The file keeps\n"
      "its owner, group and their permission bits; a symbolic link in its place is refused.\n"
      "Runs at the same time on one file take turns on FILE.lock, which is left in place.\n"
      "\nExample:\n"
      "  printf 'secret\\n' | sockit passwd users.txt alice --permit STATUS,INFO,HELP,TIME\n"
      "  sockit serve command --users users.txt\n");
  cmd->callback([args, &exit_code] { exit_code = run_passwd(*args); });
}

static const CommandRegistration passwd_registration{60, register_passwd};

}  // namespace
}  // namespace sockit::cli
