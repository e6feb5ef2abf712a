// sockit serve: run one of the registered services, TCP ones on any of the seven
// architectures (the event loop on epoll or io_uring), UDP ones on the datagram server.
//   sockit serve echo --arch thread --port 0
#include <fmt/core.h>

#include <algorithm>
#include <exception>
#include <limits>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "cli_support.hpp"
#include "commands.hpp"
#include "serve_metrics.hpp"
#include "serve_proxy_protocol.hpp"
#include "serve_tls.hpp"
#include "serve_web.hpp"
#include "sockit/address.hpp"
#include "sockit/auth/command_service.hpp"
#include "sockit/error.hpp"
#include "sockit/http/http_service.hpp"
#include "sockit/server/chat_service.hpp"
#include "sockit/server/server.hpp"
#include "sockit/server/services.hpp"
#include "sockit/server/udp_services.hpp"

namespace sockit::cli {
namespace {

using namespace sockit::server;

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
  double line_timeout = 30;
  std::size_t max_line = 0;  // 0: the service's default
  double rate = -1;          // -1: not given (TCP: no limit; UDP: default_udp_rate)
  double drain = 5;
  std::size_t max_output = ServerOptions{}.max_output;
  std::size_t max_output_per_conn = ServerOptions{}.max_output_per_connection;
  bool quiet = false;
  bool verbose = false;
  bool udp = false;        // --udp
  std::string users_file;  // --users
  ServiceConfig http;      // --root, --list, --follow-symlinks, --max-body, --access-log, --ws-*
  TlsServeOptions tls;     // --tls-cert, --tls-key
  ProxyProtocolServeOptions proxy;  // --proxy-protocol, --proxy-from
  WebServeOptions web;              // --web, --allow-origin
  MetricsServeOptions metrics;      // --metrics
};

// Registered services, TCP ones first (--help and error messages list them so).
std::vector<const ServiceEntry*> services_by_transport() {
  std::vector<const ServiceEntry*> entries;
  for (auto transport : {Transport::tcp, Transport::udp}) {
    for (const auto& entry : registered_services()) {
      if (entry.transport == transport) entries.push_back(&entry);
    }
  }
  return entries;
}

// Every service name `sockit serve` accepts, once each.
std::string service_name_list(std::optional<Transport> only = std::nullopt) {
  std::vector<std::string_view> names;
  for (const auto* entry : services_by_transport()) {
    if (only && entry->transport != *only) continue;
    if (std::find(names.begin(), names.end(), entry->name) == names.end()) {
      names.push_back(entry->name);
    }
  }
  std::string list;
  for (auto name : names)
    list += (list.empty() ? "" : ", ") + std::string(name);
  return list;
}

// --udp, or a name only UDP has.
bool wants_udp(const ServeArgs& args) {
  if (args.udp) return true;
  return find_service_entry(args.service, Transport::tcp) == nullptr &&
         find_service_entry(args.service, Transport::udp) != nullptr;
}

LogLevel log_level(const ServeArgs& args) {
  if (args.quiet && args.verbose) usage_error("serve: --quiet and --verbose exclude each other");
  return args.quiet ? LogLevel::quiet : (args.verbose ? LogLevel::verbose : LogLevel::info);
}

std::string help_footer() {
  std::string text = "\nServices:\n";
  for (const auto* entry : services_by_transport()) {
    text += fmt::format("  {:<9} {}\n", entry->name, entry->summary);
  }
  text += "\nArchitectures (--arch):\n";
  for (auto arch : all_architectures()) {
    text += fmt::format("  {:<9} {}\n", to_string(arch), describe(arch));
  }
  text +=
      "\nWhen ready it prints \"listening on HOST:PORT\" to stderr (with the real port, so\n"
      "--port 0 works from scripts). SIGINT/SIGTERM drain and stop; a second one exits at once.\n"
      "\nExample:\n  sockit serve echo --arch thread --port 7777 --max-conns 100 --idle-timeout "
      "30\n"
      "  printf 'hi\\n' | nc -q1 127.0.0.1 7777\n"
      "  sockit serve http --root ./site --port 8080 --access-log -\n"
      "  curl -i http://127.0.0.1:8080/\n"
      "  sockit serve chat --web 8000     # nc 127.0.0.1 5000, and http://127.0.0.1:8000/\n"
      "  sockit serve echo --metrics 9100 # curl http://127.0.0.1:9100/metrics\n"
      "\nWith --web it also prints \"web page on http://HOST:PORT/\", with --metrics\n"
      "\"metrics on http://HOST:PORT/\", before the listening line.\n";
  return text;
}

int run_udp_serve(const ServeArgs& args) {
  if (args.tls.enabled()) {
    usage_error(fmt::format("serve: TLS is for TCP services; {} runs over UDP", args.service));
  }
  if (args.proxy.enabled) {
    usage_error(
        fmt::format("serve: --proxy-protocol is for TCP services; {} runs over UDP", args.service));
  }
  if (args.metrics.enabled()) {
    usage_error(
        fmt::format("serve: --metrics is for TCP services; {} runs over UDP", args.service));
  }
  auto service = find_udp_service(args.service);
  if (!service) {
    usage_error(fmt::format("serve: no UDP service '{}' (UDP services: {})", args.service,
                            service_name_list(Transport::udp)));
  }
  if (args.arch != to_string(ServerOptions{}.architecture)) {
    usage_error(fmt::format(
        "serve: --arch {} does not apply to the UDP service '{}': a datagram server has no "
        "connections to schedule (leave --arch out)",
        args.arch, args.service));
  }
  if (!args.unix_path.empty()) {
    usage_error(fmt::format("serve: --unix is for stream services; '{}' serves UDP on --host",
                            args.service));
  }
  UdpServerOptions options;
  options.host = args.host;
  options.port = args.port >= 0 ? static_cast<std::uint16_t>(args.port) : service->default_port();
  if (args.max_line != 0) options.max_datagram = args.max_line;
  if (args.rate >= 0) options.rate_per_second = args.rate;
  options.log_level = log_level(args);
  try {
    UdpServer udp(service, options);
    udp.run();
  } catch (const std::exception& e) {
    failure(fmt::format("serve: {}", e.what()));
  }
  return exit_ok;
}

// The TCP service, built with what its entry needs. Throws CliError.
std::shared_ptr<Service> make_tcp_service(const ServeArgs& args) {
  const ServiceEntry* entry = find_service_entry(args.service, Transport::tcp);
  if (entry == nullptr) {
    usage_error(fmt::format("serve: unknown service '{}' (services: {})", args.service,
                            service_name_list()));
  }
  if (entry->needs_users_file && args.users_file.empty()) {
    usage_error(fmt::format(
        "serve: the {} service needs --users FILE (create it with: sockit passwd FILE USER "
        "--permit STATUS,INFO,HELP)",
        args.service));
  }
  try {
    ServiceConfig config = args.http;
    config.users_file = args.users_file;
    config.quiet = args.quiet;
    return entry->make(config);
  } catch (const std::exception& e) {
    failure(fmt::format("serve: {}: {}", args.service, e.what()));
  }
}

// --room: the chat service's, kept by an event loop or by threads of its own.
void check_room(const ServeArgs& args, Architecture arch) {
  if (args.service != "chat") {
    usage_error(fmt::format("serve: --room is the chat service's, not {}'s", args.service));
  }
  if (arch != Architecture::reactor && arch != Architecture::hybrid &&
      arch != Architecture::uring && arch != Architecture::uring_hybrid &&
      arch != Architecture::thread && arch != Architecture::pool) {
    usage_error(
        fmt::format("serve: --room redis:// needs --arch reactor, hybrid, uring, "
                    "uring-hybrid, thread or pool (not {})",
                    args.arch));
  }
}

// True when `host` can only be reached from this machine: a loopback address, or the name
// localhost. Any other name may resolve to anything.
bool loopback_only(const std::string& host) {
  if (host == "localhost") return true;
  auto address = Address::try_parse(host);
  return address && address->is_loopback();
}

int run_serve(const ServeArgs& args) {
  if (wants_udp(args)) return run_udp_serve(args);
  if (!args.http.chat_room.empty()) check_room(args, *parse_architecture(args.arch));
  check_web_options(args.web, args.service);
  std::optional<MetricsAddress> metrics_address;
  if (args.metrics.enabled()) metrics_address = parse_metrics_address(args.metrics.address);
  auto service = make_tcp_service(args);
  // The room both doors share, before TLS or PROXY wrap it.
  auto chat = std::dynamic_pointer_cast<ChatService>(service);
  // A service that reads passwords sends them in clear text without TLS: said at start
  // when the listener is reachable from other machines.
  const ServiceEntry* entry = find_service_entry(args.service, Transport::tcp);
  if (entry != nullptr && entry->needs_users_file && !args.tls.enabled() &&
      args.unix_path.empty() && !loopback_only(args.host)) {
    fmt::print(stderr,
               "sockit: serve: warning: {} on {} without TLS: passwords cross the network in "
               "clear text (--tls-cert and --tls-key encrypt them)\n",
               args.service, args.host);
  }
  ServerOptions options;
  options.log_level = log_level(args);
  options.architecture = *parse_architecture(args.arch);  // validated by the parser
  options.host = args.host;
  options.port = args.port >= 0 ? static_cast<std::uint16_t>(args.port) : service->default_port();
  options.unix_path = args.unix_path;
  options.workers = args.workers;
  options.queue_size = args.queue;
  options.max_connections = args.max_conns;
  options.max_connections_per_ip = args.max_conns_per_ip;
  options.idle_timeout = seconds(args.idle_timeout, "--idle-timeout");
  options.drain_timeout = seconds(args.drain, "--drain");
  options.limits.max_line = args.max_line;
  options.limits.line_timeout = seconds(args.line_timeout, "--line-timeout");
  options.limits.rate_per_second = std::max(args.rate, 0.0);
  options.max_output = args.max_output;
  options.max_output_per_connection = args.max_output_per_conn;
  if (args.web.enabled()) options.restart_refused = kWebRestartRefused;
  if (args.metrics.enabled()) options.restart_refused = kMetricsRestartRefused;

  try {
    service = wrap_tls(std::move(service), args.tls, options.log_level);
    // The header comes first on the wire, before any TLS handshake.
    service =
        wrap_proxy_protocol(std::move(service), args.proxy,
                            seconds(args.tls.handshake_timeout, "--handshake-timeout"), options);
    Server server(service, options);
    std::optional<ChatWebDoor> web;
    if (args.web.enabled()) {
      web.emplace(chat, args.web, options, args.tls);
      web->start(server);
    }
    std::optional<MetricsDoor> metrics;
    if (metrics_address) {
      metrics.emplace([&server] { return server.metrics(); }, *metrics_address, options);
      metrics->start(server);
    }
    server.run();
  } catch (const CliError&) {
    throw;  // a usage error found on the way (--handshake-timeout) keeps its exit code
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
  // The services of other libraries join the registry before --help lists it.
  auth::register_command_service();
  http::register_http_service();
  auto args = std::make_shared<ServeArgs>();
  CLI::App* cmd = app.add_subcommand("serve",
                                     "Serve a protocol (echo, daytime, hello...) on "
                                     "one of seven server architectures (the event loops on "
                                     "epoll or io_uring)");
  std::vector<std::string> arch_names;
  for (auto arch : all_architectures())
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
                  "Worker processes (prefork), threads (pool) or event loops (hybrid, "
                  "uring-hybrid) [per core]");
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
  cmd->add_option("--line-timeout", args->line_timeout,
                  "Close a connection whose line (echo, chat...) is not finished this many "
                  "seconds after it began, however often bytes of it arrive (0: none)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->add_option("--max-line", args->max_line,
                  "Longest line accepted, in bytes (default: " +
                      std::to_string(sockit::server::default_max_line) +
                      "; echo holds no line, so it has no limit unless this is given)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--rate", args->rate,
                  fmt::format("Requests per second: lines per connection over TCP (default 0: "
                              "off), datagrams per client address over UDP (default {})",
                              sockit::server::default_udp_rate))
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--drain", args->drain,
                  "On SIGINT/SIGTERM, seconds to finish in-flight requests before exiting")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->add_option("--max-output", args->max_output,
                  "Unsent output all connections may hold together, in bytes (64MiB, 1GiB...); "
                  "past it a client holding over its share is closed as too slow (0: no bound)")
      ->transform(CLI::AsSizeValue(true))
      ->capture_default_str();
  cmd->add_option("--max-output-per-conn", args->max_output_per_conn,
                  "Unsent output one connection may hold, in bytes; past it the client is "
                  "closed as too slow (0: no bound)")
      ->transform(CLI::AsSizeValue(true))
      ->capture_default_str();
  cmd->add_flag("--quiet,-q", args->quiet, "Log errors only");
  cmd->add_flag("--verbose,-v", args->verbose, "Log debug details too");
  cmd->add_flag("--udp", args->udp,
                "Serve the UDP form of the service (echo); time is UDP only. --arch does not "
                "apply to UDP");
  cmd->add_option("--users", args->users_file,
                  "command: the user file (write it with 'sockit passwd FILE USER'). A "
                  "connection may send 10 AUTH lines and fail 5; failures back off per client "
                  "address (IPv6: per /64)");
  cmd->add_option("--room", args->http.chat_room,
                  "chat: share the room with every server on a Redis channel, "
                  "redis://HOST:PORT/NAME (the event-loop architectures, thread and pool)");
  cmd->add_option("--root", args->http.http_root, "http: the directory served")
      ->check(CLI::ExistingDirectory)
      ->capture_default_str();
  cmd->add_flag("--list", args->http.http_list,
                "http: list the files of a directory that has no index.html");
  cmd->add_flag("--follow-symlinks", args->http.http_follow_symlinks,
                "http: serve symlinks whose target is outside --root (refused by default)");
  cmd->add_option("--max-body", args->http.http_max_body,
                  "http: largest request body accepted, in bytes (larger: 413)")
      ->capture_default_str();
  cmd->add_option("--header-timeout", args->http.http_header_timeout,
                  "http: seconds a request head may take to arrive (then 408 and close)")
      ->check(CLI::Range(0.001, 86400.0))
      ->capture_default_str();
  cmd->add_option("--keep-alive", args->http.http_keep_alive,
                  "http: seconds a kept-alive connection may wait for its next request")
      ->check(CLI::Range(0.001, 86400.0))
      ->capture_default_str();
  cmd->add_option("--max-requests", args->http.http_max_requests,
                  "http: requests one connection may make; the last answer says "
                  "'Connection: close'")
      ->check(CLI::Range(std::size_t{1}, std::numeric_limits<std::size_t>::max()))
      ->capture_default_str();
  cmd->add_option("--access-log", args->http.http_access_log,
                  "http: append a combined-format access log to FILE ('-': stdout)");
  cmd->add_option("--ws-echo", args->http.http_ws_echo,
                  "http: a WebSocket endpoint at PATH that sends every message back");
  cmd->add_option("--ws-max-message", args->http.http_ws_max_message,
                  "http: largest WebSocket message accepted, in bytes (larger: close 1009)")
      ->capture_default_str();
  cmd->add_option("--ws-ping", args->http.http_ws_ping,
                  "http: ping a WebSocket peer silent this many seconds, and close it (1011) "
                  "if it stays silent as long again (0: never)")
      ->check(CLI::Range(0.0, 86400.0))
      ->capture_default_str();
  add_tls_serve_options(*cmd, args->tls);
  add_proxy_protocol_serve_options(*cmd, args->proxy);
  add_web_serve_options(*cmd, args->web);
  add_metrics_serve_options(*cmd, args->metrics);
  cmd->footer(help_footer());
  cmd->callback([args, &exit_code] { exit_code = run_serve(*args); });
}

static const CommandRegistration serve_registration{10, register_serve};

}  // namespace sockit::cli
