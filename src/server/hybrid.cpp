// The `hybrid` architecture (nginx-style): one reactor per core, each with its own listener
// bound to the same address with SO_REUSEPORT, so the kernel spreads connections across
// them with no lock between reactors. They share only the connection limits; sessions that
// share state reach each other through Peer, which wakes the owning reactor.
#include <sys/socket.h>

#include <algorithm>
#include <exception>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "../quiet_thread.hpp"
#include "accept_loop.hpp"
#include "event_loop.hpp"
#include "runtime.hpp"
#include "sockit/error.hpp"
#include "sockit/options.hpp"
#include "supervisor.hpp"

namespace sockit::server::detail {
namespace {

// Another listener in the SO_REUSEPORT group of the runtime's listener.
Socket open_sibling_listener(const Socket& first, const Address& local) {
  Socket listener(local.family(), SOCK_STREAM);
  listener.set(option::ReuseAddress{true});
  listener.set(option::ReusePort{true});
  if (local.is_ipv6()) listener.set(first.get<option::V6Only>());
  listener.bind(local);
  listener.listen();
  listener.set_nonblocking(true);
  return listener;
}

// Registers the sibling listeners for a restart while it lives.
class SiblingRegistration {
 public:
  explicit SiblingRegistration(const std::vector<Socket>& siblings) {
    for (const Socket& listener : siblings) {
      fds_.push_back(listener.fd());
      register_sibling_listener(listener.fd());
    }
  }
  ~SiblingRegistration() {
    for (const int fd : fds_)
      unregister_sibling_listener(fd);
  }
  SiblingRegistration(const SiblingRegistration&) = delete;
  SiblingRegistration& operator=(const SiblingRegistration&) = delete;

 private:
  std::vector<int> fds_;
};

}  // namespace

void run_hybrid(Runtime& rt, LoopKind kind) {
  const unsigned count = default_workers(rt.options);
  // SO_REUSEPORT balancing is for IP listeners; a Unix socket listener, one passed without
  // SO_REUSEPORT by a supervisor (socket activation), or a failure to join the group falls
  // back to one listener that every reactor accepts on.
  bool shared = !rt.local.is_ip() || !rt.listener.get<option::ReusePort>().value;
  // A restart handed this process its predecessor's listeners: closing one would reset
  // the connections in its backlog, so each gets a reactor.
  std::vector<Socket> siblings = take_inherited_siblings();
  shared = shared && siblings.empty();
  const unsigned reactors = std::max(count, static_cast<unsigned>(siblings.size()) + 1);
  if (!shared) {
    try {
      while (siblings.size() + 1 < reactors) {
        siblings.push_back(open_sibling_listener(rt.listener, rt.local));
      }
    } catch (const Error& error) {
      rt.log.error(std::string(error.what()) + "; the reactors will share one listener");
      siblings.clear();
      shared = true;
    }
  }
  prepare_listener(rt.listener, rt.local);
  for (auto& listener : siblings)
    prepare_listener(listener, rt.local);
  // A restart hands these over too, for as long as they are open.
  SiblingRegistration registration(siblings);

  const ListenerUse use = shared ? ListenerUse::shared : ListenerUse::exclusive;
  LoopSettings settings;
  settings.use_uring = kind == LoopKind::uring;
  std::vector<std::unique_ptr<EventLoop>> loops;
  LoopSettings first = settings;
  first.keeps_links = true;  // the service's links, on one loop of them all
  loops.push_back(std::make_unique<EventLoop>(rt, rt.listener, use, first));
  for (unsigned i = 1; i < reactors; ++i) {
    Socket& listener = shared ? rt.listener : siblings[i - 1];
    settings.index = i;
    loops.push_back(std::make_unique<EventLoop>(rt, listener, use, settings));
  }
  if (rt.log.level() == LogLevel::verbose) {
    rt.log.debug(std::string(to_string(rt.options.architecture)) + ": " + std::to_string(reactors) +
                 " reactors" + (shared ? " on one shared listener" : " on SO_REUSEPORT listeners"));
  }

  std::mutex failure_mutex;
  std::exception_ptr failure;
  // A reactor that fails stops the others too: a server missing a reactor would silently
  // drop the connections the kernel keeps handing to its listener.
  auto run_one = [&](EventLoop& loop) {
    try {
      loop.run();
    } catch (const std::exception& e) {
      rt.log.error(std::string("reactor: ") + e.what());
      std::lock_guard lock(failure_mutex);
      if (!failure) failure = std::current_exception();
      rt.stop.request();
    }
  };
  {
    std::vector<std::jthread> threads;
    threads.reserve(reactors - 1);
    try {
      for (unsigned i = 1; i < reactors; ++i)
        threads.push_back(sockit::detail::quiet_thread<std::jthread>(run_one, std::ref(*loops[i])));
    } catch (...) {
      rt.stop.request();  // the reactors already started drain and return before the join
      throw;
    }
    run_one(*loops[0]);
  }  // joins every reactor thread
  if (shared) rt.listener.close();
  if (failure) std::rethrow_exception(failure);
}

}  // namespace sockit::server::detail
