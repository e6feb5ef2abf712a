// Internal: running under a supervisor (systemd, or anything speaking its protocols).
// Socket activation: the listening sockets arrive as descriptors 3, 4... with LISTEN_FDS
// and LISTEN_PID naming them; readiness: datagrams such as "READY=1" and "STOPPING=1" go
// to the Unix socket NOTIFY_SOCKET names (a path, or "@name" for an abstract one).
#pragma once

#include <atomic>
#include <string>
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

// The variable a restart passes a new copy besides its own NOTIFY_SOCKET (where it says
// READY=1 to the old copy): the supervisor's socket, which it speaks to from then on.
inline constexpr const char* kSupervisorSocketVariable = "SOCKIT_SUPERVISOR_NOTIFY_SOCKET";

// Sends state lines to NOTIFY_SOCKET; does nothing when it is not set. In a copy started
// by a restart, readiness goes to the old copy, and what follows to the supervisor.
class SupervisorNotifier {
 public:
  // `enabled` false: a server beside the process's main one, which speaks for it: nothing
  // is sent.
  explicit SupervisorNotifier(bool enabled = true);
  bool active() const noexcept { return socket_.fd() >= 0; }
  // One datagram, e.g. "READY=1\nMAINPID=1234". Failures are ignored: a supervisor that
  // went away must not stop the server.
  void notify(std::string_view state) const noexcept;
  // Sends `state` (READY=1...), then speaks to the supervisor alone. Before any thread
  // that notifies starts.
  void ready(std::string_view state);
  // The supervisor's NOTIFY_SOCKET ("" when there is none): what a restart passes on.
  const std::string& supervisor_socket() const noexcept { return supervisor_; }

 private:
  void aim(const std::string& where);
  Socket socket_;
  Address target_;
  std::string supervisor_;
};

// While it lives, sends "STOPPING=1" once a stop is requested (from a thread of its own,
// started only when the notifier is active), unless `handed_over` was set first: a new copy
// took over (and the supervisor was told its PID), so this one's stop is not the service's.
class StoppingNotice {
 public:
  StoppingNotice(const SupervisorNotifier& notifier, const StopSignal& stop,
                 const std::atomic<bool>& handed_over);
  ~StoppingNotice();
  StoppingNotice(const StoppingNotice&) = delete;
  StoppingNotice& operator=(const StoppingNotice&) = delete;

 private:
  FileDescriptor done_;
  std::thread thread_;
};

}  // namespace sockit::server::detail
