// The blocking-handler adapter (see sockit/server/blocking_service.hpp).
#include "sockit/server/blocking_service.hpp"

#include <utility>

namespace sockit::server {
namespace {

class ClosingSession final : public Session {
 public:
  void on_open(Output& out) override { out.close(); }
  void on_data(std::string_view, Output& out) override { out.close(); }
};

}  // namespace

BlockingService::BlockingService(std::string name, std::uint16_t default_port, Handler handler)
    : name_(std::move(name)), port_(default_port), handler_(std::move(handler)) {}

BlockingService::BlockingService(std::string name, std::uint16_t default_port,
                                 SimpleHandler handler)
    : name_(std::move(name)),
      port_(default_port),
      handler_([h = std::move(handler)](Socket& client, const ConnectionInfo&) { h(client); }) {}

void BlockingService::handle(Socket& client, const ConnectionInfo& connection) const {
  handler_(client, connection);
}

std::unique_ptr<Session> BlockingService::open(const ConnectionInfo&) {
  return std::make_unique<ClosingSession>();
}

std::shared_ptr<BlockingService> make_blocking_service(std::string name, std::uint16_t default_port,
                                                       BlockingService::SimpleHandler handler) {
  return std::make_shared<BlockingService>(std::move(name), default_port, std::move(handler));
}

}  // namespace sockit::server
