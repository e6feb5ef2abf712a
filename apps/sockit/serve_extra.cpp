// The UDP services and the command service of `sockit serve` (see serve_extra.hpp).
#include "serve_extra.hpp"

#include <fmt/core.h>

#include <algorithm>
#include <exception>

#include "cli_support.hpp"
#include "sockit/auth/command_service.hpp"
#include "sockit/auth/user_file.hpp"
#include "sockit/server/services.hpp"
#include "sockit/server/udp_services.hpp"

namespace sockit::cli {

void add_extra_serve_options(CLI::App& serve, ExtraServeOptions& extra) {
  serve.add_flag("--udp", extra.udp,
                 "Serve the UDP form of the service (echo); time is UDP only. --arch does not "
                 "apply to UDP");
  serve.add_option("--users", extra.users_file,
                   "command: the user file (write it with 'sockit passwd FILE USER')");
}

std::string extra_services_help() {
  std::string text;
  text += fmt::format("  {:<9} {}\n", "command",
                      "AUTH user password, then STATUS, INFO, HELP... (port 9000; needs --users)");
  for (const auto& entry : server::registered_udp_services()) {
    text += fmt::format("  {:<9} {}\n", entry.name, entry.summary);
  }
  return text;
}

std::vector<std::string> all_serve_service_names() {
  std::vector<std::string> names = server::service_names();
  names.emplace_back("command");
  for (const auto& entry : server::registered_udp_services()) {
    if (std::find(names.begin(), names.end(), entry.name) == names.end()) {
      names.emplace_back(entry.name);
    }
  }
  return names;
}

bool wants_udp(std::string_view service, const ExtraServeOptions& extra) {
  if (extra.udp) return true;
  return server::find_service(service) == nullptr && service != "command" &&
         server::find_udp_service(service) != nullptr;
}

int run_udp_serve(const UdpServeRequest& request) {
  auto service = server::find_udp_service(request.service);
  if (!service) {
    std::string names;
    for (const auto& entry : server::registered_udp_services())
      names += (names.empty() ? "" : ", ") + std::string(entry.name);
    usage_error(
        fmt::format("serve: no UDP service '{}' (UDP services: {})", request.service, names));
  }
  if (request.arch != request.default_arch) {
    usage_error(fmt::format(
        "serve: --arch {} does not apply to the UDP service '{}': a datagram server has no "
        "connections to schedule (leave --arch out)",
        request.arch, request.service));
  }
  if (!request.unix_path.empty()) {
    usage_error(fmt::format("serve: --unix is for stream services; '{}' serves UDP on --host",
                            request.service));
  }
  if (request.quiet && request.verbose) {
    usage_error("serve: --quiet and --verbose exclude each other");
  }
  server::UdpServerOptions options;
  options.host = std::string(request.host);
  options.port =
      request.port >= 0 ? static_cast<std::uint16_t>(request.port) : service->default_port();
  if (request.max_datagram != 0) options.max_datagram = request.max_datagram;
  options.rate_per_second = request.rate;
  options.log_level = request.quiet     ? server::LogLevel::quiet
                      : request.verbose ? server::LogLevel::verbose
                                        : server::LogLevel::info;
  try {
    server::UdpServer udp(service, options);
    udp.run();
  } catch (const std::exception& e) {
    failure(fmt::format("serve: {}", e.what()));
  }
  return exit_ok;
}

std::shared_ptr<server::Service> find_extra_service(std::string_view service,
                                                    const ExtraServeOptions& extra) {
  if (service != "command") return nullptr;
  if (extra.users_file.empty()) {
    usage_error(
        "serve: the command service needs --users FILE (create it with: sockit passwd FILE "
        "USER --permit STATUS,INFO,HELP)");
  }
  try {
    return std::make_shared<auth::CommandService>(auth::UserFile::load(extra.users_file));
  } catch (const std::exception& e) {
    failure(fmt::format("serve: command: {}", e.what()));
  }
}

}  // namespace sockit::cli
