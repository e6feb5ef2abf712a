// A blocking connection's per-channel Output (see buffered_output.hpp).
#include "buffered_output.hpp"

#include <utility>

namespace sockit::server::detail {

std::shared_ptr<Peer> BufferedOutput::peer() {
  return host_.peer_of(channel_);
}

TimerId BufferedOutput::start_timer(std::chrono::milliseconds after) {
  return host_.start_timer(channel_, after);
}

bool BufferedOutput::cancel_timer(TimerId id) noexcept {
  return host_.cancel_timer(id);
}

bool BufferedOutput::run_off_loop(OffLoopWork work) {
  return host_.run_off_loop(channel_, std::move(work));
}

void BufferedOutput::connect(OutboundRequest request, std::unique_ptr<Session> session) {
  host_.connect(std::move(request), std::move(session));
}

}  // namespace sockit::server::detail
