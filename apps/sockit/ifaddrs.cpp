// sockit ifaddrs: the machine's network interfaces and their addresses (Ruby's
// Socket.getifaddrs / Socket.ip_address_list), marking loopback, private, link-local...
//   sockit ifaddrs --json
#include <fmt/core.h>
#include <net/if.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "cli_support.hpp"
#include "commands.hpp"
#include "sockit/address.hpp"

namespace sockit::cli {
namespace {

struct IfaddrsArgs {
  bool json = false;
};

// What kind of address it is, for people: loopback, private, link-local...
std::vector<std::string> address_kinds(const Address& address) {
  std::vector<std::string> kinds;
  if (address.is_loopback()) kinds.emplace_back("loopback");
  if (address.is_private() || address.is_unique_local()) kinds.emplace_back("private");
  if (address.is_link_local()) kinds.emplace_back("link-local");
  if (address.is_multicast()) kinds.emplace_back("multicast");
  if (address.is_v4_mapped()) kinds.emplace_back("v4-mapped");
  if (kinds.empty() && address.is_ip() && !address.is_any()) kinds.emplace_back("global");
  return kinds;
}

std::string join(const std::vector<std::string>& parts, std::string_view separator) {
  std::string out;
  for (const auto& part : parts) {
    if (!out.empty()) out += separator;
    out += part;
  }
  return out;
}

// Interfaces in getifaddrs order, each with its addresses.
struct InterfaceGroup {
  std::string name;
  unsigned index = 0;
  unsigned flags = 0;
  std::string flags_text;
  std::vector<Interface> addresses;
};

std::vector<InterfaceGroup> grouped() {
  std::vector<InterfaceGroup> groups;
  std::map<std::string, std::size_t> by_name;
  for (auto& entry : interfaces()) {
    auto [it, added] = by_name.try_emplace(entry.name, groups.size());
    if (added) {
      groups.push_back({entry.name, entry.index, entry.flags, entry.flags_string(), {}});
    }
    groups[it->second].addresses.push_back(std::move(entry));
  }
  return groups;
}

void print_text(const std::vector<InterfaceGroup>& groups) {
  for (const auto& group : groups) {
    fmt::print("{}: index {} <{}>\n", group.name, group.index, group.flags_text);
    for (const auto& entry : group.addresses) {
      std::string line =
          fmt::format("    {:<6}{}", family_name(entry.address.family()), entry.address.ip());
      if (entry.netmask) line += " netmask " + entry.netmask->ip();
      if (entry.broadcast) line += " broadcast " + entry.broadcast->ip();
      if (entry.destination) line += " peer " + entry.destination->ip();
      if (auto kinds = address_kinds(entry.address); !kinds.empty()) {
        line += " (" + join(kinds, ", ") + ")";
      }
      fmt::print("{}\n", line);
    }
  }
}

void print_as_json(const std::vector<InterfaceGroup>& groups) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& group : groups) {
    nlohmann::json addresses = nlohmann::json::array();
    for (const auto& entry : group.addresses) {
      nlohmann::json a{{"family", family_name(entry.address.family())},
                       {"address", entry.address.ip()},
                       {"loopback", entry.address.is_loopback()},
                       {"private", entry.address.is_private() || entry.address.is_unique_local()},
                       {"link_local", entry.address.is_link_local()},
                       {"kinds", address_kinds(entry.address)}};
      if (entry.netmask) a["netmask"] = entry.netmask->ip();
      if (entry.broadcast) a["broadcast"] = entry.broadcast->ip();
      if (entry.destination) a["peer"] = entry.destination->ip();
      addresses.push_back(std::move(a));
    }
    out.push_back({{"name", group.name},
                   {"index", group.index},
                   {"flags", group.flags_text},
                   {"up", (group.flags & IFF_UP) != 0},
                   {"loopback", (group.flags & IFF_LOOPBACK) != 0},
                   {"addresses", std::move(addresses)}});
  }
  print_json(out);
}

}  // namespace

void register_ifaddrs(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<IfaddrsArgs>();
  CLI::App* cmd = app.add_subcommand(
      "ifaddrs", "List network interfaces with their addresses and flags (loopback, private...)");
  cmd->add_flag("--json", args->json, "Print the interfaces as JSON");
  cmd->footer(
      "\nExample:\n"
      "  sockit ifaddrs\n"
      "  lo: index 1 <UP,LOOPBACK,RUNNING>\n"
      "      inet  127.0.0.1 netmask 255.0.0.0 (loopback)\n");
  cmd->callback([args, &exit_code] {
    auto groups = grouped();
    if (args->json) {
      print_as_json(groups);
    } else {
      print_text(groups);
    }
    exit_code = exit_ok;
  });
}

static const CommandRegistration ifaddrs_registration{50, register_ifaddrs};

}  // namespace sockit::cli
