// The ready-made services (the seeds' programs) and the registry `sockit serve` picks them
// from by name. Each is an ordinary Service, reusable from user code:
//   sockit::server::Server server(std::make_shared<sockit::server::EchoService>(), options);
// Adding a service: write its Service and Session in services.cpp and add one line to the
// registry table there.
#pragma once

#include <chrono>
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

// Ruby's Time#to_s for local time: "2026-11-25 23:36:57 +0000" (numeric UTC offset).
std::string ruby_time_string(std::chrono::system_clock::time_point when);

// One entry of the registry.
struct ServiceEntry {
  std::string_view name;
  std::string_view summary;  // one line for --help
  std::shared_ptr<Service> (*make)();
};

// Every registered service, in the order --help lists them.
std::span<const ServiceEntry> registered_services();
// A new instance of the named service, or nullptr when there is none by that name.
std::shared_ptr<Service> find_service(std::string_view name);
std::vector<std::string> service_names();

}  // namespace sockit::server
