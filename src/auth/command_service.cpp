// The authenticated command service (see sockit/auth/command_service.hpp). Sessions are
// sans-I/O. The PBKDF2 check (tens of milliseconds) runs inline where the connection has a
// thread of its own; on an event loop it runs on the service's verifier threads and the
// answers go through the connection's Peer, so one AUTH does not stall every connection of
// the loop. The back-off for repeated failures refuses attempts instead of sleeping.
#include "sockit/auth/command_service.hpp"

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <string>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include "sockit/auth/password.hpp"
#include "sockit/framing.hpp"
#include "sockit/server/services.hpp"
#include "sockit/server/token_bucket.hpp"

namespace sockit::auth {
namespace {

using Clock = std::chrono::steady_clock;

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

// Runs password checks off the connections' threads, for sessions on an event loop. Its
// threads start on first use, so a process that only forks workers never has any. The
// destructor drops the checks still queued (their connections went with the service) and
// joins the threads, so none is left hashing while the process exits and OpenSSL cleans
// up. A job holds only a weak reference to its conversation, so the service is normally
// destroyed elsewhere; should the last reference go on a verifier thread, that thread is
// detached and ends by itself.
class Verifier {
 public:
  using Job = std::function<void()>;
  static constexpr unsigned thread_count = 2;
  // Checks waiting beyond this are refused ("Server busy") rather than queued for minutes.
  static constexpr std::size_t max_waiting = 64;

  Verifier() = default;
  ~Verifier() {
    {
      std::lock_guard lock(queue_->mutex);
      queue_->closed = true;
    }
    queue_->ready.notify_all();
    for (auto& thread : threads_) {
      if (thread.get_id() == std::this_thread::get_id()) {
        thread.detach();
      } else if (thread.joinable()) {
        thread.join();
      }
    }
  }
  Verifier(const Verifier&) = delete;
  Verifier& operator=(const Verifier&) = delete;

  // False when too many checks are waiting or no thread could be started.
  bool submit(Job job) {
    std::lock_guard lock(queue_->mutex);
    if (queue_->jobs.size() >= max_waiting) return false;
    while (threads_.size() < thread_count) {
      try {
        threads_.emplace_back([queue = queue_] { work(*queue); });
      } catch (const std::system_error&) {
        if (threads_.empty()) return false;
        break;
      }
    }
    queue_->jobs.push_back(std::move(job));
    queue_->ready.notify_one();
    return true;
  }

 private:
  struct Queue {
    std::mutex mutex;
    std::condition_variable ready;
    std::deque<Job> jobs;
    bool closed = false;
  };

  static void work(Queue& queue) {
    std::unique_lock lock(queue.mutex);
    for (;;) {
      queue.ready.wait(lock, [&] { return !queue.jobs.empty() || queue.closed; });
      if (queue.closed) return;
      Job job = std::move(queue.jobs.front());
      queue.jobs.pop_front();
      lock.unlock();
      job();
      job = nullptr;  // what the job held is released outside the lock
      lock.lock();
    }
  }

  std::shared_ptr<Queue> queue_ = std::make_shared<Queue>();
  std::vector<std::thread> threads_;  // guarded by queue_->mutex until destruction
};

struct CommandService::Shared {
  Shared(UserFile u, CommandOptions o)
      : users(std::move(u)), options(std::move(o)), throttle(options.throttle) {
    if (!options.clock) options.clock = [] { return Clock::now(); };
    started = options.clock();
  }
  UserFile users;
  CommandOptions options;
  LoginThrottle throttle;
  Clock::time_point started;
  Verifier verifier;
};

namespace {

// An Output over a Peer: how a session on an event loop answers once it answers from
// other threads too (answers must not overtake each other, so all of them go this way).
class PeerOutput final : public server::Output {
 public:
  PeerOutput(std::shared_ptr<server::Peer> peer, bool& closed)
      : peer_(std::move(peer)), closed_(closed) {}
  void write(std::string_view bytes) override {
    if (!closed_) peer_->send(std::string(bytes));
  }
  void close() override {
    if (closed_) return;
    closed_ = true;
    peer_->close();
  }
  bool closing() const noexcept override { return closed_; }
  std::shared_ptr<server::Peer> peer() override { return peer_; }

 private:
  std::shared_ptr<server::Peer> peer_;
  bool& closed_;
};

// One client's conversation. Shared between its session and a password check in flight;
// every member is guarded by mutex_.
class Conversation : public std::enable_shared_from_this<Conversation> {
 public:
  Conversation(std::shared_ptr<CommandService::Shared> shared,
               const server::ConnectionInfo& connection)
      : shared_(std::move(shared)),
        address_(connection.peer.is_ip() ? connection.peer.ip() : connection.peer.to_string()),
        asynchronous_(connection.shares_thread),
        codec_(LineCodecOptions{max_command_input, false}),
        bucket_(connection.limits.rate_per_second) {}

  void open(server::Output& out) {
    std::lock_guard lock(mutex_);
    if (asynchronous_) peer_ = out.peer();
  }

  void data(std::string_view bytes, server::Output& out) {
    std::lock_guard lock(mutex_);
    with_output(out, [&](server::Output& answers) {
      if (answers.closing()) return;
      codec_.feed(bytes);
      // While a check is pending, input waits in the codec, within a bound.
      if (pending_ && codec_.buffered() > max_held_input) {
        reply_and_close(answers, "Error: Input exceeds maximum length");
        return;
      }
      drain(answers);
    });
  }

  void eof(server::Output& out) {
    std::lock_guard lock(mutex_);
    eof_ = true;
    with_output(out, [&](server::Output& answers) { drain(answers); });
  }

  void close() {
    std::lock_guard lock(mutex_);
    gone_ = true;
  }

 private:
  // Input held while a check is pending: a few lines' worth.
  static constexpr std::size_t max_held_input = 16 * max_command_input;

  template <class Body>
  void with_output(server::Output& out, Body&& body) {
    if (gone_) return;
    if (peer_) {
      PeerOutput answers(peer_, closed_);
      body(answers);
    } else {
      body(out);
    }
  }

  static void reply(server::Output& out, std::string_view text) {
    std::string line(text);
    line += '\n';
    out.write(line);
  }
  static void reply_and_close(server::Output& out, std::string_view text) {
    reply(out, text);
    out.close();
  }

  // Answers the lines that have arrived, until none is complete, the connection closes or
  // a check is pending; after the client's EOF, the last unterminated line too, then closes.
  void drain(server::Output& out) {
    while (!pending_ && !out.closing()) {
      DecodeResult result = codec_.next();
      if (result.is_frame()) {
        line(result.frame, out);
        continue;
      }
      if (result.is_error()) {
        reply_and_close(out, "Error: Input exceeds maximum length");
        return;
      }
      break;
    }
    if (pending_ || out.closing()) return;
    if (eof_) {
      if (codec_.buffered() > 0) {
        std::string last(codec_.pending());
        codec_.reset();
        if (!last.empty() && last.back() == '\r') last.pop_back();
        line(last, out);
        if (pending_) return;  // closed once the check is answered
      }
      out.close();
      return;
    }
    if (codec_.buffered() == 0) codec_.release_memory();
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
    const auto now = shared_->options.clock();
    if (!shared_->throttle.allowed(address_, now)) {
      reply(out, "Too many failed attempts, try again later");
      return;
    }
    auto space = arguments.find(' ');
    std::string name(arguments.substr(0, space));
    std::string password(space == std::string_view::npos ? std::string_view()
                                                         : arguments.substr(space + 1));
    const UserRecord* user = shared_->users.find(name);
    // An unknown user costs the same PBKDF2 run as a known one, so timing does not tell
    // which user names exist.
    std::string hash = user != nullptr ? user->password_hash : decoy_hash();
    const bool known = user != nullptr && !password.empty();
    if (!asynchronous_) {
      checked(verify_password(password, hash) && known, name, now, out);
      return;
    }
    pending_ = true;
    const bool queued =
        shared_->verifier.submit([weak = weak_from_this(), password = std::move(password),
                                  hash = std::move(hash), known, name, now] {
          const bool ok = verify_password(password, hash) && known;
          const std::shared_ptr<Conversation> self = weak.lock();
          if (!self) return;  // the connection has ended
          std::lock_guard lock(self->mutex_);
          if (self->gone_) return;
          self->pending_ = false;
          PeerOutput answers(self->peer_, self->closed_);
          self->checked(ok, name, now, answers);
          self->drain(answers);
        });
    if (!queued) {
      pending_ = false;
      reply(out, "Server busy, try again later");
    }
  }

  void checked(bool ok, const std::string& name, Clock::time_point now, server::Output& out) {
    if (ok) {
      shared_->throttle.succeeded(address_);
      user_ = *shared_->users.find(name);
      authenticated_at_ = now;
      authenticated_ = true;
      reply(out, "Authenticated successfully");
      return;
    }
    authenticated_ = false;
    shared_->throttle.failed(address_, now);
    reply(out, "Unauthorized");
    if (++failures_ >= shared_->options.max_failures_per_connection) out.close();
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

  std::mutex mutex_;
  std::shared_ptr<CommandService::Shared> shared_;
  std::string address_;
  const bool asynchronous_;             // checks run on the verifier, answers via peer_
  std::shared_ptr<server::Peer> peer_;  // set on open when asynchronous_
  bool closed_ = false;                 // PeerOutput's close() was called
  bool pending_ = false;                // a password check is running on the verifier
  bool eof_ = false;                    // the client has sent EOF
  bool gone_ = false;                   // the connection has ended
  LineCodec codec_;
  server::TokenBucket bucket_;
  bool authenticated_ = false;
  UserRecord user_;
  Clock::time_point authenticated_at_{};
  unsigned failures_ = 0;
};

class CommandSession final : public server::Session {
 public:
  CommandSession(std::shared_ptr<CommandService::Shared> shared,
                 const server::ConnectionInfo& connection)
      : conversation_(std::make_shared<Conversation>(std::move(shared), connection)) {}

  void on_open(server::Output& out) override { conversation_->open(out); }
  void on_data(std::string_view bytes, server::Output& out) override {
    conversation_->data(bytes, out);
  }
  void on_eof(server::Output& out) override { conversation_->eof(out); }
  void on_close() override { conversation_->close(); }

 private:
  std::shared_ptr<Conversation> conversation_;
};

}  // namespace

CommandService::CommandService(UserFile users, CommandOptions options)
    : shared_(std::make_shared<Shared>(std::move(users), std::move(options))) {}

CommandService::~CommandService() = default;

std::unique_ptr<server::Session> CommandService::open(const server::ConnectionInfo& connection) {
  return std::make_unique<CommandSession>(shared_, connection);
}

}  // namespace sockit::auth
