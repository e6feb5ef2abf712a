// sockit proxy: a TCP forwarder, socat's `TCP-LISTEN:8080,fork TCP:host:80` with a list of
// upstreams, limits, timeouts, TLS on either side and a graceful drain.
//   sockit proxy 8080 10.0.0.5:80 10.0.0.6:80 --max-conns 500
#include <fmt/core.h>

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "cli_support.hpp"
#include "commands.hpp"
#include "serve_proxy_protocol.hpp"
#include "serve_tls.hpp"
#include "sockit/server/proxy_service.hpp"
#include "sockit/server/server.hpp"
#include "sockit/tls/tls_service.hpp"
#include "tls_client_options.hpp"

namespace sockit::cli {
namespace {

using namespace sockit::server;

struct ProxyArgs {
  int port = -1;
  std::vector<std::string> upstreams;
  std::string host = "127.0.0.1";
  std::string arch = std::string(to_string(Architecture::reactor));
  unsigned workers = 0;
  std::size_t max_conns = ServerOptions{}.max_connections;
  std::size_t max_conns_per_ip = 0;
  double idle_timeout = 300;
  double connect_timeout = 5;
  double drain = 5;
  bool quiet = false;
  bool verbose = false;
  TlsServeOptions tls;         // --tls-cert/--tls-key: terminate TLS from clients
  bool upstream_tls = false;   // --upstream-tls: originate TLS to the upstreams
  std::string upstream_name;   // --upstream-name: the name their certificates must carry
  TlsClientArgs upstream;      // --ca, --insecure for the upstreams
  bool send_proxy = false;     // --send-proxy: a PROXY v1 header to each upstream
  bool send_proxy_v2 = false;  // --send-proxy-v2
  ProxyProtocolServeOptions proxy_protocol;  // --proxy-protocol: one from the clients
};

int run_proxy(const ProxyArgs& args) {
  if (args.quiet && args.verbose) usage_error("proxy: --quiet and --verbose exclude each other");
  try {
    ProxyOptions proxy;
    for (const auto& text : args.upstreams)
      proxy.upstreams.push_back(parse_upstream(text));
    proxy.connect_timeout = seconds(args.connect_timeout, "--connect-timeout");
    proxy.send_proxy = args.send_proxy_v2 ? 2 : (args.send_proxy ? 1 : 0);
    ServerOptions options;
    options.log_level =
        args.quiet ? LogLevel::quiet : (args.verbose ? LogLevel::verbose : LogLevel::info);
    if (args.upstream_tls) {
      auto context = client_tls_context(args.upstream, true, "proxy");
      // One name for every upstream: --upstream-name, or the only upstream's host.
      std::string name = args.upstream_name;
      if (name.empty()) {
        if (proxy.upstreams.size() > 1) {
          throw std::invalid_argument(
              "--upstream-tls with several upstreams needs --upstream-name (the name their "
              "certificates carry)");
        }
        name = proxy.upstreams.front().host;
      }
      TlsService::Log log;
      if (options.log_level != LogLevel::quiet) log = log_info;
      proxy.wrap_upstream = [context, name, log](std::unique_ptr<Session> inner) {
        return tls_client_session(std::move(inner), context, name, log);
      };
    } else if (!args.upstream.ca_file.empty() || args.upstream.insecure ||
               !args.upstream_name.empty()) {
      throw std::invalid_argument("--ca, --insecure and --upstream-name need --upstream-tls");
    }
    if (options.log_level == LogLevel::quiet) proxy.log = [](std::string_view) {};
    std::shared_ptr<Service> service = make_proxy_service(std::move(proxy));
    service = wrap_tls(std::move(service), args.tls, options.log_level);

    options.architecture = *parse_architecture(args.arch);  // validated by the parser
    options.host = args.host;
    options.port = static_cast<std::uint16_t>(args.port);
    options.workers = args.workers;
    options.max_connections = args.max_conns;
    options.max_connections_per_ip = args.max_conns_per_ip;
    options.idle_timeout = seconds(args.idle_timeout, "--idle-timeout");
    options.drain_timeout = seconds(args.drain, "--drain");
    // Behind a balancer, the header it sends names the client this proxy passes on.
    service =
        wrap_proxy_protocol(std::move(service), args.proxy_protocol,
                            seconds(args.tls.handshake_timeout, "--handshake-timeout"), options);
    Server server(service, options);
    server.run();
  } catch (const CliError&) {
    throw;  // a usage error found on the way (an option out of range) keeps its exit code
  } catch (const std::invalid_argument& e) {
    fmt::print(stderr, "sockit: proxy: {}\n", e.what());
    return exit_usage;
  } catch (const std::exception& e) {
    fmt::print(stderr, "sockit: proxy: {}\n", e.what());
    return exit_failure;
  }
  return exit_ok;
}

void register_proxy(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<ProxyArgs>();
  CLI::App* cmd = app.add_subcommand(
      "proxy", "Forward TCP connections to upstream servers (round-robin), both ways");
  std::vector<std::string> arch_names;
  for (auto arch : all_architectures())
    arch_names.emplace_back(to_string(arch));

  cmd->add_option("port", args->port, "Port to listen on (0: the kernel picks)")
      ->required()
      ->check(CLI::Range(0, 65535));
  cmd->add_option("upstreams", args->upstreams,
                  "HOST:PORT of each upstream ([IPv6]:PORT); one that cannot be reached is "
                  "skipped")
      ->required();
  cmd->add_option("--host", args->host, "Address to listen on")->capture_default_str();
  cmd->add_option("--arch,-a", args->arch, "Server architecture (as for `sockit serve`)")
      ->check(CLI::IsMember(arch_names))
      ->capture_default_str();
  cmd->add_option("--workers", args->workers, "prefork/pool/hybrid workers [per core]");
  cmd->add_option("--max-conns", args->max_conns, "Maximum simultaneous clients (0: none)")
      ->capture_default_str();
  cmd->add_option("--max-conns-per-ip", args->max_conns_per_ip,
                  "Maximum simultaneous clients per address (0: none)")
      ->capture_default_str();
  cmd->add_option("--idle-timeout", args->idle_timeout,
                  "Close a client that has sent nothing for this many seconds")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--connect-timeout", args->connect_timeout,
                  "Seconds to reach one upstream (every address it resolves to) before the next")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--drain", args->drain,
                  "On SIGINT/SIGTERM, seconds to let open connections finish")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->add_flag("--quiet,-q", args->quiet, "Log errors only");
  cmd->add_flag("--verbose,-v", args->verbose, "Log debug details too");
  add_tls_serve_options(*cmd, args->tls);
  cmd->add_flag("--upstream-tls", args->upstream_tls, "Speak TLS to the upstreams");
  cmd->add_option("--upstream-name", args->upstream_name,
                  "With --upstream-tls: the name the upstreams' certificates must carry (and "
                  "SNI) [the upstream's host]");
  add_tls_client_options(*cmd, args->upstream, false);
  auto* v1 = cmd->add_flag("--send-proxy", args->send_proxy,
                           "Start each upstream connection with a PROXY protocol v1 header "
                           "naming the client (as HAProxy's send-proxy)");
  cmd->add_flag("--send-proxy-v2", args->send_proxy_v2,
                "The same with the binary v2 header (HAProxy's send-proxy-v2)")
      ->excludes(v1);
  add_proxy_protocol_serve_options(*cmd, args->proxy_protocol);
  cmd->footer(
      "\nEach client is piped to the next upstream in turn, both ways: a client's EOF reaches\n"
      "the upstream as EOF (and back), and a side that stops reading slows the other side\n"
      "down instead of filling memory. When ready it prints \"listening on HOST:PORT\".\n"
      "\nExamples:\n"
      "  sockit proxy 8080 127.0.0.1:8000                 # like socat TCP-LISTEN:8080,fork "
      "TCP:127.0.0.1:8000\n"
      "  sockit proxy 8443 app1:80 app2:80 --tls-cert c.crt --tls-key c.key  # terminate TLS\n"
      "  sockit proxy 8080 example.com:443 --upstream-tls  # originate TLS\n"
      "  sockit proxy 8080 127.0.0.1:7000 --send-proxy-v2  # the upstream runs\n"
      "      sockit serve echo --port 7000 --proxy-protocol and sees each real client\n");
  cmd->callback([args, &exit_code] { exit_code = run_proxy(*args); });
}

}  // namespace

static const CommandRegistration proxy_registration{15, register_proxy};

}  // namespace sockit::cli
