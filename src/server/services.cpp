// The ready-made services and their registry (see sockit/server/services.hpp).
#include "sockit/server/services.hpp"

#include <ctime>

#include "sockit/server/chat_service.hpp"
#include "sockit/server/line_session.hpp"
#include "sockit/server/token_bucket.hpp"

namespace sockit::server {
namespace {

// Echo streams: bytes go back as they arrive, from wherever the runner read them, and no
// line is ever held. A line longer than the read buffer therefore costs no copy (the
// reactor sends the echo straight from its read buffer) and a slow client dripping a long
// line costs no memory. The limits are LineSession's, counted per line as the bytes pass:
// a line over max_line is echoed up to the limit, then "\nError: line too long ..." and the
// connection closes; a line over the rate limit is swallowed and answered with "Rate limit
// exceeded". Terminators are normalised as LineSession does ("\r\n" -> "\n"), so a "\r"
// at the end of a read is held back until the next byte shows whether it ends the line.
class EchoSession final : public Session {
 public:
  explicit EchoSession(const SessionLimits& limits)
      : max_line_(limits.max_line), bucket_(limits.rate_per_second) {}

  void on_data(std::string_view bytes, Output& out) override {
    while (!bytes.empty() && !out.closing()) {
      if (held_cr_) {
        held_cr_ = false;
        if (bytes.front() != '\n' && !pass("\r", out)) return;
      }
      const std::size_t newline = bytes.find('\n');
      const bool complete = newline != std::string_view::npos;
      std::string_view body = bytes.substr(0, newline);
      bytes.remove_prefix(complete ? newline + 1 : bytes.size());
      if (!body.empty() && body.back() == '\r') {
        body.remove_suffix(1);
        held_cr_ = !complete;
      }
      if (!pass(body, out)) return;
      if (complete) end_line(out);
    }
  }

  // A last line without its newline is finished as if it had one, then the connection
  // closes once the answers are flushed.
  void on_eof(Output& out) override {
    if (!out.closing() && (started_ || held_cr_)) end_line(out);
    out.close();
  }

 private:
  // Echoes bytes of the current line; false once the line is over the limit.
  bool pass(std::string_view body, Output& out) {
    if (body.empty()) return true;
    start_line();
    if (body.size() > max_line_ - length_) {
      if (!dropping_) out.write(body.substr(0, max_line_ - length_));
      out.write("\n" + line_too_long_message(max_line_));
      out.close();
      return false;
    }
    length_ += body.size();
    if (!dropping_) out.write(body);
    return true;
  }

  void end_line(Output& out) {
    start_line();
    out.write(dropping_ ? std::string_view("Rate limit exceeded\n") : std::string_view("\n"));
    started_ = dropping_ = held_cr_ = false;
    length_ = 0;
  }

  // A line takes its rate-limit token when its first byte arrives.
  void start_line() {
    if (started_) return;
    started_ = true;
    dropping_ = !bucket_.try_take();
  }

  std::size_t max_line_;
  TokenBucket bucket_;
  std::size_t length_ = 0;  // bytes of the current line so far, terminator excluded
  bool started_ = false;
  bool dropping_ = false;  // the current line is over the rate limit
  bool held_cr_ = false;   // a "\r" ended the last read
};

// Writes one message as soon as the connection opens, then closes.
class OneShotSession final : public Session {
 public:
  explicit OneShotSession(std::string message) : message_(std::move(message)) {}
  void on_open(Output& out) override {
    out.write(message_);
    out.close();
  }
  void on_data(std::string_view, Output&) override {}

 private:
  std::string message_;
};

template <class S>
std::shared_ptr<Service> make() {
  return std::make_shared<S>();
}

// The registry: one line per service.
constexpr ServiceEntry registry[] = {
    {"echo", "echoes each line back (port 7777)", &make<EchoService>},
    {"daytime", "writes the local time, Ruby's Time.now.to_s, and closes (port 20000)",
     &make<DaytimeService>},
    {"hello", "writes \"Hello, world!\" and closes (port 7777)", &make<HelloService>},
    {"chat", "chat room: nickname first, then lines to everyone (port 5000)", &make<ChatService>},
};

}  // namespace

std::unique_ptr<Session> EchoService::open(const ConnectionInfo& connection) {
  return std::make_unique<EchoSession>(connection.limits);
}

std::unique_ptr<Session> DaytimeService::open(const ConnectionInfo&) {
  return std::make_unique<OneShotSession>(ruby_time_string(std::chrono::system_clock::now()) +
                                          "\n");
}

std::unique_ptr<Session> HelloService::open(const ConnectionInfo&) {
  return std::make_unique<OneShotSession>("Hello, world!\n");
}

std::string ruby_time_string(std::chrono::system_clock::time_point when) {
  std::time_t t = std::chrono::system_clock::to_time_t(when);
  std::tm local{};
  ::localtime_r(&t, &local);
  char text[64];
  std::size_t n = std::strftime(text, sizeof text, "%Y-%m-%d %H:%M:%S %z", &local);
  return std::string(text, n);
}

std::span<const ServiceEntry> registered_services() {
  return registry;
}

std::shared_ptr<Service> find_service(std::string_view name) {
  for (const auto& entry : registry) {
    if (entry.name == name) return entry.make();
  }
  return nullptr;
}

std::vector<std::string> service_names() {
  std::vector<std::string> names;
  for (const auto& entry : registry)
    names.emplace_back(entry.name);
  return names;
}

}  // namespace sockit::server
