// A Service written the Ruby way: a plain blocking handler that owns the whole conversation
// on its socket (`client.puts "Hello"; client.close`). Runs on the blocking architectures
// (serial, thread, fork, prefork, pool); reactor and hybrid refuse it at start-up, since a
// handler that blocks would stall every other connection of an event loop.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "sockit/server/session.hpp"
#include "sockit/socket.hpp"

namespace sockit::server {

class BlockingService : public Service {
 public:
  using Handler = std::function<void(Socket& client, const ConnectionInfo& connection)>;
  using SimpleHandler = std::function<void(Socket& client)>;

  // The handler may be called from several threads (or processes) at once. The socket is
  // in blocking mode with receive/send timeouts equal to the server's idle timeout; it is
  // closed after the handler returns. Exceptions from the handler close the connection
  // and are logged.
  BlockingService(std::string name, std::uint16_t default_port, Handler handler);
  BlockingService(std::string name, std::uint16_t default_port, SimpleHandler handler);

  std::string_view name() const override { return name_; }
  std::uint16_t default_port() const override { return port_; }
  void handle(Socket& client, const ConnectionInfo& connection) const;

  // There is no sans-I/O session behind a blocking handler: the blocking architectures
  // call handle() instead, so the session returned here only closes the connection.
  std::unique_ptr<Session> open(const ConnectionInfo& connection) override;

 private:
  std::string name_;
  std::uint16_t port_;
  Handler handler_;
};

// Convenience: std::make_shared<BlockingService>(...).
std::shared_ptr<BlockingService> make_blocking_service(std::string name, std::uint16_t default_port,
                                                       BlockingService::SimpleHandler handler);

}  // namespace sockit::server
