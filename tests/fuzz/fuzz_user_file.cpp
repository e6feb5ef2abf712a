// The command service's user file parser fed a file's text: a file accepted holds only
// valid names, hashes and permissions, finds each of its users by name, and serializes to
// text that parses back to the same users and the same text. Nothing but sockit::Error
// (invalid_argument, naming the line) is thrown.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_support.hpp"
#include "sockit/auth/password.hpp"
#include "sockit/auth/user_file.hpp"
#include "sockit/error.hpp"

using sockit::auth::UserFile;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text = sockit::fuzz::as_text(data, size);
  UserFile file;
  try {
    file = UserFile::parse(text, "fuzz");
  } catch (const sockit::Error& e) {
    FUZZ_CHECK(e.code() == sockit::errc::invalid_argument);
    FUZZ_CHECK(std::string_view(e.what()).find("fuzz:") != std::string_view::npos);
    return 0;
  }
  for (const auto* user : file.users()) {
    FUZZ_CHECK(UserFile::name_problem(user->name).empty());
    FUZZ_CHECK(sockit::auth::hash_problem(user->password_hash).empty());
    for (const auto& permission : user->permissions) {
      FUZZ_CHECK(UserFile::permission_problem(permission).empty());
      FUZZ_CHECK(user->permits(permission));
    }
    FUZZ_CHECK(file.find(user->name) == user);
  }
  const std::string serialized = file.serialize();
  UserFile again;
  try {
    again = UserFile::parse(serialized, "again");
  } catch (const sockit::Error&) {
    FUZZ_CHECK(!"the serialized file parses back");
  }
  FUZZ_CHECK(again.serialize() == serialized);
  const auto users = file.users();
  const auto users_again = again.users();
  FUZZ_CHECK(users.size() == users_again.size());
  for (std::size_t i = 0; i < users.size(); ++i) {
    FUZZ_CHECK(users[i]->name == users_again[i]->name);
    FUZZ_CHECK(users[i]->password_hash == users_again[i]->password_hash);
    FUZZ_CHECK(users[i]->permissions == users_again[i]->permissions);
  }
  return 0;
}
