// The service's links on threads of their own (see thread_links.hpp).
#include "thread_links.hpp"

#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <exception>
#include <string>
#include <system_error>
#include <utility>

#include "../quiet_thread.hpp"
#include "blocking_connection.hpp"
#include "sockit/address.hpp"
#include "sockit/deadline.hpp"
#include "sockit/error.hpp"
#include "sockit/socket.hpp"

namespace sockit::server::detail {
namespace {

// Waits until `fd` is ready for `events` (none: -1), a stop is requested or `deadline`
// passes; true only in the first case.
bool wait_unless_stopped(Runtime& rt, int fd, short events, const Deadline& deadline) {
  for (;;) {
    if (rt.stop.requested() || deadline.expired()) return false;
    pollfd fds[2] = {{fd, events, 0}, {rt.stop.fd(), POLLIN, 0}};
    const int ready = ::poll(fds, 2, deadline.poll_timeout_ms());  // poll skips fd -1
    if (ready < 0 && errno != EINTR) return false;
    if (ready > 0 && fds[1].revents != 0) return false;
    if (ready > 0 && fds[0].revents != 0) return true;
  }
}

// Connects to the link's target, each address in turn, within its timeout; a stop cuts it
// short. On failure, `socket` stays closed and `error`/`reason` say why.
bool dial(Runtime& rt, const OutboundRequest& request, Socket& socket, Address& peer,
          std::error_code& error, std::string& reason) {
  const Deadline deadline(request.timeout);
  std::vector<ResolvedAddress> addresses;
  try {
    addresses = resolve(request.host, request.port);
  } catch (const Error& e) {
    error = e.code();
    reason = e.what();
    return false;
  }
  error = errno_code(ETIMEDOUT);
  for (const ResolvedAddress& target : addresses) {
    try {
      Socket attempt(target.family, SOCK_STREAM);
      if (attempt.connect_nonblock(target.address) == ConnectStatus::in_progress) {
        if (!wait_unless_stopped(rt, attempt.fd(), POLLOUT, deadline)) {
          if (!rt.stop.requested()) error = errno_code(ETIMEDOUT);
          break;
        }
        error = attempt.finish_connect();
        if (error) continue;
      }
      socket = std::move(attempt);
      peer = target.address;
      return true;
    } catch (const Error& e) {
      error = e.code();
    }
  }
  reason = rt.stop.requested() ? std::string("server stopping") : error.message();
  return false;
}

}  // namespace

ThreadLinks::ThreadLinks(Runtime& rt) : rt_(rt) {
  for (auto& link : rt.service.links()) {
    if (link) links_.push_back(std::move(link));
  }
  threads_.reserve(links_.size());
  for (auto& link : links_) {
    try {
      threads_.push_back(sockit::detail::quiet_thread([this, kept = link.get()] { keep(*kept); }));
    } catch (const std::system_error& e) {
      rt_.log.error(link->describe() + ": cannot start its thread: " + e.what());
    }
  }
}

ThreadLinks::~ThreadLinks() {
  // The server is stopping, or its runner failed: either way the links end.
  rt_.stop.request();
  for (auto& thread : threads_)
    thread.join();
}

void ThreadLinks::keep(ServiceLink& link) noexcept {
  std::string name;
  try {
    name = link.describe();
  } catch (const std::exception& e) {
    name = std::string("service link (") + e.what() + ")";
  }
  std::chrono::milliseconds backoff = kFirstBackoff;
  bool down = false;  // in an outage, already logged
  while (!rt_.stop.requested()) {
    std::string reason;
    try {
      std::unique_ptr<Session> session = link.open();
      Socket socket;
      Address peer;
      std::error_code error;
      if (dial(rt_, link.target(), socket, peer, error, reason)) {
        backoff = kFirstBackoff;
        rt_.log.info(name + (down ? ": connected again" : ": connected"));
        down = false;
        serve_link(rt_, socket, peer, std::move(session));
        reason.clear();  // once connected, an end is a lost connection
      } else {
        session->on_connect_failed(error, reason);
        session->on_close();
      }
    } catch (const std::exception& e) {
      // Out of memory, or the link could not make a session: tried again after the backoff.
      reason = e.what();
    }
    if (rt_.stop.requested()) break;
    try {
      if (!down) {
        rt_.log.error(name + ": " + (reason.empty() ? std::string("connection lost") : reason) +
                      "; reconnecting with backoff (logged again once connected)");
      }
    } catch (...) {
    }
    down = true;
    wait_unless_stopped(rt_, -1, 0, Deadline(backoff));
    backoff = std::min(backoff * 2, kMaxBackoff);
  }
}

}  // namespace sockit::server::detail
