// command (port 9000): the seeds' SecureCommandServer and AuthenticatedServer, done right.
// A line protocol: "AUTH <user> <password>", then whitelisted commands the user's entry in
// the user file permits. Passwords are PBKDF2 hashes compared in constant time; sessions
// expire; failed logins from one address are slowed down.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string_view>

#include "sockit/auth/login_throttle.hpp"
#include "sockit/auth/user_file.hpp"
#include "sockit/server/session.hpp"

namespace sockit::auth {

// The protocol (every answer one line ending in "\n"; the client's "\n" or "\r\n" is
// stripped before anything is checked):
//   AUTH <user> <password>  -> "Authenticated successfully" | "Unauthorized"
//                              | "Too many failed attempts, try again later" (back-off)
//   STATUS | INFO | HELP | WHOAMI | TIME -> the answer, when the user's permissions name
//                              the command; "Unauthorized" when they do not, before AUTH,
//                              or once the session has expired (AUTH again)
//   a line over 256 bytes   -> "Error: Input exceeds maximum length", then close
//   a command word with characters outside A-Z, or control characters anywhere
//                           -> "Error: Input contains invalid characters", then close
//   any other command word  -> "Error: Command not permitted"
// "Server busy, try again" answers an AUTH when the worker pool's queue is full. Every
// password check, an unknown user's included, costs the PBKDF2 iterations of the dearest
// hash in the user file (UserFile::max_iterations), so timing tells no user names.
// Empty lines are ignored. After max_failures_per_connection failed AUTHs, and at the AUTH
// line past max_auth_per_connection (whatever the outcomes), the connection answers
// "Too many AUTH attempts on this connection" and closes.
// Failures are counted per client address (IPv6: per /64, see throttle_key), and a login
// being checked counts as a failure until it succeeds, so parallel connections from one
// address get no more guesses than one. The back-off is shared by the connections of one
// process: on fork each connection starts afresh, on prefork each worker counts on its own
// (the server says so at start-up).
inline constexpr std::size_t max_command_input = 256;

// Every command word the service implements, in HELP's order.
std::span<const std::string_view> command_words();

struct CommandOptions {
  std::chrono::milliseconds session_ttl{30 * 60'000};
  unsigned max_failures_per_connection = 5;
  unsigned max_auth_per_connection = 10;
  ThrottleOptions throttle;
  // The clock sessions and the throttle read (from the worker pool too); tests substitute
  // their own.
  std::function<std::chrono::steady_clock::time_point()> clock;
};

class CommandService : public server::Service {
 public:
  explicit CommandService(UserFile users, CommandOptions options = {});
  ~CommandService() override;

  std::string_view name() const override { return "command"; }
  std::uint16_t default_port() const override { return 9000; }
  std::string_view per_process_state() const override {
    return "the back-off for failed logins (per address)";
  }
  std::unique_ptr<server::Session> open(const server::ConnectionInfo& connection) override;

  // What checking an unknown user's password costs, in PBKDF2 iterations.
  std::uint32_t decoy_iterations() const;

 private:
  struct Shared;
  class CommandSession;

  std::shared_ptr<Shared> shared_;
};

// Adds the command service to the service registry (sockit/server/services.hpp), so
// `sockit serve command --users FILE` finds it; libsockit alone cannot, as the service
// needs OpenSSL. Call it once at startup, before looking services up.
void register_command_service();

}  // namespace sockit::auth
