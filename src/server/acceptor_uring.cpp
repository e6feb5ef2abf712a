// An event loop's listener on io_uring: one multishot accept hands the loop each new
// connection's descriptor (see acceptor.hpp).
#include <cerrno>
#include <cstring>
#include <string>

#include "acceptor.hpp"
#include "loop_connection.hpp"
#include "sockit/error.hpp"

namespace sockit::server::detail {

void Acceptor::on_accepted(const UringCompletion& done) {
  const bool armed = done.more();
  if (done.result >= 0) {
    Socket accepted = Socket::own(done.result);
    if (shortage_logged_) {
      shortage_logged_ = false;
      loop_.rt.log.info("accepting connections again");
    }
    // Gone already (reset in the backlog): nothing to serve.
    if (Address peer = accepted.peer_or_empty(); !peer.is_unspecified_family()) {
      admit(std::move(accepted), peer);
    }
  } else if (done.result == -ECANCELED) {
    return;
  } else if (is_out_of_descriptors(-done.result)) {
    // The request may still be armed: pause() cancels it, and asks again after the rest.
    if (!armed) listening_ = false;
    pause(-done.result);
    return;
  } else {
    loop_.rt.log.error("accept " + local_.to_string() + ": " + std::strerror(-done.result));
  }
  // A multishot request the kernel ended (any error does): ask again.
  if (!armed && listening_) listen();
}

}  // namespace sockit::server::detail
