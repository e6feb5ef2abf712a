// The UDP time and echo services and the datagram server loop (see
// sockit/server/udp_services.hpp).
#include "sockit/server/udp_services.hpp"

#include <algorithm>
#include <array>
#include <cstdint>
#include <iterator>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "../datagram_loop.hpp"
#include "runtime.hpp"
#include "signals.hpp"
#include "sockit/error.hpp"
#include "sockit/server/services.hpp"
#include "sockit/server/token_bucket.hpp"
#include "sockit/udp.hpp"

namespace sockit::server {
namespace {

// Ruby's String#strip: blanks, line ends and NULs.
std::string_view strip(std::string_view text) {
  constexpr std::string_view blanks(" \t\n\v\f\r\0", 7);
  auto first = text.find_first_not_of(blanks);
  if (first == std::string_view::npos) return {};
  auto last = text.find_last_not_of(blanks);
  return text.substr(first, last - first + 1);
}

// Per-address token buckets. The table is bounded: addresses silent for a while are
// forgotten, and while it is full of active addresses (a flood from many sources) new
// addresses are refused rather than letting the table grow without limit.
class RateTable {
 public:
  explicit RateTable(double rate) : rate_(rate) {}

  bool admit(const Address& from, TokenBucket::Clock::time_point now) {
    if (rate_ <= 0) return true;
    std::string key = from.ip();
    auto it = buckets_.find(key);
    if (it == buckets_.end()) {
      if (buckets_.size() >= max_entries) prune(now);
      if (buckets_.size() >= max_entries) return false;
      it = buckets_.emplace(std::move(key), Entry{TokenBucket(rate_, 0, now), now}).first;
    }
    it->second.last_seen = now;
    return it->second.bucket.try_take(now);
  }

 private:
  static constexpr std::size_t max_entries = 8192;
  static constexpr std::chrono::seconds forget_after{30};

  struct Entry {
    TokenBucket bucket;
    TokenBucket::Clock::time_point last_seen;
  };

  void prune(TokenBucket::Clock::time_point now) {
    for (auto it = buckets_.begin(); it != buckets_.end();) {
      it = now - it->second.last_seen > forget_after ? buckets_.erase(it) : std::next(it);
    }
  }

  double rate_;
  std::unordered_map<std::string, Entry> buckets_;
};

// A word someone may have meant as a command: no blanks inside, at most 16 bytes. Errors,
// times and echoes all hold a space or run longer.
bool could_be_a_command(std::string_view command) {
  constexpr std::size_t longest = 16;
  return !command.empty() && command.size() <= longest &&
         command.find_first_of(" \t\n\v\f\r") == std::string_view::npos;
}

// The time service's answer to `request` at `now`.
std::optional<std::string> time_answer(std::string_view request,
                                       std::chrono::system_clock::time_point now) {
  std::string_view command = strip(request);
  if (command == "TIME") return ruby_time_string(now);
  if (command == "TIMESTAMP") {
    auto seconds = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch());
    return std::to_string(seconds.count());
  }
  if (command == "ISO8601") return ruby_time_string(now, TimeStyle::iso8601);
  if (!could_be_a_command(command)) return std::nullopt;
  return "Unknown command. Use TIME, TIMESTAMP, or ISO8601";
}

constexpr std::string_view echo_prefix = "Received: ";

}  // namespace

std::optional<std::string> UdpTimeService::answer(std::string_view request, const Address&) {
  return time_answer(request, std::chrono::system_clock::now());
}

std::optional<std::string> UdpEchoService::answer(std::string_view request, const Address&) {
  if (request.empty() || request.starts_with(echo_prefix)) return std::nullopt;
  std::string reply(echo_prefix);
  reply += request;
  return reply;
}

bool answerable_source(const Address& from) noexcept {
  constexpr std::uint16_t first_unprivileged = 1024;
  constexpr std::array<std::uint16_t, 8> answering_services{1900, 3000, 3478, 3702,
                                                            5353, 5683, 7777, 11211};
  std::uint16_t port = from.port();
  if (port < first_unprivileged) return false;
  return std::find(answering_services.begin(), answering_services.end(), port) ==
         answering_services.end();
}

struct UdpServer::Impl {
  Impl(std::shared_ptr<UdpService> s, UdpServerOptions o)
      : service(std::move(s)),
        options(std::move(o)),
        log(options.log_level, &log_writer),
        socket(UdpSocket::bound(options.host, options.port)),
        rates(options.rate_per_second) {}

  void serve();
  void handle(std::string_view request, const Address& from);

  std::shared_ptr<UdpService> service;
  UdpServerOptions options;
  detail::LogWriter log_writer;  // stderr, off the serving thread; flushed when destroyed
  detail::Logger log;
  UdpSocket socket;
  RateTable rates;
  detail::StopSignal stop;
};

UdpServer::UdpServer(std::shared_ptr<UdpService> service, UdpServerOptions options) {
  if (!service) throw std::invalid_argument("UdpServer: no service given");
  impl_ = std::make_unique<Impl>(std::move(service), std::move(options));
}

UdpServer::~UdpServer() = default;

Address UdpServer::local_address() const {
  return impl_->socket.local_address();
}

void UdpServer::stop() noexcept {
  impl_->stop.request();
}

void UdpServer::run() {
  Impl& s = *impl_;
  detail::SignalScope signals(s.stop, s.options.handle_signals);
  // Scripts and tests wait for this line (with the real port), so it prints even when quiet.
  detail::Logger(LogLevel::info)
      .info("listening on " + local_address().to_string() + " (" + std::string(s.service->name()) +
            ", udp)");
  s.serve();
  s.log.flush();  // the service's lines come before the last one
  detail::Logger(LogLevel::info).info("Shutdown complete");
}

void UdpServer::Impl::serve() {
  // One byte more than the limit tells an oversized datagram from one exactly at it;
  // MSG_TRUNC reports the real size either way.
  std::vector<char> buffer(std::min(options.max_datagram, UdpSocket::max_datagram) + 1);
  try {
    // The stop signal is an eventfd, written by stop() or by the SIGINT/SIGTERM handler:
    // unlike a stop_token's request, that write is async-signal-safe.
    sockit::detail::serve_datagrams(
        socket, stop.fd(), Deadline{}, buffer,
        [this, &buffer](const Datagram& datagram) {
          if (datagram.size > options.max_datagram) {
            log.debug("dropped a " + std::to_string(datagram.size) + "-byte datagram from " +
                      datagram.from.to_string() + " (max " + std::to_string(options.max_datagram) +
                      ")");
            return;
          }
          handle(std::string_view(buffer.data(), datagram.size), datagram.from);
        },
        // ICMP errors from earlier replies surface here; they concern that peer only.
        [this](const Error& e) { log.debug(std::string("recvfrom: ") + e.what()); });
  } catch (const Error& e) {
    log.error(e.what());
  }
}

void UdpServer::Impl::handle(std::string_view request, const Address& from) {
  if (!answerable_source(from)) {
    log.debug("dropped a datagram from " + from.to_string() +
              ": a source port never answered (0, privileged, or a UDP service's)");
    return;
  }
  if (!rates.admit(from, TokenBucket::Clock::now())) {
    log.debug("rate limit: dropped a datagram from " + from.to_string());
    return;
  }
  log.debug("request from " + from.to_string());
  std::optional<std::string> reply;
  try {
    reply = service->answer(request, from);
  } catch (const std::exception& e) {
    log.error("service " + std::string(service->name()) + " for " + from.to_string() + ": " +
              e.what());
    return;
  }
  if (!reply) return;
  try {
    socket.send_to(*reply, from);
  } catch (const Error& e) {
    log.error(e.what());
  }
}

std::shared_ptr<UdpService> find_udp_service(std::string_view name) {
  const ServiceEntry* entry = find_service_entry(name, Transport::udp);
  return entry != nullptr ? entry->make_udp() : nullptr;
}

}  // namespace sockit::server
