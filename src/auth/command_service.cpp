// The authenticated command service (see sockit/auth/command_service.hpp). Sessions are
// sans-I/O. The PBKDF2 check (tens of milliseconds) runs on the server's worker pool, never
// on the connection's thread or loop, and the back-off for repeated failures refuses
// attempts instead of sleeping, so no client of an event loop waits for another's login.
#include "sockit/auth/command_service.hpp"

#include <algorithm>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>

#include "sockit/auth/password.hpp"
#include "sockit/framing.hpp"
#include "sockit/server/services.hpp"
#include "sockit/server/token_bucket.hpp"

namespace sockit::auth {
namespace {

using Clock = std::chrono::steady_clock;

constexpr std::string_view too_many_auths = "Too many AUTH attempts on this connection";

constexpr std::string_view words[] = {"STATUS", "INFO", "HELP", "WHOAMI", "TIME"};

bool is_command_word(std::string_view word) {
  return std::find(std::begin(words), std::end(words), word) != std::end(words);
}

bool is_upper_word(std::string_view word) {
  return !word.empty() &&
         std::all_of(word.begin(), word.end(), [](char c) { return c >= 'A' && c <= 'Z'; });
}

bool has_control(std::string_view text) {
  return std::any_of(text.begin(), text.end(), [](char c) {
    auto byte = static_cast<unsigned char>(c);
    return byte < 0x20 || byte == 0x7f;
  });
}

}  // namespace

std::span<const std::string_view> command_words() {
  return words;
}

struct CommandService::Shared {
  Shared(UserFile u, CommandOptions o)
      : users(std::move(u)),
        options(std::move(o)),
        throttle(options.throttle),
        cost(users.max_iterations()),
        decoy(decoy_hash(cost)) {
    if (!options.clock) options.clock = [] { return Clock::now(); };
    started = options.clock();
  }
  UserFile users;
  CommandOptions options;
  LoginThrottle throttle;
  // Every check costs what the dearest user's does, unknown users (the decoy) included.
  std::uint32_t cost;
  std::string decoy;
  Clock::time_point started;
};

namespace {

// One login attempt begun in the throttle. It ends on the worker pool, where the password is
// checked, so that it ends even if the connection is gone before the answer; an attempt
// never checked (its work dropped unrun) is abandoned.
class Attempt {
 public:
  Attempt(std::shared_ptr<LoginThrottle> throttle, std::string address)
      : throttle_(std::move(throttle)), address_(std::move(address)) {}
  ~Attempt() {
    if (!ended_) throttle_->abandoned(address_);
  }
  Attempt(const Attempt&) = delete;
  Attempt& operator=(const Attempt&) = delete;

  void end(bool ok, Clock::time_point now) {
    ended_ = true;
    if (ok) {
      throttle_->succeeded(address_);
    } else {
      throttle_->failed(address_, now);
    }
  }

 private:
  std::shared_ptr<LoginThrottle> throttle_;  // shares the ownership of the service's state
  std::string address_;
  bool ended_ = false;
};

}  // namespace

class CommandService::CommandSession final : public server::Session {
 public:
  CommandSession(std::shared_ptr<Shared> shared, const server::ConnectionInfo& connection)
      : shared_(std::move(shared)),
        address_(throttle_key(connection.peer)),
        codec_(LineCodecOptions{max_command_input, false}),
        bucket_(connection.limits.rate_per_second) {}

  void on_data(std::string_view bytes, server::Output& out) override {
    if (out.closing()) return;
    codec_.feed(bytes);
    answer_lines(out);
  }

  void on_eof(server::Output& out) override {
    eof_ = true;
    if (!checking_) finish(out);
  }

 private:
  // Answers the complete lines buffered, in order. An AUTH stops the loop until its check
  // comes back from the worker pool; lines behind it wait in the codec, and reading stops
  // so that they cannot pile up.
  void answer_lines(server::Output& out) {
    while (!checking_ && !out.closing()) {
      DecodeResult result = codec_.next();
      if (result.is_frame()) {
        line(result.frame, out);
        continue;
      }
      if (result.is_error()) reply_and_close(out, "Error: Input exceeds maximum length");
      break;
    }
    if (checking_) {
      out.set_reading(false);
      return;
    }
    if (codec_.buffered() == 0) codec_.release_memory();
  }

  void finish(server::Output& out) {
    if (!out.closing() && codec_.buffered() > 0) {
      std::string last(codec_.pending());
      codec_.reset();
      if (!last.empty() && last.back() == '\r') last.pop_back();
      line(last, out);
      if (checking_) return;  // an unterminated AUTH: finish() runs again after it
    }
    out.close();
  }

  static void reply(server::Output& out, std::string_view text) {
    out.write(text);
    out.write("\n");
  }
  static void reply_and_close(server::Output& out, std::string_view text) {
    reply(out, text);
    out.close();
  }

  void line(std::string_view text, server::Output& out) {
    if (text.empty()) return;
    if (text.size() > max_command_input) {
      reply_and_close(out, "Error: Input exceeds maximum length");
      return;
    }
    std::string_view word = text.substr(0, text.find(' '));
    if (!is_upper_word(word) || has_control(text)) {
      reply_and_close(out, "Error: Input contains invalid characters");
      return;
    }
    if (!bucket_.try_take()) {
      reply(out, "Rate limit exceeded");
      return;
    }
    if (word == "AUTH") {
      authenticate(text.size() > word.size() ? text.substr(word.size() + 1) : "", out);
      return;
    }
    if (!is_command_word(word)) {
      reply(out, "Error: Command not permitted");
      return;
    }
    if (!authorized(word)) {
      reply(out, "Unauthorized");
      return;
    }
    reply(out, run(word));
  }

  void authenticate(std::string_view arguments, server::Output& out) {
    // Every attempt counts, whatever its outcome, so that one client cannot keep the worker
    // pool hashing by repeating a login it knows; only "Server busy" gives it back.
    if (++auth_lines_ > shared_->options.max_auth_per_connection) {
      reply_and_close(out, too_many_auths);
      return;
    }
    const auto now = shared_->options.clock();
    if (!shared_->throttle.begin(address_, now)) {
      reply(out, "Too many failed attempts, try again later");
      return;
    }
    auto attempt = std::make_shared<Attempt>(
        std::shared_ptr<LoginThrottle>(shared_, &shared_->throttle), address_);
    auto space = arguments.find(' ');
    std::string name(arguments.substr(0, space));
    std::string password(space == std::string_view::npos ? std::string_view()
                                                         : arguments.substr(space + 1));
    const UserRecord* user = shared_->users.find(name);
    // An unknown user costs the same PBKDF2 run as a known one, so timing does not tell
    // which user names exist. The user file is never changed while serving, so `user`
    // stays valid; the continuation runs only while this session is alive.
    checking_ = true;
    CommandSession* self = this;
    // The work holds the shared state (and so the user file) even if the session is gone.
    bool queued =
        out.run_off_loop([self, shared = shared_, attempt, user, password = std::move(password)]() {
          const std::string& hash = user != nullptr ? user->password_hash : shared->decoy;
          bool ok =
              verify_password(password, hash, shared->cost) && user != nullptr && !password.empty();
          attempt->end(ok, shared->options.clock());
          return server::Continuation(
              [self, user, ok](server::Output& home) { self->checked(user, ok, home); });
        });
    if (!queued) {
      checking_ = false;
      --auth_lines_;
      reply(out, "Server busy, try again");
    }
  }

  // The password check is back from the worker pool (which has told the throttle).
  void checked(const UserRecord* user, bool ok, server::Output& out) {
    checking_ = false;
    if (ok) {
      user_ = *user;
      authenticated_at_ = shared_->options.clock();
      authenticated_ = true;
      reply(out, "Authenticated successfully");
    } else {
      authenticated_ = false;
      reply(out, "Unauthorized");
      if (++failures_ >= shared_->options.max_failures_per_connection) {
        reply_and_close(out, too_many_auths);
      }
    }
    if (out.closing()) return;
    out.set_reading(true);
    answer_lines(out);
    if (!checking_ && eof_) finish(out);
  }

  bool authorized(std::string_view word) {
    if (!authenticated_) return false;
    if (shared_->options.clock() - authenticated_at_ > shared_->options.session_ttl) {
      authenticated_ = false;  // expired: AUTH again
      return false;
    }
    return user_.permits(word);
  }

  std::string run(std::string_view word) const {
    if (word == "STATUS") {
      auto up = std::chrono::duration_cast<std::chrono::seconds>(shared_->options.clock() -
                                                                 shared_->started);
      return "Status: OK, up " + std::to_string(up.count()) + "s";
    }
    if (word == "INFO") return "Info: sockit command server, logged in as " + user_.name;
    if (word == "HELP") {
      std::string text = "Commands:";
      bool first = true;
      for (auto w : words) {
        if (!user_.permits(w)) continue;
        text += first ? " " : ", ";
        text += w;
        first = false;
      }
      return text;
    }
    if (word == "WHOAMI") return user_.name;
    return server::ruby_time_string(std::chrono::system_clock::now());  // TIME
  }

  std::shared_ptr<Shared> shared_;
  std::string address_;
  LineCodec codec_;
  server::TokenBucket bucket_;
  bool authenticated_ = false;
  UserRecord user_;
  Clock::time_point authenticated_at_{};
  unsigned failures_ = 0;
  unsigned auth_lines_ = 0;
  bool checking_ = false;  // an AUTH is being checked on the worker pool
  bool eof_ = false;
};

CommandService::CommandService(UserFile users, CommandOptions options)
    : shared_(std::make_shared<Shared>(std::move(users), std::move(options))) {}

CommandService::~CommandService() = default;

std::unique_ptr<server::Session> CommandService::open(const server::ConnectionInfo& connection) {
  return std::make_unique<CommandSession>(shared_, connection);
}

std::uint32_t CommandService::decoy_iterations() const {
  return hash_iterations(shared_->decoy);
}

void register_command_service() {
  server::ServiceEntry entry;
  entry.name = "command";
  entry.summary = "AUTH user password, then STATUS, INFO, HELP... (port 9000; needs --users)";
  entry.make = [](const server::ServiceConfig& config) -> std::shared_ptr<server::Service> {
    if (config.users_file.empty()) {
      throw std::invalid_argument("the command service needs a user file");
    }
    return std::make_shared<CommandService>(UserFile::load(config.users_file));
  };
  entry.needs_users_file = true;
  server::register_service(entry);
}

}  // namespace sockit::auth
