// sockit::server::CoroutineService: a Service written as one coroutine per connection,
//   Task<void> echo(AsyncStream& client) {
//     std::string line;
//     while (co_await client.read_line(line)) co_await client.write_all(line + "\n");
//   }
// Its sessions are ordinary Sessions, so it runs on every architecture, under every policy
// and behind TLS unchanged.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "sockit/async/task.hpp"
#include "sockit/server/async_stream.hpp"
#include "sockit/server/session.hpp"

namespace sockit::server {

// Each connection's Session starts handler(stream) in on_open and feeds the stream from
// on_data, on_eof, on_timer, on_drain and on_close. The stream honours SessionLimits:
// max_line is read_line's default limit, rate_per_second limits the lines read_line
// accepts. When the handler returns, the connection closes once its output is flushed.
// When it throws: a line over the limit is answered "Error: line too long (max N bytes)"
// and the connection closes, as LineSession does; operation_canceled after the connection
// has closed is the normal end; anything else ends the connection with a log line, as an
// exception from on_data does.
class CoroutineService : public Service {
 public:
  using Handler = std::function<Task<void>(AsyncStream&)>;

  CoroutineService(std::string name, std::uint16_t default_port, Handler handler);

  std::string_view name() const override { return name_; }
  std::uint16_t default_port() const override { return default_port_; }
  std::unique_ptr<Session> open(const ConnectionInfo& connection) override;

 private:
  std::string name_;
  std::uint16_t default_port_;
  std::shared_ptr<const Handler> handler_;
};

// The Session of a CoroutineService, for tests and for services that build their own.
std::unique_ptr<Session> make_coroutine_session(
    std::shared_ptr<const CoroutineService::Handler> handler, const ConnectionInfo& connection);

}  // namespace sockit::server
