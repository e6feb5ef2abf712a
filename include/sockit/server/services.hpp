// The ready-made services (the seeds' programs) and the registry `sockit serve` picks them
// from by name. Each is an ordinary Service, reusable from user code:
//   sockit::server::Server server(std::make_shared<sockit::server::EchoService>(), options);
// Adding a service: write its Service and Session in services.cpp and add one line to the
// registry table there (a service of another library registers itself: register_service).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "sockit/server/session.hpp"

namespace sockit::server {

// echo (port 7777): sends back what it receives, unchanged, as it arrives (Ruby:
// `client.puts line`); see services.cpp for the optional per-line limits.
class EchoService : public Service {
 public:
  std::string_view name() const override { return "echo"; }
  std::uint16_t default_port() const override { return 7777; }
  std::unique_ptr<Session> open(const ConnectionInfo& connection) override;
};

// daytime (port 20000): writes the local time as Ruby's Time.now.to_s and closes.
class DaytimeService : public Service {
 public:
  std::string_view name() const override { return "daytime"; }
  std::uint16_t default_port() const override { return 20000; }
  std::unique_ptr<Session> open(const ConnectionInfo& connection) override;
};

// hello (port 7777): writes "Hello, world!" and closes.
class HelloService : public Service {
 public:
  std::string_view name() const override { return "hello"; }
  std::uint16_t default_port() const override { return 7777; }
  std::unique_ptr<Session> open(const ConnectionInfo& connection) override;
};

// Local time as Ruby writes it: Time#to_s, "2026-11-25 23:36:57 +0000" (numeric UTC
// offset), or Time#iso8601, "2026-11-25T23:36:57+00:00".
enum class TimeStyle { to_s, iso8601 };
std::string ruby_time_string(std::chrono::system_clock::time_point when,
                             TimeStyle style = TimeStyle::to_s);

class UdpService;  // sockit/server/udp_services.hpp

// How a registered service is served: by a Server on one of the seven architectures, or
// by a UdpServer.
enum class Transport { tcp, udp };

// What a service may need from whoever starts it, beyond the server's own options.
struct ServiceConfig {
  std::string users_file;  // the user file of services that authenticate (command)
  // The HTTP service (http): the directory it serves and how.
  std::string http_root = ".";
  bool http_list = false;             // list directories without an index.html
  bool http_follow_symlinks = false;  // serve symlinks that lead out of the root
  std::uint64_t http_max_body = 1024 * 1024;
  std::string http_access_log;           // a file, "-" for stdout, empty for none
  double http_header_timeout = 10;       // seconds for a request head to arrive (else 408)
  double http_keep_alive = 30;           // seconds a kept-alive connection may wait for a request
  std::size_t http_max_requests = 1000;  // requests on one connection; the last says close
  // A WebSocket echo endpoint at this path (empty: none), and its largest message.
  std::string http_ws_echo;
  std::uint64_t http_ws_max_message = 1024 * 1024;
  double http_ws_ping = 30;  // seconds of silence before a ping (as long again: closed); 0: off
  bool quiet = false;        // the server logs errors only (serve --quiet)
  // chat: share the room through Redis, "redis://HOST:PORT/NAME" (see ChatOptions).
  std::string chat_room;
};

// One entry of the registry. A name may be registered once per transport (echo is both).
struct ServiceEntry {
  std::string_view name;
  std::string_view summary;  // one line for --help
  Transport transport = Transport::tcp;
  // Set for TCP entries; may throw std::invalid_argument for a config it cannot use.
  std::shared_ptr<Service> (*make)(const ServiceConfig&) = nullptr;
  // Set for UDP entries.
  std::shared_ptr<UdpService> (*make_udp)() = nullptr;
  bool needs_users_file = false;  // make() wants ServiceConfig::users_file
};

// Every registered service: the built-in ones, then those added by register_service().
// `sockit serve --help` lists the TCP ones first, each group in this order.
std::span<const ServiceEntry> registered_services();
// Adds an entry (or replaces the one with the same name and transport). Services that live
// in other libraries (command, in sockit_auth) are added by their library's registration
// call, e.g. sockit::auth::register_command_service(). Call it before serving, from one
// thread: the registry is not guarded against concurrent lookups.
void register_service(const ServiceEntry& entry);
// The registered entry with that name and transport, or nullptr.
const ServiceEntry* find_service_entry(std::string_view name, Transport transport);
// A new instance of the named TCP service, or nullptr when there is none by that name.
std::shared_ptr<Service> find_service(std::string_view name, const ServiceConfig& config = {});
// The names of the TCP services, in registry order.
std::vector<std::string> service_names();

}  // namespace sockit::server
