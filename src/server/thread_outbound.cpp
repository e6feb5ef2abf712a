// Outbound connects on the worker pool (see thread_outbound.hpp).
#include "thread_outbound.hpp"

#include <chrono>
#include <exception>
#include <utility>

#include "sockit/error.hpp"

namespace sockit::server::detail {
namespace {

OutboundOutcome connect_now(const OutboundRequest& request, Clock::time_point deadline) {
  OutboundOutcome outcome;
  auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
  if (left.count() <= 0) {
    outcome.error = errno_code(ETIMEDOUT);
    outcome.reason = outcome.error.message();
    return outcome;
  }
  try {
    ConnectOptions options;
    options.timeout = left;
    outcome.socket = TcpSocket::connect(request.host, request.port, options);
  } catch (const Error& e) {
    outcome.error = e.code();
    outcome.reason = e.code().message();
  } catch (const std::exception& e) {
    outcome.error = std::make_error_code(std::errc::io_error);
    outcome.reason = e.what();
  }
  return outcome;
}

}  // namespace

bool submit_outbound(WorkerPool& workers, const std::shared_ptr<ConnectionPeer>& home,
                     const OutboundRequest& request, Clock::time_point deadline,
                     OutboundDone done) {
  WorkerPool::Job job = [home, request, deadline, done = std::move(done)]() mutable {
    auto outcome = std::make_shared<OutboundOutcome>(connect_now(request, deadline));
    ConnectionPeer::Task task = [outcome, done = std::move(done)] { done(*outcome); };
    home->post(task);  // refused when the connection has gone: the socket closes here
  };
  return workers.try_submit(job);
}

std::string outbound_target(const OutboundRequest& request) {
  std::string text;
  if (request.host.find(':') != std::string::npos) {
    text.append("[").append(request.host).append("]");
  } else {
    text.append(request.host);
  }
  return text.append(":").append(request.port);
}

}  // namespace sockit::server::detail
