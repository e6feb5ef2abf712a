// sockit serve: run one of the ready-made services on any of the seven architectures.
//   sockit serve echo --arch thread --port 0
#include <fmt/core.h>

#include <chrono>
#include <exception>
#include <memory>
#include <stdexcept>
#include <string>

#include "commands.hpp"
#include "serve_extra.hpp"
#include "serve_tls.hpp"
#include "sockit/error.hpp"
#include "sockit/server/server.hpp"
#include "sockit/server/services.hpp"

namespace sockit::cli {
namespace {

using namespace sockit::server;

constexpr Architecture all_architectures[] = {
    Architecture::serial, Architecture::thread,  Architecture::fork,  Architecture::prefork,
    Architecture::pool,   Architecture::reactor, Architecture::hybrid};

struct ServeArgs {
  std::string service;
  std::string arch = std::string(to_string(ServerOptions{}.architecture));
  std::string host = "127.0.0.1";
  int port = -1;  // -1: the service's own port
  std::string unix_path;
  unsigned workers = 0;
  std::size_t queue = 0;
  std::size_t max_conns = ServerOptions{}.max_connections;
  std::size_t max_conns_per_ip = 0;
  double idle_timeout = 300;
  std::size_t max_line = 0;  // 0: the service's default
  double rate = 0;
  double drain = 5;
  bool quiet = false;
  bool verbose = false;
  ExtraServeOptions extra;  // --udp, --users
  TlsServeOptions tls;      // --tls-cert, --tls-key
};

std::chrono::milliseconds seconds_to_ms(double seconds) {
  return std::chrono::milliseconds(static_cast<long long>(seconds * 1000.0 + 0.5));
}

std::string help_footer() {
  std::string text = "\nServices:\n";
  for (const auto& entry : registered_services()) {
    text += fmt::format("  {:<9} {}\n", entry.name, entry.summary);
  }
  text += extra_services_help();
  text += "\nArchitectures (--arch):\n";
  for (auto arch : all_architectures) {
    text += fmt::format("  {:<9} {}\n", to_string(arch), describe(arch));
  }
  text +=
      "\nWhen ready it prints \"listening on HOST:PORT\" to stderr (with the real port, so\n"
      "--port 0 works from scripts). SIGINT/SIGTERM drain and stop; a second one exits at once.\n"
      "\nExample:\n  sockit serve echo --arch thread --port 7777 --max-conns 100 --idle-timeout "
      "30\n"
      "  printf 'hi\\n' | nc -q1 127.0.0.1 7777\n";
  return text;
}

int run_serve(const ServeArgs& args) {
  if (wants_udp(args.service, args.extra)) {
    if (args.tls.enabled()) {
      fmt::print(stderr, "sockit: serve: TLS is for TCP services; {} runs over UDP\n",
                 args.service);
      return exit_usage;
    }
    return run_udp_serve({args.service, args.arch, to_string(ServerOptions{}.architecture),
                          args.host, args.unix_path, args.port, args.max_line, args.rate,
                          args.quiet, args.verbose});
  }
  auto service = find_extra_service(args.service, args.extra);
  if (!service) service = find_service(args.service);
  if (!service) {
    std::string names;
    for (const auto& name : all_serve_service_names())
      names += (names.empty() ? "" : ", ") + name;
    fmt::print(stderr, "sockit: serve: unknown service '{}' (services: {})\n", args.service, names);
    return exit_usage;
  }
  if (args.quiet && args.verbose) {
    fmt::print(stderr, "sockit: serve: --quiet and --verbose exclude each other\n");
    return exit_usage;
  }
  ServerOptions options;
  options.architecture = *parse_architecture(args.arch);  // validated by the parser
  options.host = args.host;
  options.port = args.port >= 0 ? static_cast<std::uint16_t>(args.port) : service->default_port();
  options.unix_path = args.unix_path;
  options.workers = args.workers;
  options.queue_size = args.queue;
  options.max_connections = args.max_conns;
  options.max_connections_per_ip = args.max_conns_per_ip;
  options.idle_timeout = seconds_to_ms(args.idle_timeout);
  options.drain_timeout = seconds_to_ms(args.drain);
  options.limits.max_line = args.max_line;
  options.limits.rate_per_second = args.rate;
  options.log_level =
      args.quiet ? LogLevel::quiet : (args.verbose ? LogLevel::verbose : LogLevel::info);

  try {
    service = wrap_tls(std::move(service), args.tls, options.log_level);
    Server server(service, options);
    server.run();
  } catch (const std::invalid_argument& e) {
    fmt::print(stderr, "sockit: serve: {}\n", e.what());
    return exit_usage;
  } catch (const std::exception& e) {
    fmt::print(stderr, "sockit: serve: {}\n", e.what());
    return exit_failure;
  }
  return exit_ok;
}

}  // namespace

void register_serve(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<ServeArgs>();
  CLI::App* cmd = app.add_subcommand("serve",
                                     "Serve a protocol (echo, daytime, hello...) on "
                                     "one of seven server architectures");
  std::vector<std::string> arch_names;
  for (auto arch : all_architectures)
    arch_names.emplace_back(to_string(arch));

  cmd->add_option("service", args->service, "The service to run (listed below)")->required();
  cmd->add_option("--arch,-a", args->arch, "Server architecture (listed below)")
      ->check(CLI::IsMember(arch_names))
      ->capture_default_str();
  cmd->add_option("--host", args->host, "Address to listen on (0.0.0.0 or :: exposes it)")
      ->capture_default_str();
  cmd->add_option("--port,-p", args->port, "TCP port; 0 lets the kernel pick [service's port]")
      ->check(CLI::Range(0, 65535));
  cmd->add_option("--unix", args->unix_path, "Listen on this Unix socket path instead of TCP");
  cmd->add_option("--workers", args->workers,
                  "Worker processes (prefork), threads (pool) or reactors (hybrid) [per core]");
  cmd->add_option("--queue", args->queue, "pool: bound of the accept queue [4 x workers]");
  cmd->add_option("--max-conns", args->max_conns, "Maximum simultaneous connections (0: none)")
      ->capture_default_str();
  cmd->add_option("--max-conns-per-ip", args->max_conns_per_ip,
                  "Maximum simultaneous connections per client address (0: none)")
      ->capture_default_str();
  cmd->add_option("--idle-timeout", args->idle_timeout,
                  "Close a connection silent for this many seconds")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--max-line", args->max_line,
                  "Longest line accepted, in bytes (default: " +
                      std::to_string(sockit::server::default_max_line) +
                      "; echo holds no line, so it has no limit unless this is given)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--rate", args->rate, "Requests (lines) per second per connection (0: off)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->add_option("--drain", args->drain,
                  "On SIGINT/SIGTERM, seconds to finish in-flight requests before exiting")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->add_flag("--quiet,-q", args->quiet, "Log errors only");
  cmd->add_flag("--verbose,-v", args->verbose, "Log debug details too");
  add_extra_serve_options(*cmd, args->extra);
  add_tls_serve_options(*cmd, args->tls);
  cmd->footer(help_footer());
  cmd->callback([args, &exit_code] { exit_code = run_serve(*args); });
}

static const CommandRegistration serve_registration{10, register_serve};

}  // namespace sockit::cli
