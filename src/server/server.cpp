// Server: binds the listener, checks that the architecture can run the service, installs
// signal handling, and hands over to the architecture's runner.
#include "sockit/server/server.hpp"

#include <unistd.h>

#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "../quiet_thread.hpp"
#include "accept_loop.hpp"
#include "restart.hpp"
#include "runtime.hpp"
#include "signals.hpp"
#include "sockit/server/blocking_service.hpp"
#include "sockit/tcp.hpp"
#include "sockit/unix.hpp"
#include "supervisor.hpp"
#include "uring_backend.hpp"

namespace sockit::server {
namespace {

std::string architectures_where(bool (*accept)(Architecture)) {
  std::string list;
  for (auto arch : all_architectures()) {
    if (!accept(arch)) continue;
    if (!list.empty()) list += ", ";
    list += to_string(arch);
  }
  return list;
}

bool is_event_loop(Architecture arch) {
  return arch == Architecture::reactor || arch == Architecture::hybrid ||
         arch == Architecture::uring || arch == Architecture::uring_hybrid;
}

// The event loops keep a service's links on the loop; thread and pool on threads of their own.
bool keeps_links(Architecture arch) {
  return is_event_loop(arch) || arch == Architecture::thread || arch == Architecture::pool;
}

bool on_uring(Architecture arch) {
  return arch == Architecture::uring || arch == Architecture::uring_hybrid;
}

bool concurrent(Architecture arch) {
  return arch != Architecture::serial;
}

bool shared_and_concurrent(Architecture arch) {
  return shares_memory(arch) && concurrent(arch);
}

void check_compatible(const Service& service, Architecture arch) {
  if (service.needs_shared_state() && !shares_memory(arch)) {
    throw std::invalid_argument(
        "service '" + std::string(service.name()) +
        "' shares state between connections, which the " + std::string(to_string(arch)) +
        " architecture cannot give (each connection runs in its own process); use one of: " +
        architectures_where(service.needs_concurrency() ? shared_and_concurrent : shares_memory));
  }
  if (service.needs_concurrency() && arch == Architecture::serial) {
    throw std::invalid_argument(
        "service '" + std::string(service.name()) +
        "' needs several clients connected at once, which the serial architecture cannot give "
        "(it serves one connection at a time); use one of: " +
        architectures_where(service.needs_shared_state() ? shared_and_concurrent : concurrent));
  }
  if (!service.links().empty() && !keeps_links(arch)) {
    throw std::invalid_argument(
        "service '" + std::string(service.name()) +
        "' keeps connections of its own open (a link to another server), which the " +
        std::string(to_string(arch)) +
        " architecture does not keep; use one of: " + architectures_where(keeps_links));
  }
  if (dynamic_cast<const BlockingService*>(&service) != nullptr && is_event_loop(arch)) {
    throw std::invalid_argument(
        "service '" + std::string(service.name()) + "' is a blocking handler, which the " +
        std::string(to_string(arch)) +
        " architecture cannot run (it would stall the event loop); use one of: " +
        architectures_where([](Architecture a) { return !is_event_loop(a); }));
  }
}

// Said at start-up where the service's per-process state is not shared by all connections.
std::string per_process_note(const Service& service, Architecture arch) {
  std::string note(service.name());
  note += ": ";
  note += service.per_process_state();
  note += arch == Architecture::fork
              ? " is kept per process, and fork gives each connection its own: it never carries "
                "from one connection to the next"
              : " is kept per process: each prefork worker keeps its own";
  note += "; one is shared by all connections on ";
  note += architectures_where(shares_memory);
  return note;
}

}  // namespace

struct Server::Impl {
  Impl(std::shared_ptr<Service> s, ServerOptions o)
      : service(std::move(s)),
        options(std::move(o)),
        log(options.log_level, &log_writer),
        gate(options.max_connections, options.max_connections_per_ip),
        metrics(std::string(service->name()), std::string(to_string(options.architecture)),
                shared_shards(options)) {}

  // Fork's connection processes count in one shard they share; each prefork worker in its own.
  static std::size_t shared_shards(const ServerOptions& o) {
    if (o.architecture == Architecture::fork) return 1;
    if (o.architecture == Architecture::prefork) return detail::default_workers(o);
    return 0;
  }

  std::shared_ptr<Service> service;
  ServerOptions options;
  std::optional<TcpServer> tcp;
  std::optional<UnixServer> unix_listener;
  std::optional<Socket> inherited;  // passed by a supervisor (socket activation)
  Socket* listener = nullptr;
  Address local;
  detail::LogWriter log_writer;  // stderr, off the serving threads; flushed when destroyed
  detail::Logger log;
  detail::ConnectionGate gate;
  detail::StopSignal stop;
  detail::MetricsRegistry metrics;
  std::thread background;  // start()
};

void log_info(std::string_view message) {
  detail::Logger(LogLevel::info).info(message);
}

Server::Server(std::shared_ptr<Service> service, ServerOptions options) {
  if (!service) throw std::invalid_argument("Server: no service given");
  check_compatible(*service, options.architecture);
  // Never a silent fall-back to epoll: the operator asked for io_uring.
  if (on_uring(options.architecture)) {
    if (const std::string why = detail::probe_uring(); !why.empty()) {
      throw std::runtime_error("--arch " + std::string(to_string(options.architecture)) +
                               " cannot run here: " + why +
                               "; the reactor and hybrid architectures use epoll instead");
    }
  }
  impl_ = std::make_unique<Impl>(std::move(service), std::move(options));
  Impl& s = *impl_;
  std::vector<Socket> passed = detail::take_inherited_listeners();
  if (!passed.empty()) {
    s.inherited.emplace(std::move(passed.front()));
    passed.erase(passed.begin());
    // More than one: a hybrid server's per-reactor listeners, handed over by a restart.
    if (!passed.empty()) {
      if (s.options.architecture == Architecture::hybrid ||
          s.options.architecture == Architecture::uring_hybrid) {
        detail::keep_inherited_siblings(std::move(passed));
      } else {
        s.log.error("LISTEN_FDS passed " + std::to_string(passed.size() + 1) +
                    " sockets; serving the first (only hybrid serves several)");
      }
    }
    s.listener = &*s.inherited;
    s.local = s.inherited->local_address();
  } else if (!s.options.unix_path.empty()) {
    s.unix_listener.emplace(s.options.unix_path);
    s.listener = &*s.unix_listener;
    s.local = s.unix_listener->address();
  } else {
    ListenOptions listen;
    listen.reuse_address = true;
    // Hybrid reactors bind listeners of their own to the same address.
    listen.reuse_port = s.options.architecture == Architecture::hybrid ||
                        s.options.architecture == Architecture::uring_hybrid;
    s.tcp.emplace(s.options.host, s.options.port, listen);
    s.listener = &*s.tcp;
    s.local = s.tcp->address();
  }
  s.listener->set_nonblocking(true);
}

Server::~Server() {
  if (impl_ && impl_->background.joinable()) {
    impl_->stop.request();
    impl_->background.join();
  }
}

void Server::start(std::function<void(const std::exception&)> failed) {
  if (impl_->background.joinable()) throw std::logic_error("Server::start: already started");
  impl_->background = sockit::detail::quiet_thread([this, failed = std::move(failed)] {
    try {
      run();
    } catch (const std::exception& e) {
      if (failed) failed(e);
    }
  });
}

ServerMetrics Server::metrics() const {
  return impl_->metrics.snapshot();
}

Address Server::local_address() const {
  return impl_->local;
}

void Server::stop() noexcept {
  impl_->stop.request();
}

void Server::run() {
  Impl& s = *impl_;
  detail::SignalScope signals(s.stop, s.options.handle_signals);
  // Declared before the runners run and destroyed after they return: queued jobs finish,
  // and their continuations find their connections gone and are dropped.
  detail::WorkerPool workers(s.options.off_loop_threads, s.options.off_loop_queue);
  detail::OutputBudget output(s.options.max_output_per_connection, s.options.max_output);
  detail::Runtime rt{*s.service, s.options, *s.listener, s.local, s.log,
                     s.gate,     s.stop,    workers,     output,  &s.metrics};

  // SIGUSR2: a new copy of the program takes the listener over, and this one drains. The
  // supervisor follows: the new copy is the service's main process from then on. Handled
  // before the listening line and READY=1, so that a restart asked for as soon as they are
  // seen finds the handler in place (SIGUSR2's default action ends the process); acted on
  // once READY=1 is said.
  // A server beside the main one (announce false) tells the supervisor nothing.
  detail::SupervisorNotifier supervisor(s.options.announce);
  std::atomic<bool> handed_over{false};
  detail::RestartOnSignal restart(*s.listener, s.stop, s.log, s.options.handle_signals,
                                  supervisor.supervisor_socket(), [&](pid_t successor) {
                                    if (s.unix_listener) s.unix_listener->keep_file();
                                    handed_over.store(true);
                                    supervisor.notify("MAINPID=" + std::to_string(successor));
                                  });
  if (!s.options.restart_refused.empty()) restart.refuse(s.options.restart_refused);

  // Scripts and tests wait for this line (with the real port), so it prints even when quiet.
  const std::string listening = "listening on " + s.local.to_string() + " (" +
                                std::string(s.service->name()) + ", " +
                                std::string(to_string(s.options.architecture)) + ")";
  if (s.options.announce) {
    detail::Logger(LogLevel::info)
        .info(listening + (s.inherited ? ", socket passed by LISTEN_FDS" : ""));
  }
  // A supervisor (systemd's Type=notify) hears when the server is ready and when it stops.
  supervisor.ready("READY=1\nSTATUS=" + listening + "\nMAINPID=" + std::to_string(::getpid()));
  const detail::StoppingNotice stopping(supervisor, s.stop, handed_over);
  restart.start();

  if (!shares_memory(s.options.architecture) && !s.service->per_process_state().empty()) {
    s.log.info(per_process_note(*s.service, s.options.architecture));
  }

  switch (s.options.architecture) {
    case Architecture::serial: {
      const detail::ThreadShardScope counting(&s.metrics.add("0"));
      detail::run_serial(rt);
      break;
    }
    case Architecture::thread:
      detail::run_thread(rt);
      break;
    case Architecture::fork:
      detail::run_fork(rt);
      break;
    case Architecture::prefork:
      detail::run_prefork(rt);
      break;
    case Architecture::pool:
      detail::run_pool(rt);
      break;
    case Architecture::reactor:
      detail::run_reactor(rt, detail::LoopKind::epoll);
      break;
    case Architecture::hybrid:
      detail::run_hybrid(rt, detail::LoopKind::epoll);
      break;
    case Architecture::uring:
      detail::run_reactor(rt, detail::LoopKind::uring);
      break;
    case Architecture::uring_hybrid:
      detail::run_hybrid(rt, detail::LoopKind::uring);
      break;
  }
  s.listener->close();
  s.log.flush();  // the runners' lines come before the last one
  if (s.options.announce) detail::Logger(LogLevel::info).info("Shutdown complete");
}

}  // namespace sockit::server
