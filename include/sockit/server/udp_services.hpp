// Datagram services (the seeds' UDP TimeServer, and a UDP echo) and the small server that
// runs them: one socket, one datagram in, at most one datagram out. There are no
// connections, so none of the seven TCP architectures applies; the server honours stop()
// and SIGINT/SIGTERM, a request rate per client address, and a maximum datagram size.
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
// -> "2026-11-25T23:36:57+00:00"; surrounding whitespace ignored; anything else ->
// "Unknown command. Use TIME, TIMESTAMP, or ISO8601". Replies carry no newline (the seed's
// socket.send does not add one).
class UdpTimeService : public UdpService {
 public:
  std::string_view name() const override { return "time"; }
  std::uint16_t default_port() const override { return 3000; }
  std::optional<std::string> answer(std::string_view request, const Address& from) override;
};

// echo over UDP (port 7777): replies "Received: <data>" with the datagram as it came.
class UdpEchoService : public UdpService {
 public:
  std::string_view name() const override { return "echo"; }
  std::uint16_t default_port() const override { return 7777; }
  std::optional<std::string> answer(std::string_view request, const Address& from) override;
};

struct UdpServerOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;  // 0: the kernel picks; local_address() tells
  // Datagrams larger than this are dropped unanswered (and logged).
  std::size_t max_datagram = 65'507;
  // Requests per second per client address (IP, any port); 0 = no limit. Datagrams over
  // the rate are dropped: answering them would make the server a reflector.
  double rate_per_second = 0;
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
