// Internal: running under a supervisor (systemd, or anything speaking its protocols).
// Socket activation: the listening sockets arrive as descriptors 3, 4... with LISTEN_FDS
// and LISTEN_PID naming them; readiness: datagrams such as "READY=1" and "STOPPING=1" go
// to the Unix socket NOTIFY_SOCKET names (a path, or "@name" for an abstract one).
#pragma once

#include <thread>
#include <vector>

#include "runtime.hpp"
#include "sockit/address.hpp"
#include "sockit/file_descriptor.hpp"
#include "sockit/socket.hpp"

namespace sockit::server::detail {

// The listening sockets passed to this process (none when LISTEN_PID is not this
// process). LISTEN_PID, LISTEN_FDS and LISTEN_FDNAMES are unset, as sd_listen_fds does, so
// a child never takes them for its own. Throws std::runtime_error naming a passed
// descriptor that is not a listening stream socket.
std::vector<Socket> take_inherited_listeners();

// Listening sockets a restart hands over besides the server's own: hybrid's per-reactor
// listeners in its SO_REUSEPORT group, each with a backlog of its own that closing would
// reset. Thread-safe.
void register_sibling_listener(int fd);
void unregister_sibling_listener(int fd) noexcept;
std::vector<int> sibling_listeners();
// The listeners this process inherited past the first, kept for hybrid to take.
void keep_inherited_siblings(std::vector<Socket> sockets);
std::vector<Socket> take_inherited_siblings();

// Sends state lines to NOTIFY_SOCKET; does nothing when it is not set.
class SupervisorNotifier {
 public:
  SupervisorNotifier();
  bool active() const noexcept { return socket_.fd() >= 0; }
  // One datagram, e.g. "READY=1\nMAINPID=1234". Failures are ignored: a supervisor that
  // went away must not stop the server.
  void notify(std::string_view state) const noexcept;

 private:
  Socket socket_;
  Address target_;
};

// While it lives, sends "STOPPING=1" once a stop is requested (from a thread of its own,
// started only when the notifier is active).
class StoppingNotice {
 public:
  StoppingNotice(const SupervisorNotifier& notifier, const StopSignal& stop);
  ~StoppingNotice();
  StoppingNotice(const StoppingNotice&) = delete;
  StoppingNotice& operator=(const StoppingNotice&) = delete;

 private:
  FileDescriptor done_;
  std::thread thread_;
};

}  // namespace sockit::server::detail
