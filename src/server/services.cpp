// The ready-made services and their registry (see sockit/server/services.hpp).
#include "sockit/server/services.hpp"

#include <algorithm>
#include <chrono>
#include <ctime>

#include "sockit/server/chat_service.hpp"
#include "sockit/server/line_session.hpp"
#include "sockit/server/token_bucket.hpp"
#include "sockit/server/udp_services.hpp"

namespace sockit::server {
namespace {

// Echo sends back what it receives, unchanged (Ruby's `client.puts line`: an unterminated
// last line gets its "\n" at EOF), as it arrives, from wherever the runner read it: no line
// is ever held, so a long line costs neither a copy nor memory. With no limits that is all
// it does. An explicit max_line or a rate limit is applied per line as the bytes pass: a
// line over max_line is echoed up to the limit, then "\nError: line too long ..." and the
// connection closes; a line over the rate limit is swallowed and answered with "Rate limit
// exceeded". As in LineSession, a "\r" before the "\n" is not counted in the length, and a
// line not finished within limits.line_timeout of its first byte gets "\nError: line not
// finished within N ms" and the connection closes.
class EchoSession final : public Session {
 public:
  explicit EchoSession(const SessionLimits& limits)
      : max_line_(limits.max_line),
        bucket_(limits.rate_per_second),
        line_timeout_(limits.line_timeout) {}

  void on_data(std::string_view bytes, Output& out) override {
    if (out.closing() || bytes.empty()) return;
    if (max_line_ == 0 && !bucket_.enabled()) {
      // Bytes passed straight through are never scanned for lines (counting them would cost
      // more than echoing them, at 64 KiB a read): a read counts as one message.
      out.tally(Counter::messages_in);
      out.write(bytes);
      mid_line_ = bytes.back() != '\n';
      if (line_timeout_.count() > 0 && (mid_line_ || line_timer_ != 0)) time_line(bytes, out);
      return;
    }
    const std::string_view all = bytes;
    std::uint64_t lines = 0;  // finished in this read: its messages
    while (!bytes.empty()) {
      const std::size_t newline = bytes.find('\n');
      const bool complete = newline != std::string_view::npos;
      const std::size_t take = complete ? newline + 1 : bytes.size();
      if (complete) ++lines;
      if (!pass(bytes.substr(0, take), complete, out)) break;
      bytes.remove_prefix(take);
    }
    if (lines != 0) out.tally(Counter::messages_in, lines);
    if (out.closing()) return;
    if (line_timeout_.count() > 0) time_line(all, out);
  }

  void on_timer(TimerId id, Output& out) override {
    if (id != line_timer_ || line_timer_ == 0) return;
    line_timer_ = 0;
    if (out.closing() || !mid_line_) return;
    out.write("\n");
    out.write(line_timeout_message(line_timeout_));
    out.close();
  }

  void on_eof(Output& out) override {
    if (!out.closing() && mid_line_) end_line(out);
    out.close();
  }

 private:
  // One piece of the current line, with its "\n" when `complete`; false once the line is
  // over the limit (the error is written and the connection closing).
  bool pass(std::string_view piece, bool complete, Output& out) {
    if (!mid_line_) {
      mid_line_ = true;
      dropping_ = !bucket_.try_take();  // a line takes its token when its first byte arrives
    }
    const std::size_t content = piece.size() - (complete ? 1 : 0);
    // A "\r" that ended the last read was held back: it is part of the line unless this
    // piece starts with the "\n" it belonged to.
    if (cr_pending_) {
      cr_pending_ = false;
      if (!(complete && content == 0)) {
        if (over(1)) return refuse({}, out);
        ++length_;
      }
      if (!dropping_) out.write("\r");
    }
    std::size_t counted = content;
    if (content > 0 && piece[content - 1] == '\r') {
      --counted;
      if (!complete) {
        cr_pending_ = true;
        piece.remove_suffix(1);
      }
    }
    if (over(counted)) return refuse(piece.substr(0, max_line_ - length_), out);
    length_ += counted;
    if (!dropping_) out.write(piece);
    if (complete) end_line(out, false);
    return true;
  }

  // After `bytes` were taken: a line left unfinished has the line timeout from its first
  // byte, restarted only when a line ended in `bytes`.
  void time_line(std::string_view bytes, Output& out) {
    if (line_timer_ != 0) {
      if (mid_line_ && bytes.find('\n') == std::string_view::npos) return;
      out.cancel_timer(line_timer_);
      line_timer_ = 0;
    }
    if (mid_line_) line_timer_ = out.start_timer(line_timeout_);
  }

  bool over(std::size_t more) const noexcept {
    return max_line_ != 0 && more > max_line_ - length_;
  }

  bool refuse(std::string_view fitting, Output& out) {
    if (!dropping_) out.write(fitting);
    out.write("\n");
    out.write(line_too_long_message(max_line_));
    out.close();
    return false;
  }

  // The line is done: its "\n" (when not already echoed) or the rate-limit answer.
  void end_line(Output& out, bool write_newline = true) {
    if (dropping_) {
      out.tally(Counter::messages_rate_limited);
      out.write("Rate limit exceeded\n");
    } else if (write_newline) {
      out.write(cr_pending_ ? "\r\n" : "\n");
    }
    mid_line_ = dropping_ = cr_pending_ = false;
    length_ = 0;
  }

  std::size_t max_line_;  // 0: no limit
  TokenBucket bucket_;
  std::chrono::milliseconds line_timeout_;  // 0: none
  TimerId line_timer_ = 0;                  // 0: no line under way
  std::size_t length_ = 0;                  // bytes of the current line so far, terminator excluded
  bool mid_line_ = false;                   // the last byte echoed was not a "\n"
  bool dropping_ = false;                   // the current line is over the rate limit
  bool cr_pending_ = false;                 // a "\r" ended the last read
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

std::shared_ptr<Service> make_chat(const ServiceConfig& config) {
  ChatOptions options;
  options.room_url = config.chat_room;
  return std::make_shared<ChatService>(std::move(options));
}

template <class S>
std::shared_ptr<Service> make(const ServiceConfig&) {
  return std::make_shared<S>();
}

template <class S>
std::shared_ptr<UdpService> make_udp() {
  return std::make_shared<S>();
}

ServiceEntry tcp(std::string_view name, std::string_view summary,
                 std::shared_ptr<Service> (*make)(const ServiceConfig&)) {
  ServiceEntry entry;
  entry.name = name;
  entry.summary = summary;
  entry.make = make;
  return entry;
}

ServiceEntry udp(std::string_view name, std::string_view summary,
                 std::shared_ptr<UdpService> (*make)()) {
  ServiceEntry entry;
  entry.name = name;
  entry.summary = summary;
  entry.transport = Transport::udp;
  entry.make_udp = make;
  return entry;
}

// The registry: one line per built-in service; register_service() appends.
std::vector<ServiceEntry>& registry() {
  static std::vector<ServiceEntry> entries{
      tcp("echo", "sends back what it receives, unchanged (port 7777)", &make<EchoService>),
      tcp("daytime", "writes the local time, Ruby's Time.now.to_s, and closes (port 20000)",
          &make<DaytimeService>),
      tcp("hello", "writes \"Hello, world!\" and closes (port 7777)", &make<HelloService>),
      tcp("chat", "chat room: nickname first, then lines to everyone (port 5000)", &make_chat),
      udp("time", "UDP: TIME, TIMESTAMP or ISO8601 -> the time in that form (port 3000)",
          &make_udp<UdpTimeService>),
      udp("echo", "UDP (with --udp): answers each datagram with \"Received: <data>\" (port 7777)",
          &make_udp<UdpEchoService>),
  };
  return entries;
}

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

std::string ruby_time_string(std::chrono::system_clock::time_point when, TimeStyle style) {
  std::time_t t = std::chrono::system_clock::to_time_t(when);
  std::tm local{};
  ::localtime_r(&t, &local);
  char text[64];
  const char* format = style == TimeStyle::to_s ? "%Y-%m-%d %H:%M:%S %z" : "%Y-%m-%dT%H:%M:%S%z";
  std::size_t n = std::strftime(text, sizeof text, format, &local);
  std::string_view stamp(text, n);
  if (style == TimeStyle::to_s || stamp.size() < 5) return std::string(stamp);
  // strftime gives "+0000"; ISO 8601 extended format (and Ruby) write "+00:00". Built by
  // appending pieces: std::string::insert trips a false -Wrestrict in g++ 12 at -O3.
  std::string result(stamp.substr(0, stamp.size() - 2));
  result += ':';
  result += stamp.substr(stamp.size() - 2);
  return result;
}

std::span<const ServiceEntry> registered_services() {
  return registry();
}

void register_service(const ServiceEntry& entry) {
  auto& entries = registry();
  for (auto& existing : entries) {
    if (existing.name == entry.name && existing.transport == entry.transport) {
      existing = entry;
      return;
    }
  }
  entries.push_back(entry);
}

const ServiceEntry* find_service_entry(std::string_view name, Transport transport) {
  for (const auto& entry : registry()) {
    if (entry.name == name && entry.transport == transport) return &entry;
  }
  return nullptr;
}

std::shared_ptr<Service> find_service(std::string_view name, const ServiceConfig& config) {
  const ServiceEntry* entry = find_service_entry(name, Transport::tcp);
  return entry != nullptr ? entry->make(config) : nullptr;
}

std::vector<std::string> service_names() {
  std::vector<std::string> names;
  for (const auto& entry : registry()) {
    if (entry.transport == Transport::tcp) names.emplace_back(entry.name);
  }
  return names;
}

}  // namespace sockit::server
