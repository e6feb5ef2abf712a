// Datagram services (the seeds' UDP TimeServer, and a UDP echo) and the small server that
// runs them: one socket, one datagram in, at most one datagram out. There are no
// connections, so none of the seven TCP architectures applies; the server honours stop()
// and SIGINT/SIGTERM, a request rate per client address, and a maximum datagram size. A
// datagram's source can be forged, so the server answers neither port 0 nor the ports of
// services that answer in turn, and the services answer no empty datagram and no reply.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "sockit/address.hpp"
#include "sockit/server/server.hpp"

namespace sockit::server {

// Answers one datagram. May be called from one thread at a time only.
class UdpService {
 public:
  virtual ~UdpService() = default;
  virtual std::string_view name() const = 0;
  virtual std::uint16_t default_port() const = 0;
  // The reply, or nullopt to send none.
  virtual std::optional<std::string> answer(std::string_view request, const Address& from) = 0;
};

// time (port 3000): "TIME" -> Ruby's Time.now.to_s, "TIMESTAMP" -> Unix seconds, "ISO8601"
// -> "2026-11-25T23:36:57+00:00"; surrounding whitespace ignored; another word of up to 16
// bytes (a mistyped command) -> "Unknown command. Use TIME, TIMESTAMP, or ISO8601". Anything
// else gets no answer: a blank datagram, and text with spaces or longer than 16 bytes, as
// are this error itself and the other services' replies, so that an error never answers an
// error and two servers never answer each other for ever. Replies carry no newline (the
// seed's socket.send does not add one).
class UdpTimeService : public UdpService {
 public:
  std::string_view name() const override { return "time"; }
  std::uint16_t default_port() const override { return 3000; }
  std::optional<std::string> answer(std::string_view request, const Address& from) override;
};

// echo over UDP (port 7777): replies "Received: <data>" with the datagram as it came. An
// empty datagram, or one that is itself an echo ("Received: ..."), gets no answer.
class UdpEchoService : public UdpService {
 public:
  std::string_view name() const override { return "echo"; }
  std::uint16_t default_port() const override { return 7777; }
  std::optional<std::string> answer(std::string_view request, const Address& from) override;
};

// The rate limit per client address a UdpServer applies unless told otherwise.
inline constexpr double default_udp_rate = 20;

// False for a source the server never answers: port 0 (no reply can reach it; the source
// is forged), the privileged ports (below 1024: only services send from them, echo, DNS and
// NTP among them), and the ports of UDP services that answer whatever reaches them (SSDP
// 1900, STUN 3478, WS-Discovery 3702, mDNS 5353, CoAP 5683, memcached 11211, and this
// library's own time and echo, 3000 and 7777). Answering one of those would set two
// servers answering each other, on a forged datagram, for ever.
bool answerable_source(const Address& from) noexcept;

struct UdpServerOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;  // 0: the kernel picks; local_address() tells
  // Datagrams larger than this are dropped unanswered (and logged).
  std::size_t max_datagram = 65'507;
  // Requests per second per client address (IP, any port), with a burst of one second's
  // worth; 0 = no limit. Datagrams over the rate are dropped: answering them would make the
  // server a reflector for whoever forges that address.
  double rate_per_second = default_udp_rate;
  LogLevel log_level = LogLevel::info;
  bool handle_signals = true;  // SIGINT/SIGTERM stop the server; SIGPIPE ignored
};

class UdpServer {
 public:
  // Binds at construction; throws Error when the address cannot be bound.
  UdpServer(std::shared_ptr<UdpService> service, UdpServerOptions options);
  ~UdpServer();
  UdpServer(const UdpServer&) = delete;
  UdpServer& operator=(const UdpServer&) = delete;

  Address local_address() const;
  // Prints "listening on HOST:PORT (NAME, udp)" to stderr, then serves until stopped.
  void run();
  // From any thread (or a signal handler's thread): run() returns promptly.
  void stop() noexcept;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// A new instance of the named UDP service of the registry (sockit/server/services.hpp), or
// nullptr.
std::shared_ptr<UdpService> find_udp_service(std::string_view name);

}  // namespace sockit::server
