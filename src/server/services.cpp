// The ready-made services and their registry (see sockit/server/services.hpp).
#include "sockit/server/services.hpp"

#include <ctime>

#include "sockit/server/chat_service.hpp"
#include "sockit/server/line_session.hpp"

namespace sockit::server {
namespace {

class EchoSession final : public LineSession {
 public:
  using LineSession::LineSession;

 protected:
  void on_line(std::string_view line, Output& out) override {
    out.write(line);
    out.write("\n");
  }
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
