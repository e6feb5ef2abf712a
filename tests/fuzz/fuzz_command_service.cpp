// The command service fed a client's bytes in fuzzer-chosen pieces, its password checks
// finishing whenever the fuzzer says (the worker pool's timing), on a clock that stands
// still. Invariants: every answer is one of the documented lines; nothing is written after
// the session closes; reading is paused only while a password check is out; and what the
// client hears does not depend on how its bytes were cut or when the checks came back.
// A password check is 100,000 PBKDF2 rounds, which under AddressSanitizer take a second:
// one check runs per input at most, only when the first byte is 0xf0 or more (so most
// inputs stay fast); other AUTHs find the pool full.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "fuzz_support.hpp"
#include "sockit/auth/command_service.hpp"
#include "sockit/auth/password.hpp"
#include "sockit/auth/user_file.hpp"

namespace {

using sockit::auth::CommandOptions;
using sockit::auth::CommandService;
using sockit::auth::UserFile;
using sockit::fuzz::RecordingOutput;

// alice (password "secret") may run everything but TIME; bob ("pw") only WHOAMI.
const UserFile& users() {
  static const UserFile file = [] {
    UserFile f;
    f.upsert({"alice",
              sockit::auth::hash_password("secret", sockit::auth::min_iterations),
              {"STATUS", "INFO", "HELP", "WHOAMI"}});
    f.upsert({"bob", sockit::auth::hash_password("pw", sockit::auth::min_iterations), {"WHOAMI"}});
    return f;
  }();
  return file;
}

bool answer_allowed(std::string_view line) {
  static constexpr std::string_view fixed[] = {
      "Authenticated successfully",
      "Unauthorized",
      "Too many failed attempts, try again later",
      "Error: Input exceeds maximum length",
      "Error: Input contains invalid characters",
      "Error: Command not permitted",
      "Server busy, try again",
      "Rate limit exceeded",
      "Info: sockit command server, logged in as alice",
      "Info: sockit command server, logged in as bob",
      "alice",
      "bob",
      "Status: OK, up 0s",
  };
  for (const auto answer : fixed) {
    if (line == answer) return true;
  }
  return line.rfind("Commands:", 0) == 0;
}

class Run {
 public:
  Run(std::uint8_t timing, bool check_allowed) : timing_(timing) {
    out_.off_loop_full = !check_allowed;
    CommandOptions options;
    const auto now = std::chrono::steady_clock::time_point(std::chrono::hours(1000));
    options.clock = [now] { return now; };
    service_ = std::make_unique<CommandService>(users(), options);
    sockit::server::ConnectionInfo info{
        sockit::Address::parse("127.0.0.1", 40000), sockit::Address::parse("127.0.0.1", 9000), {}};
    session_ = service_->open(info);
    session_->on_open(out_);
  }
  Run(const Run&) = delete;
  Run& operator=(const Run&) = delete;
  ~Run() { session_->on_close(); }

  void data(std::string_view bytes) {
    held_ += bytes;
    step();
  }

  // EOF, then every check still out: returns what the client heard.
  const std::string& end() {
    for (int rounds = 0; !out_.closed && rounds < 16; ++rounds) {
      if (out_.reading && held_.empty() && !eof_sent_) {
        eof_sent_ = true;
        session_->on_eof(out_);
      }
      if (!out_.off_loop.empty()) {
        complete_check();
      } else if (out_.reading && !held_.empty()) {
        deliver();
      } else if (eof_sent_) {
        break;
      }
    }
    FUZZ_CHECK(out_.closed);
    FUZZ_CHECK(out_.off_loop.empty());
    FUZZ_CHECK(out_.writes_after_close == 0);
    check_answers();
    return out_.written;
  }

 private:
  void step() {
    // The pool's timing: the check comes back before or after the next bytes.
    if (!out_.off_loop.empty() && (timing_ & 1) != 0) complete_check();
    timing_ = static_cast<std::uint8_t>(timing_ >> 1 | timing_ << 7);
    if (out_.reading) deliver();
  }

  void deliver() {
    if (out_.closed) {
      held_.clear();
      return;
    }
    std::string bytes = std::move(held_);
    held_.clear();
    session_->on_data(bytes, out_);
    // Reading pauses exactly while a check is out.
    FUZZ_CHECK(out_.closed || out_.reading == out_.off_loop.empty());
  }

  void complete_check() {
    FUZZ_CHECK(out_.off_loop.size() == 1);  // one AUTH at a time
    out_.off_loop_full = true;
    out_.run_off_loop_work();
    if (out_.reading && !held_.empty()) deliver();
  }

  void check_answers() const {
    const std::string& written = out_.written;
    FUZZ_CHECK(written.empty() || written.back() == '\n');
    std::string_view rest = written;
    while (!rest.empty()) {
      const std::string_view line = rest.substr(0, rest.find('\n'));
      rest.remove_prefix(line.size() + 1);
      FUZZ_CHECK(answer_allowed(line));
    }
  }

  std::uint8_t timing_;
  std::unique_ptr<CommandService> service_;
  std::unique_ptr<sockit::server::Session> session_;
  RecordingOutput out_;
  std::string held_;  // arrived while reading was paused
  bool eof_sent_ = false;
};

}  // namespace

// OpenSSL's PBKDF2 allocates in each of its rounds: through ASan's default 256 MiB
// quarantine that costs several times the rounds themselves. A smaller one keeps the target
// near a check a second and still catches a use after free of the session's own memory
// unless 8 MiB were freed in between. ASAN_OPTIONS overrides it.
// NOLINTNEXTLINE(bugprone-reserved-identifier): the name AddressSanitizer looks for
extern "C" const char* __asan_default_options() {
  return "quarantine_size_mb=8";
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const sockit::fuzz::SplitInput input = sockit::fuzz::split_input(data, size);
  const bool check_allowed = input.choice >= 0xf0;
  Run whole(0, check_allowed);
  whole.data(input.message);
  const std::string heard = whole.end();
  Run split(input.choice, check_allowed);
  for (std::string_view piece : sockit::fuzz::pieces(input.choice, input.message)) {
    split.data(piece);
  }
  FUZZ_CHECK(split.end() == heard);
  return 0;
}
