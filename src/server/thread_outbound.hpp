// Internal: opening an outbound connection for a blocking connection without holding up its
// thread. Resolution and the connect race run on the worker pool; the outcome is posted
// home through the connection's ConnectionPeer and handed over on the connection's thread.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <system_error>

#include "connection_peer.hpp"
#include "sockit/deadline.hpp"
#include "sockit/server/session.hpp"
#include "sockit/tcp.hpp"
#include "worker_pool.hpp"

namespace sockit::server::detail {

struct OutboundOutcome {
  TcpSocket socket;  // open when the connect succeeded
  std::error_code error;
  std::string reason;  // e.g. "Connection refused"
};

// Called on the connection's thread with the outcome; dropped unrun if it has gone.
using OutboundDone = std::function<void(OutboundOutcome&)>;

// Queues the resolve-and-connect on `workers`, to finish by `deadline`; false, with nothing
// queued, when the pool is full.
bool submit_outbound(WorkerPool& workers, const std::shared_ptr<ConnectionPeer>& home,
                     const OutboundRequest& request, Clock::time_point deadline, OutboundDone done);

// "HOST:PORT", with brackets around an IPv6 host, for log lines.
std::string outbound_target(const OutboundRequest& request);

}  // namespace sockit::server::detail
