// sockit resolve: every address getaddrinfo gives for HOST [SERVICE], with family, socket
// type and protocol (Ruby's Addrinfo.getaddrinfo), and the reverse names with --reverse.
//   sockit resolve localhost http --reverse
#include <fmt/core.h>
#include <netinet/in.h>

#include <map>
#include <memory>
#include <string>

#include "cli_support.hpp"
#include "commands.hpp"
#include "sockit/address.hpp"
#include "sockit/error.hpp"

namespace sockit::cli {
namespace {

struct ResolveArgs {
  std::string host;
  std::string service;
  bool reverse = false;
  bool json = false;
  bool ipv4 = false;
  bool ipv6 = false;
  bool tcp = false;
  bool udp = false;
};

std::string socktype_name(int type) {
  switch (type) {
    case SOCK_STREAM:
      return "stream";
    case SOCK_DGRAM:
      return "dgram";
    case SOCK_RAW:
      return "raw";
    case SOCK_SEQPACKET:
      return "seqpacket";
    default:
      return std::to_string(type);
  }
}

std::string protocol_name(int protocol) {
  switch (protocol) {
    case IPPROTO_TCP:
      return "tcp";
    case IPPROTO_UDP:
      return "udp";
    case IPPROTO_SCTP:
      return "sctp";
    case 0:
      return "";
    default:
      return std::to_string(protocol);
  }
}

// Reverse names, looked up once per address (results repeat it per socket type).
class ReverseNames {
 public:
  std::string operator()(const Address& address) {
    Address key = address.with_port(0);
    auto it = names_.find(key);
    if (it != names_.end()) return it->second;
    std::string name;
    try {
      name = reverse_lookup(key);
    } catch (const Error&) {
      name.clear();  // no name is an answer, not a failure
    }
    return names_.emplace(key, name).first->second;
  }

 private:
  std::map<Address, std::string> names_;
};

void run_resolve(const ResolveArgs& args) {
  if (args.ipv4 && args.ipv6) usage_error("resolve: -4 and -6 exclude each other");
  if (args.tcp && args.udp) usage_error("resolve: --tcp and --udp exclude each other");
  ResolveOptions options;
  options.family = args.ipv4 ? AF_INET : (args.ipv6 ? AF_INET6 : AF_UNSPEC);
  options.socktype = args.tcp ? SOCK_STREAM : (args.udp ? SOCK_DGRAM : 0);
  options.canonical_name = true;
  auto results = resolve(args.host, args.service, options);
  if (results.empty()) failure(fmt::format("resolve {}: no address", args.host));

  ReverseNames reverse;
  std::string canonical = results.front().canonical_name;
  bool with_port = !args.service.empty();

  if (args.json) {
    nlohmann::json addresses = nlohmann::json::array();
    for (const auto& r : results) {
      nlohmann::json entry{{"address", r.address.ip()},
                           {"family", family_name(r.family)},
                           {"socktype", socktype_name(r.socktype)},
                           {"protocol", protocol_name(r.protocol)}};
      if (with_port) entry["port"] = r.address.port();
      if (args.reverse) {
        std::string name = reverse(r.address);
        entry["reverse"] = name.empty() ? nlohmann::json(nullptr) : nlohmann::json(name);
      }
      addresses.push_back(std::move(entry));
    }
    nlohmann::json out{{"host", args.host}, {"addresses", std::move(addresses)}};
    if (with_port) out["service"] = args.service;
    if (!canonical.empty()) out["canonical_name"] = canonical;
    print_json(out);
    return;
  }

  if (!canonical.empty() && canonical != args.host) fmt::print("canonical name: {}\n", canonical);
  for (const auto& r : results) {
    std::string where = with_port ? r.address.to_string() : r.address.ip();
    std::string line = fmt::format("{:<28} {:<6} {:<7} {}", where, family_name(r.family),
                                   socktype_name(r.socktype), protocol_name(r.protocol));
    if (args.reverse) {
      std::string name = reverse(r.address);
      line += "  -> " + (name.empty() ? std::string("(no reverse name)") : name);
    }
    while (!line.empty() && line.back() == ' ')
      line.pop_back();
    fmt::print("{}\n", line);
  }
}

}  // namespace

void register_resolve(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<ResolveArgs>();
  CLI::App* cmd = app.add_subcommand(
      "resolve",
      "Show every address HOST [SERVICE] resolves to (getaddrinfo), optionally reversed");
  cmd->add_option("host", args->host, "Host name or address")->required();
  cmd->add_option("service", args->service, "Service name or port (http, 443)");
  cmd->add_flag("--reverse,-r", args->reverse, "Add each address's reverse name (getnameinfo)");
  cmd->add_flag("--json", args->json, "Print the results as JSON");
  cmd->add_flag("-4", args->ipv4, "IPv4 addresses only");
  cmd->add_flag("-6", args->ipv6, "IPv6 addresses only");
  cmd->add_flag("--tcp", args->tcp, "Stream (TCP) results only");
  cmd->add_flag("--udp", args->udp, "Datagram (UDP) results only");
  cmd->footer(
      "\nExample:\n"
      "  sockit resolve localhost http --reverse\n"
      "  127.0.0.1:80                 inet   stream  tcp  -> localhost\n");
  cmd->callback([args, &exit_code] {
    run_resolve(*args);
    exit_code = exit_ok;
  });
}

static const CommandRegistration resolve_registration{51, register_resolve};

}  // namespace sockit::cli
