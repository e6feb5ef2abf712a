// The services of `sockit serve` that live outside libsockit's service registry: the UDP
// ones (time, and echo with --udp), which run on a datagram server instead of the seven
// TCP architectures, and the command service, which needs sockit_auth (OpenSSL) and a
// user file (--users FILE).
#pragma once

#include <CLI/CLI.hpp>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "sockit/server/session.hpp"

namespace sockit::cli {

struct ExtraServeOptions {
  bool udp = false;        // --udp
  std::string users_file;  // --users
};

// Adds --udp and --users to `sockit serve`.
void add_extra_serve_options(CLI::App& serve, ExtraServeOptions& extra);
// The "Services:" lines for these services, for --help.
std::string extra_services_help();
// Every service name `sockit serve` accepts, TCP registry first.
std::vector<std::string> all_serve_service_names();

// True when this request is for a UDP service (--udp, or a name only UDP has).
bool wants_udp(std::string_view service, const ExtraServeOptions& extra);

struct UdpServeRequest {
  std::string_view service;
  std::string_view arch;  // the CLI's --arch value: only the default is accepted
  std::string_view default_arch;
  std::string_view host;
  std::string_view unix_path;
  int port;                  // -1: the service's own
  std::size_t max_datagram;  // 0: UdpServerOptions' default
  double rate;
  bool quiet;
  bool verbose;
};
// Runs a UDP service until SIGINT/SIGTERM; returns the exit code.
int run_udp_serve(const UdpServeRequest& request);

// A TCP service that needs CLI-side setup (command: --users), or nullptr when `service`
// is none of them. Throws CliError for a missing or unreadable user file.
std::shared_ptr<server::Service> find_extra_service(std::string_view service,
                                                    const ExtraServeOptions& extra);

}  // namespace sockit::cli
